/**
 * The client's shortcuts on the request path, each next to the path it short-cuts: a jar that
 * never held a cookie is not searched, a URL string seen before is not parsed again, plain
 * requests share one agent stack, UTF-8 text reuses one decoder, a free concurrency slot is taken
 * without a promise. Every test checks that what was sent and returned is what the long way gives.
 */
import { gzipSync } from 'node:zlib';
import { type Agent, HTTPConnectionPool, HttpAgent, InvalidRequestError, TooManyRedirectsError } from '@strand/core';
import { Cookie, CookieJar } from 'tough-cookie';
import { HTTPClient, Semaphore, createCookieJar } from '@strand/client';
import { type TestServer, echo, startServer } from './support/servers';

let server: TestServer;
let pool: HTTPConnectionPool;
let client: HTTPClient;

function cookieSeen(index: number): string | undefined {
  return server.requests[index]?.headers['cookie'];
}

function pathSeen(index: number): string | undefined {
  return server.requests[index]?.url;
}

beforeEach(async () => {
  server = await startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const redirect = /^\/redirect\/(\d+)$/.exec(url.pathname);
    if (redirect !== null) {
      const n = Number(redirect[1]);
      res.writeHead(302, { location: n > 1 ? `/redirect/${n - 1}` : '/landed' });
      res.end('moving');
      return;
    }
    switch (url.pathname) {
      case '/set':
        res.setHeader('set-cookie', [...url.searchParams].map(([k, v]) => `${k}=${v}; Path=/`));
        res.end('set');
        return;
      case '/gzip':
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end(gzipSync('unzipped'));
        return;
      case '/bytes': {
        // ?hex=... : the body, with the Content-Type of ?type= (default text/plain; charset=utf-8).
        res.writeHead(200, { 'content-type': url.searchParams.get('type') ?? 'text/plain; charset=utf-8' });
        res.end(Buffer.from(url.searchParams.get('hex') ?? '', 'hex'));
        return;
      }
      default:
        echo(req, res, body);
    }
  });
  pool = new HTTPConnectionPool();
  client = new HTTPClient({ pool });
});

afterEach(async () => {
  jest.restoreAllMocks();
  await pool.closeCachedConnections();
  await server.close();
});

describe('the client jar while it never held a cookie', () => {
  it('is not searched, and no Cookie header is sent', async () => {
    const jar = client.cookieJar as CookieJar;
    const lookups = jest.spyOn(jar, 'getCookies');
    await client.get(`${server.url}/a`);
    await client.get(`${server.url}/b`);
    expect(lookups).not.toHaveBeenCalled();
    expect(cookieSeen(0)).toBeUndefined();
    expect(cookieSeen(1)).toBeUndefined();
  });

  it('is searched again as soon as a response stored a cookie in it', async () => {
    const lookups = jest.spyOn(client.cookieJar as CookieJar, 'getCookies');
    await client.get(`${server.url}/set?a=1`);
    expect(lookups).not.toHaveBeenCalled();
    await client.get(`${server.url}/next`);
    expect(lookups).toHaveBeenCalled();
    expect(cookieSeen(1)).toBe('a=1');
  });

  it('sends a cookie the caller set in the client jar before any request', async () => {
    await (client.cookieJar as CookieJar).setCookie('pre=1; Path=/', server.url);
    await client.get(`${server.url}/x`);
    expect(cookieSeen(0)).toBe('pre=1');
  });

  it('sends a cookie the caller put straight into the jar store', async () => {
    const jar = client.cookieJar as CookieJar;
    await jar.store.putCookie(new Cookie({ key: 'direct', value: '1', domain: '127.0.0.1', path: '/', hostOnly: true }));
    await client.get(`${server.url}/x`);
    expect(cookieSeen(0)).toBe('direct=1');
  });

  it('sends the cookies of a createCookieJar() jar filled by the caller and given to the client', async () => {
    const jar = createCookieJar();
    await jar.setCookie('given=yes; Path=/', server.url);
    const withJar = new HTTPClient({ pool, cookieJar: jar });
    await withJar.get(`${server.url}/x`);
    expect(cookieSeen(0)).toBe('given=yes');
  });

  it('does not stop cookies of the cookies option from being sent', async () => {
    await client.get(`${server.url}/x`, { cookies: { opt: 'v' } });
    expect(cookieSeen(0)).toBe('opt=v');
  });
});

describe('jars the client did not make', () => {
  it('are always searched, even when empty', async () => {
    const own = new CookieJar();
    const lookups = jest.spyOn(own, 'getCookies');
    const withJar = new HTTPClient({ pool, cookieJar: own });
    await withJar.get(`${server.url}/x`);
    expect(lookups).toHaveBeenCalledTimes(1);
  });

  it('are always searched when given as the cookies option', async () => {
    const given = new CookieJar();
    const lookups = jest.spyOn(given, 'getCookies');
    await client.get(`${server.url}/x`, { cookies: given });
    expect(lookups).toHaveBeenCalledTimes(1);
    await given.setCookie('late=1; Path=/', server.url);
    await client.get(`${server.url}/y`, { cookies: given });
    expect(cookieSeen(1)).toBe('late=1');
  });
});

