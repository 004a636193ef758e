/**
 * The first bytes of a CONNECT tunnel: whatever a proxy sends after its 2xx head — in the same
 * packet as the head, whatever the head's framing headers say — belongs to the tunnel's user
 * (the HTTP connection of a plain tunnel, the TLS client of an https origin), never to the
 * handshake and never to no one. Also: the proxy's answer is bounded in size and in time.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  type ConnectOptions,
  HTTPConnectionPool,
  HttpAgent,
  ManualClock,
  ParseError,
  ProxyAgent,
  ProxyConnector,
  type ProxyError,
  TLSHandshakeError,
  TimeoutError,
  TunnelEndpoint,
} from '../src/index.js';
import { text } from './support/agents-helpers.js';
import { type AgentTestServer, fixture, startTlsOrigin, testCaPolicy } from './support/agents-servers.js';
import { type TestServer, eventually, onRequestHead, startRawServer } from './support/servers.js';

const policy = testCaPolicy();
/** A proxy's 200 to CONNECT, as most proxies word it. */
const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';
/** An origin's whole answer, sent by the proxy in the same write as its 200. */
const EARLY_RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nearly';

let pool: HTTPConnectionPool;
let servers: { close(): Promise<void> }[] = [];

beforeEach(() => {
  pool = new HTTPConnectionPool();
});

