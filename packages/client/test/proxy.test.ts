/**
 * The `proxy` and `trustEnv` options: HTTP(S) proxies through core's ProxyAgent, chosen by the
 * option or by HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY (read when the client is made),
 * against an in-process HTTP proxy on loopback.
 */
import { HTTPConnectionPool, InvalidArgumentError, ProxyError } from '@strand/core';
import { HTTPClient, get } from '@strand/client';
import { type HttpProxy, startHttpProxy, withEnv, withEnvAsync } from './support/proxies';
import { type TestServer, echo, startServer, startTLSServer, testCertificate } from './support/servers';

let origin: TestServer;
let proxy: HttpProxy;
let pool: HTTPConnectionPool;

beforeEach(async () => {
  origin = await startServer(echo);
  proxy = await startHttpProxy();
  pool = new HTTPConnectionPool();
});

afterEach(async () => {
  await pool.closeCachedConnections();
  await origin.close();
  await proxy.close();
});

/** A client made while the environment holds `vars` (and no other proxy variable). */
function clientWithEnv(vars: Record<string, string>, options: ConstructorParameters<typeof HTTPClient>[0] = {}): HTTPClient {
  return withEnv(vars, () => new HTTPClient({ pool, ...options }));
}

/** True when the request for `path` reached the origin directly. */
function direct(path: string): boolean {
  return origin.requests.some((r) => r.url === path);
}

