import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as net from 'node:net';
import type { LookupFunction } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import {
  BrowserLikePolicyForHTTPS,
  CancelledError,
  ConnectError,
  ConnectionRefusedError,
  DNSLookupError,
  HttpAgent,
  HTTPConnectionPool,
  InvalidArgumentError,
  InvalidRequestError,
  ManualClock,
  RequestNotSentError,
  StandardEndpointFactory,
  TCPEndpoint,
  TimeoutError,
  TLSEndpoint,
  UnixSocketEndpoint,
  UnixSocketEndpointFactory,
  readBody,
  unixSocketPath,
  unixSocketURL,
} from '../src/index.js';
import { strandFailureOf } from './support/failures.js';
import { type LoopbackServer, pem, serverCert, startHttpServer, startHttpsServer } from './fixtures/tls/servers.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function httpServer(...args: Parameters<typeof startHttpServer>): Promise<LoopbackServer> {
  const s = await startHttpServer(...args);
  cleanups.push(() => s.close());
  return s;
}

function agentOn(factory: StandardEndpointFactory | UnixSocketEndpointFactory, pool?: HTTPConnectionPool): HttpAgent {
  const agent = HttpAgent.usingEndpointFactory(factory, pool === undefined ? {} : { pool });
  cleanups.push(() => agent.pool.closeCachedConnections());
  return agent;
}

async function get(agent: HttpAgent, url: string, headers?: Record<string, string>): Promise<{ code: number; body: string }> {
  const response = await agent.request('GET', url, headers);
  return { code: response.code, body: (await readBody(response)).toString() };
}


/** Sends a raw HTTP/1.1 request over a connected Duplex and returns the raw response. */
function rawExchange(socket: Duplex, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.write(head);
  });
}

/** A resolver for test names: `dual.test` has an IPv4 and an IPv6 loopback address. */
function fakeResolver(table: Record<string, { address: string; family: 4 | 6 }[]>): LookupFunction & { calls: string[] } {
  const calls: string[] = [];
  const lookup = ((hostname, options, callback) => {
    calls.push(hostname);
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    const all = (table[hostname] ?? []).filter((a) => family === 0 || a.family === family);
    setImmediate(() => {
      if (all.length === 0) {
        callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname }), '', 0);
      } else if (options.all === true) {
        callback(null, all);
      } else {
        callback(null, all[0]?.address ?? '', all[0]?.family);
      }
    });
  }) as LookupFunction & { calls: string[] };
  lookup.calls = calls;
  return lookup;
}

/** A server that answers with the address family it was reached on. */
const familyHandler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  res.end(net.isIPv6(req.socket.localAddress ?? '') ? 'v6' : 'v4');
};

/** Two servers on the same port: 127.0.0.1 and ::1. */
async function dualStackServers(): Promise<{ v4: LoopbackServer; v6: LoopbackServer; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const v6 = await httpServer({ host: '::1' }, familyHandler);
    try {
      const v4 = await httpServer({ host: '127.0.0.1', port: v6.port }, familyHandler);
      return { v4, v6, port: v6.port };
    } catch (error) {
      if (attempt > 5) throw error;
    }
  }
}

