/**
 * CachingAgent through the public API over a real loopback origin: storing and reuse, 304
 * updates, Vary, no-store, the Fetch cache modes, invalidation, coalescing, background
 * revalidation, stale-if-error, and bodies that must not be stored. Time is a ManualClock.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type * as http from 'node:http';
import {
  type CacheStore,
  CachingAgent,
  type CachingAgentOptions,
  HTTPConnectionPool,
  HttpAgent,
  ManualClock,
  MemoryCacheStore,
  type Response,
  deriveResponse,
  readBody,
} from '../src/index.js';
import { type TestServer, startHttpServer } from './support/servers.js';

const EPOCH = Date.UTC(2026, 0, 1);

interface Origin {
  server: TestServer;
  /** Requests the origin has seen, in order. */
  seen: http.IncomingMessage[];
  url: string;
}

let clock: ManualClock;
let now: () => number;
let pool: HTTPConnectionPool;
let origin: Origin | null = null;
const agents: CachingAgent[] = [];

beforeEach(() => {
  clock = new ManualClock();
  now = () => EPOCH + clock.now();
  pool = new HTTPConnectionPool();
});

afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.close();
  await pool.close();
  await origin?.server.close();
  origin = null;
});

/** Starts an origin whose `handler` answers each request; `Date` is the test clock's. */
async function startOrigin(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void): Promise<Origin> {
  const seen: http.IncomingMessage[] = [];
  const server = await startHttpServer((req, res) => {
    seen.push(req);
    res.sendDate = false;
    res.setHeader('Date', new Date(now()).toUTCString());
    req.resume();
    handler(req, res, seen.length);
  });
  origin = { server, seen, url: `${server.url}/resource` };
  return origin;
}

function cache(options: CachingAgentOptions = {}): CachingAgent {
  const agent = new CachingAgent(new HttpAgent({ pool }), { now, clock, ...options });
  agents.push(agent);
  return agent;
}

async function text(response: Response): Promise<string> {
  return (await readBody(response)).toString('utf8');
}

async function get(agent: CachingAgent, url: string, headers: Record<string, string> = {}, options: Parameters<CachingAgent['request']>[4] = {}): Promise<{ response: Response; body: string }> {
  const response = await agent.request('GET', url, headers, null, options);
  return { response, body: await text(response) };
}

