/**
 * ProxyAgent and TunnelEndpoint against an in-process proxy (absolute-form forwarding and
 * CONNECT) and real loopback origins, plain and TLS (the test CA's certificates).
 */
import type * as http from 'node:http';
import {
  BytesProducer,
  CancelledError,
  ConnectError,
  ConnectionRefusedError,
  HTTPConnectionPool,
  HttpAgent,
  InvalidArgumentError,
  ParseError,
  ProxyAgent,
  ProxyConnector,
  ProxyError,
  TLSHostnameMismatchError,
  TLSUnknownCAError,
  TunnelEndpoint,
  parseProxyUrl,
  StandardEndpointFactory,
  proxyAuthorization,
} from '../src/index.js';
import { json, text } from './support/agents-helpers.js';
import { type AgentTestServer, type ProxyServer, readRequest, startOrigin, startProxy, startTlsOrigin, testCaPolicy } from './support/agents-servers.js';
import { type TestServer, onRequestHead, startRawServer } from './support/servers.js';

interface Echo {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const echo: http.RequestListener = (req, res) => {
  void readRequest(req).then((body) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
  });
};

let origin: AgentTestServer;
let tlsOrigin: AgentTestServer;
let proxy: ProxyServer;
let pool: HTTPConnectionPool;
const policy = testCaPolicy();

beforeAll(async () => {
  origin = await startOrigin(echo);
  tlsOrigin = await startTlsOrigin(echo);
  proxy = await startProxy();
});

afterAll(async () => {
  await Promise.all([origin.close(), tlsOrigin.close(), proxy.close()]);
});

beforeEach(() => {
  pool = new HTTPConnectionPool();
  proxy.forwarded.length = 0;
  proxy.forwardedHeaders.length = 0;
  proxy.connects.length = 0;
  origin.seen.length = 0;
  tlsOrigin.seen.length = 0;
  tlsOrigin.headers.length = 0;
});

afterEach(async () => {
  await pool.closeCachedConnections();
});

/** A proxy URL on `server` with credentials. */
function withCredentials(server: { port: number }, user: string, password: string, scheme = 'http'): string {
  const url = new URL(`${scheme}://127.0.0.1:${server.port}`);
  url.username = user;
  url.password = password;
  return url.href;
}

describe('ProxyAgent: plain http through the proxy', () => {
  it('sends the request in absolute form to the proxy and returns the origin response', async () => {
    const agent = new ProxyAgent(proxy.url, { pool });
    const response = await agent.request('GET', `${origin.url}/echo?q=1#frag`, { 'X-Test': 'yes' });
    const body = await json<Echo>(response);
    expect(proxy.forwarded).toEqual([`GET ${origin.url}/echo?q=1`]);
    expect(body.url).toBe('/echo?q=1');
    expect(body.headers['x-test']).toBe('yes');
    expect(body.headers.host).toBe(`127.0.0.1:${origin.port}`);
    expect(proxy.connects).toHaveLength(0);
  });

  it('sends Proxy-Authorization made from the proxy URL credentials (percent-decoded) to the proxy', async () => {
    const authed = await startProxy({ credentials: 'us@er:p:ss wörd' });
    try {
      const agent = new ProxyAgent(withCredentials(authed, 'us@er', 'p:ss wörd'), { pool });
      const response = await agent.request('POST', `${origin.url}/submit`, { 'Proxy-Authorization': 'Basic caller-value' }, new BytesProducer('data'));
      const body = await json<Echo>(response);
      expect(response.code).toBe(200);
      expect(authed.forwardedHeaders[0]?.['proxy-authorization']).toBe(`Basic ${Buffer.from('us@er:p:ss wörd').toString('base64')}`);
      expect(body.body).toBe('data');
      expect(body.headers['proxy-authorization']).toBeUndefined();
    } finally {
      await authed.close();
    }
  });

  it('returns the proxy own 407 to a plain-http request as a response', async () => {
    const authed = await startProxy({ credentials: 'user:right' });
    try {
      const response = await new ProxyAgent(withCredentials(authed, 'user', 'wrong'), { pool }).request('GET', `${origin.url}/`);
      expect(response.code).toBe(407);
      expect(response.headers.get('proxy-authenticate')).toBe('Basic realm="test proxy"');
      await text(response);
    } finally {
      await authed.close();
    }
  });

  it('reuses one connection to the proxy for requests to different origins', async () => {
    const other = await startOrigin(echo);
    try {
      const agent = new ProxyAgent(proxy.url, { pool });
      const before = proxy.connections;
      await text(await agent.request('GET', `${origin.url}/one`));
      await text(await agent.request('GET', `${other.url}/two`));
      expect(proxy.connections - before).toBe(1);
      expect(proxy.forwarded).toEqual([`GET ${origin.url}/one`, `GET ${other.url}/two`]);
    } finally {
      await other.close();
    }
  });
});

