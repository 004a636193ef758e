/**
 * In-process HTTP/2 servers on loopback for the Http2Agent tests: Node's own `http2` server in
 * clear text (h2c, prior knowledge) or over TLS with ALPN, counting the sessions it accepted.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Http2Agent, type Http2AgentOptions } from '../../src/index.js';

/** A stream handler: what the server does with each request stream. */
export type StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, session: http2.ServerHttp2Session) => void;

/** A loopback HTTP/2 server and what it saw. */
export interface H2TestServer {
  readonly server: http2.Http2Server | http2.Http2SecureServer;
  /** `http://127.0.0.1:<port>` (h2c) or `https://localhost:<port>` (TLS). */
  readonly origin: string;
  /** Sessions accepted so far, in order. */
  readonly sessions: http2.ServerHttp2Session[];
  /** Request streams seen, with the session (index in `sessions`) each came on. */
  readonly streams: { path: string; method: string; session: number; headers: http2.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

function wire(server: http2.Http2Server | http2.Http2SecureServer, handler: StreamHandler, origin: (port: number) => string): Promise<H2TestServer> {
  const sessions: http2.ServerHttp2Session[] = [];
  const streams: H2TestServer['streams'] = [];
  server.on('session', (session) => {
    sessions.push(session);
    session.on('error', () => {});
  });
  server.on('stream', (stream, headers) => {
    // A stream the client resets must not become an uncaught error here.
    stream.on('error', () => {});
    streams.push({ path: String(headers[':path']), method: String(headers[':method']), session: sessions.indexOf(stream.session as http2.ServerHttp2Session), headers });
    handler(stream, headers, stream.session as http2.ServerHttp2Session);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        server,
        origin: origin(port),
        sessions,
        streams,
        close: () =>
          new Promise<void>((done) => {
            for (const session of sessions) session.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** An h2c (prior knowledge) server. */
export function startH2cServer(handler: StreamHandler, settings: http2.Settings = {}): Promise<H2TestServer> {
  return wire(http2.createServer({ settings }), handler, (port) => `http://127.0.0.1:${port}`);
}

/** An h2 server over TLS (ALPN `h2` only unless `allowHTTP1`). */
export function startH2TlsServer(tls: { key: Buffer; cert: Buffer }, handler: StreamHandler, settings: http2.Settings = {}): Promise<H2TestServer> {
  return wire(http2.createSecureServer({ ...tls, settings, allowHTTP1: false }), handler, (port) => `https://localhost:${port}`);
}

/** Answers 200 with `body` (text) and the given headers. */
export function answer(stream: http2.ServerHttp2Stream, body: string | Buffer, headers: http2.OutgoingHttpHeaders = {}): void {
  if (stream.destroyed) return;
  stream.respond({ ':status': 200, 'content-type': 'text/plain', ...headers });
  stream.end(body);
}

/** Reads the whole request body of `stream`. */
export function requestBody(stream: http2.ServerHttp2Stream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** Resolves when `check()` is true, polling each 5 ms; rejects after `within` ms (a bounded wait, not a time assertion). */
export async function until(check: () => boolean, what: string, within = 5000): Promise<void> {
  const limit = Date.now() + within;
  while (!check()) {
    if (Date.now() > limit) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Resolves with `value()` once it stayed the same, with `check()` true, for `quiet` ms in a row
 * (a stall, as opposed to a pause between two writes); rejects after `within` ms.
 */
export async function untilStalled(value: () => number, check: () => boolean, what: string, quiet = 150, within = 5000): Promise<number> {
  const limit = Date.now() + within;
  let last = value();
  let since = Date.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const now = Date.now();
    const current = value();
    if (current !== last || !check()) {
      last = current;
      since = now;
    } else if (now - since >= quiet) {
      return current;
    }
    if (now > limit) throw new Error(`timed out waiting until ${what}`);
  }
}

/** Agents (h2c on) and h2c servers made by a test file, destroyed and closed after each test. */
export interface H2TestBench {
  /** A new `Http2Agent` with `h2c: true` (and `options`). */
  agent(options?: Http2AgentOptions): Http2Agent;
  /** A new h2c server. */
  server(handler: StreamHandler, settings?: http2.Settings): Promise<H2TestServer>;
}

/**
 * Registers an `afterEach` that checks no stream was left open, then destroys the agents and
 * closes the servers made through the returned bench.
 */
export function h2TestBench(): H2TestBench {
  const agents: Http2Agent[] = [];
  const servers: H2TestServer[] = [];
  afterEach(async () => {
    // Every request of the test has settled: no stream may be left open (a leak holds a session, and the process).
    const open = (): number => agents.reduce((sum, a) => sum + Object.values(a.sessionStats()).reduce((n, s) => n + s.streams, 0), 0);
    try {
      await until(() => open() === 0, 'every stream of the test closed', 2000);
    } finally {
      await Promise.all(agents.splice(0).map((a) => a.destroy()));
      await Promise.all(servers.splice(0).map((s) => s.close()));
    }
  });
  return {
    agent(options = {}) {
      const made = new Http2Agent({ h2c: true, ...options });
      agents.push(made);
      return made;
    },
    async server(handler, settings) {
      const started = await startH2cServer(handler, settings);
      servers.push(started);
      return started;
    },
  };
}
