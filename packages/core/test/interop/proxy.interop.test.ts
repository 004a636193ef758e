/**
 * ProxyAgent against a real proxy: Debian's tinyproxy on loopback with a generated config
 * (CONNECT allowed to the test's TLS origin port only). Skipped with a message when tinyproxy is
 * not installed; a failure in CI, which installs it.
 */
import type * as http from 'node:http';
import * as zlib from 'node:zlib';
import {
  BytesProducer,
  ContentDecoderAgent,
  HTTPConnectionPool,
  ProxyAgent,
  ProxyError,
  RedirectAgent,
  readBody,
} from '../../src/index.js';
import { history } from '../support/agents-helpers.js';
import { type AgentTestServer, readRequest, startOrigin, startTlsOrigin, testCaPolicy } from '../support/agents-servers.js';
import { type Tinyproxy, startTinyproxy, tinyproxyAvailable } from '../support/agents-tinyproxy.js';

const describeTinyproxy = tinyproxyAvailable() ? describe : describe.skip;

const ORIGINAL = Buffer.from('through a real proxy\n'.repeat(4000));

const handler: http.RequestListener = (req, res) => {
  void readRequest(req).then((body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/gzip') {
      const data = zlib.gzipSync(ORIGINAL);
      res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': data.length });
      res.end(data);
      return;
    }
    if (url.pathname === '/redirect') {
      res.writeHead(302, { Location: url.searchParams.get('to') ?? '/', 'Content-Length': 0 });
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
  });
};

interface Echo {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describeTinyproxy('interop: tinyproxy', () => {
  let origin: AgentTestServer;
  let tlsOrigin: AgentTestServer;
  let forbiddenTls: AgentTestServer;
  let open: Tinyproxy;
  let authed: Tinyproxy;
  let pool: HTTPConnectionPool;
  const policy = testCaPolicy();

  beforeAll(async () => {
    origin = await startOrigin(handler);
    tlsOrigin = await startTlsOrigin(handler);
    forbiddenTls = await startTlsOrigin(handler);
    open = await startTinyproxy({ connectPorts: [tlsOrigin.port] });
    authed = await startTinyproxy({ connectPorts: [tlsOrigin.port], basicAuth: 'strand:s3cret' });
  });

  afterAll(async () => {
    await Promise.all([open?.stop(), authed?.stop(), origin?.close(), tlsOrigin?.close(), forbiddenTls?.close()]);
  });

  beforeEach(() => {
    pool = new HTTPConnectionPool();
  });

  afterEach(async () => {
    await pool.closeCachedConnections();
  });

  it('GETs a plain-http URL through the proxy (absolute form)', async () => {
    const response = await new ProxyAgent(open.url, { pool }).request('GET', `${origin.url}/hello?x=1`, { 'X-Test': 'interop' });
    expect(response.code).toBe(200);
    const echo = JSON.parse((await readBody(response)).toString()) as Echo;
    expect(echo.url).toBe('/hello?x=1');
    expect(echo.headers['x-test']).toBe('interop');
    expect(echo.headers.via).toMatch(/tinyproxy/);
  });

  it('POSTs a body through the proxy', async () => {
    const response = await new ProxyAgent(open.url, { pool }).request('POST', `${origin.url}/submit`, { 'Content-Type': 'text/plain' }, new BytesProducer('posted through tinyproxy'));
    const echo = JSON.parse((await readBody(response)).toString()) as Echo;
    expect([echo.method, echo.body]).toEqual(['POST', 'posted through tinyproxy']);
  });

  it('GETs an https URL through a CONNECT tunnel, verifying the origin, and reuses the tunnel', async () => {
    const agent = new ProxyAgent(open.url, { pool, tlsPolicy: policy });
    const before = tlsOrigin.connections;
    for (const path of ['/one', '/two']) {
      const echo = JSON.parse((await readBody(await agent.request('GET', `${tlsOrigin.url}${path}`))).toString()) as Echo;
      expect(echo.url).toBe(path);
      expect(echo.headers.via).toBeUndefined();
    }
    expect(tlsOrigin.connections - before).toBe(1);
  });

  it('decodes gzip and follows redirects through the proxy', async () => {
    const agent = new RedirectAgent(new ContentDecoderAgent(new ProxyAgent(open.url, { pool, tlsPolicy: policy })));
    const response = await agent.request('GET', `${origin.url}/redirect?to=${encodeURIComponent(`${tlsOrigin.url}/gzip`)}`);
    expect((await readBody(response)).equals(ORIGINAL)).toBe(true);
    expect(history(response).map((r) => r.code)).toEqual([302, 200]);
  });

  it('turns a CONNECT to a port the proxy does not allow into a ProxyError', async () => {
    const error = await new ProxyAgent(open.url, { pool, tlsPolicy: policy }).request('GET', `${forbiddenTls.url}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProxyError);
    expect((error as ProxyError).statusCode).toBe(403);
    expect(forbiddenTls.seen).toHaveLength(0);
  });

  it('authenticates with the credentials of the proxy URL, for http and for CONNECT', async () => {
    const agent = new ProxyAgent(`http://strand:s3cret@127.0.0.1:${authed.port}`, { pool, tlsPolicy: policy });
    const plain = await agent.request('GET', `${origin.url}/authed`);
    const plainEcho = JSON.parse((await readBody(plain)).toString()) as Echo;
    expect(plainEcho.url).toBe('/authed');
    const secure = JSON.parse((await readBody(await agent.request('GET', `${tlsOrigin.url}/authed`))).toString()) as Echo;
    expect(secure.url).toBe('/authed');
    expect(secure.headers['proxy-authorization']).toBeUndefined();
  });

  it('reports wrong credentials: the proxy answer for plain http, a ProxyError for CONNECT', async () => {
    // tinyproxy answers a failed BasicAuth with 401, not 407.
    const agent = new ProxyAgent(`http://strand:wrong@127.0.0.1:${authed.port}`, { pool, tlsPolicy: policy });
    const plain = await agent.request('GET', `${origin.url}/denied`);
    expect([401, 407]).toContain(plain.code);
    await plain.dump();
    expect(origin.seen).not.toContain('GET /denied');
    const seenBefore = tlsOrigin.seen.length;
    const error = await agent.request('GET', `${tlsOrigin.url}/denied`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({ code: 'STRAND_PROXY_AUTH_REQUIRED', statusCode: plain.code });
    expect(tlsOrigin.seen).toHaveLength(seenBefore);
  });
});
