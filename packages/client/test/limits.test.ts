import type { ServerResponse } from 'node:http';
import { CancelledError, HTTPConnectionPool, TimeoutError, ConnectionRefusedError } from '@strand/core';
import { HTTPClient, Semaphore, mapConcurrent } from '@strand/client';
import { type TestServer, startServer } from './support/servers';

let server: TestServer;
let pool: HTTPConnectionPool;
/** Responses the server is holding; released by the test. */
let held: Array<{ path: string; res: ServerResponse }>;
let arrivals: string[];

function release(path?: string): void {
  const index = path === undefined ? 0 : held.findIndex((h) => h.path === path);
  const item = held.splice(index, 1)[0];
  item?.res.end(`done ${item.path}`);
}

async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  if (!predicate()) throw new Error('condition not reached');
}

beforeEach(async () => {
  held = [];
  arrivals = [];
  server = await startServer((req, res) => {
    const path = req.url ?? '/';
    arrivals.push(path);
    if (path.startsWith('/hold')) {
      held.push({ path, res });
      return;
    }
    if (path === '/slow-body') {
      res.writeHead(200, { 'content-length': '10' });
      res.write('12345');
      held.push({ path, res });
      return;
    }
    if (path.startsWith('/fail')) {
      res.writeHead(500);
      res.end('failed');
      return;
    }
    res.end(`ok ${path}`);
  });
  pool = new HTTPConnectionPool();
});

afterEach(async () => {
  for (const h of held) h.res.destroy();
  await pool.closeCachedConnections();
  await server.close();
});