describe('CachingAgent: storing and reuse', () => {
  it('answers a second request for a fresh response from storage, with its Age and a hit in Cache-Status', async () => {
    const { url, seen } = await startOrigin((_req, res, n) => res.writeHead(200, { 'Cache-Control': 'max-age=60' }).end(`body ${n}`));
    const agent = cache();
    const first = await get(agent, url);
    expect(first.response.headers.get('cache-status')).toBe('Strand;fwd=uri-miss;stored');
    clock.advance(10_000);
    const second = await get(agent, url);
    expect(second.body).toBe('body 1');
    expect(second.response.headers.get('age')).toBe('10');
    expect(second.response.headers.get('cache-status')).toBe('Strand;hit;ttl=50');
    expect(seen).toHaveLength(1);
  });

  it('validates a stale response and a 304 updates the stored header fields, keeping the stored body', async () => {
    const { url, seen } = await startOrigin((req, res, n) => {
      if (n === 1) res.writeHead(200, { 'Cache-Control': 'max-age=1', ETag: '"v1"', 'X-Version': 'one' }).end('the body');
      else if (req.headers['if-none-match'] === '"v1"') res.writeHead(304, { 'Cache-Control': 'max-age=100', ETag: '"v1"', 'X-Version': 'two' }).end();
      else res.writeHead(500).end('not conditional');
    });
    const agent = cache();
    await get(agent, url);
    clock.advance(5_000);
    const validated = await get(agent, url);
    expect(validated.response.code).toBe(200);
    expect(validated.body).toBe('the body');
    expect(validated.response.headers.get('x-version')).toBe('two');
    expect(validated.response.headers.get('cache-status')).toBe('Strand;fwd=stale;fwd-status=304;ttl=100');
    clock.advance(50_000);
    const later = await get(agent, url);
    expect(later.response.headers.get('x-version')).toBe('two');
    expect(later.body).toBe('the body');
    expect(seen).toHaveLength(2);
  });

  it('keeps one variant per value of a field named by Vary, and a request with another value misses', async () => {
    const { url, seen } = await startOrigin((req, res) =>
      res.writeHead(200, { 'Cache-Control': 'max-age=60', Vary: 'Accept-Language' }).end(`in ${String(req.headers['accept-language'])}`),
    );
    const agent = cache();
    expect((await get(agent, url, { 'Accept-Language': 'en' })).body).toBe('in en');
    expect((await get(agent, url, { 'Accept-Language': 'fr' })).body).toBe('in fr');
    const en = await get(agent, url, { 'Accept-Language': 'en' });
    const fr = await get(agent, url, { 'Accept-Language': 'fr' });
    expect([en.body, fr.body]).toEqual(['in en', 'in fr']);
    expect(en.response.headers.get('cache-status')).toContain('hit');
    expect(seen).toHaveLength(2);
  });

  it('never stores a response with Cache-Control: no-store', async () => {
    const { url, seen } = await startOrigin((_req, res, n) => res.writeHead(200, { 'Cache-Control': 'no-store, max-age=60' }).end(`body ${n}`));
    const agent = cache();
    const first = await get(agent, url);
    expect(first.response.headers.get('cache-status')).toBe('Strand;fwd=uri-miss');
    expect((await get(agent, url)).body).toBe('body 2');
    expect(seen).toHaveLength(2);
  });

  it('stores a private response in a private cache but not in a shared one', async () => {
    const { url, seen } = await startOrigin((_req, res, n) => res.writeHead(200, { 'Cache-Control': 'private, max-age=60' }).end(`body ${n}`));
    const privateCache = cache();
    await get(privateCache, url);
    expect((await get(privateCache, url)).body).toBe('body 1');
    const sharedCache = cache({ shared: true, store: new MemoryCacheStore() });
    await get(sharedCache, url);
    expect((await get(sharedCache, url)).body).toBe('body 3');
    expect(seen).toHaveLength(3);
  });

  it('obeys a targeted field such as CDN-Cache-Control over Cache-Control only when configured to', async () => {
    const { url, seen } = await startOrigin((_req, res, n) => res.writeHead(200, { 'Cache-Control': 'no-store', 'CDN-Cache-Control': 'max-age=60' }).end(`body ${n}`));
    const cdn = cache({ shared: true, targetedFields: ['CDN-Cache-Control'] });
    await get(cdn, url);
    expect((await get(cdn, url)).body).toBe('body 1');
    const plain = cache({ shared: true, store: new MemoryCacheStore() });
    await get(plain, url);
    expect((await get(plain, url)).body).toBe('body 3');
    expect(seen).toHaveLength(3);
  });

  it('treats Accept-Language values that differ only in case and order of equal weights as one variant', async () => {
    const { url, seen } = await startOrigin((_req, res, n) => res.writeHead(200, { 'Cache-Control': 'max-age=60', Vary: 'Accept-Language' }).end(`body ${n}`));
    const agent = cache();
    await get(agent, url, { 'Accept-Language': 'en, de;q=0.5, fr' });
    expect((await get(agent, url, { 'Accept-Language': 'FR, de;q=0.5, EN' })).body).toBe('body 1');
    expect((await get(agent, url, { 'Accept-Language': 'fr;q=0.9, en, de;q=0.5' })).body).toBe('body 2');
    expect(seen).toHaveLength(2);
  });

  it('answers later GETs with a fresh POST response whose Content-Location is its own URL', async () => {
    const { url, seen } = await startOrigin((req, res, n) => {
      if (req.method === 'POST') res.writeHead(200, { 'Cache-Control': 'max-age=60', 'Content-Location': '/resource' }).end(`posted ${n}`);
      else res.writeHead(200).end(`got ${n}`);
    });
    const agent = cache();
    expect(await text(await agent.request('POST', url))).toBe('posted 1');
    expect((await get(agent, url)).body).toBe('posted 1');
    expect(seen).toHaveLength(1);
  });

  it('answers a HEAD request from a stored GET response, without a body', async () => {
    const { url, seen } = await startOrigin((_req, res) => res.writeHead(200, { 'Cache-Control': 'max-age=60', 'Content-Length': '8' }).end('the body'));
    const agent = cache();
    await get(agent, url);
    const head = await agent.request('HEAD', url);
    expect(head.code).toBe(200);
    expect(head.headers.get('content-length')).toBe('8');
    expect((await readBody(head)).length).toBe(0);
    expect(seen).toHaveLength(1);
  });
});

