/**
 * Proxy selection from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) through an injected
 * env object, and EnvProxyAgent re-evaluating it for every request and redirect hop.
 */
import type * as http from 'node:http';
import {
  EnvProxyAgent,
  HTTPConnectionPool,
  HttpAgent,
  InvalidArgumentError,
  RedirectAgent,
  StandardEndpointFactory,
  bypassesProxy,
  proxyForUrl,
} from '../src/index.js';
import { history, json, text } from './support/agents-helpers.js';
import { type AgentTestServer, type ProxyServer, startOrigin, startProxy, startTlsOrigin, testCaPolicy } from './support/agents-servers.js';

describe('proxyForUrl: which variable', () => {
  it('uses http_proxy for http: and https_proxy for https:, lower case first', () => {
    const env = { http_proxy: 'http://lower:1', HTTP_PROXY: 'http://upper:1', https_proxy: 'http://slower:2', HTTPS_PROXY: 'http://supper:2' };
    expect(proxyForUrl('http://example.com/', env)?.host).toBe('lower:1');
    expect(proxyForUrl('https://example.com/', env)?.host).toBe('slower:2');
  });

  it('falls back to the upper-case variable when the lower-case one is unset or empty', () => {
    expect(proxyForUrl('http://example.com/', { HTTP_PROXY: 'http://upper:1' })?.host).toBe('upper:1');
    expect(proxyForUrl('https://example.com/', { https_proxy: '  ', HTTPS_PROXY: 'http://upper:2' })?.host).toBe('upper:2');
  });

  it('never uses the other scheme variable', () => {
    expect(proxyForUrl('https://example.com/', { HTTP_PROXY: 'http://p:1' })).toBeNull();
    expect(proxyForUrl('http://example.com/', { HTTPS_PROXY: 'http://p:1' })).toBeNull();
  });

  it('ignores upper-case HTTP_PROXY inside a CGI script (httpoxy), but not http_proxy', () => {
    expect(proxyForUrl('http://example.com/', { REQUEST_METHOD: 'GET', HTTP_PROXY: 'http://attacker:1' })).toBeNull();
    expect(proxyForUrl('http://example.com/', { REQUEST_METHOD: 'GET', http_proxy: 'http://admin:1' })?.host).toBe('admin:1');
  });

  it('reads a value without a scheme as http://, and refuses a bad one naming the variable', () => {
    expect(proxyForUrl('http://example.com/', { HTTP_PROXY: 'proxy.local:3128' })?.href).toBe('http://proxy.local:3128/');
    expect(() => proxyForUrl('https://example.com/', { HTTPS_PROXY: 'socks5://p:1080' })).toThrow(InvalidArgumentError);
    expect(() => proxyForUrl('https://example.com/', { HTTPS_PROXY: 'socks5://p:1080' })).toThrow(/HTTPS_PROXY/);
  });

  it('refuses a malformed variable (a scheme without "//", no host, a path) naming it and saying what a valid value looks like', () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ HTTPS_PROXY: 'http:/badproxyurl:3128' }, 'https://example.com/', /^HTTPS_PROXY is not a valid proxy URL \("http:\/badproxyurl:3128"\): "http:" must be followed by "\/\/"/],
      [{ http_proxy: 'http:3128' }, 'http://example.com/', /^http_proxy is not a valid proxy URL .*it has no host/],
      [{ HTTP_PROXY: 'http://proxy:3128/path' }, 'http://example.com/', /^HTTP_PROXY is not a valid proxy URL .*no path, query or fragment/],
      [{ https_proxy: 'proxy:70000' }, 'https://example.com/', /^https_proxy is not a valid proxy URL .*from 1 to 65535/],
    ];
    for (const [env, url, message] of cases) {
      let error: unknown = null;
      try {
        proxyForUrl(url, env);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toContain('expected http://host:port or https://host:port');
    }
  });

  it('returns null for no proxy at all', () => {
    expect(proxyForUrl('http://example.com/', {})).toBeNull();
  });
});