describe('timeouts', () => {
  it('fails with a TimeoutError (total) when the whole call takes longer than a number', async () => {
    const client = new HTTPClient({ pool });
    const error = await client.get(`${server.url}/hold`, { timeout: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).phase).toBe('total');
    expect((error as TimeoutError).code).toBe('STRAND_TOTAL_TIMEOUT');
  });

  it('counts reading a buffered body in the total', async () => {
    const client = new HTTPClient({ pool });
    const error = await client.get(`${server.url}/slow-body`, { timeout: { total: 80 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
  });

  it('passes named phases down to core (headers)', async () => {
    const client = new HTTPClient({ pool });
    const error = await client.get(`${server.url}/hold`, { timeout: { headers: 50 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).phase).toBe('headers');
  });

  it('fails an unbuffered body that stalls past the total with a TimeoutError', async () => {
    const client = new HTTPClient({ pool });
    // The head comes at once and the body never ends; the total is generous for a loaded machine.
    const response = await client.get(`${server.url}/slow-body`, { unbuffered: true, timeout: 1000 });
    const error = await response.content().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(client.inFlight).toBe(0);
  });

  it('merges request phases over client default phases', async () => {
    const client = new HTTPClient({ pool, timeout: { headers: 10_000 } });
    const error = await client.get(`${server.url}/hold`, { timeout: { headers: 40 } }).catch((e: unknown) => e);
    expect((error as TimeoutError).phase).toBe('headers');
  });
});

describe('cancellation', () => {
  it('cancels a request waiting for its head with the signal', async () => {
    const client = new HTTPClient({ pool });
    const controller = new AbortController();
    const pending = client.get(`${server.url}/hold`, { signal: controller.signal });
    await until(() => held.length === 1);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const client = new HTTPClient({ pool });
    await expect(client.get(server.url, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(CancelledError);
    expect(arrivals).toHaveLength(0);
  });

  it('reports a user abort as a cancellation, not a timeout, when a total is also set', async () => {
    const client = new HTTPClient({ pool });
    const controller = new AbortController();
    const pending = client.get(`${server.url}/hold`, { signal: controller.signal, timeout: 60_000 });
    await until(() => held.length === 1);
    controller.abort();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CancelledError);
  });
});

describe('maxConcurrentRequests', () => {
  it('holds requests past the cap in a FIFO queue and counts the wait as timings.queue', async () => {
    const client = new HTTPClient({ pool, maxConcurrentRequests: 2 });
    const pending = [1, 2, 3, 4].map((n) => client.get(`${server.url}/hold/${n}`));
    await until(() => held.length === 2);
    expect(client.inFlight).toBe(2);
    expect(client.queued).toBe(2);
    expect(arrivals).toEqual(['/hold/1', '/hold/2']);
    release('/hold/2');
    await until(() => held.length === 2);
    expect(arrivals).toEqual(['/hold/1', '/hold/2', '/hold/3']);
    release();
    release();
    await until(() => held.length === 1);
    release();
    const responses = await Promise.all(pending);
    expect(await Promise.all(responses.map((r) => r.text()))).toEqual(['done /hold/1', 'done /hold/2', 'done /hold/3', 'done /hold/4']);
    expect(responses[3]?.timings.queue).toBeGreaterThan(0);
    expect(client.inFlight).toBe(0);
  });

  it('keeps an unbuffered request in flight until its body is read', async () => {
    const client = new HTTPClient({ pool, maxConcurrentRequests: 1 });
    const first = await client.get(`${server.url}/a`, { unbuffered: true });
    const second = client.get(`${server.url}/b`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(arrivals).toEqual(['/a']);
    expect(client.queued).toBe(1);
    expect(await first.text()).toBe('ok /a');
    expect(await (await second).text()).toBe('ok /b');
  });

  it('fails a request that waits in the queue longer than timeout.queue, without sending it', async () => {
    const client = new HTTPClient({ pool, maxConcurrentRequests: 1 });
    const first = client.get(`${server.url}/hold/1`);
    await until(() => held.length === 1);
    const error = await client.get(`${server.url}/queued`, { timeout: { queue: 30 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).phase).toBe('queue');
    expect((error as TimeoutError).sent).toBe(false);
    release();
    await first;
    expect(arrivals).toEqual(['/hold/1']);
  });

  it('releases the slot of a request that failed', async () => {
    const refused = new HTTPClient({ pool, maxConcurrentRequests: 1 });
    const closed = await startServer(() => {});
    const url = closed.url;
    await closed.close();
    await expect(refused.get(url)).rejects.toBeInstanceOf(ConnectionRefusedError);
    expect(refused.inFlight).toBe(0);
    expect((await refused.get(`${server.url}/after`)).code).toBe(200);
  });
});

describe('running many requests with a limit', () => {
  it('getMany returns results in order with per-item failures, two at a time', async () => {
    const client = new HTTPClient({ pool });
    const urls = ['/p1', '/fail', '/p3', 'http://127.0.0.1:1/refused', '/p5'].map((p) => (p.startsWith('http') ? p : `${server.url}${p}`));
    let peak = 0;
    const results = await client.getMany(urls, {
      concurrency: 2,
      throwForStatus: true,
      onSettled: () => {
        peak = Math.max(peak, client.inFlight);
      },
    });
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false, true]);
    expect(results[0]?.ok === true && (await results[0].value.text())).toBe('ok /p1');
    expect(results[1]?.ok === false && (results[1].error as Error).name).toBe('HTTPStatusError');
    expect(results[3]?.ok === false && (results[3].error as Error).name).toBe('ConnectionRefusedError');
    expect(peak).toBeLessThanOrEqual(2);
  });

  it('mapConcurrent never runs more jobs than the limit and keeps input order', async () => {
    let active = 0;
    let peak = 0;
    const results = await mapConcurrent(
      [30, 5, 20, 1, 10],
      async (ms, i) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((resolve) => setTimeout(resolve, ms));
        active--;
        if (i === 2) throw new Error('third failed');
        return ms * 2;
      },
      { concurrency: 2 },
    );
    expect(peak).toBe(2);
    expect(results).toEqual([
      { ok: true, value: 60 },
      { ok: true, value: 10 },
      { ok: false, error: new Error('third failed') },
      { ok: true, value: 2 },
      { ok: true, value: 20 },
    ]);
  });

  it('mapConcurrent does not start items after its signal aborted', async () => {
    const controller = new AbortController();
    const started: number[] = [];
    const results = await mapConcurrent(
      [1, 2, 3],
      async (n) => {
        started.push(n);
        controller.abort();
        return n;
      },
      { concurrency: 1, signal: controller.signal },
    );
    expect(started).toEqual([1]);
    expect(results[1]?.ok).toBe(false);
    expect(results[2]?.ok === false && results[2].error).toBeInstanceOf(CancelledError);
  });

  it('mapConcurrent refuses a bad concurrency', async () => {
    await expect(mapConcurrent([1], async (x) => x, { concurrency: 0 })).rejects.toThrow(/concurrency must be a positive integer/);
  });
});

describe('Semaphore', () => {
  it('hands slots out in FIFO order and skips waiters that gave up', async () => {
    const semaphore = new Semaphore(1);
    const first = await semaphore.acquire();
    const order: string[] = [];
    const controller = new AbortController();
    const a = semaphore.acquire().then((r) => (order.push('a'), r));
    const b = semaphore.acquire(controller.signal).catch(() => (order.push('b cancelled'), () => {}));
    const c = semaphore.acquire().then((r) => (order.push('c'), r));
    controller.abort();
    await b;
    first();
    (await a)();
    (await c)();
    expect(order).toEqual(['b cancelled', 'a', 'c']);
    expect(semaphore.inUse).toBe(0);
  });

  it('counts a release function only once', async () => {
    const semaphore = new Semaphore(2);
    const r = await semaphore.acquire();
    await semaphore.acquire();
    r();
    r();
    expect(semaphore.inUse).toBe(1);
  });
});
