/**
 * RedirectAgent and BrowserLikeRedirectAgent, through real loopback servers: what is followed and
 * how, what is refused, the history, and the credentials that must not follow a request to
 * another origin (the sensitive-header matrix).
 */
import type * as http from 'node:http';
import { Readable } from 'node:stream';
import {
  BrowserLikeRedirectAgent,
  BytesProducer,
  CancelledError,
  FileBodyProducer,
  HTTPConnectionPool,
  HttpAgent,
  RedirectAgent,
  RedirectError,
  StandardEndpointFactory,
  TooManyRedirectsError,
} from '../src/index.js';
import { SpyAgent, UserinfoAuthAgent, history, json, text } from './support/agents-helpers.js';
import { type AgentTestServer, readRequest, startOrigin, startTlsOrigin, testCaPolicy } from './support/agents-servers.js';

interface Echo {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** `/redirect?to=X&code=N&body=N` redirects; `/echo` describes the request; others as named. */
const handler: http.RequestListener = (req, res) => {
  void readRequest(req).then((body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/redirect': {
        const size = Number(url.searchParams.get('body') ?? '0');
        res.writeHead(Number(url.searchParams.get('code') ?? '302'), { Location: url.searchParams.get('to') ?? '/echo', 'Content-Length': size });
        res.end('r'.repeat(size));
        return;
      }
      case '/raw-location':
        // A server that sends raw UTF-8 in Location (as latin1 bytes on the wire).
        res.writeHead(302, { Location: Buffer.from('/echo/café?q=ü', 'utf8').toString('latin1'), 'Content-Length': 0 });
        res.end();
        return;
      case '/two-locations':
        res.setHeader('Location', ['/echo?a', '/echo?b']);
        res.writeHead(302, { 'Content-Length': 0 });
        res.end();
        return;
      case '/no-location':
        res.writeHead(302, { 'Content-Type': 'text/plain' });
        res.end('no location here');
        return;
      case '/loop':
        res.writeHead(302, { Location: '/loop', 'Content-Length': 4 });
        res.end('loop');
        return;
      case '/multiple-choices':
        res.writeHead(300, { Location: '/echo', 'Content-Length': 7 });
        res.end('choices');
        return;
      case '/hang':
        res.writeHead(302, { Location: '/echo', 'Content-Length': 100 });
        res.write('partial');
        return;
      default:
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    }
  });
};

let a: AgentTestServer; // http://127.0.0.1:PA
let a6: AgentTestServer; // http://[::1]:PA — same port, other host
let b: AgentTestServer; // http://127.0.0.1:PB — other port
let s: AgentTestServer; // https://127.0.0.1:PS
let pool: HTTPConnectionPool;
let base: HttpAgent;

beforeAll(async () => {
  a = await startOrigin(handler);
  a6 = await startOriginOnPort(a.port);
  b = await startOrigin(handler);
  s = await startTlsOrigin(handler);
});

/** The same handler on ::1 at `port` (another port if that one is taken there: still another host). */
function startOriginOnPort(port: number): Promise<AgentTestServer> {
  return startOrigin(handler, '::1', port).catch(() => startOrigin(handler, '::1'));
}

afterAll(async () => {
  await Promise.all([a.close(), a6.close(), b.close(), s.close()]);
});

beforeEach(() => {
  pool = new HTTPConnectionPool();
  base = new HttpAgent({ pool, endpointFactory: new StandardEndpointFactory({ tlsPolicy: testCaPolicy() }) });
  for (const server of [a, a6, b, s]) {
    server.seen.length = 0;
    server.headers.length = 0;
  }
});

afterEach(async () => {
  await pool.closeCachedConnections();
});

/** A URL on `server` that redirects (with `code`) to `to`. */
function redirect(server: AgentTestServer | string, to: string, code = 302, body = 0): string {
  const origin = typeof server === 'string' ? server : server.url;
  return `${origin}/redirect?code=${code}&body=${body}&to=${encodeURIComponent(to)}`;
}