describe('a URL string used again', () => {
  it('goes to the same path each time, and params of one request do not stick to it', async () => {
    const url = `${server.url}/same?q=1`;
    await client.get(url);
    await client.get(url, { params: { extra: 'x' } });
    await client.get(url);
    expect([pathSeen(0), pathSeen(1), pathSeen(2)]).toEqual(['/same?q=1', '/same?q=1&extra=x', '/same?q=1']);
  });

  it('still has the method of every request checked', async () => {
    const url = `${server.url}/m`;
    await client.get(url);
    await expect(client.request('NOT A METHOD', url)).rejects.toBeInstanceOf(InvalidRequestError);
    await client.request('propfind', url);
    await client.request('get', url);
    expect(server.requests.map((r) => r.method)).toEqual(['GET', 'PROPFIND', 'GET']);
  });

  it('with credentials in it becomes Basic auth every time, never credentials in the URL', async () => {
    const url = `${server.url.replace('http://', 'http://user:pw@')}/private`;
    await client.get(url);
    await client.get(url);
    const basic = `Basic ${Buffer.from('user:pw').toString('base64')}`;
    expect(server.requests.map((r) => r.headers['authorization'])).toEqual([basic, basic]);
    expect([pathSeen(0), pathSeen(1)]).toEqual(['/private', '/private']);
  });

  it('is never changed when given as a URL object with credentials and params', async () => {
    const given = new URL(`${server.url.replace('http://', 'http://user:pw@')}/object?a=1`);
    const before = given.href;
    await client.get(given, { params: { b: '2' } });
    await client.get(given);
    expect(given.href).toBe(before);
    expect([pathSeen(0), pathSeen(1)]).toEqual(['/object?a=1&b=2', '/object?a=1']);
    expect(server.requests.every((r) => r.headers['authorization'] === `Basic ${Buffer.from('user:pw').toString('base64')}`)).toBe(true);
  });

  it('goes to the right place after more URLs were used than are remembered', async () => {
    // Core keeps the last 128 URL strings checked.
    const urls = Array.from({ length: 140 }, (_, i) => `${server.url}/n/${i}`);
    for (const url of urls) await client.get(url);
    await client.get(urls[0] as string);
    await client.get(urls[139] as string);
    expect(server.requests.map((r) => r.url)).toEqual([...urls.map((_, i) => `/n/${i}`), '/n/0', '/n/139']);
  });
});

describe('request headers on a client without default headers', () => {
  function sent(index: number): string[] {
    const raw = server.requests[index]?.rawHeaders ?? [];
    const out: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) if (/^x-/i.test(raw[i] as string)) out.push(`${raw[i]}: ${raw[i + 1]}`);
    return out;
  }

  it('are sent as given, in order, when no name repeats', async () => {
    await client.get(`${server.url}/h`, { headers: { 'X-One': '1', 'x-two': '2' } });
    expect(sent(0)).toEqual(['X-One: 1', 'x-two: 2']);
    expect(server.requests[0]?.headers['user-agent']).toMatch(/^strand\//);
  });

  it('are grouped under the first spelling when a name repeats, as when merging over defaults', async () => {
    await client.get(`${server.url}/h`, {
      headers: [
        ['X-A', '1'],
        ['x-b', '2'],
        ['x-a', '3'],
      ],
    });
    expect(sent(0)).toEqual(['X-A: 1', 'X-A: 3', 'x-b: 2']);
  });
});

