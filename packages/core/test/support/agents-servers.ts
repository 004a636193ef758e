/**
 * Loopback servers for the wrapper-agent tests: an HTTPS origin with the test CA's certificate,
 * and an in-process HTTP proxy (absolute-form forwarding and CONNECT tunnels) that records what
 * it was asked.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { BrowserLikePolicyForHTTPS, type TLSPolicy } from '../../src/index.js';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'tls');

/** A PEM file of the shared TLS fixtures (see fixtures/tls/make-certs.sh). */
export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(FIXTURES, name));
}

/** A TLS policy trusting only the test CA (whose `localhost` certificate names 127.0.0.1 and ::1). */
export function testCaPolicy(): TLSPolicy {
  return new BrowserLikePolicyForHTTPS({ ca: fixture('ca.pem') });
}

/** A loopback server that closes every socket it accepted on `close()`. */
export interface AgentTestServer {
  /** `http://127.0.0.1:port` or `https://127.0.0.1:port`. */
  readonly url: string;
  readonly port: number;
  /** Requests it answered, as `METHOD url` lines. */
  readonly seen: string[];
  /** Request headers, in order of arrival. */
  readonly headers: http.IncomingHttpHeaders[];
  /** TCP connections accepted. */
  connections: number;
  close(): Promise<void>;
}

function trackSockets(server: net.Server): { sockets: Set<net.Socket>; counter: { n: number } } {
  const sockets = new Set<net.Socket>();
  const counter = { n: 0 };
  server.on('connection', (socket: net.Socket) => {
    counter.n++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return { sockets, counter };
}

async function listen(server: http.Server, scheme: 'http' | 'https', host = '127.0.0.1', port = 0): Promise<{ url: string; port: number; close: () => Promise<void>; counter: { n: number } }> {
  const { sockets, counter } = trackSockets(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as net.AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${scheme}://${shown}:${bound}`,
    port: bound,
    counter,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function recorded(server: http.Server, scheme: 'http' | 'https', handler: http.RequestListener, host?: string, port?: number): Promise<AgentTestServer> {
  const seen: string[] = [];
  const headers: http.IncomingHttpHeaders[] = [];
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    headers.push(req.headers);
    handler(req, res);
  });
  return listen(server, scheme, host, port).then(({ url, port, close, counter }) => ({
    url,
    port,
    seen,
    headers,
    get connections() {
      return counter.n;
    },
    close,
  }));
}

/** Node's HTTP server on a loopback address (127.0.0.1 by default) and port (any by default), recording requests. */
export function startOrigin(handler: http.RequestListener, host?: string, port?: number): Promise<AgentTestServer> {
  return recorded(http.createServer({ keepAliveTimeout: 5000 }), 'http', handler, host, port);
}

/** Node's HTTPS server on 127.0.0.1 with a certificate of the fixtures (default `localhost`, signed by the test CA). */
export function startTlsOrigin(handler: http.RequestListener, cert = 'localhost'): Promise<AgentTestServer> {
  const server = https.createServer({ key: fixture(`${cert}.key`), cert: fixture(`${cert}.pem`), keepAliveTimeout: 5000 });
  return recorded(server, 'https', handler);
}

/** One CONNECT the proxy received. */
export interface SeenConnect {
  authority: string;
  proxyAuthorization: string | undefined;
  /** How the proxy answered (200, 407, 403...). */
  status: number;
}

/** Options of {@link startProxy}. */
export interface ProxyServerOptions {
  /** Require `Proxy-Authorization: Basic base64(user:password)`; 407 otherwise. */
  credentials?: string;
  /** Answer every CONNECT with this status instead of opening the tunnel. */
  refuseConnect?: number;
  /** Run the proxy itself over TLS with the `localhost` certificate (an https:// proxy). */
  tls?: boolean;
}

/** An in-process HTTP proxy: absolute-form requests are forwarded, CONNECT opens a TCP tunnel. */
export interface ProxyServer extends AgentTestServer {
  /** Absolute-form requests forwarded, as `METHOD url`. */
  readonly forwarded: string[];
  /** Headers of each forwarded request as the proxy received them. */
  readonly forwardedHeaders: http.IncomingHttpHeaders[];
  readonly connects: SeenConnect[];
}

/** Starts a proxy on 127.0.0.1 (see {@link ProxyServer}). */
export async function startProxy(options: ProxyServerOptions = {}): Promise<ProxyServer> {
  const expected = options.credentials === undefined ? undefined : `Basic ${Buffer.from(options.credentials).toString('base64')}`;
  const server = options.tls === true ? https.createServer({ key: fixture('localhost.key'), cert: fixture('localhost.pem') }) : http.createServer();
  const upstream = new Set<net.Socket>();
  const forwarded: string[] = [];
  const forwardedHeaders: http.IncomingHttpHeaders[] = [];
  const connects: SeenConnect[] = [];
  const clientAgent = new http.Agent({ keepAlive: false });

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    forwarded.push(`${req.method ?? ''} ${req.url ?? ''}`);
    forwardedHeaders.push(req.headers);
    if (expected !== undefined && req.headers['proxy-authorization'] !== expected) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test proxy"' });
      res.end('proxy authentication required');
      return;
    }
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400);
      res.end('absolute-form expected');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const out = http.request({ host: target.hostname, port: target.port, method: req.method, path: target.pathname + target.search, headers, agent: clientAgent }, (answer) => {
      const back = { ...answer.headers };
      delete back['connection'];
      delete back['keep-alive'];
      res.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res);
    });
    out.on('error', () => {
      res.writeHead(502);
      res.end('bad gateway');
    });
    req.pipe(out);
  });

  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const authority = req.url ?? '';
    const seen: SeenConnect = { authority, proxyAuthorization: req.headers['proxy-authorization'], status: 200 };
    connects.push(seen);
    client.on('error', () => {});
    const refuse = (status: number, extra: string): void => {
      seen.status = status;
      client.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n${extra}Content-Length: 7\r\nConnection: close\r\n\r\nrefused`);
    };
    if (expected !== undefined && req.headers['proxy-authorization'] !== expected) {
      refuse(407, 'Proxy-Authenticate: Basic realm="test proxy"\r\n');
      return;
    }
    if (options.refuseConnect !== undefined) {
      refuse(options.refuseConnect, '');
      return;
    }
    const colon = authority.lastIndexOf(':');
    const host = authority.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = Number(authority.slice(colon + 1));
    const origin = net.connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\nProxy-Agent: strand-test\r\n\r\n');
      if (head.length > 0) origin.write(head);
      origin.pipe(client);
      client.pipe(origin);
    });
    upstream.add(origin);
    origin.on('close', () => {
      upstream.delete(origin);
      client.destroy();
    });
    client.on('close', () => origin.destroy());
    origin.on('error', () => refuse(502, ''));
  });

  const base = await recorded(server, options.tls === true ? 'https' : 'http', () => {});
  return {
    url: base.url,
    port: base.port,
    seen: base.seen,
    headers: base.headers,
    get connections() {
      return base.connections;
    },
    forwarded,
    forwardedHeaders,
    connects,
    close: async () => {
      for (const socket of upstream) socket.destroy();
      clientAgent.destroy();
      await base.close();
    },
  };
}

/** Collects a request's body as a string. */
export function readRequest(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