describe('ProxyAgent: https through a CONNECT tunnel', () => {
  it('opens a tunnel with CONNECT and runs TLS to the origin inside it', async () => {
    const agent = new ProxyAgent(proxy.url, { pool, tlsPolicy: policy });
    const response = await agent.request('GET', `${tlsOrigin.url}/secure?x=1`);
    const body = await json<Echo>(response);
    expect(body.url).toBe('/secure?x=1');
    expect(proxy.connects).toEqual([{ authority: `127.0.0.1:${tlsOrigin.port}`, proxyAuthorization: undefined, status: 200 }]);
    expect(proxy.forwarded).toHaveLength(0);
  });

  it('puts the credentials on the CONNECT only, never on the request to the origin', async () => {
    const authed = await startProxy({ credentials: 'user:secret' });
    try {
      const agent = new ProxyAgent(withCredentials(authed, 'user', 'secret'), { pool, tlsPolicy: policy });
      const body = await json<Echo>(await agent.request('GET', `${tlsOrigin.url}/`, { 'Proxy-Authorization': 'Basic from-caller', Authorization: 'Bearer origin-token' }));
      expect(authed.connects.map((c) => c.proxyAuthorization)).toEqual([`Basic ${Buffer.from('user:secret').toString('base64')}`]);
      expect(body.headers['proxy-authorization']).toBeUndefined();
      expect(body.headers.authorization).toBe('Bearer origin-token');
    } finally {
      await authed.close();
    }
  });

  it('pools tunnels: a second request to the same origin reuses the tunnel', async () => {
    const agent = new ProxyAgent(proxy.url, { pool, tlsPolicy: policy });
    await text(await agent.request('GET', `${tlsOrigin.url}/1`));
    await text(await agent.request('GET', `${tlsOrigin.url}/2`));
    expect(proxy.connects).toHaveLength(1);
    const keys = Object.keys(pool.stats());
    expect(keys).toHaveLength(1);
    expect(keys[0]).toContain(`https://127.0.0.1:${tlsOrigin.port}`);
    expect(keys[0]).toContain(`via http://127.0.0.1:${proxy.port}`);
  });

  it('keeps tunnels of different proxies, and direct connections, apart in a shared pool', async () => {
    const second = await startProxy();
    try {
      const viaFirst = new ProxyAgent(proxy.url, { pool, tlsPolicy: policy });
      const viaSecond = new ProxyAgent(second.url, { pool, tlsPolicy: policy });
      const direct = new HttpAgent({ pool, endpointFactory: new StandardEndpointFactory({ tlsPolicy: policy }) });
      for (let i = 0; i < 2; i++) {
        await text(await viaFirst.request('GET', `${tlsOrigin.url}/a`));
        await text(await viaSecond.request('GET', `${tlsOrigin.url}/b`));
        await text(await direct.request('GET', `${tlsOrigin.url}/c`));
      }
      expect(proxy.connects).toHaveLength(1);
      expect(second.connects).toHaveLength(1);
      expect(Object.keys(pool.stats())).toHaveLength(3);
    } finally {
      await second.close();
    }
  });

  it('fails a CONNECT answered 407 with a ProxyError, and sends nothing to the origin', async () => {
    const authed = await startProxy({ credentials: 'user:right' });
    const seenBefore = tlsOrigin.connections;
    try {
      const agent = new ProxyAgent(withCredentials(authed, 'user', 'wrong'), { pool, tlsPolicy: policy });
      const error = await agent.request('GET', `${tlsOrigin.url}/private`, { Authorization: 'Bearer t' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProxyError);
      const proxyError = error as ProxyError;
      expect(proxyError.code).toBe('STRAND_PROXY_AUTH_REQUIRED');
      expect(proxyError.statusCode).toBe(407);
      expect(proxyError.headers?.get('proxy-authenticate')).toBe('Basic realm="test proxy"');
      expect(proxyError.message).toContain('407');
      expect(proxyError.message).not.toContain('wrong');
      expect(tlsOrigin.connections).toBe(seenBefore);
      expect(tlsOrigin.seen).toHaveLength(0);
      // Without credentials the message says where to put them.
      const anonymous = await new ProxyAgent(authed.url, { pool, tlsPolicy: policy }).request('GET', `${tlsOrigin.url}/`).catch((e: unknown) => e);
      expect((anonymous as ProxyError).message).toMatch(/wants credentials/);
    } finally {
      await authed.close();
    }
  });

  it('fails a refused CONNECT (403) with a ProxyError naming the status', async () => {
    const refusing = await startProxy({ refuseConnect: 403 });
    try {
      const error = await new ProxyAgent(refusing.url, { pool, tlsPolicy: policy }).request('GET', `${tlsOrigin.url}/`).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'STRAND_PROXY_TUNNEL_FAILED', statusCode: 403 });
      expect(tlsOrigin.seen).toHaveLength(0);
    } finally {
      await refusing.close();
    }
  });

  it('treats a 401 to CONNECT (as tinyproxy sends) as the proxy wanting credentials', async () => {
    const refusing = await startProxy({ refuseConnect: 401 });
    try {
      const error = await new ProxyAgent(refusing.url, { pool, tlsPolicy: policy }).request('GET', `${tlsOrigin.url}/`).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'STRAND_PROXY_AUTH_REQUIRED', statusCode: 401 });
    } finally {
      await refusing.close();
    }
  });

  it('verifies the origin certificate inside the tunnel: a wrong name is refused', async () => {
    const wrongName = await startTlsOrigin(echo, 'other-name');
    try {
      const error = await new ProxyAgent(proxy.url, { pool, tlsPolicy: policy }).request('GET', `${wrongName.url}/`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TLSHostnameMismatchError);
      expect(wrongName.seen).toHaveLength(0);
    } finally {
      await wrongName.close();
    }
  });

  it('verifies the origin certificate inside the tunnel: an untrusted CA is refused', async () => {
    const untrusted = await startTlsOrigin(echo, 'unknown-ca-localhost');
    try {
      await expect(new ProxyAgent(proxy.url, { pool, tlsPolicy: policy }).request('GET', `${untrusted.url}/`)).rejects.toBeInstanceOf(TLSUnknownCAError);
    } finally {
      await untrusted.close();
    }
  });
});

