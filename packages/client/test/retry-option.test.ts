/**
 * The `retry` option (got's shape) over core's RetryAgent, against a loopback server that fails
 * on demand. Back-off is set to 0 ms so no test waits on a timer.
 */
import { ConnectionRefusedError, HTTPConnectionPool, InvalidArgumentError } from '@strand/core';
import { HTTPClient } from '@strand/client';
import { type TestServer, startServer } from './support/servers';

let server: TestServer;
let pool: HTTPConnectionPool;
/** Statuses the server answers with, in order; then 200. */
let script: Array<number | 'drop' | { status: number; retryAfter: string }>;

const NO_WAIT = { base: 0 } as const;

beforeEach(async () => {
  script = [];
  server = await startServer((req, res, body) => {
    const next = script.shift() ?? 200;
    if (next === 'drop') {
      // The request arrived, the connection goes away without an answer.
      req.socket.destroy();
      return;
    }
    if (typeof next === 'object') {
      res.writeHead(next.status, { 'retry-after': next.retryAfter });
      res.end('later');
      return;
    }
    res.writeHead(next);
    res.end(`${req.method} ${body.toString()} -> ${next}`);
  });
  pool = new HTTPConnectionPool();
});

afterEach(async () => {
  await pool.closeCachedConnections();
  await server.close();
});

it('does not retry by default', async () => {
  script = [503];
  const response = await new HTTPClient({ pool }).get(`${server.url}/`);
  expect(response.code).toBe(503);
  expect(server.requests).toHaveLength(1);
});

it('retries a retryable status up to limit times, and returns the first success', async () => {
  script = [503, 502];
  const response = await new HTTPClient({ pool, retry: { limit: 2, backoff: NO_WAIT } }).get(`${server.url}/flaky`);
  expect(response.code).toBe(200);
  expect(server.requests.map((r) => r.url)).toEqual(['/flaky', '/flaky', '/flaky']);
});

it('returns the last response once the retries are spent', async () => {
  script = [503, 503, 503, 503];
  const response = await new HTTPClient({ pool, retry: { limit: 1, backoff: NO_WAIT } }).get(`${server.url}/`);
  expect(response.code).toBe(503);
  expect(server.requests).toHaveLength(2);
});

it('takes a number as the limit, with the other settings at their defaults', async () => {
  script = [500];
  const client = new HTTPClient({ pool, retry: 1 });
  // The default back-off waits at most 100 ms before this single retry.
  expect((await client.get(`${server.url}/`)).code).toBe(200);
  expect(server.requests).toHaveLength(2);
});

it('retries GET after the connection dropped before any response', async () => {
  script = ['drop'];
  const response = await new HTTPClient({ pool, retry: { limit: 1, backoff: NO_WAIT } }).get(`${server.url}/dropped`);
  expect(response.code).toBe(200);
  expect(server.requests).toHaveLength(2);
});

describe('a refused connection', () => {
  /** A loopback port whose listener has closed: connecting to it is refused. */
  async function refusingUrl(): Promise<string> {
    const closed = await startServer(() => undefined);
    await closed.close();
    return `${closed.url}/refused`;
  }

  it('is retried by default, as got does: every attempt is refused, then the error is thrown', async () => {
    const url = await refusingUrl();
    const retried: unknown[] = [];
    const client = new HTTPClient({ pool, retry: { limit: 2, backoff: NO_WAIT }, hooks: { beforeRetry: [(state) => void retried.push(state.error)] } });
    await expect(client.get(url)).rejects.toBeInstanceOf(ConnectionRefusedError);
    expect(retried).toHaveLength(2);
    expect(retried.every((e) => e instanceof ConnectionRefusedError)).toBe(true);
  });

  it('is final with connectionRefused: false (curl\'s --retry without --retry-connrefused), while statuses are still retried', async () => {
    const url = await refusingUrl();
    const retried: unknown[] = [];
    const client = new HTTPClient({ pool, retry: { limit: 2, backoff: NO_WAIT, connectionRefused: false }, hooks: { beforeRetry: [(state) => void retried.push(state.error)] } });
    const error = await client.get(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionRefusedError);
    expect(error).toMatchObject({ code: 'STRAND_CONNECTION_REFUSED' });
    expect(retried).toHaveLength(0);
    script = [503];
    expect((await client.get(`${server.url}/still-retried`)).code).toBe(200);
    expect(server.requests).toHaveLength(2);
  });
});

it('does not retry POST unless methods lists it', async () => {
  script = [503, 503];
  const client = new HTTPClient({ pool, retry: { limit: 1, backoff: NO_WAIT } });
  expect((await client.post(`${server.url}/`, { data: 'once' })).code).toBe(503);
  expect(server.requests).toHaveLength(1);
});

it('retries POST when methods lists it, sending the body again', async () => {
  script = [503];
  const client = new HTTPClient({ pool, retry: { limit: 1, methods: ['post'], backoff: NO_WAIT } });
  const response = await client.post(`${server.url}/`, { data: 'again' });
  expect(await response.text()).toBe('POST again -> 200');
  expect(server.requests.map((r) => r.body.toString())).toEqual(['again', 'again']);
});

it('retries only the methods listed: GET is not retried when methods names POST alone', async () => {
  script = [503];
  const client = new HTTPClient({ pool, retry: { methods: ['POST'], backoff: NO_WAIT } });
  expect((await client.get(`${server.url}/`)).code).toBe(503);
  expect(server.requests).toHaveLength(1);
});