describe('CachingAgent: request directives and Fetch cache modes', () => {
  it('gives a 504 for only-if-cached without a stored response, and sends no request', async () => {
    const { url, seen } = await startOrigin((_req, res) => res.end('never'));
    const agent = cache();
    const { response } = await get(agent, url, {}, { cache: 'only-if-cached' });
    expect(response.code).toBe(504);
    const directive = await get(agent, url, { 'Cache-Control': 'only-if-cached' });
    expect(directive.response.code).toBe(504);
    expect(seen).toHaveLength(0);
  });

  it('serves a stale response for force-cache and only-if-cached, and validates a fresh one for no-cache', async () => {
    const { url, seen } = await startOrigin((req, res, n) => {
      if (req.headers['if-none-match'] === '"a"') res.writeHead(304, { ETag: '"a"', 'Cache-Control': 'max-age=1' }).end();
      else res.writeHead(200, { 'Cache-Control': 'max-age=1', ETag: '"a"' }).end(`body ${n}`);
    });
    const agent = cache();
    await get(agent, url);
    clock.advance(10_000);
    expect((await get(agent, url, {}, { cache: 'force-cache' })).body).toBe('body 1');
    expect((await get(agent, url, {}, { cache: 'only-if-cached' })).body).toBe('body 1');
    expect(seen).toHaveLength(1);
    const noCache = await get(agent, url, {}, { cache: 'no-cache' });
    expect(noCache.body).toBe('body 1');
    expect(seen[1]?.headers['if-none-match']).toBe('"a"');
  });

  it('goes to the network without validators for reload and stores the answer, and bypasses storage for no-store', async () => {
    const { url, seen } = await startOrigin((_req, res, n) => res.writeHead(200, { 'Cache-Control': 'max-age=60', ETag: `"${n}"` }).end(`body ${n}`));
    const agent = cache();
    await get(agent, url);
    expect((await get(agent, url, {}, { cache: 'reload' })).body).toBe('body 2');
    expect(seen[1]?.headers['if-none-match']).toBeUndefined();
    expect((await get(agent, url)).body).toBe('body 2');
    const bypass = await get(agent, url, {}, { cache: 'no-store' });
    expect(bypass.body).toBe('body 3');
    expect(bypass.response.headers.get('cache-status')).toBe('Strand;fwd=bypass');
    expect((await get(agent, url)).body).toBe('body 2');
  });

  it('sends the fields Fetch adds for a mode (max-age=0 for no-cache, no-cache for reload and no-store) unless the request has its own', async () => {
    const { url, seen } = await startOrigin((_req, res, n) => res.writeHead(200, { 'Cache-Control': 'max-age=60', ETag: '"a"' }).end(`body ${n}`));
    const agent = cache();
    await get(agent, url);
    await get(agent, url, {}, { cache: 'no-cache' });
    await get(agent, url, {}, { cache: 'reload' });
    await get(agent, url, {}, { cache: 'no-store' });
    await get(agent, url, { 'Cache-Control': 'max-age=5', Pragma: 'x' }, { cache: 'reload' });
    expect(seen.map((req) => [req.headers['cache-control'], req.headers['pragma']])).toEqual([
      [undefined, undefined],
      ['max-age=0', undefined],
      ['no-cache', 'no-cache'],
      ['no-cache', 'no-cache'],
      ['max-age=5', 'x'],
    ]);
  });

  it('does not keep the head of a 304 that answered a request with Cache-Control: no-store', async () => {
    const { url } = await startOrigin((req, res, n) => {
      if (req.headers['if-none-match'] === '"a"') res.writeHead(304, { ETag: '"a"', 'Cache-Control': 'max-age=1', 'X-Seen': String(n) }).end();
      else res.writeHead(200, { ETag: '"a"', 'Cache-Control': 'max-age=1', 'X-Seen': String(n) }).end('body');
    });
    const agent = cache();
    await get(agent, url);
    clock.advance(5_000);
    const answered = await get(agent, url, { 'Cache-Control': 'no-store' });
    expect(answered.response.headers.get('x-seen')).toBe('2');
    expect((await get(agent, url, {}, { cache: 'only-if-cached' })).response.headers.get('x-seen')).toBe('1');
  });

  it("validates when the request's max-age is shorter than the response's age", async () => {
    const { url, seen } = await startOrigin((_req, res, n) => res.writeHead(200, { 'Cache-Control': 'max-age=600' }).end(`body ${n}`));
    const agent = cache();
    await get(agent, url);
    clock.advance(30_000);
    expect((await get(agent, url, { 'Cache-Control': 'max-age=10' })).body).toBe('body 2');
    expect(seen).toHaveLength(2);
  });

  it('rejects a bad URL with the agent\'s typed error before the store is asked', async () => {
    let asked = 0;
    const store = new MemoryCacheStore();
    const counting = Object.assign(Object.create(store) as MemoryCacheStore, { get: (key: string) => (asked++, store.get(key)) });
    const agent = cache({ store: counting });
    await expect(agent.request('GET', 'http://exa mple.test/')).rejects.toMatchObject({ code: 'STRAND_INVALID_REQUEST' });
    await expect(agent.request('GET', 'ftp://example.test/')).rejects.toMatchObject({ code: 'STRAND_INVALID_REQUEST' });
    expect(asked).toBe(0);
  });

  it('rejects an unknown cache mode with a typed error', async () => {
    const agent = cache();
    await expect(agent.request('GET', 'http://127.0.0.1:9/', null, null, { cache: 'sometimes' as never })).rejects.toMatchObject({ code: 'STRAND_INVALID_ARGUMENT' });
  });
});

