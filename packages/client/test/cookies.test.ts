import { BrowserLikePolicyForHTTPS, HTTPConnectionPool, HttpAgent, StandardEndpointFactory } from '@strand/core';
import { CookieJar } from 'tough-cookie';
import { HTTPClient, createCookieJar, get } from '@strand/client';
import { type TestServer, echo, startServer, startTLSServer, testCertificate } from './support/servers';

let server: TestServer;
let other: TestServer;
let pool: HTTPConnectionPool;
let client: HTTPClient;

function cookieSeen(s: TestServer, index: number): string | undefined {
  return s.requests[index]?.headers['cookie'];
}

beforeEach(async () => {
  other = await startServer(echo);
  server = await startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/login':
        res.setHeader('set-cookie', ['session=abc; Path=/; HttpOnly', 'admin=yes; Path=/admin']);
        res.writeHead(302, { location: '/home' });
        res.end();
        return;
      case '/set':
        res.setHeader('set-cookie', [...url.searchParams].map(([k, v]) => `${k}=${v}; Path=/`));
        res.end('set');
        return;
      case '/expire':
        res.setHeader('set-cookie', 'session=; Path=/; Max-Age=0');
        res.end('gone');
        return;
      case '/to-other':
        res.writeHead(302, { location: `${other.url}/landed` });
        res.end();
        return;
      case '/to-other-host':
        res.writeHead(302, { location: `http://localhost:${other.port}/landed` });
        res.end();
        return;
      case '/bad-domain':
        res.setHeader('set-cookie', ['evil=1; Domain=example.com; Path=/', 'good=1; Path=/']);
        res.end();
        return;
      default:
        echo(req, res, body);
    }
  });
  pool = new HTTPConnectionPool();
  client = new HTTPClient({ pool });
});

afterEach(async () => {
  await pool.closeCachedConnections();
  await server.close();
  await other.close();
});

describe('the client cookie jar', () => {
  it('stores cookies a response sets and sends them on later requests', async () => {
    await client.get(`${server.url}/set?a=1&b=2`);
    await client.get(`${server.url}/anything`);
    expect(cookieSeen(server, 1)).toBe('a=1; b=2');
  });

  it('sends cookies set by a redirect response to the next hop of the chain', async () => {
    const response = await client.get(`${server.url}/login`);
    expect(response.url).toBe(`${server.url}/home`);
    expect(cookieSeen(server, 1)).toBe('session=abc');
  });

  it('applies the path rule: a Path=/admin cookie goes to /admin/* only', async () => {
    await client.get(`${server.url}/login`);
    await client.get(`${server.url}/admin/panel`);
    await client.get(`${server.url}/public`);
    expect(cookieSeen(server, 2)).toBe('admin=yes; session=abc');
    expect(cookieSeen(server, 3)).toBe('session=abc');
  });

  it('applies the host rule: cookies of 127.0.0.1 are not sent to another host', async () => {
    await client.get(`${server.url}/set?a=1`);
    await client.get(`http://localhost:${server.port}/echo`);
    expect(cookieSeen(server, 1)).toBeUndefined();
  });

  it('ignores a cookie for a domain the response may not set, and keeps the rest', async () => {
    await client.get(`${server.url}/bad-domain`);
    await client.get(`${server.url}/next`);
    expect(cookieSeen(server, 1)).toBe('good=1');
  });

  it('removes a cookie a response expires', async () => {
    await client.get(`${server.url}/set?session=1&keep=2`);
    await client.get(`${server.url}/expire`);
    await client.get(`${server.url}/after`);
    expect(cookieSeen(server, 2)).toBe('keep=2');
  });

  it('does not carry cookies to another host across a redirect', async () => {
    await client.get(`${server.url}/set?a=1`);
    const response = await client.get(`${server.url}/to-other-host`);
    expect(response.url).toBe(`http://localhost:${other.port}/landed`);
    expect(cookieSeen(other, 0)).toBeUndefined();
  });

  it('shares jar cookies between ports of one host, as RFC 6265 says (cookies are not isolated by port)', async () => {
    await client.get(`${server.url}/set?a=1`);
    await client.get(`${other.url}/x`);
    expect(cookieSeen(other, 0)).toBe('a=1');
  });

  it('sends an explicit Cookie header as given instead of the jar', async () => {
    await client.get(`${server.url}/set?a=1`);
    await client.get(`${server.url}/x`, { headers: { Cookie: 'mine=1' } });
    expect(cookieSeen(server, 1)).toBe('mine=1');
  });

  it('reports the cookies for the response URL through response.cookies()', async () => {
    const response = await client.get(`${server.url}/set?x=9&y=8`);
    expect(response.cookies()).toEqual({ x: '9', y: '8' });
    expect(response.jar).toBe(client.cookieJar);
  });

  it('uses a jar given at construction', async () => {
    const jar = new CookieJar();
    await jar.setCookie('pre=set; Path=/', server.url);
    const withJar = new HTTPClient({ pool, cookieJar: jar });
    await withJar.get(`${server.url}/set?new=1`);
    await withJar.get(`${server.url}/x`);
    expect(cookieSeen(server, 0)).toBe('pre=set');
    expect(cookieSeen(server, 1)).toBe('pre=set; new=1');
  });
});