describe('NO_PROXY', () => {
  const direct = (url: string, noProxy: string, name = 'NO_PROXY'): boolean => bypassesProxy(new URL(url), { [name]: noProxy });

  it('"*" sends everything direct', () => {
    expect(direct('http://anything.example/', '*')).toBe(true);
    expect(proxyForUrl('https://x.test/', { HTTPS_PROXY: 'http://p:1', no_proxy: '*' })).toBeNull();
  });

  it('matches a domain and its subdomains, never a longer name', () => {
    expect(direct('http://example.com/', 'example.com')).toBe(true);
    expect(direct('http://api.eu.example.com/', 'example.com')).toBe(true);
    expect(direct('http://badexample.com/', 'example.com')).toBe(false);
    expect(direct('http://example.com.evil.test/', 'example.com')).toBe(false);
  });

  it('treats a leading dot or "*." like the bare domain', () => {
    for (const entry of ['.example.com', '*.example.com']) {
      expect(direct('http://example.com/', entry)).toBe(true);
      expect(direct('http://www.example.com/', entry)).toBe(true);
      expect(direct('http://notexample.com/', entry)).toBe(false);
    }
  });

  it('ignores case and a trailing root dot', () => {
    expect(direct('http://API.Example.COM./', 'example.com')).toBe(true);
    expect(direct('http://api.example.com/', 'EXAMPLE.COM.')).toBe(true);
  });

  it('restricts an entry with a port to that port (default ports included)', () => {
    expect(direct('http://example.com:8080/', 'example.com:8080')).toBe(true);
    expect(direct('http://example.com/', 'example.com:8080')).toBe(false);
    expect(direct('https://example.com/', 'example.com:443')).toBe(true);
    expect(direct('http://example.com/', 'example.com:443')).toBe(false);
  });

  it('matches IP literals exactly, IPv6 with or without brackets, with an optional port', () => {
    expect(direct('http://127.0.0.1:5000/', '127.0.0.1')).toBe(true);
    expect(direct('http://127.0.0.10/', '127.0.0.1')).toBe(false);
    expect(direct('http://[::1]:8080/', '::1')).toBe(true);
    expect(direct('http://[::1]:8080/', '[::1]')).toBe(true);
    expect(direct('http://[::1]:8080/', '[::1]:8080')).toBe(true);
    expect(direct('http://[::1]:9090/', '[::1]:8080')).toBe(false);
    expect(direct('http://[0:0:0:0:0:0:0:1]/', '::1')).toBe(true);
    expect(direct('http://127.0.0.1:8080/', '127.0.0.1:8080')).toBe(true);
    expect(direct('http://127.0.0.1:8081/', '127.0.0.1:8080')).toBe(false);
  });

  it('matches CIDR blocks', () => {
    expect(direct('http://10.1.2.3/', '10.0.0.0/8')).toBe(true);
    expect(direct('http://11.1.2.3/', '10.0.0.0/8')).toBe(false);
    expect(direct('http://[fd12::1]/', 'fd00::/8')).toBe(true);
    expect(direct('http://[fe80::1]/', 'fd00::/8')).toBe(false);
  });

  it('never matches an IP entry against a name or a name entry against an IP', () => {
    expect(direct('http://localhost/', '127.0.0.1')).toBe(false);
    expect(direct('http://10.0.0.1/', '0.0.1')).toBe(false);
  });

  it('reads no_proxy before NO_PROXY, entries separated by commas or spaces, junk ignored', () => {
    expect(bypassesProxy(new URL('http://a.test/'), { no_proxy: 'a.test', NO_PROXY: 'b.test' })).toBe(true);
    expect(bypassesProxy(new URL('http://b.test/'), { no_proxy: 'a.test', NO_PROXY: 'b.test' })).toBe(false);
    expect(direct('http://c.test/', ' a.test,, b.test  c.test ')).toBe(true);
    expect(direct('http://c.test/', 'host:notaport, 1.2.3.4/99, c.test')).toBe(true);
    expect(direct('http://c.test/', '', 'no_proxy')).toBe(false);
  });
});