describe('CachingAgent: invalidation', () => {
  it('drops the stored responses of the target and of its same-origin Location after a successful POST', async () => {
    const { url, server, seen } = await startOrigin((req, res, n) => {
      if (req.method === 'POST') res.writeHead(201, { Location: '/other' }).end();
      else res.writeHead(200, { 'Cache-Control': 'max-age=600' }).end(`${req.url} ${n}`);
    });
    const other = `${server.url}/other`;
    const agent = cache();
    await get(agent, url);
    await get(agent, other);
    expect((await get(agent, url)).body).toBe('/resource 1');
    const post = await agent.request('POST', url);
    await readBody(post);
    expect(post.headers.get('cache-status')).toBe('Strand;fwd=method');
    expect((await get(agent, url)).body).toBe('/resource 4');
    expect((await get(agent, other)).body).toBe('/other 5');
    expect(seen).toHaveLength(5);
  });

  it('keeps the stored response when the unsafe request fails with an error status', async () => {
    const { url } = await startOrigin((req, res, n) => {
      if (req.method === 'DELETE') res.writeHead(500).end();
      else res.writeHead(200, { 'Cache-Control': 'max-age=600' }).end(`body ${n}`);
    });
    const agent = cache();
    await get(agent, url);
    await readBody(await agent.request('DELETE', url));
    expect((await get(agent, url)).body).toBe('body 1');
  });
});