describe('requests sharing the client stack', () => {
  it("follow each request's own redirect settings when requests with different settings alternate", async () => {
    const url = `${server.url}/redirect/2`;
    expect((await client.get(url, { allowRedirects: false })).code).toBe(302);
    const followed = await client.get(url);
    expect(followed.url).toBe(`${server.url}/landed`);
    expect(followed.history()).toHaveLength(2);
    await expect(client.get(url, { maxRedirects: 1 })).rejects.toBeInstanceOf(TooManyRedirectsError);
    expect((await client.get(url, { allowRedirects: false })).code).toBe(302);
    expect((await client.get(url)).code).toBe(200);
  });

  it("decode or not by each request's own decompress setting", async () => {
    expect(await (await client.get(`${server.url}/gzip`)).text()).toBe('unzipped');
    expect((await (await client.get(`${server.url}/gzip`, { decompress: false })).content()).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(await (await client.get(`${server.url}/gzip`)).text()).toBe('unzipped');
  });

  it("go through a request's own agent, and through the client's again after it", async () => {
    const calls: string[] = [];
    const inner = new HttpAgent({ pool });
    const counting: Agent = {
      request: (method, uri, headers, body, options) => {
        calls.push(String(uri));
        return inner.request(method, uri, headers, body, options);
      },
    };
    await client.get(`${server.url}/one`);
    await client.get(`${server.url}/two`, { agent: counting });
    await client.get(`${server.url}/three`);
    expect(calls).toEqual([`${server.url}/two`]);
    expect(server.requests.map((r) => r.url)).toEqual(['/one', '/two', '/three']);
  });

  it('keep concurrent redirect chains apart', async () => {
    const lengths = [1, 3, 2, 1, 3, 2, 1, 3];
    const responses = await Promise.all(lengths.map((n) => client.get(`${server.url}/redirect/${n}`)));
    expect(responses.map((r) => r.history().map((h) => new URL(h.url).pathname))).toEqual(
      lengths.map((n) => Array.from({ length: n }, (_, i) => `/redirect/${n - i}`)),
    );
    expect(responses.every((r) => r.url === `${server.url}/landed`)).toBe(true);
  });

  it('keep the redirect hops and download progress of requests with hooks or progress to each request', async () => {
    const lengths = [1, 3, 2];
    const hops: number[][] = lengths.map(() => []);
    const finals: Array<number | undefined> = lengths.map(() => undefined);
    const responses = await Promise.all(
      lengths.map((n, i) =>
        client.get(`${server.url}/redirect/${n}`, {
          hooks: { beforeRedirect: [(next) => void hops[i]?.push(next.redirectCount)] },
          onDownloadProgress: (p) => {
            if (p.percent === 1) finals[i] = p.transferred;
          },
        }),
      ),
    );
    expect(hops).toEqual([[1], [1, 2, 3], [1, 2]]);
    expect(finals).toEqual(await Promise.all(responses.map(async (r) => (await r.content()).length)));
    // A plain request after them goes through the shared stack, with none of their agents.
    expect((await client.get(`${server.url}/redirect/1`)).history()).toHaveLength(1);
    expect(hops).toEqual([[1], [1, 2, 3], [1, 2]]);
  });

  it('send credentials and option cookies only with the request that has them', async () => {
    await client.get(`${server.url}/a`, { auth: ['u', 'p'], cookies: { c: '1' } });
    await client.get(`${server.url}/b`);
    expect(server.requests[0]?.headers['authorization']).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(cookieSeen(0)).toBe('c=1');
    expect(server.requests[1]?.headers['authorization']).toBeUndefined();
    expect(cookieSeen(1)).toBeUndefined();
  });
});

describe('text() in UTF-8', () => {
  it('keeps nothing of one body for the next: a cut-off character does not spill into the next text', async () => {
    // 0x61 then the first two bytes of the three-byte "€" (E2 82 AC).
    const cut = await client.get(`${server.url}/bytes?hex=61e282`);
    const next = await client.get(`${server.url}/bytes?hex=616263`);
    expect(await cut.text()).toBe('a\uFFFD');
    expect(await next.text()).toBe('abc');
    expect(await cut.text()).toBe('a\uFFFD');
  });

  it('removes a byte order mark every time', async () => {
    const response = await client.get(`${server.url}/bytes?hex=efbbbf6869`);
    expect(await response.text()).toBe('hi');
    expect(await response.text()).toBe('hi');
    expect(await (await client.get(`${server.url}/bytes?hex=efbbbf6869`)).text()).toBe('hi');
  });

  it('accepts the charset spelled UTF8 or utf-8 in any case, and an encoding argument spelled so', async () => {
    const euro = 'e282ac';
    const upper = await client.get(`${server.url}/bytes?hex=${euro}&type=${encodeURIComponent('text/plain; charset=UTF8')}`);
    expect(await upper.text()).toBe('€');
    const latin = await client.get(`${server.url}/bytes?hex=${euro}&type=${encodeURIComponent('text/plain; charset=iso-8859-1')}`);
    expect(await latin.text()).toBe('\u00e2\u0082\u00ac');
    expect(await latin.text('Utf-8')).toBe('€');
  });
});

describe('Semaphore.tryAcquire', () => {
  it('takes a free slot at once and returns null while every slot is taken', () => {
    const semaphore = new Semaphore(2);
    const a = semaphore.tryAcquire();
    const b = semaphore.tryAcquire();
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    expect(semaphore.tryAcquire()).toBeNull();
    expect(semaphore.inUse).toBe(2);
    a?.();
    a?.();
    expect(semaphore.inUse).toBe(1);
    expect(semaphore.tryAcquire()).not.toBeNull();
  });

  it('hands a slot taken with tryAcquire to the first waiter when it is released', async () => {
    const semaphore = new Semaphore(1);
    const held = semaphore.tryAcquire() as () => void;
    const waiting = semaphore.acquire();
    expect(semaphore.waiting).toBe(1);
    expect(semaphore.tryAcquire()).toBeNull();
    held();
    const next = await waiting;
    expect(semaphore.inUse).toBe(1);
    next();
    expect(semaphore.inUse).toBe(0);
  });
});
