import { Readable } from 'node:stream';
import { type BodyProducer, BytesProducer, CancelledError, ConnectionRefusedError, HTTPConnectionPool, InvalidArgumentError, ManualClock, UNKNOWN_LENGTH, readBody } from '@strand/core';
import { type FakeAgent, RouteTable, StubHandlerError, UnexpectedRequestError, createFakeAgent, nextTurn } from '@strand/testing';

let fake: FakeAgent | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function text(response: { code: number } & Parameters<typeof readBody>[0]): Promise<string> {
  return (await readBody(response)).toString('utf8');
}

describe('answering with a handler', () => {
  test('a synchronous handler answers through the real HTTP stack', async () => {
    fake = createFakeAgent((req) => ({ status: 201, headers: { 'X-Seen': req.method }, body: `hello ${req.path}` }));
    const response = await fake.request('PUT', 'http://api.test/things/1');
    expect(response.code).toBe(201);
    expect(response.phrase).toBe('Created');
    expect(response.headers.get('x-seen')).toBe('PUT');
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('content-length')).toBe('15');
    expect(await text(response)).toBe('hello /things/1');
  });

  test('an asynchronous handler is awaited', async () => {
    fake = createFakeAgent(async (req) => {
      await nextTurn();
      return { json: { echoed: req.json() } };
    });
    const response = await fake.request('POST', 'http://api.test/echo', { 'content-type': 'application/json' }, new BytesProducer('{"a":[1,2]}'));
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(await text(response))).toEqual({ echoed: { a: [1, 2] } });
  });

  test('shorthand replies: a number is a bodiless status, a string a text body', async () => {
    fake = createFakeAgent((req) => (req.path === '/gone' ? 410 : 'plain'));
    const gone = await fake.request('GET', 'http://api.test/gone');
    expect(gone.code).toBe(410);
    expect(await text(gone)).toBe('');
    const plain = await fake.request('GET', 'http://api.test/other');
    expect(plain.code).toBe(200);
    expect(await text(plain)).toBe('plain');
  });

  test('bytes are sent as they are, with no content type added', async () => {
    const bytes = Uint8Array.from([0, 255, 13, 10, 1]);
    fake = createFakeAgent(() => ({ body: bytes }));
    const response = await fake.request('GET', 'http://api.test/bin');
    expect(response.headers.has('content-type')).toBe(false);
    expect([...(await readBody(response))]).toEqual([0, 255, 13, 10, 1]);
  });

  test('a stream body is sent chunked, with back-pressure, and trailers follow it', async () => {
    fake = createFakeAgent(() => ({ body: Readable.from(['one,', 'two,', 'three']), trailers: { 'X-Checksum': 'abc' } }));
    const response = await fake.request('GET', 'http://api.test/stream');
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(response.headers.get('trailer')).toBe('X-Checksum');
    expect(response.length).toBe(UNKNOWN_LENGTH);
    expect(await text(response)).toBe('one,two,three');
    expect(response.trailers.get('x-checksum')).toBe('abc');
  });

  test('an async generator body is sent piece by piece', async () => {
    async function* pieces(): AsyncGenerator<string> {
      for (let i = 0; i < 5; i++) {
        await nextTurn();
        yield `${i}`;
      }
    }
    fake = createFakeAgent(() => ({ body: pieces() }));
    const chunks: string[] = [];
    for await (const chunk of await fake.request('GET', 'http://api.test/gen')) chunks.push(chunk.toString());
    expect(chunks.join('')).toBe('01234');
  });

  test('chunked: true sends a known body with chunked framing', async () => {
    fake = createFakeAgent(() => ({ body: 'abc', chunked: true }));
    const response = await fake.request('GET', 'http://api.test/');
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(response.headers.has('content-length')).toBe(false);
    expect(await text(response)).toBe('abc');
  });

  test('a HEAD request gets the head only, as from a real server', async () => {
    fake = createFakeAgent(() => ({ json: { big: 'x'.repeat(100) } }));
    const response = await fake.request('HEAD', 'http://api.test/');
    expect(response.headers.get('content-length')).toBe('110');
    expect(await text(response)).toBe('');
    // The connection is still usable afterwards: the parser knew a HEAD response has no body.
    expect(await text(await fake.request('GET', 'http://api.test/'))).toContain('"big"');
    expect(fake.connectionsOpened).toBe(1);
  });

  test('repeated header values are sent as separate fields', async () => {
    fake = createFakeAgent(() => ({ headers: { 'Set-Cookie': ['a=1', 'b=2'], 'X-Order': '1' } }));
    const response = await fake.request('GET', 'http://api.test/');
    expect(response.headers.getAll('set-cookie')).toEqual(['a=1', 'b=2']);
    await response.dump();
  });

  test('a custom reason phrase reaches the client', async () => {
    fake = createFakeAgent(() => ({ status: 418, statusText: 'Short And Stout' }));
    const response = await fake.request('GET', 'http://api.test/');
    expect(response.phrase).toBe('Short And Stout');
    await response.dump();
  });
});