it('retries the statusCodes given instead of the default ones', async () => {
  script = [418, 503];
  const client = new HTTPClient({ pool, retry: { limit: 3, statusCodes: [418], backoff: NO_WAIT } });
  expect((await client.get(`${server.url}/`)).code).toBe(503);
  expect(server.requests).toHaveLength(2);
});

it('returns a response whose Retry-After is longer than maxRetryAfter instead of waiting', async () => {
  script = [{ status: 503, retryAfter: '120' }];
  const client = new HTTPClient({ pool, retry: { limit: 2, maxRetryAfter: 1000, backoff: NO_WAIT } });
  const response = await client.get(`${server.url}/`);
  expect(response.code).toBe(503);
  expect(response.headers.get('retry-after')).toBe('120');
  expect(server.requests).toHaveLength(1);
});

it('honours a Retry-After within maxRetryAfter', async () => {
  script = [{ status: 429, retryAfter: '0' }];
  const client = new HTTPClient({ pool, retry: { limit: 1, backoff: NO_WAIT } });
  expect((await client.get(`${server.url}/`)).code).toBe(200);
  expect(server.requests).toHaveLength(2);
});

it('lets a request turn the client\'s retries off with retry: false or 0, and set its own', async () => {
  script = [503, 503, 503];
  const client = new HTTPClient({ pool, retry: { limit: 3, backoff: NO_WAIT } });
  expect((await client.get(`${server.url}/off`, { retry: false })).code).toBe(503);
  expect((await client.get(`${server.url}/zero`, { retry: 0 })).code).toBe(503);
  expect((await client.get(`${server.url}/one`, { retry: { limit: 1, backoff: NO_WAIT } })).code).toBe(200);
  expect(server.requests.map((r) => r.url)).toEqual(['/off', '/zero', '/one', '/one']);
});

it('keeps the client\'s retry for plain requests after one with its own (the shared stack is the client\'s)', async () => {
  script = [503];
  const client = new HTTPClient({ pool, retry: { limit: 1, backoff: NO_WAIT } });
  expect((await client.get(`${server.url}/plain-1`)).code).toBe(200);
  script = [503];
  expect((await client.get(`${server.url}/own`, { retry: false })).code).toBe(503);
  script = [503];
  expect((await client.get(`${server.url}/plain-2`)).code).toBe(200);
  expect(server.requests.map((r) => r.url)).toEqual(['/plain-1', '/plain-1', '/own', '/plain-2', '/plain-2']);
});

it('retries each hop of a redirect chain on its own', async () => {
  let hop = 0;
  const redirecting = await startServer((req, res) => {
    hop++;
    if (req.url === '/start') {
      res.writeHead(302, { location: `${server.url}/target` });
      res.end();
      return;
    }
    res.end(String(hop));
  });
  try {
    script = [503];
    const response = await new HTTPClient({ pool, retry: { limit: 1, backoff: NO_WAIT } }).get(`${redirecting.url}/start`);
    expect(response.code).toBe(200);
    expect(redirecting.requests).toHaveLength(1);
    expect(server.requests.map((r) => r.url)).toEqual(['/target', '/target']);
  } finally {
    await redirecting.close();
  }
});

describe('bad retry options', () => {
  it.each([
    ['a negative number', -1, /^retry must be a non-negative integer/],
    ['a string', 'always', /^retry must be a number of retries, false, or an object/],
    ['an unknown key', { attempts: 3 }, /^retry\.attempts is not a retry option; use limit, methods, statusCodes, backoff, maxRetryAfter or connectionRefused/],
    ['a non-boolean connectionRefused', { connectionRefused: 'yes' }, /^retry\.connectionRefused must be a boolean/],
    ['a fractional limit', { limit: 1.5 }, /^retry\.limit must be a non-negative integer/],
    ['methods as a string', { methods: 'GET' }, /^retry\.methods must be an array of method names/],
    ['a method with a space', { methods: ['G ET'] }, /^retry\.methods: "G ET" is not a method name/],
    ['a status out of range', { statusCodes: [99] }, /^retry\.statusCodes: 99 is not an HTTP status code/],
    ['a negative back-off', { backoff: { base: -5 } }, /^retry\.backoff\.base must be a non-negative number of milliseconds/],
    ['an unknown back-off key', { backoff: { factor: 2 } }, /^retry\.backoff\.factor is not a back-off option/],
    ['a non-boolean jitter', { backoff: { jitter: 'no' } }, /^retry\.backoff\.jitter must be a boolean/],
    ['a NaN maxRetryAfter', { maxRetryAfter: NaN }, /^retry\.maxRetryAfter must be a non-negative number of milliseconds/],
  ])('refuses %s with an InvalidArgumentError naming the option', (_label, retry, message) => {
    const make = (): HTTPClient => new HTTPClient({ retry: retry as never });
    expect(make).toThrow(InvalidArgumentError);
    expect(make).toThrow(message);
  });

  it('refuses a bad per-request retry before sending anything', async () => {
    await expect(new HTTPClient({ pool }).get(`${server.url}/`, { retry: { limit: -1 } })).rejects.toThrow(/^retry\.limit must be/);
    expect(server.requests).toHaveLength(0);
  });
});