describe('TCP endpoints', () => {
  test('a request to http://[::1]:port/ reaches a server listening on ::1', async () => {
    const s = await httpServer({ host: '::1' });
    expect(await get(agentOn(new StandardEndpointFactory()), `http://[::1]:${s.port}/six`)).toEqual({ code: 200, body: 'ok' });
    expect(s.requests).toEqual([expect.objectContaining({ url: '/six', host: `[::1]:${s.port}`, remoteAddress: '::1' })]);
  });

  test('localhost is resolved by the system resolver', async () => {
    const s = await httpServer({ host: '127.0.0.1' });
    expect(await get(agentOn(new StandardEndpointFactory()), `http://localhost:${s.port}/`)).toEqual({ code: 200, body: 'ok' });
  });

  test('family selects the address family a name resolves to', async () => {
    const { port } = await dualStackServers();
    const lookup = fakeResolver({
      'dual.test': [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ],
    });
    expect(await get(agentOn(new StandardEndpointFactory({ lookup, family: 6 })), `http://dual.test:${port}/`)).toEqual({ code: 200, body: 'v6' });
    expect(await get(agentOn(new StandardEndpointFactory({ lookup, family: 4 })), `http://dual.test:${port}/`)).toEqual({ code: 200, body: 'v4' });
    expect(lookup.calls).toEqual(['dual.test', 'dual.test']);
  });

  test('autoSelectFamily falls back to the next address when the first one refuses; without it the connection is refused', async () => {
    const { v4, port } = await dualStackServers();
    await v4.close(); // 127.0.0.1:port now refuses, ::1:port still answers
    const lookup = fakeResolver({
      'dual.test': [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ],
    });
    const happy = agentOn(new StandardEndpointFactory({ lookup, autoSelectFamily: true }));
    expect(await get(happy, `http://dual.test:${port}/`)).toEqual({ code: 200, body: 'v6' });
    const firstOnly = agentOn(new StandardEndpointFactory({ lookup, autoSelectFamily: false }));
    const error = await strandFailureOf(firstOnly.request('GET', `http://dual.test:${port}/`));
    expect(error).toBeInstanceOf(ConnectionRefusedError);
    expect(error.message).toContain('127.0.0.1');
  });

  test('localAddress binds the socket to that local address', async () => {
    const s = await httpServer({ host: '127.0.0.1' });
    expect(await get(agentOn(new StandardEndpointFactory({ localAddress: '127.0.0.2' })), `http://127.0.0.1:${s.port}/`)).toEqual({ code: 200, body: 'ok' });
    expect(s.requests[0]?.remoteAddress).toBe('127.0.0.2');
  });

  test('a closed port fails with ConnectionRefusedError, a connect error', async () => {
    const s = await httpServer({ host: '127.0.0.1' });
    const port = s.port;
    await s.close();
    const error = await strandFailureOf(new TCPEndpoint('127.0.0.1', port).connect());
    expect(error).toBeInstanceOf(ConnectionRefusedError);
    expect(error).toBeInstanceOf(RequestNotSentError);
    expect(error.code).toBe('STRAND_CONNECTION_REFUSED');
    expect(error.url).toBe(`http://127.0.0.1:${port}`);
  });

  test('a name that does not resolve fails with DNSLookupError, whatever the resolver’s error code', async () => {
    const notFound = fakeResolver({});
    const error = await strandFailureOf(agentOn(new StandardEndpointFactory({ lookup: notFound })).request('GET', 'http://no-such-host.invalid/'));
    expect(error).toBeInstanceOf(DNSLookupError);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.code).toBe('STRAND_DNS_LOOKUP_FAILED');
    expect(error.message).toContain('no-such-host.invalid');
    expect(notFound.calls).toEqual(['no-such-host.invalid']);

    const odd: LookupFunction = (_hostname, _options, callback) => callback(Object.assign(new Error('resolver exploded'), { code: 'EWHATEVER' }), '', 0);
    const oddError = await strandFailureOf(new TCPEndpoint('example.test', 80, { lookup: odd }).connect());
    expect(oddError).toBeInstanceOf(DNSLookupError);
    expect(oddError.message).toContain('resolver exploded');
  });

  test('TLS endpoints report DNS failures as DNSLookupError too', async () => {
    const error = await strandFailureOf(new TLSEndpoint('no-such-host.invalid', 443, undefined, { lookup: fakeResolver({}) }).connect());
    expect(error).toBeInstanceOf(DNSLookupError);
  });
});

