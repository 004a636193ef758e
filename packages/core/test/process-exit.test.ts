/**
 * Idle pooled connections never keep the process alive; busy ones do. A script whose last line
 * is `await agent.request(...)` against a keep-alive server used to exit only when the idle
 * connection expired (30 s, `cachedConnectionTimeout`), where `fetch` exits at once.
 *
 * The child-process tests run a small script in its own `node` and wait a bounded time for it to
 * exit by itself; the servers keep connections open for a minute, so nothing but the client's
 * own idle handling can let the child exit early.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { type Endpoint, type EndpointFactory, HttpAgent, HTTPConnectionPool, StandardEndpointFactory, readBody } from '../src/index.js';
import { fixture } from './support/agents-servers.js';
import { bundleScript, runUntilExit } from './support/child-script.js';

/** How long a child that is done may take to exit: far below the 30 s idle timeout, generous for a loaded machine. */
const EXIT_WITHIN = 5000;
/** How long the server holds a delayed response. */
const DELAY = 1000;

// ---- servers that keep idle connections open for a minute ----

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  const url = new URL(req.url ?? '/', 'http://x');
  const wait = Number(url.searchParams.get('delay') ?? 0);
  setTimeout(() => res.end(`hello ${url.pathname}`), wait);
}

const KEEP_OPEN = { keepAliveTimeout: 60_000 };
let plain: http.Server;
let secure: https.Server;
let stalling: net.Server;
const stalledSockets = new Set<net.Socket>();
let httpUrl: string;
let httpsUrl: string;
let stalledHttpsUrl: string;
let dir: string;
let oneRequest: string;
let queued: string;
let pipelined: string;

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: net.Server): Promise<void> {
  (server as Partial<http.Server>).closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

const ONE_REQUEST = `
import { HttpAgent, readBody } from '@strand/core';
const agent = new HttpAgent();
void (async () => {
  const response = await agent.request('GET', process.argv[2] as string);
  const body = (await readBody(response)).toString();
  process.stdout.write(JSON.stringify({ body, stats: Object.values(agent.pool.stats()) }));
})();
`;

const QUEUED = `
import { HttpAgent, HTTPConnectionPool, readBody } from '@strand/core';
const agent = new HttpAgent({ pool: new HTTPConnectionPool({ maxConnectionsPerHost: 1 }) });
void (async () => {
  const bodies = await Promise.all(process.argv.slice(2).map(async (url) => (await readBody(await agent.request('GET', url))).toString()));
  process.stdout.write(JSON.stringify({ bodies, stats: Object.values(agent.pool.stats()) }));
})();
`;

const PIPELINED = `
import { HttpAgent, HTTPConnectionPool, readBody } from '@strand/core';
const pool = new HTTPConnectionPool({ maxConnectionsPerHost: 2, pipelining: 8 });
const agent = new HttpAgent({ pool });
void (async () => {
  const bodies = await Promise.all(process.argv.slice(2).map(async (url) => (await readBody(await agent.request('GET', url))).toString()));
  process.stdout.write(JSON.stringify({ bodies, stats: Object.values(pool.stats()) }));
})();
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-exit-'));
  oneRequest = bundleScript(dir, 'one-request', ONE_REQUEST);
  queued = bundleScript(dir, 'queued', QUEUED);
  pipelined = bundleScript(dir, 'pipelined', PIPELINED);
  plain = http.createServer(KEEP_OPEN, handler);
  secure = https.createServer({ ...KEEP_OPEN, key: fixture('localhost.key'), cert: fixture('localhost.pem') }, handler);
  httpUrl = `http://127.0.0.1:${await listen(plain)}`;
  const securePort = await listen(secure);
  httpsUrl = `https://127.0.0.1:${securePort}`;
  // Accepts TCP at once but holds the TLS handshake for DELAY ms before passing bytes on.
  stalling = net.createServer((socket) => {
    stalledSockets.add(socket);
    socket.on('close', () => stalledSockets.delete(socket));
    socket.pause();
    setTimeout(() => {
      const upstream = net.connect(securePort, '127.0.0.1');
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
      socket.on('close', () => upstream.destroy());
      socket.pipe(upstream).pipe(socket);
      socket.resume();
    }, DELAY);
  });
  stalledHttpsUrl = `https://127.0.0.1:${await listen(stalling)}`;
});

afterAll(async () => {
  for (const socket of stalledSockets) socket.destroy();
  await Promise.all([close(plain), close(secure), close(stalling)]);
  rmSync(dir, { recursive: true, force: true });
});

/** The child trusts the test CA through Node's own NODE_EXTRA_CA_CERTS (the default TLS policy uses Node's store). */
const TLS_ENV = { NODE_EXTRA_CA_CERTS: join(__dirname, 'fixtures', 'tls', 'ca.pem') };