describe('RedirectAgent: what is followed', () => {
  it.each([301, 302, 303, 307, 308])('follows a %i for GET and returns the final response with the history', async (code) => {
    const agent = new RedirectAgent(base);
    const response = await agent.request('GET', redirect(a, '/echo?final', code));
    expect(response.code).toBe(200);
    expect((await json<Echo>(response)).url).toBe('/echo?final');
    expect(history(response).map((r) => r.code)).toEqual([code, 200]);
    expect(response.previousResponse?.request.uri).toBe(redirect(a, '/echo?final', code));
  });

  it('walks the history back from the last response to the first', async () => {
    const agent = new RedirectAgent(base);
    const start = redirect(a, redirect(b, redirect(a, '/echo?end', 307), 301), 302);
    const response = await agent.request('GET', start);
    const chain = history(response);
    expect(chain.map((r) => r.code)).toEqual([302, 301, 307, 200]);
    expect(chain[0]?.request.uri).toBe(start);
    expect(chain[0]?.previousResponse).toBeNull();
    expect(chain.at(-1)?.request.uri).toBe(`${a.url}/echo?end`);
    await text(response);
  });

  it('resolves relative Locations against the current URL', async () => {
    const agent = new RedirectAgent(base);
    for (const [location, expected] of [
      ['echo?x=1', '/echo?x=1'],
      ['../echo/deeper', '/echo/deeper'],
      ['?only-query', '/redirect?only-query'],
      [`//127.0.0.1:${b.port}/echo?authority`, '/echo?authority'],
    ] as const) {
      const response = await agent.request('GET', redirect(a, location));
      const second = new URL(history(response)[1]?.request.uri ?? '');
      expect(second.pathname + second.search).toBe(expected);
      await text(response);
    }
    expect(b.seen).toEqual(['GET /echo?authority']);
  });

  it('decodes a raw UTF-8 Location and sends it percent-encoded', async () => {
    const response = await new RedirectAgent(base).request('GET', `${a.url}/raw-location`);
    expect((await json<Echo>(response)).url).toBe('/echo/caf%C3%A9?q=%C3%BC');
  });

  it('keeps the fragment of the current URL when the Location has none', async () => {
    const response = await new RedirectAgent(base).request('GET', `${redirect(a, '/echo')}#section`);
    expect(response.request.uri).toBe(`${a.url}/echo#section`);
    await text(response);
  });

  it('returns a 3xx without Location as-is, body included (it is not an error)', async () => {
    const response = await new RedirectAgent(base).request('GET', `${a.url}/no-location`);
    expect(response.code).toBe(302);
    expect(response.previousResponse).toBeNull();
    expect(await text(response)).toBe('no location here');
  });

  it('does not follow 300 even with a Location', async () => {
    const response = await new RedirectAgent(base).request('GET', `${a.url}/multiple-choices`);
    expect(response.code).toBe(300);
    expect(await text(response)).toBe('choices');
    expect(a.seen).toEqual(['GET /multiple-choices']);
  });

  it('discards each redirect body so one connection carries the whole chain', async () => {
    const agent = new RedirectAgent(base);
    const connectionsBefore = a.connections;
    const response = await agent.request('GET', redirect(a, redirect(a, '/echo', 302, 5000), 301, 20000));
    expect((await json<Echo>(response)).url).toBe('/echo');
    expect(a.connections - connectionsBefore).toBe(1);
    expect(history(response).slice(0, -1).every((r) => r.bodyUsed)).toBe(true);
    expect(pool.stats()[`http://127.0.0.1:${a.port}`]).toMatchObject({ open: 1, idle: 1 });
  });

  it('abandons a redirect body longer than maxDiscardBytes instead of reading it all', async () => {
    const agent = new RedirectAgent(base, { maxDiscardBytes: 1000 });
    const connectionsBefore = a.connections;
    const response = await agent.request('GET', redirect(a, '/echo', 302, 200_000));
    expect((await json<Echo>(response)).url).toBe('/echo');
    // The first connection was closed rather than drained: the final request needed a second one.
    expect(a.connections - connectionsBefore).toBe(2);
  });
});

