import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import {
  BytesProducer,
  CancelledError,
  type Endpoint,
  type EndpointFactory,
  FileBodyProducer,
  HttpAgent,
  HTTPConnectionPool,
  ManualClock,
  ResponseNeverReceivedError,
  StandardEndpointFactory,
  TimeoutError,
  readBody,
} from '../src/index.js';
import { type TestServer, delay, eventually, onRequestHead, startHttpServer, startRawServer } from './support/servers.js';

let server: TestServer;
let pending: http.ServerResponse[] = [];

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/hold') {
        pending.push(res);
        return;
      }
      if (req.url === '/keepalive-hint') res.setHeader('Keep-Alive', 'timeout=3');
      res.end(req.url ?? '');
    });
  });
});

afterAll(() => server.close());

afterEach(() => {
  for (const res of pending) res.end('released');
  pending = [];
});

function release(count = pending.length): void {
  for (const res of pending.splice(0, count)) res.end('released');
}

async function text(agent: HttpAgent, path: string, options = {}): Promise<string> {
  const response = await agent.request('GET', `${server.url}${path}`, null, null, options);
  return (await readBody(response)).toString();
}

describe('HTTPConnectionPool: caps and the queue', () => {
  it('caps connections per host and serves queued requests in FIFO order', async () => {
    const agent = new HttpAgent({ pool: new HTTPConnectionPool({ maxConnectionsPerHost: 2 }) });
    const order: string[] = [];
    const requests = ['a', 'b', 'c', 'd'].map((name) =>
      agent.request('GET', `${server.url}/hold`).then(async (response) => {
        order.push(name);
        await readBody(response);
      }),
    );
    expect(await eventually(() => pending.length === 2)).toBe(true);
    const key = Object.keys(agent.pool.stats())[0] as string;
    expect(agent.pool.stats()[key]).toEqual({ open: 2, idle: 0, inUse: 2, queued: 2 });
    release(1);
    expect(await eventually(() => pending.length === 2 && order.length === 1)).toBe(true);
    release(1);
    expect(await eventually(() => order.length === 2)).toBe(true);
    release();
    expect(await eventually(() => pending.length === 0 || order.length >= 3)).toBe(true);
    while (order.length < 4) {
      release();
      await delay(5);
    }
    await Promise.all(requests);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    expect(server.accepted).toBeGreaterThan(0);
    expect(agent.pool.stats()[key]).toEqual({ open: 2, idle: 2, inUse: 0, queued: 0 });
    await agent.pool.closeCachedConnections();
  });

  it('removes a request cancelled while queued at once, and serves the next one', async () => {
    const agent = new HttpAgent({ pool: new HTTPConnectionPool({ maxConnectionsPerHost: 1 }) });
    const first = agent.request('GET', `${server.url}/hold`);
    expect(await eventually(() => pending.length === 1)).toBe(true);
    const controller = new AbortController();
    const cancelled = agent.request('GET', `${server.url}/cancelled`, null, null, { signal: controller.signal });
    const third = agent.request('GET', `${server.url}/third`);
    await delay(10);
    const key = Object.keys(agent.pool.stats())[0] as string;
    expect(agent.pool.stats()[key]?.queued).toBe(2);
    controller.abort();
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    expect(agent.pool.stats()[key]?.queued).toBe(1);
    release();
    await readBody(await first);
    expect((await readBody(await third)).toString()).toBe('/third');
    await agent.pool.closeCachedConnections();
  });

  it('fails a request that waited in the queue longer than the queue timeout', async () => {
    const clock = new ManualClock();
    const agent = new HttpAgent({ pool: new HTTPConnectionPool({ maxConnectionsPerHost: 1, clock }) });
    const first = agent.request('GET', `${server.url}/hold`);
    expect(await eventually(() => pending.length === 1)).toBe(true);
    const queued = agent.request('GET', `${server.url}/x`, null, null, { timeout: { queue: 1000 } });
    await delay(5);
    clock.advance(999);
    await delay(5);
    clock.advance(1);
    const error = await queued.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'STRAND_QUEUE_TIMEOUT', phase: 'queue', sent: false });
    release();
    await readBody(await first);
    await agent.pool.closeCachedConnections();
  });
});

