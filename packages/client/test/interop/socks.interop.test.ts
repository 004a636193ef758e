/**
 * SOCKS against a real SOCKS5 server: Debian's microsocks on loopback (one instance without
 * authentication, one requiring RFC 1929 username/password). Covers what the in-process server
 * of socks.test.ts cannot vouch for: that another implementation understands our handshake,
 * resolves socks5h names itself, carries TLS, and refuses a wrong password in a way we report
 * with the right code. Skipped with a message when microsocks is not installed; a failure in
 * CI, which installs it.
 */
import * as dns from 'node:dns';
import type * as net from 'node:net';
import { ConnectionRefusedError, DNSLookupError, HTTPConnectionPool, HttpAgent, ProxyError } from '@strand/core';
import { HTTPClient, SocksEndpointFactory, SocksProxyError } from '@strand/client';
import { type Microsocks, microsocksAvailable, startMicrosocks } from '../support/microsocks';
import { rejection } from '../support/routes';
import { type Echo, type TestServer, echo, startServer, startTLSServer, testCertificate } from '../support/servers';

const describeMicrosocks = microsocksAvailable() ? describe : describe.skip;

describeMicrosocks('interop: microsocks (SOCKS5)', () => {
  const credentials = { username: 'socks-user', password: 's3cret' };
  let open: Microsocks;
  let authed: Microsocks;
  let origin: TestServer;
  /** An origin on the address the system resolver gives first for `localhost`, where microsocks will connect. */
  let localhostOrigin: TestServer;
  let tlsOrigin: TestServer;
  let pool: HTTPConnectionPool;

  beforeAll(async () => {
    const { address } = await dns.promises.lookup('localhost', { verbatim: true });
    origin = await startServer(echo);
    localhostOrigin = await startServer(echo, address);
    tlsOrigin = await startTLSServer(echo, address);
    open = await startMicrosocks();
    authed = await startMicrosocks(credentials);
  });

  afterAll(async () => {
    await Promise.all([open?.stop(), authed?.stop(), origin?.close(), localhostOrigin?.close(), tlsOrigin?.close()]);
  });

  beforeEach(() => {
    pool = new HTTPConnectionPool();
  });

  afterEach(async () => {
    await pool.closeCachedConnections();
  });

  it('sends a GET through a SOCKS5 proxy without authentication', async () => {
    const client = new HTTPClient({ pool, proxy: open.url('socks5') });
    const response = await client.get(`${origin.url}/plain?x=1`, { headers: { 'X-Test': 'socks' } });
    expect(response.code).toBe(200);
    const seen = await response.json<Echo>();
    expect([seen.method, seen.url, seen.headers['x-test']]).toEqual(['GET', '/plain?x=1', 'socks']);
  });

  it('authenticates with the username and password of the proxy URL, which the origin never sees', async () => {
    const client = new HTTPClient({ pool, proxy: authed.url('socks5', `${credentials.username}:${credentials.password}`) });
    const response = await client.post(`${origin.url}/authed`, { data: 'through an authenticated tunnel' });
    expect(response.code).toBe(200);
    const seen = await response.json<Echo>();
    expect([seen.url, seen.body]).toEqual(['/authed', 'through an authenticated tunnel']);
    expect(JSON.stringify(seen.headers)).not.toMatch(/socks-user|s3cret|authorization/i);
  });

  it('fails with STRAND_PROXY_AUTH_REQUIRED, saying credentials are wanted, when the proxy needs them and the URL has none', async () => {
    const before = origin.requests.length;
    const client = new HTTPClient({ pool, proxy: authed.url('socks5h') });
    const error = await rejection(client.get(`${origin.url}/no-credentials`));
    expect(error).toBeInstanceOf(SocksProxyError);
    expect(error).toMatchObject({ code: 'STRAND_PROXY_AUTH_REQUIRED', reply: null });
    expect((error as Error).message).toMatch(/wants credentials/);
    expect(origin.requests).toHaveLength(before);
  });

  it('fails with SocksProxyError STRAND_PROXY_AUTH_REQUIRED when the proxy rejects the password, never showing it, and the pool stays usable', async () => {
    const before = origin.requests.length;
    const wrong = new HTTPClient({ pool, proxy: authed.url('socks5h', `${credentials.username}:not-the-s3cret`) });
    const error = await rejection(wrong.get(`${origin.url}/denied`));
    expect(error).toBeInstanceOf(SocksProxyError);
    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({ code: 'STRAND_PROXY_AUTH_REQUIRED', reply: null });
    expect((error as Error).message).toContain(`the SOCKS proxy socks5h://127.0.0.1:${authed.port} rejected the username and password`);
    expect(String((error as Error).stack)).not.toContain('not-the-s3cret');
    expect(origin.requests).toHaveLength(before);
    const right = new HTTPClient({ pool, proxy: authed.url('socks5h', `${credentials.username}:${credentials.password}`) });
    expect((await right.get(`${origin.url}/after-denied`)).code).toBe(200);
  });

  it('lets the proxy resolve the host name with socks5h: the client looks nothing up', async () => {
    const lookups: string[] = [];
    const refuseLookup = ((hostname: string, _options: unknown, callback: (error: Error | null, address: string, family: number) => void) => {
      lookups.push(hostname);
      callback(Object.assign(new Error(`no lookups here (${hostname})`), { code: 'ENOTFOUND' }), '', 0);
    }) as net.LookupFunction;
    const agentFor = (scheme: 'socks5' | 'socks5h'): HttpAgent =>
      HttpAgent.usingEndpointFactory(new SocksEndpointFactory(open.url(scheme), { connectOptions: { lookup: refuseLookup } }), { pool });
    const target = `http://localhost:${localhostOrigin.port}/by-name`;

    const response = await new HTTPClient({ agent: agentFor('socks5h') }).get(target);
    expect(response.code).toBe(200);
    expect((await response.json<Echo>()).headers['host']).toBe(`localhost:${localhostOrigin.port}`);
    expect(lookups).toEqual([]);

    // The same agent with socks5 resolves here, through the lookup that refuses.
    expect(await rejection(new HTTPClient({ agent: agentFor('socks5') }).get(target))).toBeInstanceOf(DNSLookupError);
    expect(lookups).toEqual(['localhost']);
  });

  it('runs TLS to the origin inside the tunnel, verified against the name the proxy resolved', async () => {
    const client = new HTTPClient({ pool, proxy: authed.url('socks5h', `${credentials.username}:${credentials.password}`), tls: { ca: testCertificate().cert } });
    const response = await client.get(`https://localhost:${tlsOrigin.port}/secure`);
    expect(response.code).toBe(200);
    expect((await response.json<Echo>()).url).toBe('/secure');
    expect(tlsOrigin.requests.map((r) => r.url)).toContain('/secure');
  });

  it('reports a stopped proxy as ConnectionRefusedError: requests go through the proxy, never around it', async () => {
    const stopped = await startMicrosocks();
    const proxy = stopped.url('socks5');
    await stopped.stop();
    const before = origin.requests.length;
    expect(await rejection(new HTTPClient({ pool, proxy }).get(`${origin.url}/around`))).toBeInstanceOf(ConnectionRefusedError);
    expect(origin.requests).toHaveLength(before);
  });
});
