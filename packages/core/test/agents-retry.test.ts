/**
 * RetryAgent through real loopback servers, with a ManualClock so back-off takes no time: what
 * is retried (statuses, connection errors by how far the request got), what never is, back-off
 * and Retry-After, limits, and cancellation during the wait.
 */
import type * as http from 'node:http';
import { Readable } from 'node:stream';
import {
  BytesProducer,
  CancelledError,
  ConnectionRefusedError,
  FileBodyProducer,
  HTTPConnectionPool,
  HttpAgent,
  InvalidArgumentError,
  ManualClock,
  RequestTransmissionFailedError,
  ResponseFailedError,
  ResponseNeverReceivedError,
  type Response,
  RetryAgent,
  type RetryAgentOptions,
  type RetryEvent,
  StandardEndpointFactory,
  TLSUnknownCAError,
  readBody,
} from '../src/index.js';
import { text } from './support/agents-helpers.js';
import { type AgentTestServer, readRequest, startOrigin, startTlsOrigin, testCaPolicy } from './support/agents-servers.js';
import { type TestServer, onRequestHead, startRawServer } from './support/servers.js';

/** Scripted answers per path: each request takes the next status (the last one repeats). */
const scripts = new Map<string, { statuses: number[]; headers?: Record<string, string>; served: number; bodies: string[] }>();

const handler: http.RequestListener = (req, res) => {
  void readRequest(req).then((body) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const script = scripts.get(path);
    if (path === '/cut-body') {
      res.writeHead(200, { 'Content-Length': 100 });
      res.write('partial');
      setImmediate(() => res.socket?.destroy());
      return;
    }
    if (script === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    script.bodies.push(body);
    const status = script.statuses[Math.min(script.served, script.statuses.length - 1)] as number;
    script.served++;
    res.writeHead(status, { 'Content-Type': 'text/plain', ...(status >= 400 ? script.headers : {}) });
    res.end(`attempt ${script.served}: ${status}`.padEnd(status >= 400 ? 3000 : 0, '.'));
  });
};

let server: AgentTestServer;
let pool: HTTPConnectionPool;
let base: HttpAgent;
let clock: ManualClock;
let events: RetryEvent[];

beforeAll(async () => {
  server = await startOrigin(handler);
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  pool = new HTTPConnectionPool();
  base = new HttpAgent({ pool });
  clock = new ManualClock();
  events = [];
  scripts.clear();
});

afterEach(async () => {
  await pool.closeCachedConnections();
});

function script(path: string, statuses: number[], headers?: Record<string, string>): { served: number; bodies: string[] } {
  const entry = { statuses, served: 0, bodies: [] as string[], ...(headers === undefined ? {} : { headers }) };
  scripts.set(path, entry);
  return entry;
}

function retrying(options: RetryAgentOptions = {}, inner = base): RetryAgent {
  return new RetryAgent(inner, { clock, random: () => 0.5, onRetry: (e) => events.push(e), ...options });
}

/** Settles `promise`, firing the manual clock's timers whenever the agent waits on one. */
async function drive<T>(promise: Promise<T>): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  while (outcome === null) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    if (clock.pending > 0) clock.advance(60_000);
  }
  const settled = outcome as { ok: true; value: T } | { ok: false; error: unknown };
  if (settled.ok) return settled.value;
  throw settled.error;
}