describe('the cookies option', () => {
  it('sends an object of cookies to the request origin, merged over the jar', async () => {
    await client.get(`${server.url}/set?a=1&b=2`);
    await client.get(`${server.url}/x`, { cookies: { b: 'override', c: '3' } });
    expect(cookieSeen(server, 1)).toBe('a=1; b=override; c=3');
  });

  it('never sends option cookies to another origin (here: another port) after a redirect, nor stores them', async () => {
    await client.get(`${server.url}/to-other`, { cookies: { secret: 's' } });
    expect(cookieSeen(server, 0)).toBe('secret=s');
    expect(cookieSeen(other, 0)).toBeUndefined();
    await client.get(`${server.url}/later`);
    expect(cookieSeen(server, 1)).toBeUndefined();
  });

  it('uses a jar given as cookies instead of the client jar, and stores into it', async () => {
    const jar = createCookieJar();
    await client.get(`${server.url}/set?k=v`, { cookies: jar });
    expect(jar.getCookieStringSync(server.url)).toBe('k=v');
    await client.get(`${server.url}/x`);
    expect(cookieSeen(server, 1)).toBeUndefined();
  });
});

describe('clients without a jar', () => {
  it('keep no cookies between module-function calls but carry them along a redirect chain', async () => {
    const response = await get(`${server.url}/login`, { pool });
    expect(cookieSeen(server, 1)).toBe('session=abc');
    expect(response.cookies()).toEqual({ session: 'abc' });
    await get(`${server.url}/again`, { pool });
    expect(cookieSeen(server, 2)).toBeUndefined();
  });

  it('report no cookies and no jar when no response set one', async () => {
    const noJar = new HTTPClient({ pool, cookieJar: null });
    const response = await noJar.get(`${server.url}/x`);
    expect(response.jar).toBeNull();
    expect(response.cookies()).toEqual({});
  });
});

describe('secure cookies', () => {
  let tlsServer: TestServer;
  let plain: TestServer;
  let tlsPool: HTTPConnectionPool;

  beforeEach(async () => {
    tlsServer = await startTLSServer((req, res, body) => {
      if (req.url === '/secure-set') {
        res.setHeader('set-cookie', ['tls=1; Path=/; Secure', 'open=1; Path=/']);
        res.end();
        return;
      }
      echo(req, res, body);
    });
    plain = await startServer(echo);
    tlsPool = new HTTPConnectionPool();
  });

  afterEach(async () => {
    await tlsPool.closeCachedConnections();
    await tlsServer.close();
    await plain.close();
  });

  it('sends a Secure cookie over https only, never over http to the same host', async () => {
    const agent = new HttpAgent({
      pool: tlsPool,
      endpointFactory: new StandardEndpointFactory({ tlsPolicy: new BrowserLikePolicyForHTTPS({ ca: testCertificate().cert }) }),
    });
    const secureClient = new HTTPClient({ agent });
    await secureClient.get(`${tlsServer.url}/secure-set`);
    await secureClient.get(`${tlsServer.url}/again`);
    await secureClient.get(`${plain.url}/plain`);
    expect(tlsServer.requests[1]?.headers['cookie']).toBe('tls=1; open=1');
    expect(plain.requests[0]?.headers['cookie']).toBe('open=1');
  });
});
