import {
  CancelledError,
  ConnectionRefusedError,
  ManualClock,
  ParseError,
  ResponseFailedError,
  ResponseNeverReceivedError,
  TimeoutError,
  readBody,
} from '@strand/core';
import { DEFAULT_GARBAGE, type FakeAgent, type Fault, type Reply, createFakeAgent, timeoutSignal } from '@strand/testing';

const BODY = 'x'.repeat(1000);

let fake: FakeAgent | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** A fake whose `/ok` answers normally and `/faulty` answers `reply`. */
function fakeWith(reply: Reply, options: Parameters<typeof createFakeAgent>[1] = {}): FakeAgent {
  fake = createFakeAgent(
    [
      { path: '/ok', reply: { body: 'fine' } },
      { path: '/faulty', reply },
    ],
    options,
  );
  return fake;
}

/** After a fault: a new request works, nothing is left in use in the pool, and no connection leaked on either side. */
async function expectHealthy(agent: FakeAgent): Promise<void> {
  const response = await agent.request('GET', 'http://api.test/ok');
  expect(response.code).toBe(200);
  expect((await readBody(response)).toString()).toBe('fine');
  await agent.flush();
  const stats = Object.values(agent.agent.pool.stats());
  expect(stats.every((s) => s.inUse === 0)).toBe(true);
  const open = stats.reduce((n, s) => n + s.open, 0);
  expect(open).toBe(1);
  expect(agent.openConnections).toBe(open);
}

async function headError(agent: FakeAgent, path = '/faulty'): Promise<unknown> {
  return agent.request('GET', `http://api.test${path}`).then(
    () => {
      throw new Error('expected the request to fail');
    },
    (error: unknown) => error,
  );
}

async function bodyError(agent: FakeAgent): Promise<unknown> {
  const response = await agent.request('GET', 'http://api.test/faulty');
  expect(response.code).toBe(200);
  return readBody(response).then(
    () => {
      throw new Error('expected the body to fail');
    },
    (error: unknown) => error,
  );
}

