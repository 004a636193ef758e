/**
 * The fake agent over HTTP/2 (`http2` option): the same handlers, route tables and faults run
 * through Strand's `Http2Agent` and Node's `http2` server on the in-memory connections.
 */
import { Readable } from 'node:stream';
import { BytesProducer, ConnectError, ConnectionRefusedError, InvalidArgumentError, ManualClock, RedirectAgent, readBody } from '@strand/core';
import { type FakeAgent, StubClient, StubHandlerError, createFakeAgent } from '@strand/testing';

let fake: FakeAgent | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function text(response: Parameters<typeof readBody>[0]): Promise<string> {
  return (await readBody(response)).toString('utf8');
}

describe('createFakeAgent(handler, { http2: true })', () => {
  test('answers through Http2Agent and Node’s http2 server: version 2.0, the request recorded with its headers and body', async () => {
    fake = createFakeAgent((req) => ({ status: 201, headers: { 'x-seen': req.method }, json: { body: req.text(), version: req.httpVersion } }), { http2: true });
    const response = await fake.request('POST', 'https://api.test/things?x=1', { 'X-Custom': 'yes' }, new BytesProducer('posted'));
    expect(response.version).toEqual([2, 0]);
    expect(response.code).toBe(201);
    expect(response.headers.get('x-seen')).toBe('POST');
    expect(JSON.parse(await text(response))).toEqual({ body: 'posted', version: '2.0' });
    const recorded = fake.requests[0];
    expect(recorded?.url.href).toBe('https://api.test/things?x=1');
    expect(recorded?.headers.get('x-custom')).toBe('yes');
    // Pseudo-header fields are the method, URL and authority, not header fields.
    expect([...(recorded?.headers ?? [])].map(([name]) => name).filter((name) => name.startsWith(':'))).toEqual([]);
    expect(fake.http2Agent).not.toBeNull();
  });

  test('multiplexes concurrent requests on one in-memory connection (one session)', async () => {
    fake = createFakeAgent((req) => ({ body: req.path }), { http2: true });
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => fake!.request('GET', `http://api.test/r${i}`)));
    expect(await Promise.all(responses.map(text))).toEqual(Array.from({ length: 20 }, (_, i) => `/r${i}`));
    expect(fake.connectionsOpened).toBe(1);
    expect(new Set(fake.requests.map((r) => r.connectionId))).toEqual(new Set([1]));
    expect(Object.values(fake.http2Agent?.sessionStats() ?? {}).map((s) => s.sessions)).toEqual([1]);
  });

  test('route tables, streamed bodies with trailers, and reply delays on a ManualClock work over HTTP/2', async () => {
    const clock = new ManualClock();
    fake = createFakeAgent(
      [
        { method: 'GET', path: '/users/:id', reply: (req) => ({ json: { id: req.params['id'] } }) },
        { method: 'GET', path: '/stream', reply: { body: Readable.from(['a', 'b', 'c']), trailers: { 'x-sum': 'abc' } } },
        { method: 'GET', path: '/slow', reply: { delay: 5000, body: 'late' } },
      ],
      { http2: true, clock },
    );
    expect(JSON.parse(await text(await fake.request('GET', 'http://api.test/users/7')))).toEqual({ id: '7' });
    const streamed = await fake.request('GET', 'http://api.test/stream');
    expect(await text(streamed)).toBe('abc');
    expect(streamed.trailers?.get('x-sum')).toBe('abc');
    let answered = false;
    const slow = fake.request('GET', 'http://api.test/slow').then((r) => ((answered = true), r));
    await fake.advance(4999);
    expect(answered).toBe(false);
    await fake.advance(1);
    expect(await text(await slow)).toBe('late');
  });

  test('wrapper agents work on top: RedirectAgent follows a 302 on the same session', async () => {
    fake = createFakeAgent((req) => (req.path === '/old' ? { status: 302, headers: { location: '/new' } } : { body: `at ${req.path}` }), { http2: true });
    const response = await new RedirectAgent(fake).request('GET', 'http://api.test/old');
    expect(await text(response)).toBe('at /new');
    expect(fake.requests.map((r) => [r.path, r.connectionId])).toEqual([
      ['/old', 1],
      ['/new', 1],
    ]);
  });

  test('StubClient runs over HTTP/2 with its fake option', async () => {
    const client = new StubClient([{ method: 'GET', path: '/hello', reply: { json: { hi: true } } }], { fake: { http2: true } });
    try {
      const response = await client.get('https://api.test/hello');
      expect(response.version).toEqual([2, 0]);
      expect(await response.json()).toEqual({ hi: true });
    } finally {
      await client.close();
    }
  });

  test('connection faults apply: a refused connection is ConnectionRefusedError, a reset before the server’s SETTINGS a ConnectError, and the next connection works', async () => {
    fake = createFakeAgent(() => 'ok', { http2: true });
    fake.injectFault('refuse');
    await expect(fake.request('GET', 'http://api.test/a')).rejects.toBeInstanceOf(ConnectionRefusedError);
    fake.injectFault('reset');
    await expect(fake.request('GET', 'http://api.test/b')).rejects.toBeInstanceOf(ConnectError);
    expect(await text(await fake.request('GET', 'http://api.test/c'))).toBe('ok');
    expect(fake.connectionsOpened).toBe(2);
  });

  test('a connection that goes silent fails the request with the connect timeout of the http2 options', async () => {
    const clock = new ManualClock();
    fake = createFakeAgent(() => 'ok', { http2: { timeouts: { connect: 1000 } }, clock });
    fake.injectFault('stall');
    const failed = fake.request('GET', 'http://api.test/stalled');
    failed.catch(() => {});
    await fake.advance(1000);
    await expect(failed).rejects.toMatchObject({ name: 'TimeoutError', phase: 'connect' });
  });

  test('what HTTP/2 cannot carry is refused with a message: a reply fault is a recorded failure, afterBodyBytes an InvalidArgumentError', async () => {
    fake = createFakeAgent(() => ({ fault: 'reset' }), { http2: true });
    const response = await fake.request('GET', 'http://api.test/x');
    expect(response.code).toBe(500);
    await readBody(response);
    expect(fake.failures[0]).toBeInstanceOf(StubHandlerError);
    expect(fake.failures[0]?.message).toMatch(/injectFault/);
    expect(() => fake?.injectFault({ type: 'close', afterBodyBytes: 3 })).toThrow(InvalidArgumentError);
    expect(() => createFakeAgent(() => 'ok', { http2: { clock: new ManualClock() } as never })).toThrow(/http2\.clock is not an option here/);
  });
});