describe('RedirectAgent: methods and bodies', () => {
  it('turns a 303 after POST into a GET without body or body headers', async () => {
    const response = await new RedirectAgent(base).request('POST', redirect(a, '/echo', 303), { 'Content-Type': 'text/plain', 'X-Keep': 'yes' }, new BytesProducer('payload'));
    const echo = await json<Echo>(response);
    expect(echo.method).toBe('GET');
    expect(echo.body).toBe('');
    expect(echo.headers['content-type']).toBeUndefined();
    expect(echo.headers['content-length']).toBeUndefined();
    expect(echo.headers['x-keep']).toBe('yes');
  });

  it('keeps HEAD a HEAD on 303', async () => {
    const response = await new RedirectAgent(base).request('HEAD', redirect(a, '/echo', 303));
    expect(response.code).toBe(200);
    expect(a.seen.at(-1)).toBe('HEAD /echo');
    await response.dump();
  });

  it.each([301, 302, 307, 308])('does not follow a %i of a POST: a RedirectError carries the response, nothing is sent to the Location (Twisted)', async (code) => {
    const error = await new RedirectAgent(base).request('POST', redirect(a, '/echo', code), { 'Content-Type': 'text/plain' }, new BytesProducer('same body')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedirectError);
    expect(error).toMatchObject({ code: 'STRAND_REDIRECT_METHOD_NOT_FOLLOWED' });
    expect((error as RedirectError).response.code).toBe(code);
    expect((error as RedirectError).response.headers.get('location')).toBe('/echo');
    expect((error as RedirectError).message).toContain('BrowserLikeRedirectAgent');
    expect(a.seen).toHaveLength(1);
  });

  it.each(['PUT', 'DELETE', 'PATCH'])('does not follow a 307 of a %s either', async (method) => {
    const error = await new RedirectAgent(base).request(method, redirect(a, '/echo', 307), null, new BytesProducer('x')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STRAND_REDIRECT_METHOD_NOT_FOLLOWED' });
  });

  it.each([301, 302, 307, 308])('follows a %i of a GET and of a HEAD with the same method', async (code) => {
    expect((await json<Echo>(await new RedirectAgent(base).request('GET', redirect(a, '/echo', code)))).method).toBe('GET');
    const head = await new RedirectAgent(base).request('HEAD', redirect(a, '/echo', code));
    expect([head.code, head.request.method]).toEqual([200, 'HEAD']);
    await text(head);
  });

  it('follows a 303 after a one-shot body: the next request has no body', async () => {
    const body = new FileBodyProducer(Readable.from([Buffer.from('one-shot')]), { length: 8 });
    const response = await new RedirectAgent(base).request('POST', redirect(a, '/echo', 303), null, body);
    expect((await json<Echo>(response)).method).toBe('GET');
  });
});

describe('BrowserLikeRedirectAgent', () => {
  it.each([301, 302, 303])('turns a POST answered %i into a GET without body', async (code) => {
    const response = await new BrowserLikeRedirectAgent(base).request('POST', redirect(a, '/echo', code), { 'Content-Type': 'application/x-www-form-urlencoded' }, new BytesProducer('a=1'));
    const echo = await json<Echo>(response);
    expect(echo.method).toBe('GET');
    expect(echo.body).toBe('');
    expect(echo.headers['content-type']).toBeUndefined();
  });

  it.each([307, 308])('keeps POST and its body on %i', async (code) => {
    const response = await new BrowserLikeRedirectAgent(base).request('POST', redirect(a, '/echo', code), null, new BytesProducer('a=1'));
    const echo = await json<Echo>(response);
    expect([echo.method, echo.body]).toEqual(['POST', 'a=1']);
  });

  it.each([301, 302, 303])('turns a PUT answered %i into a GET without body, as Twisted does for any method but GET and HEAD', async (code) => {
    const agent = new BrowserLikeRedirectAgent(base);
    const echo = await json<Echo>(await agent.request('PUT', redirect(a, '/echo', code), null, new BytesProducer('x')));
    expect([echo.method, echo.body]).toEqual(['GET', '']);
  });

  it.each([307, 308])('keeps PUT and its replayable body on %i, and stops at a one-shot body with the response', async (code) => {
    const agent = new BrowserLikeRedirectAgent(base);
    const kept = await json<Echo>(await agent.request('PUT', redirect(a, '/echo', code), null, new BytesProducer('x')));
    expect([kept.method, kept.body]).toEqual(['PUT', 'x']);
    const oneShot = new FileBodyProducer(Readable.from([Buffer.from('one-shot')]), { length: 8 });
    const error = await agent.request('PUT', redirect(a, '/echo', code), null, oneShot).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STRAND_REDIRECT_BODY_NOT_REPLAYABLE' });
    expect((error as RedirectError).response.code).toBe(code);
  });

  it('walks the history of a browser-like chain', async () => {
    const response = await new BrowserLikeRedirectAgent(base).request('POST', redirect(a, redirect(b, '/echo', 307), 302), null, new BytesProducer('form'));
    expect(history(response).map((r) => [r.code, r.request.method])).toEqual([
      [302, 'POST'],
      [307, 'GET'],
      [200, 'GET'],
    ]);
    await text(response);
  });
});

describe('RedirectAgent: refusals and limits', () => {
  it('ends a redirect loop with TooManyRedirectsError carrying the last response, after 20 redirects', async () => {
    const error = await new RedirectAgent(base).request('GET', `${a.url}/loop`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooManyRedirectsError);
    const tooMany = error as TooManyRedirectsError;
    expect(tooMany.code).toBe('STRAND_TOO_MANY_REDIRECTS');
    expect(tooMany.limit).toBe(20);
    expect(tooMany.response.code).toBe(302);
    expect(history(tooMany.response)).toHaveLength(21);
    expect(a.seen).toHaveLength(21);
  });

  it('honours a configured limit, and 0 refuses the first redirect', async () => {
    await expect(new RedirectAgent(base, { maxRedirects: 2 }).request('GET', `${a.url}/loop`)).rejects.toMatchObject({ code: 'STRAND_TOO_MANY_REDIRECTS', limit: 2 });
    expect(a.seen).toHaveLength(3);
    await expect(new RedirectAgent(base, { maxRedirects: 0 }).request('GET', redirect(a, '/echo'))).rejects.toBeInstanceOf(TooManyRedirectsError);
    const response = await new RedirectAgent(base, { maxRedirects: 1 }).request('GET', redirect(a, '/echo'));
    expect(response.code).toBe(200);
    await text(response);
  });

  it.each(['file:///etc/passwd', 'data:text/plain,hi', 'unix:/var/run/docker.sock', 'http+unix://%2Fvar%2Frun%2Fdocker.sock/', 'ftp://127.0.0.1/', 'javascript:alert(1)'])(
    'refuses to follow a redirect to %s',
    async (target) => {
      const error = await new RedirectAgent(base).request('GET', redirect(a, target)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RedirectError);
      expect((error as RedirectError).code).toBe('STRAND_REDIRECT_UNSUPPORTED_SCHEME');
      expect((error as RedirectError).response.code).toBe(302);
      expect(a.seen).toHaveLength(1);
    },
  );

  it('refuses a response with two different Locations', async () => {
    await expect(new RedirectAgent(base).request('GET', `${a.url}/two-locations`)).rejects.toMatchObject({ code: 'STRAND_REDIRECT_INVALID_LOCATION' });
  });

  it('refuses a Location that is not a URL', async () => {
    await expect(new RedirectAgent(base).request('GET', redirect(a, 'http://[not-an-ip/'))).rejects.toMatchObject({ code: 'STRAND_REDIRECT_INVALID_LOCATION' });
  });

  it('stops following when the signal aborts between hops', async () => {
    const controller = new AbortController();
    const spy = new SpyAgent(base);
    const agent = new RedirectAgent({
      request: async (...args) => {
        const response = await spy.request(...args);
        controller.abort();
        return response;
      },
    });
    await expect(agent.request('GET', redirect(a, '/echo'), null, null, { signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
    expect(spy.calls).toHaveLength(1);
    expect(a.seen).toHaveLength(1);
  });

  it('rejects bad options by name', () => {
    expect(() => new RedirectAgent(base, { maxRedirects: -1 })).toThrow(/maxRedirects/);
    expect(() => new RedirectAgent(base, { sensitiveHeaders: [''] })).toThrow(/sensitiveHeaders/);
  });

  it("keeps one agent's extra sensitiveHeaders to that agent: agents without them still send those headers across origins", async () => {
    // Agents without sensitiveHeaders share one default list; adding names must never change it.
    const strict = new RedirectAgent(base, { sensitiveHeaders: ['X-Api-Key'] });
    const plain = new RedirectAgent(base);
    const headers = { 'X-Api-Key': 'k', Authorization: 'Bearer t' };
    const dropped = await json<Echo>(await strict.request('GET', redirect(a, `${b.url}/echo`), headers));
    expect(dropped.headers['x-api-key']).toBeUndefined();
    expect(dropped.headers.authorization).toBeUndefined();
    const kept = await json<Echo>(await plain.request('GET', redirect(a, `${b.url}/echo`), headers));
    expect(kept.headers['x-api-key']).toBe('k');
    expect(kept.headers.authorization).toBeUndefined();
  });
});

// ---- the sensitive-header matrix ----

type Form = 'header object' | 'raw pairs array' | 'URL userinfo';

interface Case {
  name: string;
  /** Builds the start URL; the chain ends at /echo. `kept`: do the credentials reach the end? */
  start: () => string;
  kept: boolean;
}

const cases: Case[] = [
  { name: 'same origin', start: () => redirect(a, '/echo'), kept: true },
  { name: 'same origin, absolute Location', start: () => redirect(a, `${a.url}/echo`), kept: true },
  { name: 'other host (same port)', start: () => redirect(a, `${a6.url}/echo`), kept: false },
  { name: 'other port', start: () => redirect(a, `${b.url}/echo`), kept: false },
  { name: 'https -> http', start: () => redirect(s, `${a.url}/echo`), kept: false },
  { name: 'http -> https', start: () => redirect(a, `${s.url}/echo`), kept: false },
  { name: 'A -> B -> A', start: () => redirect(a, redirect(b, `${a.url}/echo`)), kept: false },
];

const forms: Form[] = ['header object', 'raw pairs array', 'URL userinfo'];

describe('RedirectAgent: credentials never follow a request to another origin', () => {
  it('drops a caller-given Host header when the origin changes, and keeps it on the same origin', async () => {
    const agent = new RedirectAgent(base);
    const same = await json<Echo>(await agent.request('GET', redirect(a, '/echo'), { Host: 'virtual.test' }));
    expect(same.headers.host).toBe('virtual.test');
    const other = await json<Echo>(await agent.request('GET', redirect(a, `${b.url}/echo`), { Host: 'virtual.test' }));
    expect(other.headers.host).toBe(`127.0.0.1:${b.port}`);
  });

  it('never sends user:password@ of a Location pointing at another origin', async () => {
    const userinfo = new UserinfoAuthAgent(base);
    const target = new URL(`${b.url}/echo`);
    target.username = 'planted';
    target.password = 'by-a';
    const echo = await json<Echo>(await new RedirectAgent(userinfo).request('GET', redirect(a, target.href)));
    expect(echo.headers.authorization).toBeUndefined();
    expect(userinfo.asked.at(-1)).toBe(`${b.url}/echo`);
  });

  for (const form of forms) {
    for (const c of cases) {
      it(`${c.kept ? 'keeps' : 'drops'} ${form} credentials: ${c.name}`, async () => {
        const userinfo = new UserinfoAuthAgent(base);
        const agent = new RedirectAgent(userinfo, { sensitiveHeaders: ['X-Secret'] });
        let start = c.start();
        let headers: Record<string, string> | [string, string][] | null;
        if (form === 'header object') {
          headers = { Authorization: 'Bearer token', Cookie: 'sid=1', 'Proxy-Authorization': 'Basic cHJveHk=', 'X-Secret': 's3cret', 'X-Public': 'ok' };
        } else if (form === 'raw pairs array') {
          headers = [
            ['authorization', 'Bearer token'],
            ['COOKIE', 'sid=1'],
            ['Proxy-authorization', 'Basic cHJveHk='],
            ['x-SECRET', 's3cret'],
            ['X-Public', 'ok'],
          ];
        } else {
          headers = { 'X-Public': 'ok' };
          const url = new URL(start);
          url.username = 'user';
          url.password = 'pa:ss';
          start = url.href;
        }
        const response = await agent.request('GET', start, headers);
        const echo = await json<Echo>(response);
        const chain = history(response);
        expect(chain.length).toBeGreaterThanOrEqual(2);
        const all = [a, a6, b, s].flatMap((server) => server.headers);
        expect(all).toHaveLength(chain.length);
        // The first hop always had the credentials: the test can tell them apart.
        const first = all.find((h) => h['x-public'] === 'ok' && (h.authorization !== undefined || h.cookie !== undefined));
        expect(first).toBeDefined();
        const final = echo.headers;
        expect(final['x-public']).toBe('ok');
        if (form === 'URL userinfo') {
          expect(final.authorization !== undefined).toBe(c.kept);
          expect(userinfo.asked.at(-1)?.includes('user:pa%3Ass@')).toBe(c.kept);
        } else {
          for (const name of ['authorization', 'cookie', 'proxy-authorization', 'x-secret']) {
            expect([name, final[name] !== undefined]).toEqual([name, c.kept]);
          }
        }
        if (!c.kept) {
          // Off the first origin, no hop carried them, including the way back to A.
          const offOrigin = chain.slice(1).filter((r) => new URL(r.request.uri).origin !== new URL(start).origin || c.name === 'A -> B -> A');
          for (const r of offOrigin) {
            expect(r.request.headers.get('authorization')).toBeUndefined();
            expect(r.request.headers.get('cookie')).toBeUndefined();
            expect(r.request.uri).not.toContain('@');
          }
        }
      });
    }
  }
});