describe('HTTPConnectionPool: idle connections', () => {
  it('closes an idle connection after cachedConnectionTimeout and opens a new one next time', async () => {
    const clock = new ManualClock();
    const agent = new HttpAgent({ pool: new HTTPConnectionPool({ cachedConnectionTimeout: 2000, clock }) });
    const before = server.accepted;
    await text(agent, '/one');
    expect(Object.values(agent.pool.stats())[0]?.idle).toBe(1);
    clock.advance(1999);
    expect(Object.values(agent.pool.stats())[0]?.idle).toBe(1);
    clock.advance(600);
    expect(agent.pool.stats()).toEqual({});
    await text(agent, '/two');
    expect(server.accepted - before).toBe(2);
    await agent.pool.closeCachedConnections();
  });

  it("honours the server's Keep-Alive timeout hint, less a margin", async () => {
    const clock = new ManualClock();
    const agent = new HttpAgent({ pool: new HTTPConnectionPool({ cachedConnectionTimeout: 60_000, clock }) });
    await text(agent, '/keepalive-hint');
    expect(Object.values(agent.pool.stats())[0]?.idle).toBe(1);
    // timeout=3 means the server may close at 3 s: the pool must stop using it at 2 s.
    clock.advance(2000);
    const before = server.accepted;
    await text(agent, '/after');
    expect(server.accepted - before).toBe(1);
    await agent.pool.closeCachedConnections();
  });

  it('keeps at most maxPersistentPerHost idle connections', async () => {
    const agent = new HttpAgent({ pool: new HTTPConnectionPool({ maxPersistentPerHost: 2 }) });
    const responses = await Promise.all([1, 2, 3, 4].map((i) => agent.request('GET', `${server.url}/${i}`)));
    await Promise.all(responses.map((r) => readBody(r)));
    expect(Object.values(agent.pool.stats())).toEqual([{ open: 2, idle: 2, inUse: 0, queued: 0 }]);
    await agent.pool.closeCachedConnections();
  });

  it('never hands out a connection the server closed while it was idle', async () => {
    const raw = await startRawServer((socket) =>
      onRequestHead(socket, () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        setTimeout(() => socket.end(), 5);
      }),
    );
    try {
      const agent = new HttpAgent();
      await readBody(await agent.request('GET', raw.url));
      expect(await eventually(() => Object.keys(agent.pool.stats()).length === 0)).toBe(true);
      expect((await readBody(await agent.request('GET', raw.url))).toString()).toBe('ok');
      expect(raw.accepted).toBe(2);
      await agent.pool.closeCachedConnections();
    } finally {
      await raw.close();
    }
  });
});

describe('HTTPConnectionPool: retryAutomatically', () => {
  /** A server that answers the first request on each connection, then resets on the second one. */
  async function flakyServer(): Promise<TestServer> {
    return startRawServer((socket) => {
      let served = 0;
      const serve = (): void =>
        onRequestHead(socket, (head) => {
          served++;
          if (served > 1) {
            socket.resetAndDestroy();
            return;
          }
          const body = head.split(' ')[1] ?? '';
          socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
          serve();
        });
      serve();
    });
  }

  it('retries an idempotent request once on a fresh connection when a reused one fails before any response byte', async () => {
    const raw = await flakyServer();
    try {
      const agent = new HttpAgent();
      expect((await readBody(await agent.request('GET', `${raw.url}/first`))).toString()).toBe('/first');
      const second = await agent.request('PUT', `${raw.url}/second`, null, new BytesProducer('replayable'));
      expect((await readBody(second)).toString()).toBe('/second');
      expect(raw.accepted).toBe(2);
      await agent.pool.closeCachedConnections();
    } finally {
      await raw.close();
    }
  });

  it('does not retry a POST, a one-shot body, or when retryAutomatically is off', async () => {
    const raw = await flakyServer();
    try {
      const attempts: [string, HttpAgent, () => ReturnType<HttpAgent['request']>][] = [];
      const a = new HttpAgent();
      attempts.push(['POST', a, () => a.request('POST', `${raw.url}/post`, null, new BytesProducer('x'))]);
      const b = new HttpAgent();
      attempts.push(['one-shot body', b, () => b.request('PUT', `${raw.url}/put`, null, new FileBodyProducer((async function* () { yield 'x'; })()))]);
      const c = new HttpAgent({ pool: new HTTPConnectionPool({ retryAutomatically: false }) });
      attempts.push(['retry off', c, () => c.request('GET', `${raw.url}/get`)]);
      for (const [, agent, attempt] of attempts) {
        await readBody(await agent.request('GET', `${raw.url}/warm`));
        const accepted = raw.accepted;
        await expect(attempt()).rejects.toBeInstanceOf(ResponseNeverReceivedError);
        expect(raw.accepted).toBe(accepted);
        await agent.pool.closeCachedConnections();
      }
    } finally {
      await raw.close();
    }
  });

  it('does not retry on a fresh connection, nor after response bytes arrived', async () => {
    const raw = await startRawServer((socket) =>
      onRequestHead(socket, (head) => {
        if (head.startsWith('GET /partial')) socket.write('HTTP/1.1 200 OK\r\nCont');
        setTimeout(() => socket.resetAndDestroy(), 5);
      }),
    );
    try {
      const agent = new HttpAgent();
      await expect(agent.request('GET', `${raw.url}/fresh`)).rejects.toMatchObject({ code: 'STRAND_RESPONSE_NEVER_RECEIVED', bytesReceived: 0 });
      expect(raw.accepted).toBe(1);
      await expect(agent.request('GET', `${raw.url}/partial`)).rejects.toBeInstanceOf(ResponseNeverReceivedError);
      expect(raw.accepted).toBe(2);
    } finally {
      await raw.close();
    }
  });
});