describe('recording requests', () => {
  test('method, URL, headers in their spelling and order, and the body are recorded', async () => {
    fake = createFakeAgent(() => 204);
    await (await fake.request('POST', 'http://api.test:8080/items?b=2&a=1', [['X-First', '1'], ['x-second', '2']], new BytesProducer('{"name":"ada"}'))).dump();
    const [request] = fake.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url.href).toBe('http://api.test:8080/items?b=2&a=1');
    expect(request?.path).toBe('/items');
    expect(request?.query.get('a')).toBe('1');
    expect(request?.target).toBe('/items?b=2&a=1');
    const names = [...(request?.headers ?? [])].map(([name]) => name);
    expect(names.indexOf('X-First')).toBeLessThan(names.indexOf('x-second'));
    expect(request?.headers.get('content-length')).toBe('14');
    expect(request?.text()).toBe('{"name":"ada"}');
    expect(request?.json()).toEqual({ name: 'ada' });
    expect(Buffer.from(request?.bytes() ?? []).toString()).toBe('{"name":"ada"}');
    expect(request?.toString()).toBe('POST http://api.test:8080/items?b=2&a=1');
  });

  test('a chunked request body is recorded de-chunked', async () => {
    fake = createFakeAgent(() => 200);
    await (await fake.request('POST', 'http://api.test/upload', null, chunkedBody(['ab', 'cd']))).dump();
    expect(fake.lastRequest?.headers.get('transfer-encoding')).toBe('chunked');
    expect(fake.lastRequest?.text()).toBe('abcd');
  });

  test('json() on a body that is not JSON says so and shows the body', async () => {
    fake = createFakeAgent(() => 200);
    await (await fake.request('POST', 'http://api.test/', null, new BytesProducer('not json'))).dump();
    expect(() => fake?.lastRequest?.json()).toThrow(/is not JSON: "not json"/);
  });

  test('consecutive requests reuse one pooled connection; parallel ones open more', async () => {
    fake = createFakeAgent(() => 'ok');
    await (await fake.request('GET', 'http://api.test/1')).dump();
    await (await fake.request('GET', 'http://api.test/2')).dump();
    expect(fake.requests.map((r) => r.connectionId)).toEqual([1, 1]);
    const both = await Promise.all([fake.request('GET', 'http://api.test/3'), fake.request('GET', 'http://api.test/4')]);
    await Promise.all(both.map((r) => r.dump()));
    expect(new Set(fake.requests.slice(2).map((r) => r.connectionId)).size).toBe(2);
    expect(fake.connectionsOpened).toBe(2);
  });

  test('each origin gets its own connections', async () => {
    fake = createFakeAgent((req) => req.url.host);
    expect(await text(await fake.request('GET', 'http://a.test/'))).toBe('a.test');
    expect(await text(await fake.request('GET', 'https://b.test:8443/'))).toBe('b.test:8443');
    expect(fake.requests.map((r) => [r.url.protocol, r.connectionId])).toEqual([
      ['http:', 1],
      ['https:', 2],
    ]);
  });

  test('a non-persistent pool sends Connection: close and opens a connection per request', async () => {
    fake = createFakeAgent(() => 'ok', { pool: { persistent: false } });
    await (await fake.request('GET', 'http://api.test/1')).dump();
    await (await fake.request('GET', 'http://api.test/2')).dump();
    expect(fake.requests.map((r) => r.headers.get('connection'))).toEqual(['close', 'close']);
    expect(fake.connectionsOpened).toBe(2);
    await fake.flush();
    expect(fake.openConnections).toBe(0);
  });
});