describe('the proxy option', () => {
  it('sends http: requests to an http:// proxy in absolute form', async () => {
    const client = new HTTPClient({ pool, proxy: proxy.url });
    const response = await client.get(`http://origin.test/page?q=1`);
    expect(await response.text()).toBe('via proxy: GET http://origin.test/page?q=1');
    expect(proxy.seen).toEqual([{ method: 'GET', target: 'http://origin.test/page?q=1', proxyAuthorization: undefined }]);
  });

  it('sends the proxy URL\'s credentials to the proxy as Proxy-Authorization', async () => {
    const client = new HTTPClient({ pool, proxy: `http://pat:s%3Acret@127.0.0.1:${proxy.port}` });
    await client.get('http://origin.test/');
    expect(proxy.seen[0]?.proxyAuthorization).toBe(`Basic ${Buffer.from('pat:s:cret').toString('base64')}`);
  });

  it('tunnels https: requests through CONNECT, with TLS to the origin verified by the tls option', async () => {
    const tlsOrigin = await startTLSServer(echo);
    try {
      const client = new HTTPClient({ pool, proxy: proxy.url, tls: { ca: testCertificate().cert } });
      const response = await client.get(`https://localhost:${tlsOrigin.port}/secure`);
      expect(response.code).toBe(200);
      expect(proxy.seen).toEqual([{ method: 'CONNECT', target: `localhost:${tlsOrigin.port}`, proxyAuthorization: undefined }]);
      expect(tlsOrigin.requests[0]?.url).toBe('/secure');
    } finally {
      await tlsOrigin.close();
    }
  });

  it('takes a per-request proxy over the client\'s, and false for none', async () => {
    const other = await startHttpProxy();
    try {
      const client = new HTTPClient({ pool, proxy: proxy.url });
      await client.get('http://origin.test/a', { proxy: other.url });
      await client.get(`${origin.url}/b`, { proxy: false });
      expect(proxy.seen).toHaveLength(0);
      expect(other.seen.map((s) => s.target)).toEqual(['http://origin.test/a']);
      expect(direct('/b')).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('accepts a URL object and a value without a scheme (http://)', async () => {
    await new HTTPClient({ pool, proxy: new URL(proxy.url) }).get('http://origin.test/u');
    await new HTTPClient({ pool, proxy: `127.0.0.1:${proxy.port}` }).get('http://origin.test/bare');
    expect(proxy.seen.map((s) => s.target)).toEqual(['http://origin.test/u', 'http://origin.test/bare']);
  });

  it('reports a proxy that refuses the CONNECT as core\'s ProxyError with its status', async () => {
    const refusing = await startHttpProxy({ connectStatus: 407 });
    try {
      const client = new HTTPClient({ pool, proxy: refusing.url });
      const error = await client.get('https://origin.test/').then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ProxyError);
      expect(error).toMatchObject({ code: 'STRAND_PROXY_AUTH_REQUIRED', statusCode: 407 });
    } finally {
      await refusing.close();
    }
  });

  it.each([
    [{ proxy: 'http:/127.0.0.1:3128' }, /^proxy is not a valid proxy URL .*"http:" must be followed by "\/\/"/],
    [{ proxy: 'ftp://127.0.0.1:21' }, /^proxy is not a valid proxy URL .*unsupported scheme ftp:\/\//],
    [{ proxy: 'http://127.0.0.1:3128/path' }, /^proxy is not a valid proxy URL .*no path, query or fragment/],
    [{ proxy: 3128 }, /^proxy must be a proxy URL \(a string or a URL\) or false, got number/],
    [{ proxy: true }, /^proxy must be a proxy URL/],
  ])('refuses %j with an InvalidArgumentError naming the option', (options, message) => {
    expect(() => new HTTPClient(options as never)).toThrow(InvalidArgumentError);
    expect(() => new HTTPClient(options as never)).toThrow(message);
  });

  it('refuses a bad per-request proxy before sending anything', async () => {
    const client = new HTTPClient({ pool });
    await expect(client.get(`${origin.url}/`, { proxy: 'http://user:hunter2@:3128' })).rejects.toThrow(/^proxy is not a valid proxy URL \("http:\/\/\*\*\*@:3128"\): it has no host/);
    expect(origin.requests).toHaveLength(0);
  });

  it('cannot be combined with an agent, which decides where requests go', async () => {
    const agent = { request: () => Promise.reject(new Error('unused')) };
    expect(() => new HTTPClient({ agent, proxy: proxy.url })).toThrow(/^proxy and tls configure the default agent/);
    await expect(new HTTPClient({ pool }).get(`${origin.url}/`, { agent, proxy: proxy.url })).rejects.toThrow(/^proxy and tls configure the default agent/);
    await expect(new HTTPClient({ agent }).get(`${origin.url}/`, { proxy: false })).rejects.toThrow(/^proxy and tls cannot be used with a client that has its own agent/);
  });
});

describe('trustEnv: proxies from the environment', () => {
  it('sends http: requests through HTTP_PROXY', async () => {
    const client = clientWithEnv({ HTTP_PROXY: proxy.url });
    expect(await (await client.get('http://origin.test/env')).text()).toBe('via proxy: GET http://origin.test/env');
  });

  it('reads the lower-case name first', async () => {
    const client = clientWithEnv({ http_proxy: proxy.url, HTTP_PROXY: 'http://127.0.0.1:9' });
    await client.get('http://origin.test/lower');
    expect(proxy.seen.map((s) => s.target)).toEqual(['http://origin.test/lower']);
  });

  it('uses HTTPS_PROXY for https: URLs and not for http: ones', async () => {
    const tlsOrigin = await startTLSServer(echo);
    try {
      const client = clientWithEnv({ HTTPS_PROXY: proxy.url }, { tls: { ca: testCertificate().cert } });
      expect((await client.get(`https://localhost:${tlsOrigin.port}/s`)).code).toBe(200);
      expect((await client.get(`${origin.url}/plain`)).code).toBe(200);
      expect(proxy.seen.map((s) => s.method)).toEqual(['CONNECT']);
      expect(direct('/plain')).toBe(true);
    } finally {
      await tlsOrigin.close();
    }
  });

  it('falls back to ALL_PROXY when no variable names a proxy for the scheme', async () => {
    const client = clientWithEnv({ ALL_PROXY: proxy.url });
    await client.get('http://origin.test/all');
    expect(proxy.seen.map((s) => s.target)).toEqual(['http://origin.test/all']);
  });

  it('sends hosts listed in NO_PROXY direct', async () => {
    const client = clientWithEnv({ HTTP_PROXY: proxy.url, NO_PROXY: 'example.invalid, 127.0.0.1' });
    expect((await client.get(`${origin.url}/bypass`)).code).toBe(200);
    await client.get('http://origin.test/proxied');
    expect(direct('/bypass')).toBe(true);
    expect(proxy.seen.map((s) => s.target)).toEqual(['http://origin.test/proxied']);
  });

  it('chooses per redirect hop: a redirect from a NO_PROXY host to another host goes through the proxy', async () => {
    const redirecting = await startServer((_req, res) => {
      res.writeHead(302, { location: 'http://origin.test/after' });
      res.end();
    });
    try {
      const client = clientWithEnv({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
      const response = await client.get(`${redirecting.url}/start`);
      expect(await response.text()).toBe('via proxy: GET http://origin.test/after');
      expect(redirecting.requests.map((r) => r.url)).toEqual(['/start']);
    } finally {
      await redirecting.close();
    }
  });

  it('ignores HTTP_PROXY under CGI (REQUEST_METHOD set), which a request\'s Proxy: header can set (httpoxy)', async () => {
    const client = clientWithEnv({ HTTP_PROXY: proxy.url, REQUEST_METHOD: 'GET' });
    expect((await client.get(`${origin.url}/cgi`)).code).toBe(200);
    expect(proxy.seen).toHaveLength(0);
    expect(direct('/cgi')).toBe(true);
  });

  it('still reads the lower-case http_proxy under CGI', async () => {
    const client = clientWithEnv({ http_proxy: proxy.url, REQUEST_METHOD: 'GET' });
    await client.get('http://origin.test/cgi-lower');
    expect(proxy.seen).toHaveLength(1);
  });

  it('ignores the environment with trustEnv: false, on the client or on a request', async () => {
    const off = clientWithEnv({ HTTP_PROXY: proxy.url }, { trustEnv: false });
    await off.get(`${origin.url}/client-off`);
    const on = clientWithEnv({ HTTP_PROXY: proxy.url });
    await on.get(`${origin.url}/request-off`, { trustEnv: false });
    expect(proxy.seen).toHaveLength(0);
    expect(direct('/client-off') && direct('/request-off')).toBe(true);
  });

  it('lets proxy: false and an explicit proxy override the environment', async () => {
    const other = await startHttpProxy();
    try {
      const client = clientWithEnv({ HTTP_PROXY: other.url });
      await client.get(`${origin.url}/none`, { proxy: false });
      await client.get('http://origin.test/explicit', { proxy: proxy.url });
      expect(other.seen).toHaveLength(0);
      expect(direct('/none')).toBe(true);
      expect(proxy.seen.map((s) => s.target)).toEqual(['http://origin.test/explicit']);
    } finally {
      await other.close();
    }
  });

  it('reads the environment when the client is made, not on each request', async () => {
    const client = clientWithEnv({});
    await withEnvAsync({ HTTP_PROXY: proxy.url }, () => client.get(`${origin.url}/later`));
    expect(direct('/later')).toBe(true);
    expect(proxy.seen).toHaveLength(0);
  });

  it('is read by the module functions on their first call', async () => {
    // The first module-function call of this file: the shared client is made inside withEnvAsync.
    const response = await withEnvAsync({ HTTP_PROXY: proxy.url }, () => get('http://origin.test/module', { pool }));
    expect(await response.text()).toBe('via proxy: GET http://origin.test/module');
  });

  it('fails the requests that would use a bad proxy variable with an InvalidArgumentError naming it, and no others', async () => {
    const client = clientWithEnv({ HTTP_PROXY: 'http:/broken:3128', NO_PROXY: '127.0.0.1' });
    await expect(client.get('http://origin.test/')).rejects.toThrow(InvalidArgumentError);
    await expect(client.get('http://origin.test/')).rejects.toThrow(/^HTTP_PROXY is not a valid proxy URL/);
    expect((await client.get(`${origin.url}/fine`)).code).toBe(200);
  });

  it('does not send a client\'s own agent\'s requests through the environment\'s proxy', async () => {
    const seen: string[] = [];
    const agent = new HTTPClient({ pool, trustEnv: false });
    const client = withEnv({ HTTP_PROXY: proxy.url }, () => new HTTPClient({ agent: { request: (method, uri) => (seen.push(String(uri)), agent.request(method, uri, { unbuffered: true }).then((r) => r.original)) } }));
    expect((await client.get(`${origin.url}/own-agent`)).code).toBe(200);
    expect(seen).toEqual([`${origin.url}/own-agent`]);
    expect(proxy.seen).toHaveLength(0);
  });
});