describe('HttpAgent: phase timeouts', () => {
  it('fails with a headers timeout naming the phase and the URL, and frees the socket', async () => {
    const clock = new ManualClock();
    const agent = new HttpAgent({ pool: new HTTPConnectionPool({ clock }) });
    const request = agent.request('GET', `${server.url}/hold`, null, null, { timeout: { headers: 1000 } });
    expect(await eventually(() => pending.length === 1)).toBe(true);
    clock.advance(999);
    await delay(5);
    clock.advance(300);
    const error = await request.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'STRAND_HEADERS_TIMEOUT', phase: 'headers', sent: true, url: `${server.url}/hold` });
    expect(agent.pool.stats()).toEqual({});
    expect(clock.pending).toBeLessThanOrEqual(1);
  });

  it('fails a body that stops arriving with a bodyIdle timeout', async () => {
    const raw = await startRawServer((socket) => onRequestHead(socket, () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf')));
    try {
      const clock = new ManualClock();
      const agent = new HttpAgent({ pool: new HTTPConnectionPool({ clock }), timeouts: { bodyIdle: 500 } });
      const response = await agent.request('GET', raw.url);
      const body = readBody(response);
      await delay(5);
      clock.advance(400);
      await delay(5);
      clock.advance(300);
      await expect(body).rejects.toMatchObject({ code: 'STRAND_BODY_TIMEOUT', phase: 'bodyIdle' });
      expect(await eventually(() => raw.openSockets() === 0)).toBe(true);
    } finally {
      await raw.close();
    }
  });

  it('does not time out a body while its consumer keeps it paused', async () => {
    const raw = await startRawServer((socket) =>
      onRequestHead(socket, () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf');
        setTimeout(() => socket.write('-rest!'), 50);
      }),
    );
    try {
      const clock = new ManualClock();
      const agent = new HttpAgent({ pool: new HTTPConnectionPool({ clock }), timeouts: { bodyIdle: 500 } });
      const response = await agent.request('GET', raw.url);
      // Nobody reads the body for a long (clock) time: the consumer's delay is not the server's.
      clock.advance(5000);
      expect((await readBody(response)).toString()).toBe('half-rest!');
      await agent.pool.closeCachedConnections();
    } finally {
      await raw.close();
    }
  });

  it('fails the whole exchange after the total timeout, even mid-body', async () => {
    const raw = await startRawServer((socket) =>
      onRequestHead(socket, () => {
        socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
        const timer = setInterval(() => socket.write('1\r\nx\r\n'), 5);
        socket.on('close', () => clearInterval(timer));
      }),
    );
    try {
      const clock = new ManualClock();
      const agent = new HttpAgent({ pool: new HTTPConnectionPool({ clock }) });
      const response = await agent.request('GET', raw.url, null, null, { timeout: 2000 });
      const body = readBody(response).catch((e: unknown) => e);
      for (let t = 0; t < 2600; t += 100) {
        clock.advance(100);
        await delay(2);
      }
      expect(await body).toMatchObject({ code: 'STRAND_TOTAL_TIMEOUT', phase: 'total' });
    } finally {
      await raw.close();
    }
  });

  it('fails a connect that does not finish in time with a connect timeout, sent: false', async () => {
    const clock = new ManualClock();
    let aborted = false;
    const hanging: EndpointFactory = {
      endpointForURI: (): Endpoint => ({
        key: 'hanging',
        connect: (signal?: AbortSignal) =>
          new Promise<Duplex>((_resolve, reject) => {
            signal?.addEventListener('abort', () => {
              aborted = true;
              reject(new CancelledError('aborted'));
            });
          }),
      }),
    };
    const agent = HttpAgent.usingEndpointFactory(hanging, { pool: new HTTPConnectionPool({ clock }), timeouts: { connect: 3000 } });
    const request = agent.request('GET', 'http://hanging.invalid/');
    await delay(5);
    clock.advance(3000);
    const error = await request.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'STRAND_CONNECT_TIMEOUT', phase: 'connect', sent: false });
    expect(aborted).toBe(true);
    expect(agent.pool.stats()).toEqual({});
  });

  it('rejects a timeout option that is not a positive number, naming it', async () => {
    const agent = new HttpAgent();
    await expect(agent.request('GET', `${server.url}/`, null, null, { timeout: { headers: -1 } })).rejects.toThrow(/timeout\.headers must be a positive number/);
    await expect(agent.request('GET', `${server.url}/`, null, null, { timeout: { heads: 5 } as never })).rejects.toThrow(/timeout\.heads is not a timeout phase/);
    expect(() => new HttpAgent({ timeouts: { total: 0 } })).toThrow(/timeouts\.total/);
  });
});

