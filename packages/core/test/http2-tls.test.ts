/**
 * Http2Agent over TLS: `h2` chosen by ALPN against Node's secure http2 server, certificates
 * verified by default, and HTTP/1.1 on the same TLS connection when the server does not offer `h2`.
 */
import { BrowserLikePolicyForHTTPS, Http2Agent, TLSUnknownCAError, readBody } from '../src/index.js';
import { pem, serverCert, startHttpsServer } from './fixtures/tls/servers.js';
import { recordChannels } from './support/channel-events.js';
import { type H2TestServer, answer, startH2TlsServer } from './support/h2-servers.js';

const trustTestCA = new BrowserLikePolicyForHTTPS({ ca: pem('ca.pem') });
const agents: Http2Agent[] = [];
const closers: (() => Promise<void>)[] = [];

function agent(options: ConstructorParameters<typeof Http2Agent>[0] = {}): Http2Agent {
  const made = new Http2Agent({ tlsPolicy: trustTestCA, ...options });
  agents.push(made);
  return made;
}

async function h2Server(): Promise<H2TestServer> {
  const srv = await startH2TlsServer(serverCert('localhost'), (stream, headers) => answer(stream, `h2 ${String(headers[':scheme'])} ${String(headers[':authority'])}`));
  closers.push(() => srv.close());
  return srv;
}

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.destroy()));
  await Promise.all(closers.splice(0).map((close) => close()));
});

describe('Http2Agent over TLS', () => {
  test('a server that chooses h2 by ALPN answers over HTTP/2 with :scheme https and :authority from the URL', async () => {
    const srv = await h2Server();
    const response = await agent().request('GET', `${srv.origin}/`);
    expect(response.version).toEqual([2, 0]);
    expect((await readBody(response)).toString()).toBe(`h2 https ${srv.origin.slice('https://'.length)}`);
    expect(response.timings?.tlsEnd).toBeDefined();
    expect(response.timings?.connectEnd).toBeDefined();
  });

  test('the certificate is verified by default: a CA we do not trust fails with TLSUnknownCAError', async () => {
    const srv = await h2Server();
    const a = new Http2Agent();
    agents.push(a);
    await expect(a.request('GET', `${srv.origin}/`)).rejects.toBeInstanceOf(TLSUnknownCAError);
    expect(srv.streams).toHaveLength(0);
  });

  test('a server that offers only HTTP/1.1 is answered over HTTP/1.1 on the one TLS connection it accepted', async () => {
    const srv = await startHttpsServer(serverCert('localhost'), (req, res) => res.end(`h1 ${req.httpVersion}`), '127.0.0.1');
    closers.push(() => srv.close());
    const a = agent();
    const url = `https://localhost:${srv.port}/`;
    const first = await a.request('GET', url);
    expect(first.version).toEqual([1, 1]);
    expect((await readBody(first)).toString()).toBe('h1 1.1');
    expect(srv.connections).toBe(1);
    expect(srv.requests[0]?.alpnProtocol).toBe('http/1.1');
    // The origin is remembered: the next request goes straight to HTTP/1.1, on the pooled connection.
    const second = await a.request('GET', url);
    expect((await readBody(second)).toString()).toBe('h1 1.1');
    expect(srv.connections).toBe(1);
    expect(a.sessionStats()).toEqual({});
  });

  test('concurrent first requests to an HTTP/1.1-only server all go over HTTP/1.1, one connection each (the ALPN attempt’s handed over)', async () => {
    const srv = await startHttpsServer(serverCert('localhost'), (req, res) => res.end(`h1 ${req.url ?? ''}`), '127.0.0.1');
    closers.push(() => srv.close());
    const a = agent();
    const responses = await Promise.all([1, 2, 3, 4].map((n) => a.request('GET', `https://localhost:${srv.port}/${n}`)));
    expect(responses.map((r) => r.version.join('.'))).toEqual(['1.1', '1.1', '1.1', '1.1']);
    expect(await Promise.all(responses.map(async (r) => (await readBody(r)).toString()))).toEqual(['h1 /1', 'h1 /2', 'h1 /3', 'h1 /4']);
    // The three that waited for the shared ALPN attempt open HTTP/1.1 connections; the first takes the attempt's.
    expect(srv.requests.map((r) => r.alpnProtocol)).toEqual(['http/1.1', 'http/1.1', 'http/1.1', 'http/1.1']);
    expect(srv.connections).toBe(4);
    expect(srv.tlsErrors).toEqual([]);
  });

  test('a request sent over HTTP/1.1 after ALPN is created once on the diagnostics channels, one request object throughout, and fails once', async () => {
    const srv = await startHttpsServer(serverCert('localhost'), (req, res) => res.end(`h1 ${req.httpVersion}`), '127.0.0.1');
    const names = ['strand:request:create', 'strand:request:headers', 'strand:request:error'];
    const a = agent();
    const url = `https://localhost:${srv.port}/`;
    // The first request finds HTTP/1.1 by ALPN; the second goes to the remembered HTTP/1.1 origin.
    // (Connection: close leaves no idle connection, whose loss would be an error event of its own below.)
    const events = await recordChannels(names, async () => {
      for (let i = 0; i < 2; i++) await readBody(await a.request('GET', url, { connection: 'close' }));
    });
    expect(events.map(([name]) => name)).toEqual(['strand:request:create', 'strand:request:headers', 'strand:request:create', 'strand:request:headers']);
    expect(events[0]?.[1]['request']).toBe(events[1]?.[1]['request']);
    expect(events[2]?.[1]['request']).toBe(events[3]?.[1]['request']);
    // The server goes away: the next request to the remembered origin cannot connect, and fails once.
    await srv.close();
    const failure = await recordChannels(names, async () => {
      await expect(a.request('GET', url)).rejects.toMatchObject({ code: 'STRAND_CONNECTION_REFUSED' });
    });
    expect(failure.map(([name]) => name)).toEqual(['strand:request:create', 'strand:request:error']);
  });

  test('allowH2: false sends https: requests over HTTP/1.1 even to a server that speaks h2', async () => {
    const srv = await startHttpsServer({ ...serverCert('localhost'), ALPNProtocols: ['h2', 'http/1.1'] }, (req, res) => res.end(`h1 ${req.httpVersion}`), '127.0.0.1');
    closers.push(() => srv.close());
    const response = await agent({ allowH2: false }).request('GET', `https://localhost:${srv.port}/`);
    expect(response.version).toEqual([1, 1]);
    await readBody(response);
    expect(srv.requests[0]?.alpnProtocol).toBe('http/1.1');
  });
});
