/**
 * SOCKS proxies through the `proxy` option and ALL_PROXY, against an in-process SOCKS server on
 * loopback: SOCKS5 with and without username/password, socks5h and socks4a resolving names at
 * the proxy, socks5 and socks4 resolving them here, https origins verified through the tunnel,
 * and typed errors for refusals.
 */
import { CancelledError, ConnectionRefusedError, HTTPConnectionPool, InvalidArgumentError, ProxyError, TimeoutError, TLSHostnameMismatchError } from '@strand/core';
import { HTTPClient, SocksProxyError } from '@strand/client';
import { type SocksServer, startSocksServer, withEnv } from './support/proxies';
import { rejection } from './support/routes';
import { type TestServer, echo, startServer, startTLSServer, testCertificate } from './support/servers';

let origin: TestServer;
let socks: SocksServer | null = null;
let pool: HTTPConnectionPool;

beforeEach(async () => {
  origin = await startServer(echo);
  pool = new HTTPConnectionPool();
});

afterEach(async () => {
  await pool.closeCachedConnections();
  await origin.close();
  await socks?.close();
  socks = null;
});

/** The origin's URL under another host name, which only the SOCKS server can resolve. */
function originAt(host: string, path = '/hello'): string {
  return `http://${host}:${origin.port}${path}`;
}