describe('RetryAgent: statuses', () => {
  it('retries a GET answered 503 and returns the first success', async () => {
    const seen = script('/flaky', [503, 503, 200]);
    const response = await drive(retrying().request('GET', `${server.url}/flaky`));
    expect(response.code).toBe(200);
    expect(await text(response)).toBe('attempt 3: 200');
    expect(seen.served).toBe(3);
    expect(events.map((e) => [e.attempt, e.delay, e.response?.code])).toEqual([
      [1, 50, 503],
      [2, 100, 503],
    ]);
  });

  it.each([408, 429, 500, 502, 503, 504])('retries %i by default', async (code) => {
    const seen = script('/status', [code, 200]);
    expect((await drive(retrying().request('GET', `${server.url}/status`))).code).toBe(200);
    expect(seen.served).toBe(2);
  });

  it.each([400, 404, 501, 505])('does not retry %i by default', async (code) => {
    const seen = script('/status', [code, 200]);
    const response = await drive(retrying().request('GET', `${server.url}/status`));
    expect(response.code).toBe(code);
    expect(seen.served).toBe(1);
    await response.dump();
  });

  it('retries the statuses it is given', async () => {
    const seen = script('/status', [418, 200]);
    expect((await drive(retrying({ statuses: [418] }).request('GET', `${server.url}/status`))).code).toBe(200);
    expect(seen.served).toBe(2);
  });

  it('returns the last response after maxAttempts, its body intact', async () => {
    const seen = script('/down', [503]);
    const response = await drive(retrying({ maxAttempts: 4 }).request('GET', `${server.url}/down`));
    expect(response.code).toBe(503);
    expect((await text(response)).startsWith('attempt 4: 503')).toBe(true);
    expect(seen.served).toBe(4);
  });

  it('discards the bodies of retried responses so one connection serves every attempt', async () => {
    script('/flaky', [500, 502, 200]);
    const before = server.connections;
    await text(await drive(retrying().request('GET', `${server.url}/flaky`)));
    expect(server.connections - before).toBe(1);
    expect(events.every((e) => e.response?.bodyUsed === true)).toBe(true);
  });

  it('does not retry a POST answered 503 unless told to', async () => {
    const once = script('/post', [503, 200]);
    const response = await drive(retrying().request('POST', `${server.url}/post`, null, new BytesProducer('x')));
    expect(response.code).toBe(503);
    expect(once.served).toBe(1);
    await response.dump();
    const told = script('/post', [503, 200]);
    expect((await drive(retrying({ retryNonIdempotent: true }).request('POST', `${server.url}/post`, null, new BytesProducer('again')))).code).toBe(200);
    expect(told.bodies).toEqual(['again', 'again']);
  });

  it('never retries a PUT whose body cannot be replayed', async () => {
    const seen = script('/put', [503, 200]);
    const body = new FileBodyProducer(Readable.from([Buffer.from('one-shot')]), { length: 8 });
    const response = await drive(retrying().request('PUT', `${server.url}/put`, null, body));
    expect(response.code).toBe(503);
    expect(seen.served).toBe(1);
    await response.dump();
  });
});