describe('ProxyAgent: an https:// proxy', () => {
  it('speaks TLS to the proxy (verified against the proxy) and TLS to the origin inside the tunnel', async () => {
    const secureProxy = await startProxy({ tls: true });
    try {
      const agent = new ProxyAgent(secureProxy.url, { pool, tlsPolicy: policy, proxyTlsPolicy: policy });
      const tunneled = await json<Echo>(await agent.request('GET', `${tlsOrigin.url}/via-tls-proxy`));
      expect(tunneled.url).toBe('/via-tls-proxy');
      const forwarded = await json<Echo>(await agent.request('GET', `${origin.url}/plain-via-tls-proxy`));
      expect(forwarded.url).toBe('/plain-via-tls-proxy');
      expect(secureProxy.connects).toHaveLength(1);
      expect(secureProxy.forwarded).toEqual([`GET ${origin.url}/plain-via-tls-proxy`]);
    } finally {
      await secureProxy.close();
    }
  });

  it('refuses an https:// proxy whose certificate is not trusted', async () => {
    const secureProxy = await startProxy({ tls: true });
    try {
      await expect(new ProxyAgent(secureProxy.url, { pool }).request('GET', `${origin.url}/`)).rejects.toBeInstanceOf(TLSUnknownCAError);
      expect(secureProxy.forwarded).toHaveLength(0);
    } finally {
      await secureProxy.close();
    }
  });
});