describe('connect timeout, through the injected clock', () => {
  test('fires while the name is still resolving, and leaves no timer or socket behind', async () => {
    const clock = new ManualClock();
    let resolverCalled!: () => void;
    const called = new Promise<void>((resolve) => (resolverCalled = resolve));
    const hanging: LookupFunction = () => resolverCalled(); // never answers
    const endpoint = new TCPEndpoint('hangs.test', 80, { lookup: hanging, connectTimeout: 5000, clock });
    let settled = false;
    const pending = endpoint.connect().finally(() => (settled = true));
    await called;
    clock.advance(4999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    clock.advance(1);
    const error = await strandFailureOf(pending);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'STRAND_CONNECT_TIMEOUT', phase: 'connect', timeout: 5000, sent: false, url: 'http://hangs.test:80' });
    expect(endpoint.key).toMatch(/^http:\/\/hangs\.test:80 lookup=#\d+$/);
    expect(clock.pending).toBe(0);
  });

  test('covers the TLS handshake: a server that accepts but never answers the ClientHello times out', async () => {
    const clock = new ManualClock();
    const seen: net.Socket[] = [];
    let gotHello!: () => void;
    const hello = new Promise<void>((resolve) => (gotHello = resolve));
    const silent = net.createServer((socket) => {
      seen.push(socket);
      socket.once('data', () => gotHello());
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of seen) socket.destroy();
          silent.close(() => resolve());
        }),
    );
    const port = (silent.address() as net.AddressInfo).port;
    const endpoint = new TLSEndpoint('127.0.0.1', port, new BrowserLikePolicyForHTTPS({ ca: pem('ca.pem') }), { connectTimeout: 2000, clock });
    const pending = endpoint.connect();
    await hello;
    const serverSide = seen[0];
    const closed = new Promise<void>((resolve) => serverSide?.once('close', () => resolve()));
    clock.advance(2000);
    const error = await strandFailureOf(pending);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.code).toBe('STRAND_CONNECT_TIMEOUT');
    await closed; // the client gave the socket up
    expect(clock.pending).toBe(0);
  });

  test('is cleared when the connection succeeds or fails first', async () => {
    const clock = new ManualClock();
    const s = await httpServer({ host: '127.0.0.1' });
    const socket = await new TCPEndpoint('127.0.0.1', s.port, { connectTimeout: 1000, clock }).connect();
    expect(clock.pending).toBe(0);
    socket.destroy();
    await s.close();
    await expect(new TCPEndpoint('127.0.0.1', s.port, { connectTimeout: 1000, clock }).connect()).rejects.toBeInstanceOf(ConnectionRefusedError);
    expect(clock.pending).toBe(0);
  });

  test('the agent’s pool turns an agent connect timeout into the same TimeoutError', async () => {
    const clock = new ManualClock();
    let resolverCalled!: () => void;
    const called = new Promise<void>((resolve) => (resolverCalled = resolve));
    const hanging: LookupFunction = () => resolverCalled();
    const agent = new HttpAgent({ pool: new HTTPConnectionPool({ clock }), endpointFactory: new StandardEndpointFactory({ lookup: hanging }), timeouts: { connect: 3000 } });
    cleanups.push(() => agent.pool.closeCachedConnections());
    const pending = strandFailureOf(agent.request('GET', 'http://hangs.test/'));
    await called;
    clock.advance(3000);
    expect(await pending).toMatchObject({ code: 'STRAND_CONNECT_TIMEOUT', phase: 'connect' });
  });
});

describe('cancellation while connecting', () => {
  test('an already aborted signal fails at once, before any lookup', async () => {
    const lookup = fakeResolver({});
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const error = await strandFailureOf(new TCPEndpoint('x.test', 80, { lookup }).connect(controller.signal));
    expect(error).toBeInstanceOf(CancelledError);
    expect(lookup.calls).toEqual([]);
  });

  test('aborting mid-connect fails with CancelledError carrying the reason', async () => {
    let resolverCalled!: () => void;
    const called = new Promise<void>((resolve) => (resolverCalled = resolve));
    const controller = new AbortController();
    const pending = new TCPEndpoint('x.test', 80, { lookup: () => resolverCalled() }).connect(controller.signal);
    await called;
    const reason = new Error('user gave up');
    controller.abort(reason);
    const error = await strandFailureOf(pending);
    expect(error).toBeInstanceOf(CancelledError);
    expect(error.cause).toBe(reason);
  });
});