describe('refused connections', () => {
  test('an injected refusal rejects with ConnectionRefusedError, then connections work again', async () => {
    const agent = fakeWith({ body: BODY });
    agent.injectFault('refuse');
    const error = await headError(agent);
    expect(error).toBeInstanceOf(ConnectionRefusedError);
    expect((error as ConnectionRefusedError).code).toBe('STRAND_CONNECTION_REFUSED');
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(agent.connectionsOpened).toBe(0);
    await expectHealthy(agent);
  });

  test('times and origin choose which connections are refused', async () => {
    const agent = fakeWith({ body: BODY });
    agent.injectFault({ type: 'refuse' }, { times: 2, origin: 'http://down.test' });
    await expect(agent.request('GET', 'http://down.test/ok')).rejects.toBeInstanceOf(ConnectionRefusedError);
    expect((await agent.request('GET', 'http://api.test/ok')).code).toBe(200);
    await expect(agent.request('GET', 'http://down.test/ok')).rejects.toBeInstanceOf(ConnectionRefusedError);
    expect((await agent.request('GET', 'http://down.test/ok')).code).toBe(200);
  });

  test("a reply cannot carry 'refuse': it happens before any request", async () => {
    // A reply given as data is refused where the route is written...
    expect(() => fakeWith({ fault: 'refuse' })).toThrow(/route #2 \(\* \/faulty\): reply: the 'refuse' fault happens before any request; inject it as a connection fault/);
    // ...and one a handler returns gives the client a 500 and a recorded failure.
    fake = createFakeAgent(() => ({ fault: 'refuse' }));
    const agent = fake;
    expect((await agent.request('GET', 'http://api.test/faulty')).code).toBe(500);
    expect(agent.failures[0]?.message).toMatch(/inject it as a connection fault/);
  });
});

describe('resets', () => {
  test('a reset before the head is "response never received", with ECONNRESET as the cause', async () => {
    const agent = fakeWith({ body: BODY, fault: 'reset' });
    const error = await headError(agent);
    expect(error).toBeInstanceOf(ResponseNeverReceivedError);
    expect((error as ResponseNeverReceivedError).bytesReceived).toBe(0);
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    await expectHealthy(agent);
  });

  test('a reset inside the head says how many bytes had arrived', async () => {
    const agent = fakeWith({ body: BODY, fault: { type: 'reset', afterBytes: 12 } });
    const error = await headError(agent);
    expect(error).toBeInstanceOf(ResponseNeverReceivedError);
    expect((error as ResponseNeverReceivedError).bytesReceived).toBe(12);
    await expectHealthy(agent);
  });

  test('a reset in the middle of the body fails the body with ResponseFailedError', async () => {
    const agent = fakeWith({ body: BODY, fault: { type: 'reset', afterBytes: 300 } });
    const error = await bodyError(agent);
    expect(error).toBeInstanceOf(ResponseFailedError);
    expect((error as ResponseFailedError).code).toBe('STRAND_RESPONSE_FAILED');
    await expectHealthy(agent);
  });

  test('the part of the body before the reset is delivered first', async () => {
    const agent = fakeWith({ body: 'abcdefghij', fault: { type: 'reset', afterBytes: 10_000 } });
    // The reset point is past the end of this response: the response completes, then the
    // connection is reset while idle, and the pool drops it.
    const response = await agent.request('GET', 'http://api.test/faulty');
    expect((await readBody(response)).toString()).toBe('abcdefghij');
    await expectHealthy(agent);
    expect(agent.connectionsOpened).toBe(2);
  });

  test('afterBodyBytes counts from the end of the head', async () => {
    const agent = fakeWith({ body: 'abcdefghij', fault: { type: 'reset', afterBodyBytes: 4 } });
    const response = await agent.request('GET', 'http://api.test/faulty');
    const received: Buffer[] = [];
    const reason = await new Promise<unknown>((resolve) => response.deliverBody({ dataReceived: (c) => received.push(c), connectionLost: resolve }));
    expect(reason).toBeInstanceOf(ResponseFailedError);
    expect(Buffer.concat(received).toString()).toBe('abcd');
    await expectHealthy(agent);
  });

  test('a connection fault counts bytes from the start of the connection', async () => {
    const agent = fakeWith({ body: BODY });
    agent.injectFault({ type: 'reset', afterBytes: 200 });
    const error = await bodyError(agent);
    expect(error).toBeInstanceOf(ResponseFailedError);
    await expectHealthy(agent);
  });
});

describe('early closes', () => {
  test('a close before the head is "response never received" with nothing received', async () => {
    const agent = fakeWith({ body: BODY, fault: 'close' });
    const error = await headError(agent);
    expect(error).toBeInstanceOf(ResponseNeverReceivedError);
    expect((error as ResponseNeverReceivedError).bytesReceived).toBe(0);
    expect((error as Error).cause).toBeUndefined();
    await expectHealthy(agent);
  });

  test('a truncated Content-Length body is a partial response, never a short success', async () => {
    const agent = fakeWith({ body: BODY, fault: { type: 'truncate', bodyBytes: 10 } });
    const response = await agent.request('GET', 'http://api.test/faulty');
    expect(response.length).toBe(1000);
    const received: Buffer[] = [];
    const error = await new Promise<unknown>((resolve) => {
      response.deliverBody({ dataReceived: (chunk) => received.push(chunk), connectionLost: resolve });
    });
    expect(error).toBeInstanceOf(ResponseFailedError);
    expect(Buffer.concat(received).toString()).toBe('x'.repeat(10));
    await expectHealthy(agent);
  });

  test('a truncated chunked body is a partial response', async () => {
    const agent = fakeWith({ body: BODY, chunked: true, fault: { type: 'truncate', bodyBytes: 50 } });
    expect(await bodyError(agent)).toBeInstanceOf(ResponseFailedError);
    await expectHealthy(agent);
  });

  test('truncate with the default keeps only the head', async () => {
    const agent = fakeWith({ body: BODY, fault: 'truncate' });
    const response = await agent.request('GET', 'http://api.test/faulty');
    const chunks: Buffer[] = [];
    await expect(
      (async () => {
        for await (const chunk of response) chunks.push(chunk);
      })(),
    ).rejects.toBeInstanceOf(ResponseFailedError);
    expect(chunks).toHaveLength(0);
  });
});

describe('stalls', () => {
  test("a stalled server is cut off by the agent's headers timeout on a ManualClock", async () => {
    const clock = new ManualClock();
    const agent = fakeWith({ body: BODY, fault: 'stall' }, { clock, agentOptions: { timeouts: { headers: 1000 } } });
    const failed = expect(agent.request('GET', 'http://api.test/faulty')).rejects.toBeInstanceOf(TimeoutError);
    await agent.flush();
    expect(agent.requests).toHaveLength(1);
    await agent.advance(2000);
    await failed;
    await expectHealthy(agent);
  });

  test('a stalled server is cut off by a deadline signal', async () => {
    const clock = new ManualClock();
    const agent = fakeWith({ body: BODY, fault: 'stall' }, { clock });
    const failed = expect(agent.request('GET', 'http://api.test/faulty', null, null, { signal: timeoutSignal(5000, clock) })).rejects.toBeInstanceOf(CancelledError);
    await agent.advance(5000);
    await failed;
    await expectHealthy(agent);
  });

  test('a stall in the middle of the body leaves the body waiting until the caller gives up', async () => {
    const controller = new AbortController();
    const agent = fakeWith({ body: BODY, fault: { type: 'stall', afterBytes: 150 } });
    const response = await agent.request('GET', 'http://api.test/faulty', null, null, { signal: controller.signal });
    const chunks: Buffer[] = [];
    let ended: unknown = null;
    response.deliverBody({ dataReceived: (chunk) => chunks.push(chunk), connectionLost: (reason) => (ended = reason) });
    await agent.flush();
    expect(ended).toBeNull();
    expect(Buffer.concat(chunks).length).toBeGreaterThan(0);
    expect(Buffer.concat(chunks).length).toBeLessThan(150);
    controller.abort();
    await agent.flush();
    expect(ended).toBeInstanceOf(CancelledError);
    await expectHealthy(agent);
  });
});

describe('dripping', () => {
  test('a dripped response arrives whole, one byte per read', async () => {
    const agent = fakeWith({ json: { drip: 'drop' }, fault: 'drip' });
    const response = await agent.request('GET', 'http://api.test/faulty');
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('{"drip":"drop"}');
    expect(chunks.every((c) => c.length === 1)).toBe(true);
    expect(chunks).toHaveLength(15);
    await expectHealthy(agent);
    // The drip belonged to that response: the connection was reused and the next one was not dripped.
    expect(agent.connectionsOpened).toBe(1);
  });

  test('a dripped chunked body with trailers is parsed at every split', async () => {
    const agent = fakeWith({ body: 'hello world', chunked: true, trailers: { 'X-Sum': '42' }, fault: { type: 'drip', chunkSize: 3 } });
    const response = await agent.request('GET', 'http://api.test/faulty');
    expect((await readBody(response)).toString()).toBe('hello world');
    expect(response.trailers.get('x-sum')).toBe('42');
    await expectHealthy(agent);
  });

  test('flush() waits for a drip to finish', async () => {
    const agent = fakeWith({ body: BODY, fault: { type: 'drip', chunkSize: 10 } });
    const response = await agent.request('GET', 'http://api.test/faulty');
    let length = 0;
    let done = false;
    response.deliverBody({ dataReceived: (chunk) => (length += chunk.length), connectionLost: () => (done = true) });
    await agent.flush();
    expect(done).toBe(true);
    expect(length).toBe(1000);
  });
});

describe('garbage', () => {
  test('bytes that are not HTTP are a ParseError', async () => {
    const agent = fakeWith({ body: BODY, fault: 'garbage' });
    const error = await headError(agent);
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).code).toBe('STRAND_PARSE_ERROR');
    expect(DEFAULT_GARBAGE).toMatch(/^SSH/);
    await expectHealthy(agent);
  });

  test('garbage in the middle of a chunked body is a ParseError on the body', async () => {
    // "5\r\nhello\r\n" is 10 bytes: the garbage comes where the next chunk size belongs.
    const agent = fakeWith({ body: 'hello', chunked: true, fault: { type: 'garbage', afterBodyBytes: 10, data: 'zz\r\n' } });
    const response = await agent.request('GET', 'http://api.test/faulty');
    const error = await readBody(response).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).kind).toBe('INVALID_CHUNK');
    await expectHealthy(agent);
  });

  test('a malformed status line chosen by the test is reported by kind', async () => {
    const agent = fakeWith({ fault: { type: 'garbage', data: 'HTTP/1.1 2OO OK\r\n\r\n' } });
    const error = await headError(agent);
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).kind).toBe('INVALID_STATUS');
    await expectHealthy(agent);
  });
});

describe('fault descriptions', () => {
  test.each<[Fault, RegExp]>([
    ['nonsense' as Fault, /expected one of refuse, reset/],
    [{ type: 'reset', afterBytes: -1 }, /afterBytes must be an integer of at least 0/],
    [{ type: 'drip', chunkSize: 0 }, /chunkSize must be an integer of at least 1/],
    [{ type: 'truncate', bodyBytes: 1.5 }, /bodyBytes must be an integer/],
    [{ type: 'close', afterBytes: 1, afterBodyBytes: 1 }, /not both/],
  ])('%j is refused with a message naming the field', (fault, message) => {
    const agent = fakeWith({});
    expect(() => agent.injectFault(fault)).toThrow(message);
  });

  test('injectFault checks times and origin', () => {
    const agent = fakeWith({});
    expect(() => agent.injectFault('reset', { times: 0 })).toThrow(/times must be a positive integer/);
    expect(() => agent.injectFault('reset', { origin: 'not a url' })).toThrow(/origin must be like/);
  });
});