describe('ProxyAgent: failures reaching the proxy', () => {
  let raw: TestServer | null = null;

  afterEach(async () => {
    await raw?.close();
    raw = null;
  });

  it('reports a proxy that is not listening as ConnectionRefusedError (nothing was sent)', async () => {
    const closed = await startOrigin(echo);
    await closed.close();
    const agent = new ProxyAgent(`http://127.0.0.1:${closed.port}`, { pool, tlsPolicy: policy });
    await expect(agent.request('GET', `${tlsOrigin.url}/`)).rejects.toBeInstanceOf(ConnectionRefusedError);
    await expect(agent.request('GET', `${origin.url}/`)).rejects.toBeInstanceOf(ConnectionRefusedError);
  });

  it('reports a proxy that closes before answering CONNECT as a ConnectError', async () => {
    raw = await startRawServer((socket) => onRequestHead(socket, () => socket.destroy()));
    const error = await new ProxyAgent(raw.url, { pool, tlsPolicy: policy }).request('GET', `${tlsOrigin.url}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).message).toMatch(/closed the connection before answering CONNECT/);
  });

  it('reports a proxy that answers CONNECT with garbage as a ProxyError caused by a ParseError', async () => {
    raw = await startRawServer((socket) => onRequestHead(socket, () => socket.write('SSH-2.0-OpenSSH\r\n\r\n')));
    const error = await new ProxyAgent(raw.url, { pool, tlsPolicy: policy }).request('GET', `${tlsOrigin.url}/`).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STRAND_PROXY_TUNNEL_FAILED', statusCode: 0 });
    expect((error as ProxyError).cause).toBeInstanceOf(ParseError);
  });

  it('cancels a CONNECT the proxy never answers and closes the socket', async () => {
    let heads = 0;
    raw = await startRawServer((socket) => onRequestHead(socket, () => heads++));
    const controller = new AbortController();
    const pending = new ProxyAgent(raw.url, { pool, tlsPolicy: policy }).request('GET', `${tlsOrigin.url}/`, null, null, { signal: controller.signal });
    while (heads === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    const server = raw;
    for (let i = 0; i < 200 && server.openSockets() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(server.openSockets()).toBe(0);
  });
});

describe('proxy URLs', () => {
  it('accepts http and https proxies, a missing scheme meaning http', () => {
    expect(parseProxyUrl('proxy.local:3128').href).toBe('http://proxy.local:3128/');
    expect(parseProxyUrl('https://p.example').protocol).toBe('https:');
    expect(parseProxyUrl(new URL('http://[::1]:8080')).hostname).toBe('[::1]');
    expect(parseProxyUrl('user:pw@proxy.local:3128').href).toBe('http://user:pw@proxy.local:3128/');
    expect(parseProxyUrl('[::1]:3128').href).toBe('http://[::1]:3128/');
    expect(parseProxyUrl(' HTTP://Proxy.Local:3128/ ').href).toBe('http://proxy.local:3128/');
  });

  /** The error parseProxyUrl throws for `value`, checked to name `option` and show what a valid value looks like. */
  function refusal(value: string | URL, option = 'proxy'): InvalidArgumentError {
    let error: unknown = null;
    try {
      parseProxyUrl(value, option);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    const refused = error as InvalidArgumentError;
    expect(refused.code).toBe('STRAND_INVALID_ARGUMENT');
    expect(refused.message).toContain(`${option} is not a valid proxy URL`);
    expect(refused.message).toContain('expected http://host:port or https://host:port');
    return refused;
  }

  it('refuses a scheme not followed by "//" instead of reading it as a host named http', () => {
    for (const bad of ['http:/badproxyurl:3128', 'http:badproxyurl', 'http:', 'HTTPS:/p:443', 'socks5:proxy']) {
      expect(refusal(bad).message).toMatch(/"[a-z0-9]+:" must be followed by "\/\/"/i);
    }
    expect(refusal('http:3128').message).toContain('it has no host');
  });

  it('refuses a proxy URL with no host, or an empty one', () => {
    for (const bad of ['http://', 'http:///proxy:3128', 'http://:3128', 'https://user:pw@']) expect(refusal(bad).message).toContain('it has no host');
    expect(refusal('').message).toContain('it is empty');
    expect(refusal('   ').message).toContain('it is empty');
  });

  it('refuses a port outside 1 to 65535', () => {
    for (const bad of ['http://p:0', 'http://p:65536', 'http://p:99999', 'http://p:port', 'p:', new URL('http://p:0')]) {
      expect(refusal(bad).message).toContain('the port must be a number from 1 to 65535');
    }
  });

  it('refuses a path, a query or a fragment, and accepts a trailing slash', () => {
    for (const bad of ['http://p:3128/proxy.pac', 'http://p:3128?x=1', 'http://p:3128/?', 'p:3128/path', 'http://p:3128#top', new URL('http://p:3128/x')]) {
      expect(refusal(bad).message).toContain('a proxy URL has no path, query or fragment');
    }
    expect(parseProxyUrl('http://p:3128/').href).toBe('http://p:3128/');
  });

  it('refuses other schemes, naming the scheme', () => {
    expect(refusal('ftp://p:21').message).toContain('only http:// and https:// proxies are supported, got ftp://');
    expect(refusal(new URL('socks5://p:1080')).message).toContain('got socks5://');
  });

  it('never shows the password of a refused proxy URL, even one that cannot be parsed', () => {
    for (const bad of ['http://user:hunter2@', 'http://user:hun/ter2@p:3128', 'user:hunter2@', 'http://user:hunter2@p:3128/path']) {
      const message = refusal(bad, 'HTTPS_PROXY').message;
      expect(message).not.toContain('hunter2');
      expect(message).not.toContain('ter2');
    }
  });

  it('refuses other schemes and hostless URLs without showing the password', () => {
    for (const bad of ['socks5://user:hunter2@127.0.0.1:1080', 'http://user:hunter2@', 'file:///tmp/x']) {
      let error: unknown;
      try {
        new ProxyAgent(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('makes Basic credentials from the URL, and none without them', () => {
    expect(proxyAuthorization(new URL('http://a%20b:c%3Ad@p'))).toBe(`Basic ${Buffer.from('a b:c:d').toString('base64')}`);
    expect(proxyAuthorization(new URL('http://p:1'))).toBeNull();
  });

  it('keys tunnels by origin, proxy and credentials without showing the secret', () => {
    const one = new TunnelEndpoint(new ProxyConnector(new URL('http://u:secret1@127.0.0.1:3128')), '::1', 443, true, { tlsPolicy: policy });
    const two = new TunnelEndpoint(new ProxyConnector(new URL('http://u:secret2@127.0.0.1:3128')), '::1', 443, true, { tlsPolicy: policy });
    expect(one.key).toContain('https://[::1]:443');
    expect(one.key).toContain('via http://127.0.0.1:3128');
    expect(one.key).not.toContain('secret');
    expect(one.key).not.toBe(two.key);
  });
});

describe('TunnelEndpoint', () => {
  it('tunnels plain http too when used on its own', async () => {
    const connector = new ProxyConnector(new URL(proxy.url));
    const agent = HttpAgent.usingEndpointFactory({ endpointForURI: (uri) => new TunnelEndpoint(connector, uri.hostname, Number(uri.port), false) }, { pool });
    const body = await json<Echo>(await agent.request('GET', `${origin.url}/tunneled`));
    expect(body.url).toBe('/tunneled');
    expect(proxy.connects.map((c) => c.authority)).toEqual([`127.0.0.1:${origin.port}`]);
  });
});