describe('RetryAgent: back-off and Retry-After', () => {
  it('uses full-jitter exponential back-off capped at maxDelay', async () => {
    script('/down', [503]);
    const draws = [0, 0.999, 0.5, 0.5];
    const agent = retrying({ maxAttempts: 5, baseDelay: 1000, maxDelay: 3000, random: () => draws.shift() ?? 0.5 });
    await (await drive(agent.request('GET', `${server.url}/down`))).dump();
    expect(events.map((e) => e.delay)).toEqual([0, Math.floor(2000 * 0.999), 1500, 1500]);
  });

  it('honours Retry-After in seconds exactly, whatever the jitter', async () => {
    script('/busy', [429, 200], { 'Retry-After': '7' });
    expect((await drive(retrying().request('GET', `${server.url}/busy`))).code).toBe(200);
    expect(events.map((e) => e.delay)).toEqual([7000]);
  });

  it("honours a Retry-After date measured against the response's Date", async () => {
    const date = new Date('2030-01-01T00:00:00Z');
    script('/busy', [503, 200], { Date: date.toUTCString(), 'Retry-After': new Date(date.getTime() + 12_000).toUTCString() });
    expect((await drive(retrying().request('GET', `${server.url}/busy`))).code).toBe(200);
    expect(events.map((e) => e.delay)).toEqual([12_000]);
  });

  it('measures a Retry-After date against the injected wall clock when there is no Date', async () => {
    const at = Date.UTC(2030, 0, 1);
    let n = 0;
    const noDate = await startOrigin((_req, res) => {
      res.sendDate = false;
      res.writeHead(n++ === 0 ? 503 : 200, { 'Retry-After': new Date(at + 3000).toUTCString(), 'Content-Length': 0 });
      res.end();
    });
    try {
      expect((await drive(retrying({ now: () => at }).request('GET', `${noDate.url}/`))).code).toBe(200);
      expect(events.map((e) => e.delay)).toEqual([3000]);
    } finally {
      await noDate.close();
    }
  });

  it('returns the response instead of waiting longer than maxRetryAfter', async () => {
    const seen = script('/later', [503, 200], { 'Retry-After': '3600' });
    const response = await drive(retrying({ maxRetryAfter: 60_000 }).request('GET', `${server.url}/later`));
    expect(response.code).toBe(503);
    expect(seen.served).toBe(1);
    expect(events).toHaveLength(0);
    await response.dump();
  });

  it('falls back to back-off for an unreadable Retry-After', async () => {
    script('/busy', [503, 200], { 'Retry-After': 'soon' });
    expect((await drive(retrying().request('GET', `${server.url}/busy`))).code).toBe(200);
    expect(events.map((e) => e.delay)).toEqual([50]);
  });

  it('cancels the wait when the signal aborts, without sending again', async () => {
    const seen = script('/down', [503]);
    const controller = new AbortController();
    const pending = retrying({ baseDelay: 5000 }).request('GET', `${server.url}/down`, null, null, { signal: controller.signal });
    while (clock.pending === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    expect(clock.pending).toBe(0);
    expect(seen.served).toBe(1);
  });

  it('waits on the real clock by default', async () => {
    const seen = script('/flaky', [503, 200]);
    const response = await new RetryAgent(base, { baseDelay: 1 }).request('GET', `${server.url}/flaky`);
    expect(response.code).toBe(200);
    expect(seen.served).toBe(2);
    await response.dump();
  });
});

describe('RetryAgent: connection errors', () => {
  let raw: TestServer | null = null;

  afterEach(async () => {
    await raw?.close();
    raw = null;
  });

  it('retries a refused connection, even for a POST with a one-shot body (nothing was sent)', async () => {
    const probe = await startOrigin(handler);
    const port = probe.port;
    await probe.close();
    let late: AgentTestServer | null = null;
    const agent = new RetryAgent(base, {
      clock,
      random: () => 0.5,
      onRetry: (e) => {
        events.push(e);
        void startOrigin(handler, '127.0.0.1', port).then((s) => (late = s));
      },
    });
    const seen = script('/post', [200]);
    const body = new FileBodyProducer(Readable.from([Buffer.from('stream body')]));
    try {
      const response = await drive(agent.request('POST', `http://127.0.0.1:${port}/post`, null, body));
      expect(response.code).toBe(200);
      expect(events[0]?.error).toBeInstanceOf(ConnectionRefusedError);
      expect(seen.bodies).toEqual(['stream body']);
      await response.dump();
    } finally {
      while (late === null) await new Promise((resolve) => setTimeout(resolve, 2));
      await (late as AgentTestServer).close();
    }
  });

  it('with retryConnectionRefused: false, throws a refused connection at once (curl\'s --retry without --retry-connrefused)', async () => {
    const probe = await startOrigin(handler);
    await probe.close();
    const error = await drive(retrying({ maxAttempts: 3, retryConnectionRefused: false }).request('GET', `http://127.0.0.1:${probe.port}/`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionRefusedError);
    expect(error).toMatchObject({ code: 'STRAND_CONNECTION_REFUSED' });
    expect(events).toHaveLength(0);
  });

  it('with retryConnectionRefused: true, retries a refused connection up to maxAttempts', async () => {
    const probe = await startOrigin(handler);
    await probe.close();
    await expect(drive(retrying({ maxAttempts: 3, retryConnectionRefused: true }).request('GET', `http://127.0.0.1:${probe.port}/`))).rejects.toBeInstanceOf(ConnectionRefusedError);
    expect(events.map((e) => [e.attempt, (e.error as Error).constructor.name])).toEqual([
      [1, 'ConnectionRefusedError'],
      [2, 'ConnectionRefusedError'],
    ]);
  });

  it('throws the last connection error after maxAttempts', async () => {
    const probe = await startOrigin(handler);
    await probe.close();
    await expect(drive(retrying({ maxAttempts: 3 }).request('GET', `http://127.0.0.1:${probe.port}/`))).rejects.toBeInstanceOf(ConnectionRefusedError);
    expect(events).toHaveLength(2);
  });

  it('retries a GET whose response never came, but not a POST', async () => {
    let heads = 0;
    raw = await startRawServer((socket) =>
      onRequestHead(socket, () => {
        heads++;
        if (heads === 2) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else socket.destroy();
      }),
    );
    const response = await drive(retrying().request('GET', `${raw.url}/`));
    expect(await text(response)).toBe('ok');
    expect(events[0]?.error).toBeInstanceOf(ResponseNeverReceivedError);
    heads = 0;
    events.length = 0;
    // A fresh pool: the GET's connection was closed by the server and must not be picked up.
    const fresh = new HTTPConnectionPool();
    await expect(drive(retrying({}, new HttpAgent({ pool: fresh })).request('POST', `${raw.url}/`, null, new BytesProducer('once')))).rejects.toBeInstanceOf(ResponseNeverReceivedError);
    expect(heads).toBe(1);
    expect(events).toHaveLength(0);
    await fresh.closeCachedConnections();
  });

  it('sends a PUT again, whole, when the connection broke while its replayable body was being sent', async () => {
    const size = 8 * 1024 * 1024;
    let heads = 0;
    raw = await startRawServer((socket) =>
      onRequestHead(socket, (_head, rest) => {
        heads++;
        if (heads === 1) {
          // Stop reading and reset while the client is still writing the 8 MiB body.
          socket.pause();
          setTimeout(() => socket.resetAndDestroy(), 20);
          return;
        }
        let received = rest.length;
        const answer = (): void => {
          if (received < size) return;
          socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${String(received).length}\r\n\r\n${received}`);
        };
        socket.on('data', (chunk: Buffer) => {
          received += chunk.length;
          answer();
        });
        answer();
      }),
    );
    const response = await drive(retrying().request('PUT', `${raw.url}/upload`, null, new BytesProducer(Buffer.alloc(size, 0x61))));
    expect(await text(response)).toBe(String(size));
    expect(heads).toBe(2);
    expect(events).toHaveLength(1);
    expect(events[0]?.error).toBeInstanceOf(RequestTransmissionFailedError);
  });

  it('retries a GET whose response head timed out, but not a POST', async () => {
    let heads = 0;
    raw = await startRawServer((socket) =>
      onRequestHead(socket, () => {
        heads++;
        if (heads === 2) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }),
    );
    const impatient = new HttpAgent({ pool, timeouts: { headers: 50 } });
    expect(await text(await drive(retrying({}, impatient).request('GET', `${raw.url}/`)))).toBe('ok');
    expect(events[0]?.error).toMatchObject({ code: 'STRAND_HEADERS_TIMEOUT' });
    heads = 0;
    events.length = 0;
    const fresh = new HTTPConnectionPool();
    const post = retrying({}, new HttpAgent({ pool: fresh, timeouts: { headers: 50 } })).request('POST', `${raw.url}/`, null, new BytesProducer('once'));
    await expect(drive(post)).rejects.toMatchObject({ code: 'STRAND_HEADERS_TIMEOUT' });
    expect(heads).toBe(1);
    await fresh.closeCachedConnections();
  });

  it('never retries a body that fails after the response was handed out', async () => {
    let requests = 0;
    const counting = { request: (...args: Parameters<HttpAgent['request']>) => (requests++, base.request(...args)) };
    const response: Response = await drive(retrying({}, counting as unknown as HttpAgent).request('GET', `${server.url}/cut-body`));
    await expect(readBody(response)).rejects.toBeInstanceOf(ResponseFailedError);
    expect(requests).toBe(1);
  });

  it('does not retry a TLS certificate the client rejected', async () => {
    const untrusted = await startTlsOrigin(handler, 'unknown-ca-localhost');
    try {
      const tlsAgent = new HttpAgent({ pool, endpointFactory: new StandardEndpointFactory({ tlsPolicy: testCaPolicy() }) });
      await expect(drive(retrying({}, tlsAgent).request('GET', `${untrusted.url}/`))).rejects.toBeInstanceOf(TLSUnknownCAError);
      expect(events).toHaveLength(0);
    } finally {
      await untrusted.close();
    }
  });

  it('rejects bad options by name', () => {
    expect(() => new RetryAgent(base, { maxAttempts: 0 })).toThrow(InvalidArgumentError);
    expect(() => new RetryAgent(base, { baseDelay: -1 })).toThrow(/baseDelay/);
    expect(() => new RetryAgent(base, { statuses: [42] })).toThrow(/statuses/);
    expect(() => new RetryAgent(base, { retryConnectionRefused: 'no' as unknown as boolean })).toThrow(/^retryConnectionRefused must be a boolean, got no$/);
  });
});