describe('CachingAgent: concurrency and background work', () => {
  it('coalesces concurrent misses for one URL into one request', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { url, seen } = await startOrigin((_req, res, n) => {
      void gate.then(() => res.writeHead(200, { 'Cache-Control': 'max-age=60' }).end(`body ${n}`));
    });
    const agent = cache();
    const pending = [get(agent, url), get(agent, url), get(agent, url)];
    while (seen.length === 0) await new Promise((resolve) => setImmediate(resolve));
    release();
    const results = await Promise.all(pending);
    expect(results.map((r) => r.body)).toEqual(['body 1', 'body 1', 'body 1']);
    expect(results[1]?.response.headers.get('cache-status')).toBe('Strand;hit;ttl=60;collapsed');
    expect(seen).toHaveLength(1);
  });

  it('lets a coalesced request go to the network itself once coalesceTimeout passes without the first body being read', async () => {
    const { url, seen } = await startOrigin((_req, res, n) => res.writeHead(200, { 'Cache-Control': 'max-age=60' }).end(`body ${n}`));
    const agent = cache({ coalesceTimeout: 5000 });
    const unread = await agent.request('GET', url);
    const waiting = get(agent, url);
    while (clock.pending === 0) await new Promise((resolve) => setImmediate(resolve));
    clock.advance(5000);
    expect((await waiting).body).toBe('body 2');
    expect(seen).toHaveLength(2);
    await unread.dump();
  });

  it('serves a response within stale-while-revalidate at once and revalidates it in the background', async () => {
    const { url, seen } = await startOrigin((req, res) => {
      if (req.headers['if-none-match'] === '"v"') res.writeHead(304, { ETag: '"v"', 'Cache-Control': 'max-age=100, stale-while-revalidate=60', 'X-Fresh': 'yes' }).end();
      else res.writeHead(200, { ETag: '"v"', 'Cache-Control': 'max-age=1, stale-while-revalidate=60' }).end('stale body');
    });
    const agent = cache();
    await get(agent, url);
    clock.advance(10_000);
    const revalidated = new Promise<unknown>((resolve) => {
      const listener = (message: unknown): void => {
        if ((message as { background: boolean }).background) {
          diagnosticsChannel.unsubscribe('strand:cache:decision', listener);
          resolve(message);
        }
      };
      diagnosticsChannel.subscribe('strand:cache:decision', listener);
    });
    const stale = await get(agent, url);
    expect(stale.body).toBe('stale body');
    expect(stale.response.headers.get('cache-status')).toBe('Strand;hit;ttl=-9;detail=stale-while-revalidate');
    expect(await revalidated).toMatchObject({ method: 'GET', status: 'Strand;fwd=stale;fwd-status=304', background: true });
    const fresh = await get(agent, url);
    expect(fresh.response.headers.get('x-fresh')).toBe('yes');
    expect(fresh.response.headers.get('cache-status')).toBe('Strand;hit;ttl=100');
    expect(seen).toHaveLength(2);
  });

  it('swallows a failed background revalidation: no unhandled rejection, the stale response stays', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const { url, seen } = await startOrigin((req, res) => {
        if (seen.length > 1) req.socket.destroy();
        else res.writeHead(200, { 'Cache-Control': 'max-age=1, stale-while-revalidate=60' }).end('stale body');
      });
      const agent = cache();
      await get(agent, url);
      clock.advance(10_000);
      expect((await get(agent, url)).body).toBe('stale body');
      while (seen.length < 2) await new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect((await get(agent, url, {}, { cache: 'only-if-cached' })).body).toBe('stale body');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('serves the stale response under stale-if-error when the origin answers 500, and fails without it', async () => {
    const { url } = await startOrigin((_req, res, n) => {
      if (n === 1) res.writeHead(200, { 'Cache-Control': 'max-age=1, stale-if-error=60', ETag: '"a"' }).end('good body');
      else res.writeHead(500).end('broken');
    });
    const agent = cache();
    await get(agent, url);
    clock.advance(10_000);
    const rescued = await get(agent, url);
    expect(rescued.response.code).toBe(200);
    expect(rescued.body).toBe('good body');
    expect(rescued.response.headers.get('cache-status')).toBe('Strand;fwd=stale;fwd-status=500;ttl=-9;detail=stale-if-error');
    clock.advance(120_000);
    expect((await get(agent, url)).response.code).toBe(500);
  });
});