describe('SOCKS5', () => {
  it('sends a request through a socks5h proxy, which resolves the host name', async () => {
    socks = await startSocksServer({ hosts: { 'origin.test': '127.0.0.1' } });
    const client = new HTTPClient({ pool, proxy: socks.url('socks5h') });
    const response = await client.get(originAt('origin.test'));
    expect(response.code).toBe(200);
    expect((await response.json<{ url: string; headers: Record<string, string> }>()).headers['host']).toBe(`origin.test:${origin.port}`);
    expect(socks.connects).toEqual([{ version: 5, addressType: 'domain', host: 'origin.test', port: origin.port, username: null }]);
  });

  it('resolves the host name itself with socks5 and sends the proxy the address', async () => {
    socks = await startSocksServer();
    const client = new HTTPClient({ pool, proxy: socks.url('socks5') });
    const response = await client.get(originAt('localhost'));
    expect(response.code).toBe(200);
    expect(socks.connects).toHaveLength(1);
    expect(socks.connects[0]?.addressType).not.toBe('domain');
    expect(['127.0.0.1', '::1']).toContain(socks.connects[0]?.host);
  });

  it('authenticates with the username and password of the proxy URL (RFC 1929), percent-decoded', async () => {
    socks = await startSocksServer({ auth: { username: 'pat', password: 'p@ss:w/rd' }, hosts: { 'origin.test': '127.0.0.1' } });
    const client = new HTTPClient({ pool, proxy: socks.url('socks5h', 'pat:p%40ss%3Aw%2Frd') });
    const response = await client.get(originAt('origin.test'));
    expect(response.code).toBe(200);
    expect(socks.connects[0]?.username).toBe('pat');
    // The proxy credentials are the proxy's: the origin sees no trace of them.
    expect(JSON.stringify(origin.requests[0]?.headers)).not.toMatch(/pat|p@ss|authorization/i);
  });

  it('fails with SocksProxyError STRAND_PROXY_AUTH_REQUIRED when the proxy rejects the password, and never shows it', async () => {
    socks = await startSocksServer({ auth: { username: 'pat', password: 'right' } });
    const client = new HTTPClient({ pool, proxy: socks.url('socks5h', 'pat:wrong-secret') });
    const error = await rejection(client.get(originAt('localhost')));
    expect(error).toBeInstanceOf(SocksProxyError);
    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({ code: 'STRAND_PROXY_AUTH_REQUIRED', reply: null });
    expect((error as Error).message).toContain(`the SOCKS proxy socks5h://127.0.0.1:${socks.port} rejected the username and password`);
    expect(String((error as Error).stack)).not.toContain('wrong-secret');
    expect((error as Error).cause).toBeUndefined();
    expect(socks.connects).toHaveLength(0);
    expect(origin.requests).toHaveLength(0);
  });

  it('fails with STRAND_PROXY_AUTH_REQUIRED, saying credentials are wanted, when the proxy needs them and the URL has none', async () => {
    socks = await startSocksServer({ auth: { username: 'pat', password: 'pw' } });
    const client = new HTTPClient({ pool, proxy: socks.url('socks5h') });
    const error = await rejection(client.get(originAt('localhost')));
    expect(error).toMatchObject({ name: 'SocksProxyError', code: 'STRAND_PROXY_AUTH_REQUIRED' });
    expect((error as Error).message).toContain('put user:password@ in the proxy URL');
  });

  it('fails with SocksProxyError STRAND_PROXY_TUNNEL_FAILED and the reply code when the proxy refuses the CONNECT; nothing reaches the origin', async () => {
    socks = await startSocksServer({ refuse: 5 });
    const client = new HTTPClient({ pool, proxy: socks.url('socks5h') });
    const error = await rejection(client.get(originAt('localhost')));
    expect(error).toBeInstanceOf(SocksProxyError);
    expect(error).toMatchObject({ code: 'STRAND_PROXY_TUNNEL_FAILED', reply: 5, statusCode: 0 });
    expect((error as Error).message).toContain(`refused CONNECT localhost:${origin.port}: connection refused by the destination (SOCKS5 reply 5)`);
    expect(origin.requests).toHaveLength(0);
  });

  it('reports a name the proxy cannot resolve as its host-unreachable reply', async () => {
    socks = await startSocksServer();
    const client = new HTTPClient({ pool, proxy: socks.url('socks5h') });
    const error = await rejection(client.get(originAt('nowhere.test')));
    expect(error).toMatchObject({ code: 'STRAND_PROXY_TUNNEL_FAILED', reply: 4 });
  });

  it('keeps the tunnel in the pool: a second request to the same origin reuses it', async () => {
    socks = await startSocksServer({ hosts: { 'origin.test': '127.0.0.1' } });
    const client = new HTTPClient({ pool, proxy: socks.url('socks5h') });
    await client.get(originAt('origin.test', '/one'));
    await client.get(originAt('origin.test', '/two'));
    expect(origin.requests.map((r) => r.url)).toEqual(['/one', '/two']);
    expect(socks.connections()).toBe(1);
  });

  it('never hands a tunnel to another origin: a second origin gets its own CONNECT', async () => {
    socks = await startSocksServer({ hosts: { 'a.test': '127.0.0.1', 'b.test': '127.0.0.1' } });
    const client = new HTTPClient({ pool, proxy: socks.url('socks5h') });
    await client.get(originAt('a.test'));
    await client.get(originAt('b.test'));
    expect(socks.connects.map((c) => c.host)).toEqual(['a.test', 'b.test']);
  });

  it('bounds the SOCKS handshake by the connect timeout', async () => {
    socks = await startSocksServer({ stall: true });
    const client = new HTTPClient({ pool, proxy: socks.url('socks5h') });
    const error = await rejection(client.get(originAt('localhost'), { timeout: { connect: 100 } }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ phase: 'connect' });
  });

  it('stops a SOCKS handshake when the request is aborted', async () => {
    socks = await startSocksServer({ stall: true });
    const client = new HTTPClient({ pool, proxy: socks.url('socks5h') });
    const controller = new AbortController();
    const pending = rejection(client.get(originAt('localhost'), { signal: controller.signal }));
    while (socks.connections() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    expect(await pending).toBeInstanceOf(CancelledError);
  });

  it('reports a SOCKS proxy that is not listening as ConnectionRefusedError (nothing was sent)', async () => {
    socks = await startSocksServer();
    const url = socks.url('socks5h');
    await socks.close();
    socks = null;
    const client = new HTTPClient({ pool, proxy: url });
    expect(await rejection(client.get(originAt('localhost')))).toBeInstanceOf(ConnectionRefusedError);
  });
});

describe('SOCKS4', () => {
  it('sends the host name to a socks4a proxy', async () => {
    socks = await startSocksServer({ hosts: { 'origin.test': '127.0.0.1' } });
    const client = new HTTPClient({ pool, proxy: socks.url('socks4a', 'uid') });
    expect((await client.get(originAt('origin.test'))).code).toBe(200);
    expect(socks.connects).toEqual([{ version: 4, addressType: 'domain', host: 'origin.test', port: origin.port, username: 'uid' }]);
  });

  it('resolves the host name to IPv4 itself with socks4', async () => {
    socks = await startSocksServer();
    const client = new HTTPClient({ pool, proxy: socks.url('socks4') });
    expect((await client.get(originAt('localhost'))).code).toBe(200);
    expect(socks.connects).toEqual([{ version: 4, addressType: 'ipv4', host: '127.0.0.1', port: origin.port, username: null }]);
  });

  it('fails with STRAND_PROXY_TUNNEL_FAILED and reply 91 when a SOCKS4 proxy refuses', async () => {
    socks = await startSocksServer({ refuse: 91 });
    const client = new HTTPClient({ pool, proxy: socks.url('socks4') });
    expect(await rejection(client.get(originAt('127.0.0.1')))).toMatchObject({ name: 'SocksProxyError', code: 'STRAND_PROXY_TUNNEL_FAILED', reply: 91 });
  });
});

describe('https through SOCKS', () => {
  let tlsOrigin: TestServer;

  beforeEach(async () => {
    tlsOrigin = await startTLSServer(echo);
  });

  afterEach(async () => {
    await tlsOrigin.close();
  });

  it('runs TLS to the origin inside the tunnel, verified against the origin name', async () => {
    socks = await startSocksServer();
    const client = new HTTPClient({ pool, proxy: socks.url('socks5h'), tls: { ca: testCertificate().cert } });
    const response = await client.get(`https://localhost:${tlsOrigin.port}/secure`);
    expect(response.code).toBe(200);
    expect(tlsOrigin.requests[0]?.url).toBe('/secure');
    expect(socks.connects[0]).toMatchObject({ addressType: 'domain', host: 'localhost' });
  });

  it('refuses an origin whose certificate does not carry its name, however the proxy routes it', async () => {
    // The proxy sends origin.test to 127.0.0.1, whose certificate names 127.0.0.1 and localhost only.
    socks = await startSocksServer({ hosts: { 'origin.test': '127.0.0.1' } });
    const client = new HTTPClient({ pool, proxy: socks.url('socks5h'), tls: { ca: testCertificate().cert } });
    expect(await rejection(client.get(`https://origin.test:${tlsOrigin.port}/`))).toBeInstanceOf(TLSHostnameMismatchError);
    expect(tlsOrigin.requests).toHaveLength(0);
  });
});

describe('ALL_PROXY and the proxy option', () => {
  it('uses ALL_PROXY=socks5h://… from the environment', async () => {
    socks = await startSocksServer({ hosts: { 'origin.test': '127.0.0.1' } });
    const url = socks.url('socks5h');
    const client = withEnv({ ALL_PROXY: url }, () => new HTTPClient({ pool }));
    expect((await client.get(originAt('origin.test'))).code).toBe(200);
    expect(socks.connects).toHaveLength(1);
  });

  it('sends one request through SOCKS with a per-request proxy, and the next direct', async () => {
    socks = await startSocksServer({ hosts: { 'origin.test': '127.0.0.1' } });
    const client = new HTTPClient({ pool });
    expect((await client.get(originAt('origin.test'), { proxy: socks.url('socks5h') })).code).toBe(200);
    expect((await client.get(originAt('127.0.0.1'))).code).toBe(200);
    expect(socks.connects).toHaveLength(1);
    expect(origin.requests).toHaveLength(2);
  });

  it.each([
    ['socks://127.0.0.1:1080', /unsupported scheme socks:\/\/ \(say which SOCKS/],
    ['socks4://pat:secret@127.0.0.1:1080', /SOCKS4 has no passwords/],
    ['socks5h://127.0.0.1:99999', /not a valid SOCKS proxy URL|cannot be parsed/],
    ['socks5h://127.0.0.1:1080/path', /no path, query or fragment/],
    ['socks5h://:1080', /no host|cannot be parsed/],
  ])('refuses the proxy %s with an InvalidArgumentError naming the option', (proxy, reason) => {
    const make = (): HTTPClient => new HTTPClient({ pool, proxy });
    expect(make).toThrow(InvalidArgumentError);
    expect(make).toThrow(/^proxy is not a valid/);
    expect(make).toThrow(reason);
    expect(make).not.toThrow(/secret/);
  });
});