afterEach(async () => {
  await pool.closeCachedConnections();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function rawProxy(onSocket: (socket: net.Socket) => void): Promise<TestServer> {
  const server = await startRawServer(onSocket);
  servers.push(server);
  return server;
}

/** A raw TLS server on 127.0.0.1 with the test CA's `localhost` certificate: an https:// proxy. */
async function rawTlsProxy(onSocket: (socket: tls.TLSSocket) => void): Promise<{ url: string; openSockets(): number }> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: fixture('localhost.key'), cert: fixture('localhost.pem') }, (socket) => {
    socket.on('error', () => {});
    onSocket(socket);
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
  return { url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`, openSockets: () => sockets.size };
}

/**
 * A proxy that answers CONNECT with `answer` in ONE write (its head and the first tunnel bytes
 * together), then records the first line of the request that comes through the tunnel and ends.
 */
function answersInOneWrite(answer: string, tunneled: string[]): (socket: net.Socket) => void {
  return (socket) =>
    onRequestHead(socket, () => {
      socket.write(answer);
      onRequestHead(socket, (head) => {
        tunneled.push(head.slice(0, head.indexOf('\r\n')));
        socket.end();
      });
    });
}

/** A proxy that answers CONNECT with `answer` in one write, then pipes the tunnel to `origin`. */
function answersThenPipes(answer: string | Buffer, origin: AgentTestServer): (socket: net.Socket) => void {
  return (socket) =>
    onRequestHead(socket, () => {
      const upstream = net.connect(origin.port, '127.0.0.1', () => {
        socket.write(answer);
        socket.pipe(upstream);
        upstream.pipe(socket);
      });
      upstream.on('error', () => socket.destroy());
      upstream.on('close', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
    });
}

/** An agent sending every `http:` request through a plain CONNECT tunnel of `connector`. */
function plainTunnelAgent(connector: ProxyConnector): HttpAgent {
  return HttpAgent.usingEndpointFactory({ endpointForURI: (uri) => new TunnelEndpoint(connector, uri.hostname, Number(uri.port || 80), false) }, { pool });
}

/** Settles like `promise`, or rejects after `ms` of real time (so a test of a hang is bounded). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

describe('TunnelEndpoint: bytes that come with the proxy 200', () => {
  it('hands the origin response that arrived in the same packet as the 200 to the plain-http request inside the tunnel', async () => {
    const tunneled: string[] = [];
    const proxy = await rawProxy(answersInOneWrite(ESTABLISHED + EARLY_RESPONSE, tunneled));
    const agent = plainTunnelAgent(new ProxyConnector(new URL(proxy.url)));
    const response = await within(agent.request('GET', 'http://origin.test:8080/x'), 5000);
    expect(response.code).toBe(200);
    expect(await text(response)).toBe('early');
    expect(await eventually(() => tunneled.length === 1)).toBe(true);
    expect(tunneled).toEqual(['GET /x HTTP/1.1']);
  });

  it('does the same through an https:// proxy (the tunnel is a TLS socket to the proxy)', async () => {
    const tunneled: string[] = [];
    const proxy = await rawTlsProxy(answersInOneWrite(ESTABLISHED + EARLY_RESPONSE, tunneled));
    const agent = plainTunnelAgent(new ProxyConnector(new URL(proxy.url), { proxyTlsPolicy: policy }));
    const response = await within(agent.request('GET', 'http://origin.test:8080/y'), 5000);
    expect(await text(response)).toBe('early');
    expect(await eventually(() => tunneled.length === 1)).toBe(true);
    expect(tunneled).toEqual(['GET /y HTTP/1.1']);
  });

  it('never reads a body into a 200 to CONNECT: the bytes after its head are the tunnel, whatever Content-Length says', async () => {
    const tunneled: string[] = [];
    const answer = `HTTP/1.1 200 Connection established\r\nContent-Length: ${EARLY_RESPONSE.length - 5}\r\n\r\n${EARLY_RESPONSE}`;
    const proxy = await rawProxy(answersInOneWrite(answer, tunneled));
    const response = await within(plainTunnelAgent(new ProxyConnector(new URL(proxy.url))).request('GET', 'http://origin.test:8080/z'), 5000);
    expect(response.code).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(await text(response)).toBe('early');
  });

  it('hands the bytes after the 200 to the origin TLS handshake: a TLS alert sent with the 200 fails it', async () => {
    const origin = await startTlsOrigin((_, res) => res.end('reached'));
    servers.push(origin);
    // A TLS record: alert, TLS 1.2, length 2, fatal (2), handshake_failure (40).
    const alert = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
    const proxy = await rawProxy(answersThenPipes(Buffer.concat([Buffer.from(ESTABLISHED, 'latin1'), alert]), origin));
    const error = await new ProxyAgent(proxy.url, { pool, tlsPolicy: policy }).request('GET', `${origin.url}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TLSHandshakeError);
    expect((error as TLSHandshakeError).cause).toMatchObject({ code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' });
    expect(origin.seen).toHaveLength(0);
  });

  it('hands a body-like payload after a 200 to the origin TLS handshake, which refuses it, instead of dropping it', async () => {
    const origin = await startTlsOrigin((_, res) => res.end('reached'));
    servers.push(origin);
    const proxy = await rawProxy(answersThenPipes('HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nrefused', origin));
    const error = await new ProxyAgent(proxy.url, { pool, tlsPolicy: policy }).request('GET', `${origin.url}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TLSHandshakeError);
    expect(origin.seen).toHaveLength(0);
  });
});

describe('TunnelEndpoint: the proxy answer is bounded', () => {
  it('refuses a CONNECT answer head larger than maxHeaderBytes and closes the connection', async () => {
    const proxy = await rawProxy((socket) => onRequestHead(socket, () => socket.write(`HTTP/1.1 200 OK\r\nX-Filler: ${'a'.repeat(4096)}`)));
    const error = await new ProxyAgent(proxy.url, { pool, tlsPolicy: policy, maxHeaderBytes: 1024 }).request('GET', 'https://origin.test/').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STRAND_PROXY_TUNNEL_FAILED', statusCode: 0 });
    expect((error as ProxyError).cause).toBeInstanceOf(ParseError);
    expect((error as ProxyError).cause).toMatchObject({ kind: 'HEADERS_TOO_LARGE' });
    expect(await eventually(() => proxy.openSockets() === 0)).toBe(true);
  });

  it('gives up on a proxy that never answers CONNECT after the agent connect timeout, and closes the connection', async () => {
    let heads = 0;
    const proxy = await rawProxy((socket) => onRequestHead(socket, () => heads++));
    const clock = new ManualClock();
    pool = new HTTPConnectionPool({ clock });
    const pending = new ProxyAgent(proxy.url, { pool, tlsPolicy: policy, timeouts: { connect: 1000 } }).request('GET', 'https://origin.test/').catch((e: unknown) => e);
    expect(await eventually(() => heads === 1)).toBe(true);
    clock.advance(1000);
    const error = await within(pending, 2000);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ phase: 'connect' });
    expect(await eventually(() => proxy.openSockets() === 0)).toBe(true);
  });

  it('bounds the whole tunnel (proxy connection, CONNECT, TLS) by the connector connectTimeout when used on its own', async () => {
    let heads = 0;
    const proxy = await rawProxy((socket) => onRequestHead(socket, () => heads++));
    const clock = new ManualClock();
    const connectOptions: ConnectOptions = { connectTimeout: 1000, clock };
    const endpoint = new TunnelEndpoint(new ProxyConnector(new URL(proxy.url), { connectOptions }), 'origin.test', 443, true, { tlsPolicy: policy });
    const pending = endpoint.connect().catch((e: unknown) => e);
    expect(await eventually(() => heads === 1)).toBe(true);
    clock.advance(1000);
    const error = await within(pending, 2000);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ phase: 'connect', code: 'STRAND_CONNECT_TIMEOUT' });
    expect(await eventually(() => proxy.openSockets() === 0)).toBe(true);
    expect(clock.pending).toBe(0);
  });
});