describe('Unix domain sockets', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-unix-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  });

  /** A Docker-like API on a Unix socket. */
  async function dockerLike(): Promise<{ server: LoopbackServer; socketPath: string }> {
    const socketPath = path.join(dir, 'docker.sock');
    const server = await httpServer({ path: socketPath }, (req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/containers/json') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify([{ Id: 'c0ffee', Names: ['/strand'], All: url.searchParams.get('all') }]));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    return { server, socketPath };
  }

  test('Twisted’s Docker example: an agent on a UnixSocketEndpointFactory talks to a server on a Unix socket, reusing its connection', async () => {
    const { server, socketPath } = await dockerLike();
    const agent = agentOn(new UnixSocketEndpointFactory(socketPath));
    const first = await get(agent, 'http://localhost/containers/json');
    expect(first.code).toBe(200);
    expect(JSON.parse(first.body)).toEqual([{ Id: 'c0ffee', Names: ['/strand'], All: null }]);
    const second = await get(agent, 'http://localhost/containers/json?all=1');
    expect(JSON.parse(second.body)).toEqual([expect.objectContaining({ All: '1' })]);
    expect(server.requests.map((r) => [r.url, r.host])).toEqual([
      ['/containers/json', 'localhost'],
      ['/containers/json?all=1', 'localhost'],
    ]);
    expect(server.connections).toBe(1);
    expect(Object.keys(agent.pool.stats())).toEqual([`http+unix://${encodeURIComponent(socketPath)}`]);
  });

  test('the caller’s Host header is sent as given', async () => {
    const { server, socketPath } = await dockerLike();
    await get(agentOn(new UnixSocketEndpointFactory(socketPath)), 'http://localhost/containers/json', { Host: 'docker' });
    expect(server.requests[0]?.host).toBe('docker');
  });

  test('https: URIs are refused rather than sent in clear text over the socket', () => {
    expect(() => new UnixSocketEndpointFactory('/tmp/x.sock').endpointForURI(new URL('https://localhost/'))).toThrow(InvalidRequestError);
  });

  test('a missing socket fails with a ConnectError that says so', async () => {
    const error = await strandFailureOf(new UnixSocketEndpoint(path.join(dir, 'absent.sock')).connect());
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.message).toMatch(/no Unix socket/);
  });

  test('http+unix URLs carry the percent-encoded socket path as their host', () => {
    const url = unixSocketURL('/var/run/docker.sock', '/v1.43/info?x=1');
    expect(url.href).toBe('http+unix://%2Fvar%2Frun%2Fdocker.sock/v1.43/info?x=1');
    expect(unixSocketPath(url)).toBe('/var/run/docker.sock');
    expect(url.pathname + url.search).toBe('/v1.43/info?x=1');
    expect(() => unixSocketPath(new URL('http+unix://%2Fa.sock:80/'))).toThrow(/no port/);
  });

  test('HttpAgent requests an http+unix URL over the socket with Host: localhost', async () => {
    const { server, socketPath } = await dockerLike();
    const agent = new HttpAgent({ endpointFactory: new StandardEndpointFactory({ unixSockets: true }) });
    const response = await agent.request('GET', unixSocketURL(socketPath, '/containers/json?all=1'));
    expect(response.code).toBe(200);
    expect((await readBody(response)).toString()).toContain('"Id":"c0ffee"');
    expect(server.requests[0]?.url).toBe('/containers/json?all=1');
    expect(server.requests[0]?.host).toBe('localhost');
    await agent.pool.closeCachedConnections();
  });

  test('StandardEndpointFactory serves http+unix URLs only when unixSockets is on', async () => {
    const { server, socketPath } = await dockerLike();
    const url = unixSocketURL(socketPath, '/containers/json');
    expect(() => new StandardEndpointFactory().endpointForURI(url)).toThrow(/unixSockets: true/);
    const endpoint = new StandardEndpointFactory({ unixSockets: true }).endpointForURI(url);
    expect(endpoint.key).toBe(`http+unix://${encodeURIComponent(socketPath)}`);
    const socket = await endpoint.connect();
    const response = await rawExchange(socket, 'GET /containers/json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(response).toContain('"Id":"c0ffee"');
    expect(server.requests[0]?.url).toBe('/containers/json');
  });
});