describe('route tables', () => {
  test('the first matching route answers, with path parameters', async () => {
    fake = createFakeAgent([
      { method: 'GET', path: '/users/:id', reply: (req) => ({ json: { id: req.params['id'] } }) },
      { method: 'GET', path: '/users/*', reply: 'wildcard' },
      { path: '/files/*', reply: (req) => req.path },
    ]);
    expect(await text(await fake.request('GET', 'http://api.test/users/a%20b'))).toBe('{"id":"a b"}');
    expect(await text(await fake.request('GET', 'http://api.test/users/7/posts'))).toBe('wildcard');
    expect(await text(await fake.request('DELETE', 'http://api.test/files/x/y.txt'))).toBe('/files/x/y.txt');
    expect(fake.requests[0]?.params).toEqual({ id: 'a b' });
  });

  test('routes match on query, headers, body and JSON', async () => {
    fake = createFakeAgent([
      { path: '/search', query: { q: 'strand' }, reply: 'by query' },
      { path: '/secure', headers: { authorization: /^Bearer / }, reply: 'by header' },
      { path: '/secure', reply: 401 },
      { method: 'POST', path: '/items', json: { kind: 'a' }, reply: 'json a' },
      { method: 'POST', path: '/items', body: /kind/, reply: 'other kind' },
      { host: 'other.test', reply: 'by host' },
      { where: (req) => req.headers.has('x-special'), reply: 'by predicate' },
    ]);
    expect(await text(await fake.request('GET', 'http://api.test/search?page=2&q=strand'))).toBe('by query');
    expect(await text(await fake.request('GET', 'http://api.test/secure', { authorization: 'Bearer t' }))).toBe('by header');
    expect((await fake.request('GET', 'http://api.test/secure')).code).toBe(401);
    expect(await text(await fake.request('POST', 'http://api.test/items', null, new BytesProducer('{"kind":"a"}')))).toBe('json a');
    expect(await text(await fake.request('POST', 'http://api.test/items', null, new BytesProducer('{"kind":"b"}')))).toBe('other kind');
    expect(await text(await fake.request('GET', 'http://other.test/anything'))).toBe('by host');
    expect(await text(await fake.request('GET', 'http://api.test/x', { 'x-special': '1' }))).toBe('by predicate');
  });

  test('a route with times stops matching once used up, letting the next one answer', async () => {
    fake = createFakeAgent([
      { path: '/flaky', times: 2, reply: 503 },
      { path: '/flaky', reply: 200 },
    ]);
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fake.request('GET', 'http://api.test/flaky');
      codes.push(response.code);
      await response.dump();
    }
    expect(codes).toEqual([503, 503, 200]);
  });

  test('an unmatched request gets a 599 explaining the closest route, and fails the test at assertNoPending', async () => {
    fake = createFakeAgent([{ method: 'GET', path: '/users/:id', reply: 200 }]);
    const response = await fake.request('POST', 'http://api.test/users/7');
    expect(response.code).toBe(599);
    const body = await text(response);
    expect(body).toContain('no route matched POST http://api.test/users/7');
    expect(body).toContain('method:');
    expect(body).toContain('expected GET');
    expect(body).toContain('received POST');
    expect(fake.failures).toHaveLength(1);
    expect(() => fake?.assertNoPending()).toThrow(UnexpectedRequestError);
  });

  test("unmatched: 'not-found' answers 404 and records no failure", async () => {
    fake = createFakeAgent([{ path: '/a', reply: 200 }], { unmatched: 'not-found' });
    const response = await fake.request('GET', 'http://api.test/b');
    expect(response.code).toBe(404);
    await response.dump();
    expect(() => fake?.assertNoPending()).not.toThrow();
    expect((fake.handler as RouteTable).unmatched.map((r) => r.path)).toEqual(['/b']);
  });

  test('routes can be added to a RouteTable while the test runs', async () => {
    const table = new RouteTable([{ path: '/a', reply: 'a' }]);
    fake = createFakeAgent(table);
    table.add({ path: '/b', reply: 'b' });
    expect(await text(await fake.request('GET', 'http://api.test/b'))).toBe('b');
  });

  test('a route with a misspelt field is refused at once instead of matching everything', () => {
    expect(() => createFakeAgent([{ path: '/a', reply: 200, mehtod: 'GET' } as never])).toThrow(/unknown field "mehtod"/);
    expect(() => createFakeAgent([{ path: '/a' } as never])).toThrow(/reply is missing/);
  });
});