interface Echo {
  url: string;
  headers: http.IncomingHttpHeaders;
}

describe('EnvProxyAgent', () => {
  const echo: http.RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/redirect') {
      res.writeHead(302, { Location: url.searchParams.get('to') ?? '/', 'Content-Length': 0 });
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  };
  let origin: AgentTestServer;
  let origin6: AgentTestServer;
  let tlsOrigin: AgentTestServer;
  let proxy: ProxyServer;
  let pool: HTTPConnectionPool;
  const policy = testCaPolicy();

  beforeAll(async () => {
    origin = await startOrigin(echo);
    origin6 = await startOrigin(echo, '::1');
    tlsOrigin = await startTlsOrigin(echo);
    proxy = await startProxy();
  });

  afterAll(async () => {
    await Promise.all([origin.close(), origin6.close(), tlsOrigin.close(), proxy.close()]);
  });

  beforeEach(() => {
    pool = new HTTPConnectionPool();
    proxy.forwarded.length = 0;
    proxy.connects.length = 0;
    origin.seen.length = 0;
  });

  afterEach(async () => {
    await pool.closeCachedConnections();
  });

  function agentWith(env: Record<string, string | undefined>): EnvProxyAgent {
    const direct = new HttpAgent({ pool, endpointFactory: new StandardEndpointFactory({ tlsPolicy: policy }) });
    return new EnvProxyAgent({ env, pool, tlsPolicy: policy, direct });
  }

  it('sends http requests through HTTP_PROXY and https requests through HTTPS_PROXY', async () => {
    const agent = agentWith({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url });
    await text(await agent.request('GET', `${origin.url}/plain`));
    await text(await agent.request('GET', `${tlsOrigin.url}/secure`));
    expect(proxy.forwarded).toEqual([`GET ${origin.url}/plain`]);
    expect(proxy.connects.map((c) => c.authority)).toEqual([`127.0.0.1:${tlsOrigin.port}`]);
  });

  it('goes direct for NO_PROXY hosts and when no variable is set', async () => {
    await text(await agentWith({ HTTP_PROXY: proxy.url, NO_PROXY: `127.0.0.1:${origin.port}` }).request('GET', `${origin.url}/direct`));
    await text(await agentWith({}).request('GET', `${origin.url}/direct-too`));
    expect(proxy.forwarded).toHaveLength(0);
    expect(origin.seen).toEqual(['GET /direct', 'GET /direct-too']);
  });

  it('reads the env object again for every request', async () => {
    const env: Record<string, string | undefined> = { http_proxy: proxy.url };
    const agent = agentWith(env);
    await text(await agent.request('GET', `${origin.url}/first`));
    env['no_proxy'] = '127.0.0.1';
    await text(await agent.request('GET', `${origin.url}/second`));
    delete env['no_proxy'];
    await text(await agent.request('GET', `${origin.url}/third`));
    expect(proxy.forwarded).toEqual([`GET ${origin.url}/first`, `GET ${origin.url}/third`]);
  });

  it('re-evaluates every redirect hop: a redirect to a NO_PROXY host goes direct', async () => {
    const agent = new RedirectAgent(agentWith({ HTTP_PROXY: proxy.url, NO_PROXY: '::1' }));
    const target = `${origin6.url}/landed`;
    const response = await agent.request('GET', `${origin.url}/redirect?to=${encodeURIComponent(target)}`);
    expect((await json<Echo>(response)).url).toBe('/landed');
    expect(proxy.forwarded).toEqual([`GET ${origin.url}/redirect?to=${encodeURIComponent(target)}`]);
    expect(origin6.seen).toContain('GET /landed');
    expect(history(response)).toHaveLength(2);
  });

  it('rejects the request with the variable named when the proxy URL is invalid', async () => {
    await expect(agentWith({ HTTP_PROXY: 'ftp://nope' }).request('GET', `${origin.url}/`)).rejects.toThrow(/HTTP_PROXY/);
  });
});
