/**
 * The wrapper agents compose in any order, and the seed scenarios run end to end: strict
 * and browser-like redirects with the history walked back, a GET through an HTTP proxy, an https
 * GET through a CONNECT proxy, and gzip-decoded bodies identical to the originals.
 */
import type * as http from 'node:http';
import * as zlib from 'node:zlib';
import {
  type Agent,
  BrowserLikeRedirectAgent,
  BytesProducer,
  ContentDecoderAgent,
  HTTPConnectionPool,
  HttpAgent,
  ProxyAgent,
  RedirectAgent,
  RetryAgent,
  readBody,
} from '../src/index.js';
import { history } from './support/agents-helpers.js';
import { type AgentTestServer, type ProxyServer, startOrigin, startProxy, startTlsOrigin, testCaPolicy } from './support/agents-servers.js';

const ORIGINAL = Buffer.from('Strand composes agents. '.repeat(5000));
const GZIPPED = zlib.gzipSync(ORIGINAL);
const failures = new Map<string, number>();

/** `/start?id` -> 302 `/flaky?id` (503 on the first visit per id, then the gzipped original). */
const handler: http.RequestListener = (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const id = url.searchParams.get('id') ?? '';
  switch (url.pathname) {
    case '/start':
      res.writeHead(302, { Location: `/flaky?id=${id}`, 'Content-Length': 5 });
      res.end('moved');
      return;
    case '/flaky':
      if (!failures.has(id)) {
        failures.set(id, 1);
        res.writeHead(503, { 'Content-Length': 4 });
        res.end('busy');
        return;
      }
      res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': GZIPPED.length, 'Content-Type': 'text/plain' });
      res.end(GZIPPED);
      return;
    case '/form':
      res.writeHead(303, { Location: '/result', 'Content-Length': 0 });
      res.end();
      return;
    case '/result':
      res.end(`${req.method ?? ''} result`);
      return;
    default:
      res.writeHead(404);
      res.end();
  }
};

let origin: AgentTestServer;
let tlsOrigin: AgentTestServer;
let proxy: ProxyServer;
let pool: HTTPConnectionPool;

beforeAll(async () => {
  origin = await startOrigin(handler);
  tlsOrigin = await startTlsOrigin(handler);
  proxy = await startProxy();
});

afterAll(async () => {
  await Promise.all([origin.close(), tlsOrigin.close(), proxy.close()]);
});

beforeEach(() => {
  pool = new HTTPConnectionPool();
});

afterEach(async () => {
  await pool.closeCachedConnections();
});

type Wrap = (agent: Agent) => Agent;
const wrappers: Record<string, Wrap> = {
  redirect: (agent) => new RedirectAgent(agent),
  decode: (agent) => new ContentDecoderAgent(agent),
  retry: (agent) => new RetryAgent(agent, { baseDelay: 1 }),
};

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

let nextId = 0;

describe('wrapper agents compose in any order', () => {
  for (const order of permutations(Object.keys(wrappers))) {
    it(`${order.join(' ( ')} ( HttpAgent ${')'.repeat(order.length)}: follows, retries and decodes`, async () => {
      let agent: Agent = new HttpAgent({ pool });
      for (const name of [...order].reverse()) agent = (wrappers[name] as Wrap)(agent);
      const id = String(nextId++);
      const response = await agent.request('GET', `${origin.url}/start?id=${id}`);
      expect(response.code).toBe(200);
      expect(response.headers.has('content-encoding')).toBe(false);
      expect((await readBody(response)).equals(ORIGINAL)).toBe(true);
      expect(history(response).map((r) => r.code)).toEqual([302, 200]);
      expect(failures.get(id)).toBe(1);
    });
  }

  it('runs the whole stack through an HTTP proxy: plain http and https via CONNECT', async () => {
    const proxied = new ProxyAgent(proxy.url, { pool, tlsPolicy: testCaPolicy() });
    const agent = new RedirectAgent(new ContentDecoderAgent(new RetryAgent(proxied, { baseDelay: 1 })));
    for (const base of [origin.url, tlsOrigin.url]) {
      const id = String(nextId++);
      const response = await agent.request('GET', `${base}/start?id=${id}`);
      expect((await readBody(response)).equals(ORIGINAL)).toBe(true);
      expect(history(response).map((r) => r.request.uri)).toEqual([`${base}/start?id=${id}`, `${base}/flaky?id=${id}`]);
    }
    expect(proxy.forwarded.filter((line) => line.includes(origin.url))).toHaveLength(3);
    expect(proxy.connects.map((c) => c.authority)).toEqual([`127.0.0.1:${tlsOrigin.port}`]);
  });
});

describe('seed scenarios', () => {
  it('follows a 303 after a POST strictly and browser-like, and walks the history back', async () => {
    for (const agent of [new RedirectAgent(new HttpAgent({ pool })), new BrowserLikeRedirectAgent(new HttpAgent({ pool }))]) {
      const response = await agent.request('POST', `${origin.url}/form`, { 'Content-Type': 'text/plain' }, new BytesProducer('data'));
      expect((await readBody(response)).toString()).toBe('GET result');
      const back: string[] = [];
      for (let r: typeof response | null = response; r !== null; r = r.previousResponse) back.push(`${r.code} ${r.request.method} ${new URL(r.request.uri).pathname}`);
      expect(back).toEqual(['200 GET /result', '303 POST /form']);
    }
  });

  it('decodes a gzip body to exactly the original bytes', async () => {
    failures.set('seed', 1);
    const response = await new ContentDecoderAgent(new HttpAgent({ pool })).request('GET', `${origin.url}/flaky?id=seed`);
    expect((await readBody(response)).equals(ORIGINAL)).toBe(true);
  });
});