describe('endpoint keys: everything that changes the connection', () => {
  const uri = new URL('https://example.com/path');

  test('plain and TLS endpoints of the default factory', () => {
    const factory = new StandardEndpointFactory();
    expect(factory.endpointForURI(new URL('http://example.com/a')).key).toBe('http://example.com:80');
    expect(factory.endpointForURI(new URL('http://[::1]:8080/a')).key).toBe('http://[::1]:8080');
    expect(factory.endpointForURI(uri).key).toBe(`https://example.com:443 tls=${factory.tlsPolicy.id}`);
  });

  test('two default factories share keys (and so pooled connections); other settings split them', () => {
    const keyOf = (factory: StandardEndpointFactory): string => factory.endpointForURI(uri).key;
    const lookup = fakeResolver({});
    const keys = [
      keyOf(new StandardEndpointFactory()),
      keyOf(new StandardEndpointFactory({ tlsPolicy: new BrowserLikePolicyForHTTPS() })),
      keyOf(new StandardEndpointFactory({ localAddress: '127.0.0.2' })),
      keyOf(new StandardEndpointFactory({ family: 6 })),
      keyOf(new StandardEndpointFactory({ lookup })),
    ];
    expect(keyOf(new StandardEndpointFactory())).toBe(keys[0]);
    expect(keyOf(new StandardEndpointFactory({ connectTimeout: 100, keepAlive: false, noDelay: false }))).toBe(keys[0]);
    expect(keyOf(new StandardEndpointFactory({ lookup }))).toBe(keys[4]);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys[2]).toMatch(/ local=127\.0\.0\.2$/);
    expect(keys[3]).toMatch(/ family=6$/);
  });

  test('a shared pool opens a separate connection for a different local address', async () => {
    const s = await httpServer({ host: '127.0.0.1' });
    const pool = new HTTPConnectionPool();
    const url = `http://127.0.0.1:${s.port}/`;
    await get(agentOn(new StandardEndpointFactory(), pool), url);
    await get(agentOn(new StandardEndpointFactory(), pool), url);
    await get(agentOn(new StandardEndpointFactory({ localAddress: '127.0.0.3' }), pool), url);
    expect(s.connections).toBe(2);
    expect(s.requests.map((r) => r.remoteAddress)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.3']);
  });

  test('unsupported schemes are refused', () => {
    expect(() => new StandardEndpointFactory().endpointForURI(new URL('ftp://example.com/'))).toThrow(InvalidRequestError);
  });
});

describe('option validation names the option', () => {
  test.each([
    [{ connectTimeout: 0 }, /connectTimeout/],
    [{ connectTimeout: Number.NaN }, /connectTimeout/],
    [{ localAddress: 'localhost' }, /localAddress must be an IP address/],
    [{ family: 5 }, /family must be 0, 4 or 6/],
    [{ autoSelectFamilyAttemptTimeout: 1 }, /autoSelectFamilyAttemptTimeout/],
    [{ lookup: 'dns' }, /lookup must be a function/],
    [{ keepAlive: -1 }, /keepAlive/],
    [{ unixSockets: 'yes' }, /unixSockets must be a boolean/],
  ])('%p', (options, message) => {
    expect(() => new StandardEndpointFactory(options as never)).toThrow(InvalidArgumentError);
    expect(() => new StandardEndpointFactory(options as never)).toThrow(message);
  });

  test('TCP endpoints check their host and port', () => {
    expect(() => new TCPEndpoint('', 80)).toThrow(InvalidArgumentError);
    expect(() => new TCPEndpoint('h', 70000)).toThrow(/port/);
  });
});

describe('TLS over the standard factory', () => {
  test('an https request through a factory with local address and family options is verified and succeeds', async () => {
    const s = await startHttpsServer(serverCert('localhost'));
    cleanups.push(() => s.close());
    const factory = new StandardEndpointFactory({ tlsPolicy: new BrowserLikePolicyForHTTPS({ ca: pem('ca.pem') }), localAddress: '127.0.0.4', family: 4 });
    expect(await get(agentOn(factory), `https://localhost:${s.port}/`)).toEqual({ code: 200, body: 'ok' });
    expect(s.requests[0]).toMatchObject({ remoteAddress: '127.0.0.4', servername: 'localhost', alpnProtocol: 'http/1.1' });
  });
});