describe('CachingAgent: bodies that must not be stored', () => {
  it('stores nothing when the caller abandons the body part-way', async () => {
    const { url, seen } = await startOrigin((_req, res, n) => {
      res.writeHead(200, { 'Cache-Control': 'max-age=60', 'Content-Length': String(4 * 65536) });
      res.write(Buffer.alloc(65536, n));
      setImmediate(() => res.end(Buffer.alloc(3 * 65536, n)));
    });
    const agent = cache();
    const response = await agent.request('GET', url);
    for await (const chunk of response) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    const next = await get(agent, url);
    expect(next.response.headers.get('cache-status')).toBe('Strand;fwd=uri-miss;stored');
    expect(seen).toHaveLength(2);
  });

  it('never stores a body that fails mid-way', async () => {
    const { url, seen } = await startOrigin((req, res, n) => {
      res.writeHead(200, { 'Cache-Control': 'max-age=60', 'Content-Length': '100' });
      if (n === 1) res.write('only part', () => req.socket.destroy());
      else res.end('x'.repeat(100));
    });
    const agent = cache();
    await expect(readBody(await agent.request('GET', url))).rejects.toMatchObject({ code: expect.any(String) });
    expect((await get(agent, url)).body).toBe('x'.repeat(100));
    expect(seen).toHaveLength(2);
  });

  it('passes a body over maxBodySize on whole but does not store it', async () => {
    const { url, seen } = await startOrigin((_req, res) => res.writeHead(200, { 'Cache-Control': 'max-age=60' }).end('y'.repeat(2000)));
    const agent = cache({ maxBodySize: 1000 });
    expect((await get(agent, url)).body).toHaveLength(2000);
    expect((await get(agent, url)).body).toHaveLength(2000);
    expect(seen).toHaveLength(2);
  });

  it('stores the body a consumer reads through a derived response, copied out of reused read buffers', async () => {
    const body = Buffer.alloc(300_000);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const { url } = await startOrigin((_req, res) => res.writeHead(200, { 'Cache-Control': 'max-age=60' }).end(body));
    const agent = cache();
    const read = await readBody(deriveResponse(await agent.request('GET', url)));
    expect(read.equals(body)).toBe(true);
    const again = await agent.request('GET', url);
    expect(again.headers.get('cache-status')).toContain('hit');
    expect((await readBody(again)).equals(body)).toBe(true);
  });

  it('goes to the network when the store fails', async () => {
    const broken: CacheStore = {
      get: () => Promise.reject(new Error('disk on fire')),
      open: () => {
        throw new Error('disk on fire');
      },
      update: () => undefined,
      delete: () => undefined,
    };
    const { url, seen } = await startOrigin((_req, res, n) => res.writeHead(200, { 'Cache-Control': 'max-age=60' }).end(`body ${n}`));
    const agent = cache({ store: broken });
    expect((await get(agent, url)).body).toBe('body 1');
    expect((await get(agent, url)).body).toBe('body 2');
    expect(seen).toHaveLength(2);
  });
});

describe('MemoryCacheStore', () => {
  it('stays within its byte bound by evicting the least recently used entries', async () => {
    const { server } = await startOrigin((req, res) => res.writeHead(200, { 'Cache-Control': 'max-age=60' }).end(`${req.url} `.padEnd(1000, '.')));
    const store = new MemoryCacheStore({ maxSize: 10_000, maxEntrySize: 2_000 });
    const agent = cache({ store });
    for (let i = 0; i < 30; i++) {
      await get(agent, `${server.url}/item/${i}`);
      expect(store.size).toBeLessThanOrEqual(10_000);
    }
    expect(store.count).toBeGreaterThan(3);
    expect(store.count).toBeLessThan(10);
    expect(store.get(`${server.url}/item/0`)).toEqual([]);
    expect(store.get(`${server.url}/item/29`)).toHaveLength(1);
  });

  it('counts a lookup as a use: the entry looked up outlives older unused ones when the bound is reached', () => {
    const store = new MemoryCacheStore({ maxSize: 3_500, maxEntrySize: 2_000 });
    const put = (key: string, variant = ''): void => {
      const writer = store.open({ key, variant, varyValues: {}, code: 200, phrase: 'OK', version: [1, 1], headers: ['Cache-Control', 'max-age=60'], requestTime: 0, responseTime: 0 });
      writer.write(Buffer.alloc(1000, key));
      void writer.commit();
    };
    put('a');
    put('b');
    put('c');
    expect(store.get('a')).toHaveLength(1); // a is now the most recently used
    put('d'); // over the bound: b, the least recently used, goes
    expect(['a', 'b', 'c', 'd'].filter((key) => store.get(key).length > 0)).toEqual(['a', 'c', 'd']);
    put('a', 'v2');
    store.delete('a', '');
    expect(store.get('a').map((entry) => entry.variant)).toEqual(['v2']);
    store.delete('a');
    expect(store.get('a')).toEqual([]);
    expect(store.size).toBeLessThanOrEqual(3_500);
  });

  it('rejects a negative bound with a typed error', () => {
    expect(() => new MemoryCacheStore({ maxSize: -1 })).toThrow(expect.objectContaining({ code: 'STRAND_INVALID_ARGUMENT' }));
  });
});