describe('failures on the server side', () => {
  test('a handler that throws gives the client a 500 and is thrown again by assertNoPending', async () => {
    fake = createFakeAgent(() => {
      throw new Error('handler bug');
    });
    const response = await fake.request('GET', 'http://api.test/');
    expect(response.code).toBe(500);
    expect(await text(response)).toContain('handler bug');
    expect(() => fake?.assertNoPending()).toThrow(StubHandlerError);
    expect(() => fake?.assertNoPending()).toThrow(/the handler for GET http:\/\/api.test\/ failed: handler bug/);
  });

  test('an invalid reply is a handler failure naming the field', async () => {
    fake = createFakeAgent(() => ({ status: 42 }));
    const response = await fake.request('GET', 'http://api.test/');
    expect(response.code).toBe(500);
    await response.dump();
    expect(fake.failures[0]?.message).toMatch(/status must be an integer from 100 to 999, got 42/);
  });

  test('several failures are thrown together', async () => {
    fake = createFakeAgent(() => Promise.reject(new Error('nope')));
    await (await fake.request('GET', 'http://api.test/1')).dump();
    await (await fake.request('GET', 'http://api.test/2')).dump();
    expect(() => fake?.assertNoPending()).toThrow(/2 failures were recorded/);
  });
});

describe('time', () => {
  test('a delayed reply waits for a ManualClock, without real time', async () => {
    const clock = new ManualClock();
    fake = createFakeAgent(() => ({ delay: 5000, body: 'late' }), { clock });
    let settled = false;
    const pending = fake.request('GET', 'http://api.test/slow').then((r) => {
      settled = true;
      return r;
    });
    await fake.flush();
    expect(settled).toBe(false);
    expect(() => fake?.assertNoPending()).toThrow(/1 request\(s\) still being answered/);
    await fake.advance(4999);
    expect(settled).toBe(false);
    await fake.advance(1);
    expect(settled).toBe(true);
    expect(await text(await pending)).toBe('late');
    expect(() => fake?.assertNoPending()).not.toThrow();
  });

  test('a delayed reply follows jest fake timers', async () => {
    jest.useFakeTimers();
    try {
      fake = createFakeAgent(() => ({ delay: 60_000, body: 'an hour later' }));
      let settled = false;
      const pending = fake.request('GET', 'http://api.test/slow').then((r) => {
        settled = true;
        return r;
      });
      await fake.flush();
      expect(settled).toBe(false);
      jest.advanceTimersByTime(60_000);
      await fake.flush();
      expect(settled).toBe(true);
      expect(await text(await pending)).toBe('an hour later');
    } finally {
      await fake?.close();
      jest.useRealTimers();
    }
  });

  test('a request cancelled while its reply is delayed frees the server side', async () => {
    const clock = new ManualClock();
    fake = createFakeAgent(() => ({ delay: 1000, body: 'never seen' }), { clock });
    const controller = new AbortController();
    const pending = fake.request('GET', 'http://api.test/', null, null, { signal: controller.signal });
    await fake.flush();
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    await fake.flush();
    expect(() => fake?.assertNoPending()).not.toThrow();
    expect(fake.openConnections).toBe(0);
  });

  test('advance() needs a clock that can be advanced', async () => {
    fake = createFakeAgent(() => 200);
    await expect(fake.advance(10)).rejects.toThrow(InvalidArgumentError);
  });
});

describe('closing', () => {
  test('close() fails requests in progress and refuses later ones', async () => {
    const clock = new ManualClock();
    fake = createFakeAgent(() => ({ delay: 1000 }), { clock });
    const failed = expect(fake.request('GET', 'http://api.test/')).rejects.toThrow(/the connection closed/);
    await fake.flush();
    await fake.close();
    await failed;
    await expect(fake.request('GET', 'http://api.test/')).rejects.toBeInstanceOf(ConnectionRefusedError);
    expect(fake.openConnections).toBe(0);
  });

  test('a pool passed in is used as it is', async () => {
    const pool = new HTTPConnectionPool();
    fake = createFakeAgent(() => 'ok', { pool });
    expect(fake.agent.pool).toBe(pool);
    await (await fake.request('GET', 'http://api.test/')).dump();
    expect(Object.values(pool.stats())[0]).toMatchObject({ open: 1, idle: 1, inUse: 0 });
  });
});

/** A producer of unknown length (sent chunked). */
function chunkedBody(parts: string[]): BodyProducer {
  return {
    length: UNKNOWN_LENGTH,
    replayable: false,
    startProducing: (consumer) => {
      for (const part of parts) consumer.write(Buffer.from(part));
      return Promise.resolve();
    },
    pauseProducing() {},
    resumeProducing() {},
    stopProducing() {},
  };
}