describe('a script whose requests are done exits by itself, without waiting for idle connections to expire', () => {
  it('exits at once after one request over a keep-alive connection, leaving it idle in the pool', async () => {
    const run = await runUntilExit(oneRequest, [`${httpUrl}/one`], EXIT_WITHIN);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ body: 'hello /one', stats: [{ open: 1, idle: 1, inUse: 0, queued: 0 }] });
  });

  it('exits at once after one request over TLS', async () => {
    const run = await runUntilExit(oneRequest, [`${httpsUrl}/tls`], EXIT_WITHIN, TLS_ENV);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ body: 'hello /tls', stats: [{ open: 1, idle: 1, inUse: 0, queued: 0 }] });
  });
});

describe('a request in flight keeps the script alive until it completes', () => {
  it('keeps the script alive for every pipelined request, however the answers are split between reads', async () => {
    // Twenty GETs on two connections, eight deep: answers to a pipelined request and to the one
    // ahead of it often arrive in one read, while requests still wait to go behind them.
    const urls = Array.from({ length: 20 }, (_, i) => `${httpUrl}/p${i}`);
    for (let attempt = 0; attempt < 3; attempt++) {
      const run = await runUntilExit(pipelined, urls, EXIT_WITHIN);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const out = JSON.parse(run.stdout) as { bodies: string[] };
      expect(out.bodies).toEqual(urls.map((_, i) => `hello /p${i}`));
    }
  });

  it('waits for a response the server delays', async () => {
    const run = await runUntilExit(oneRequest, [`${httpUrl}/slow?delay=${DELAY}`], DELAY + EXIT_WITHIN);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ body: 'hello /slow' });
  });

  it('waits for a connection whose TLS handshake the server holds up', async () => {
    const run = await runUntilExit(oneRequest, [`${stalledHttpsUrl}/handshake`], DELAY + EXIT_WITHIN, TLS_ENV);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ body: 'hello /handshake' });
  });

  it('waits for a request queued behind a busy connection (maxConnectionsPerHost 1), then exits', async () => {
    const urls = [`${httpUrl}/first?delay=${DELAY / 2}`, `${httpUrl}/second?delay=${DELAY / 2}`];
    const run = await runUntilExit(queued, urls, DELAY + EXIT_WITHIN);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ bodies: ['hello /first', 'hello /second'], stats: [{ open: 1, idle: 1, inUse: 0, queued: 0 }] });
  });
});

// ---- in process: what the pool does to the socket ----

/** Endpoints of `inner`, with `wrap` applied to every socket they open. */
function wrappingFactory(wrap: (socket: Duplex) => Duplex): EndpointFactory {
  const inner = new StandardEndpointFactory();
  return {
    endpointForURI(uri: URL): Endpoint {
      const endpoint = inner.endpointForURI(uri);
      return { key: endpoint.key, connect: async (signal, milestones) => wrap(await endpoint.connect(signal, milestones)) };
    },
  };
}

/** A Duplex over `socket` that has no `ref`/`unref` (as some custom or in-memory transports). */
function withoutRef(socket: Duplex): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(error, callback) {
      socket.destroy();
      callback(error);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('error', (error) => duplex.destroy(error));
  return duplex;
}

describe('HTTPConnectionPool: idle sockets are unref()ed, busy ones ref()ed', () => {
  it('unrefs the socket when its connection goes idle and refs it when a request takes it again', async () => {
    const calls: string[] = [];
    const agent = new HttpAgent({
      endpointFactory: wrappingFactory((socket) => {
        const s = socket as net.Socket;
        const ref = s.ref.bind(s);
        const unref = s.unref.bind(s);
        s.ref = () => (calls.push('ref'), ref());
        s.unref = () => (calls.push('unref'), unref());
        return s;
      }),
    });
    expect((await readBody(await agent.request('GET', `${httpUrl}/a`))).toString()).toBe('hello /a');
    expect(calls).toEqual(['unref']);
    const second = agent.request('GET', `${httpUrl}/b?delay=100`);
    expect(calls).toEqual(['unref', 'ref']);
    expect((await readBody(await second)).toString()).toBe('hello /b');
    expect(calls).toEqual(['unref', 'ref', 'unref']);
    await agent.pool.closeCachedConnections();
  });

  it('keeps pooling connections over a Duplex that has no ref/unref', async () => {
    const pool = new HTTPConnectionPool();
    const agent = new HttpAgent({ pool, endpointFactory: wrappingFactory(withoutRef) });
    for (const path of ['/a', '/b']) {
      const response = await agent.request('GET', `${httpUrl}${path}`);
      expect((await readBody(response)).toString()).toBe(`hello ${path}`);
    }
    expect(Object.values(pool.stats())).toEqual([{ open: 1, idle: 1, inUse: 0, queued: 0 }]);
    await pool.closeCachedConnections();
  });
});