describe('HttpAgent: many requests', () => {
  it('runs 1,000 sequential and 1,000 concurrent (50 at once) requests with consistent stats and no leaked sockets', async () => {
    const agent = new HttpAgent({ pool: new HTTPConnectionPool({ maxConnectionsPerHost: 50 }) });
    for (let i = 0; i < 1000; i++) await text(agent, `/s${i}`);
    let next = 0;
    const results: string[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < 1000) {
          const i = next++;
          results[i] = await text(agent, `/c${i}`);
        }
      }),
    );
    expect(results.every((r, i) => r === `/c${i}`)).toBe(true);
    const stats = Object.values(agent.pool.stats());
    expect(stats).toHaveLength(1);
    expect(stats[0]).toMatchObject({ inUse: 0, queued: 0 });
    expect(stats[0]?.open).toBeLessThanOrEqual(50);
    await agent.pool.closeCachedConnections();
    expect(agent.pool.stats()).toEqual({});
    expect(await eventually(() => server.openSockets() === 0)).toBe(true);
  });

  it('loses no idempotent request when the server resets 1 connection in 20 between requests', async () => {
    let connections = 0;
    let resets = 0;
    const raw = await startRawServer((socket) => {
      const doomed = ++connections % 20 === 0;
      let served = 0;
      const serve = (): void =>
        onRequestHead(socket, (head) => {
          served++;
          if (doomed && served > 1) {
            resets++;
            socket.resetAndDestroy();
            return;
          }
          const path = head.split(' ')[1] ?? '';
          socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${path.length}\r\n\r\n${path}`);
          serve();
        });
      serve();
    });
    try {
      // Each connection carries a few requests; every 20th resets on its second request.
      const agent = new HttpAgent({ pool: new HTTPConnectionPool({ maxConnectionsPerHost: 10 }) });
      let next = 0;
      const failures: unknown[] = [];
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (next < 400) {
            const i = next++;
            try {
              const body = (await readBody(await agent.request('GET', `${raw.url}/r${i}`))).toString();
              if (body !== `/r${i}`) failures.push(new Error(`wrong body for ${i}: ${body}`));
            } catch (error) {
              failures.push(error);
            }
            // Close idle connections now and then so new ones (some of them doomed) are opened.
            if (i % 25 === 0) await agent.pool.closeCachedConnections();
          }
        }),
      );
      expect(failures).toEqual([]);
      expect(connections).toBeGreaterThan(20);
      expect(resets).toBeGreaterThan(0);
      await agent.pool.closeCachedConnections();
    } finally {
      await raw.close();
    }
  });
});

describe('StandardEndpointFactory keys', () => {
  it('gives http and https endpoints of the same host different pool keys', () => {
    const factory = new StandardEndpointFactory();
    const a = factory.endpointForURI(new URL('http://example.test/'));
    const b = factory.endpointForURI(new URL('https://example.test/'));
    expect(a.key).not.toBe(b.key);
  });
});
