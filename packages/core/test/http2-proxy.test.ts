/**
 * HTTP/2 through an HTTP proxy: `ProxyAgent({ http2: true })` opens a CONNECT tunnel, offers h2
 * by ALPN in the TLS handshake inside it, and multiplexes the origin's requests on that one
 * tunnel; origins that choose HTTP/1.1, and plain http: requests, go as before.
 */
import { ProxyAgent, readBody } from '../src/index.js';
import { serverCert } from './fixtures/tls/servers.js';
import { type ProxyServer, startProxy, startTlsOrigin, startOrigin, testCaPolicy } from './support/agents-servers.js';
import { type H2TestServer, answer, startH2TlsServer } from './support/h2-servers.js';

const policy = testCaPolicy();
let proxy: ProxyServer;
let closers: (() => Promise<void>)[] = [];
let agent: ProxyAgent;

beforeEach(async () => {
  proxy = await startProxy({ credentials: 'user:secret' });
  agent = new ProxyAgent(`http://user:secret@127.0.0.1:${proxy.port}`, { http2: true, tlsPolicy: policy });
});

afterEach(async () => {
  await agent.destroy();
  await Promise.all(closers.map((close) => close()));
  closers = [];
  await proxy.close();
});

async function h2Origin(): Promise<H2TestServer> {
  const srv = await startH2TlsServer(serverCert('localhost'), (stream, headers) => answer(stream, `h2 ${String(headers[':path'])} auth=${String(headers['proxy-authorization'])}`));
  closers.push(() => srv.close());
  return srv;
}

describe('ProxyAgent with http2', () => {
  test('speaks HTTP/2 to an origin that chooses it: three concurrent requests share one CONNECT tunnel, the proxy credentials on the CONNECT only', async () => {
    const srv = await h2Origin();
    const port = new URL(srv.origin).port;
    const responses = await Promise.all([1, 2, 3].map((n) => agent.request('GET', `https://localhost:${port}/${n}`, { 'Proxy-Authorization': 'Basic bm90LWZvci10aGUtb3JpZ2lu' })));
    expect(responses.map((r) => r.version)).toEqual([
      [2, 0],
      [2, 0],
      [2, 0],
    ]);
    expect(await Promise.all(responses.map(async (r) => (await readBody(r)).toString()))).toEqual(['h2 /1 auth=undefined', 'h2 /2 auth=undefined', 'h2 /3 auth=undefined']);
    expect(proxy.connects).toEqual([{ authority: `localhost:${port}`, proxyAuthorization: `Basic ${Buffer.from('user:secret').toString('base64')}`, status: 200 }]);
    expect(srv.sessions).toHaveLength(1);
  });

  test('an origin that chooses HTTP/1.1 in the tunnel is answered over HTTP/1.1', async () => {
    const origin = await startTlsOrigin((req, res) => res.end(`h1 ${req.httpVersion}`));
    closers.push(() => origin.close());
    const response = await agent.request('GET', `https://localhost:${origin.port}/`);
    expect(response.version).toEqual([1, 1]);
    expect((await readBody(response)).toString()).toBe('h1 1.1');
  });

  test('http: requests are forwarded over HTTP/1.1 as without http2', async () => {
    const origin = await startOrigin((req, res) => res.end(`plain ${req.httpVersion}`));
    closers.push(() => origin.close());
    const response = await agent.request('GET', `${origin.url}/p`);
    expect((await readBody(response)).toString()).toBe('plain 1.1');
    expect(proxy.forwarded).toEqual([`GET ${origin.url}/p`]);
    expect(proxy.connects).toEqual([]);
  });

  test('http2 must be a boolean', () => {
    expect(() => new ProxyAgent('http://127.0.0.1:3128', { http2: 'yes' as never })).toThrow(/http2 must be a boolean/);
  });
});
