/**
 * Where a connection goes (Twisted's endpoints): TCP, TLS over TCP, and Unix domain sockets,
 * chosen per request URI by an {@link EndpointFactory}.
 *
 * @packageDocumentation
 */

import * as dns from 'node:dns';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { type Clock, type TimerHandle, systemClock } from '../time/clock.js';
import type { ConnectMilestones } from '../message/exchange.js';
import { directReadSocket } from './direct-reads.js';
import { DEFAULT_TLS_SESSION_CACHE_SIZE, TLSSessionCache } from './tls-sessions.js';
import { rejectUnknownOptions } from '../validate.js';
import {
  CancelledError,
  ConnectError,
  ConnectionRefusedError,
  DNSLookupError,
  InvalidArgumentError,
  InvalidRequestError,
  StrandError,
  TimeoutError,
  TLSCertificateError,
  TLSCertificateExpiredError,
  TLSError,
  TLSHandshakeError,
  TLSHostnameMismatchError,
  TLSUnknownCAError,
} from '../errors.js';
import { type TLSPolicy, defaultTLSPolicy } from './tls-policy.js';
import { brand } from '../brand.js';

/**
 * Somewhere a connection can be opened to. `key` identifies everything that makes two
 * connections interchangeable (scheme, host, port, TLS policy, local address, socket path...):
 * the pool only reuses a connection for a request whose endpoint has the same key.
 */
export interface Endpoint {
  /** Identifies where connections go; connections are pooled per key, so two endpoints with one key must be interchangeable. */
  readonly key: string;
  /**
   * Opens a connected (for TLS: handshaken and verified) Duplex. Rejects with a
   * {@link ConnectError} (a {@link TLSError} for TLS failures), a connect {@link TimeoutError},
   * or a {@link CancelledError} when `signal` aborts.
   */
  connect(signal?: AbortSignal, milestones?: ConnectMilestones): Promise<Duplex>;
  /**
   * The request target to send over this endpoint's connections, when it is not the usual
   * origin-form path: a forwarding proxy wants the absolute form (RFC 9112 §3.2.2).
   */
  requestTarget?(url: URL, originForm: string): string;
}


/**
 * Chooses the endpoint for a request URI (Twisted's `IAgentEndpointFactory`). The `uri` is the
 * request's own parsed URL, possibly shared with other requests to the same URL: read it, never
 * modify it.
 */
export interface EndpointFactory {
  /** The endpoint a request to `uri` uses. May throw (an unsupported scheme) with a typed error. */
  endpointForURI(uri: URL): Endpoint;
}

/** How a connection is opened; shared by the TCP, TLS and (timeout, clock) Unix endpoints. */
export interface ConnectOptions {
  /**
   * Longest time to open a connection (DNS, TCP and TLS together), in ms; `Infinity` for none,
   * the default. An agent's `timeouts.connect` applies on top of it: set that one for requests,
   * this one to cap a factory used on its own. Fails with a connect {@link TimeoutError}.
   */
  connectTimeout?: number;
  /** The clock for `connectTimeout`. Default: the system clock. */
  clock?: Clock;
  /** Local IP address to bind the socket to before connecting (e.g. `'127.0.0.2'`, `'::1'`). */
  localAddress?: string;
  /** Address family to resolve host names to: `4`, `6`, or `0` (both, the default). */
  family?: 0 | 4 | 6;
  /**
   * Happy eyeballs (RFC 8305) as Node offers it: try every address the name resolves to, IPv6
   * and IPv4 interleaved, instead of only the first. Default: Node's (`true` since Node 20).
   */
  autoSelectFamily?: boolean;
  /** With `autoSelectFamily`: ms to wait for one address before trying the next (Node's default 250, minimum 10). */
  autoSelectFamilyAttemptTimeout?: number;
  /** Host name resolver, `dns.lookup`'s signature. Default `dns.lookup` (the system resolver, `/etc/hosts` included). */
  lookup?: net.LookupFunction;
  /** Disable Nagle's algorithm. Default true (a request head and body go out at once). */
  noDelay?: boolean;
  /**
   * TCP keep-alive probes, so a dead peer of an idle pooled connection is noticed: `true`
   * (the default) starts them after 60 s idle, a number after that many ms, `false` disables them.
   */
  keepAlive?: boolean | number;
}

/** Options of {@link StandardEndpointFactory}. */
export interface StandardEndpointOptions extends ConnectOptions {
  /**
   * TLS options per host for `https:` URIs. Default: a shared {@link BrowserLikePolicyForHTTPS}
   * (chain and host name verified against Node's trust store).
   */
  tlsPolicy?: TLSPolicy;
  /**
   * Accept `http+unix://<percent-encoded socket path>/<request path>` URIs (see
   * {@link unixSocketURL}). Default false: a URL from elsewhere (a redirect, user input) must
   * not reach local sockets such as `/var/run/docker.sock` unless you asked for it.
   */
  unixSockets?: boolean;
  /**
   * TLS sessions kept for resumption, one per `https:` endpoint (host, port, policy), least
   * recently used dropped first: a new connection to a host seen before resumes the session
   * instead of a full handshake. Default 100; 0 turns resumption off.
   */
  tlsSessionCacheSize?: number;
}

/** Options of {@link UnixSocketEndpointFactory} and {@link UnixSocketEndpoint}. */
export type UnixSocketOptions = Pick<ConnectOptions, 'connectTimeout' | 'clock'>;

/** The URI scheme for HTTP over a Unix domain socket (as requests-unixsocket spells it). */
export const UNIX_SOCKET_SCHEME = 'http+unix:';

/**
 * Builds an `http+unix:` URL: the socket path percent-encoded as the host, then the request
 * path. `unixSocketURL('/var/run/docker.sock', '/v1.43/info')` is
 * `http+unix://%2Fvar%2Frun%2Fdocker.sock/v1.43/info`.
 */
export function unixSocketURL(socketPath: string, path = '/'): URL {
  if (typeof socketPath !== 'string' || socketPath === '') throw new InvalidArgumentError('socketPath must be a non-empty string');
  if (!path.startsWith('/')) throw new InvalidArgumentError(`path must start with "/", got "${path}"`);
  return new URL(`http+unix://${encodeURIComponent(socketPath)}${path}`);
}

/** The socket path of an `http+unix:` URL. */
export function unixSocketPath(uri: URL): string {
  if (uri.protocol !== UNIX_SOCKET_SCHEME) throw new InvalidRequestError(`not an ${UNIX_SOCKET_SCHEME} URL`, { url: uri });
  if (uri.port !== '') throw new InvalidRequestError(`an ${UNIX_SOCKET_SCHEME} URL has no port: percent-encode the socket path's ":" as %3A`, { url: uri });
  let socketPath: string;
  try {
    socketPath = decodeURIComponent(uri.hostname);
  } catch (cause) {
    throw new InvalidRequestError(`invalid ${UNIX_SOCKET_SCHEME} URL: bad percent-encoding in the socket path`, { url: uri, cause });
  }
  if (socketPath === '') throw new InvalidRequestError(`invalid ${UNIX_SOCKET_SCHEME} URL: no socket path`, { url: uri });
  return socketPath;
}

/**
 * Opens TCP connections for `http:`, verified TLS connections for `https:` (through a
 * {@link TLSPolicy}), and, when `unixSockets` is on, Unix socket connections for `http+unix:`.
 *
 * @example
 * ```ts
 * const factory = new StandardEndpointFactory({
 *   tlsPolicy: new BrowserLikePolicyForHTTPS({ ca: fs.readFileSync('ca.pem') }),
 *   localAddress: '10.0.0.5',
 *   family: 6,
 * });
 * const agent = HttpAgent.usingEndpointFactory(factory);
 * ```
 */
export class StandardEndpointFactory implements EndpointFactory {
  /** The policy used for `https:` URIs. */
  readonly tlsPolicy: TLSPolicy;
  private readonly options: ResolvedConnectOptions;
  private readonly unixOptions: ResolvedConnectOptions;
  private readonly unixSockets: boolean;
  private readonly tlsSessions: TLSSessionCache;

  constructor(options: StandardEndpointOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('StandardEndpointFactory options must be an object');
    rejectUnknownOptions(options, STANDARD_ENDPOINT_OPTIONS, 'StandardEndpointFactory');
    const { tlsPolicy, unixSockets, tlsSessionCacheSize = DEFAULT_TLS_SESSION_CACHE_SIZE, ...connect } = options;
    if (tlsPolicy !== undefined) checkPolicy(tlsPolicy);
    if (unixSockets !== undefined && typeof unixSockets !== 'boolean') throw new InvalidArgumentError(`unixSockets must be a boolean, got ${String(unixSockets)}`);
    if (!Number.isSafeInteger(tlsSessionCacheSize) || tlsSessionCacheSize < 0) {
      throw new InvalidArgumentError(`tlsSessionCacheSize must be a non-negative integer, got ${String(tlsSessionCacheSize)}`);
    }
    this.tlsSessions = new TLSSessionCache(tlsSessionCacheSize);
    this.tlsPolicy = tlsPolicy ?? defaultTLSPolicy();
    this.options = resolveConnectOptions(connect);
    this.unixOptions = resolveConnectOptions(unixOnly(connect));
    this.unixSockets = unixSockets ?? false;
  }

  /** TCP for `http:`, TLS for `https:`, a Unix socket for `http+unix:` when enabled; anything else is an `InvalidRequestError`. */
  endpointForURI(uri: URL): Endpoint {
    switch (uri.protocol) {
      case 'http:':
        return new TCPEndpoint(hostOf(uri), portOf(uri, 80), this.options);
      case 'https:':
        return new TLSEndpoint(hostOf(uri), portOf(uri, 443), this.tlsPolicy, this.options, this.tlsSessions);
      case UNIX_SOCKET_SCHEME:
        if (!this.unixSockets) throw new InvalidRequestError(`${UNIX_SOCKET_SCHEME} URLs are off: pass unixSockets: true to StandardEndpointFactory`, { url: uri });
        return new UnixSocketEndpoint(unixSocketPath(uri), this.unixOptions);
      default:
        throw new InvalidRequestError(`unsupported URL scheme ${uri.protocol}`, { url: uri });
    }
  }
}

/**
 * Sends every request to one Unix domain socket, whatever the URI's host (Twisted's Docker
 * example): `http://localhost/containers/json` goes to the socket with `Host: localhost`.
 * `https:` URIs are refused rather than sent in clear text.
 *
 * @example
 * ```ts
 * const agent = HttpAgent.usingEndpointFactory(new UnixSocketEndpointFactory('/var/run/docker.sock'));
 * const response = await agent.request('GET', 'http://localhost/v1.43/containers/json');
 * ```
 */
export class UnixSocketEndpointFactory implements EndpointFactory {
  private readonly endpoint: UnixSocketEndpoint;

  constructor(
    /** The Unix socket path. */
    readonly socketPath: string,
    options: UnixSocketOptions = {},
  ) {
    this.endpoint = new UnixSocketEndpoint(socketPath, options);
  }

  /** The one Unix socket endpoint, whatever the URI's host (the request target is its path and query). */
  endpointForURI(uri: URL): Endpoint {
    if (uri.protocol !== 'http:' && uri.protocol !== UNIX_SOCKET_SCHEME) {
      throw new InvalidRequestError(`a Unix socket endpoint carries plain http: URLs only, got ${uri.protocol}`, { url: uri });
    }
    return this.endpoint;
  }
}

/** A plain TCP endpoint. Key: `http://host:port` plus any local address, family or resolver. */
export class TCPEndpoint implements Endpoint {
  /** The pool key: scheme, host and port (and, for TLS, the policy), or the socket path. */
  readonly key: string;
  /** `http://host:port`, the URL its errors carry. */
  readonly origin: string;
  private readonly options: ResolvedConnectOptions;

  /** `host` is a name or an IP address (IPv6 without brackets). */
  constructor(
    /** The host connected to (a name or an IP literal, without brackets). */
    readonly host: string,
    /** The TCP port. */
    readonly port: number,
    options: ConnectOptions = {},
  ) {
    checkHostPort(host, port);
    this.options = resolveConnectOptions(options);
    this.origin = `http://${netloc(host, port)}`;
    this.key = `${this.origin}${this.options.keySuffix}`;
  }

  connect(signal?: AbortSignal, milestones?: ConnectMilestones): Promise<Duplex> {
    const { host, port, options } = this;
    return openSocket('tcp', this.origin, options, signal, milestones, () => directReadSocket((onread) => net.connect({ ...options.net, host, port, onread })));
  }
}

/**
 * A TLS endpoint: TCP, then a TLS handshake with the options `policy.creatorForNetloc(host,
 * port)` returns (with the default policy, chain and host name are verified). Key:
 * `https://host:port tls=<policy id>` plus any local address, family or resolver.
 */
export class TLSEndpoint implements Endpoint {
  /** The pool key: scheme, host and port (and, for TLS, the policy), or the socket path. */
  readonly key: string;
  /** `https://host:port`, the URL its errors carry. */
  readonly origin: string;
  private readonly options: ResolvedConnectOptions;

  /**
   * @param sessions - where TLS sessions are kept for resumption (a {@link StandardEndpointFactory}
   *   passes its own); without one every connection makes a full handshake.
   */
  constructor(
    /** The host connected to (a name or an IP literal, without brackets). */
    readonly host: string,
    /** The TCP port. */
    readonly port: number,
    /** Shapes and verifies the TLS handshake. */
    readonly policy: TLSPolicy = defaultTLSPolicy(),
    options: ConnectOptions = {},
    private readonly sessions: TLSSessionCache | null = null,
  ) {
    checkHostPort(host, port);
    checkPolicy(policy);
    this.options = resolveConnectOptions(options);
    this.origin = `https://${netloc(host, port)}`;
    this.key = `${this.origin} tls=${policy.id}${this.options.keySuffix}`;
  }

  connect(signal?: AbortSignal, milestones?: ConnectMilestones): Promise<Duplex> {
    const { host, port, options } = this;
    return openSocket('tls', this.origin, options, signal, milestones, () => {
      // The endpoint decides where the socket goes; a policy only shapes the handshake.
      const { socket: _socket, path: _path, host: _host, port: _port, ...policyOptions } = this.policy.creatorForNetloc(host, port);
      const sessions = this.sessions;
      const key = this.key;
      const session = sessions?.get(key);
      // Node's tls.connect passes `onread` on to the socket (its types do not list it).
      const socket = directReadSocket((onread) => tls.connect({ ...policyOptions, ...options.net, host, port, onread, ...(session === undefined ? {} : { session }) } as tls.ConnectionOptions));
      if (sessions !== null) {
        socket.on('session', (ticket: Buffer) => sessions.set(key, ticket));
        // A connection that fails may have failed over its session: do not offer it again.
        if (session !== undefined) socket.once('error', () => sessions.delete(key));
      }
      return socket;
    });
  }
}

/** A Unix domain socket endpoint. Key: `http+unix://<percent-encoded path>`. */
export class UnixSocketEndpoint implements Endpoint {
  readonly key: string;
  /** Same as the key, the URL its errors carry. */
  readonly origin: string;
  private readonly options: ResolvedConnectOptions;

  constructor(
    /** The Unix socket path. */
    readonly socketPath: string,
    options: UnixSocketOptions = {},
  ) {
    if (typeof socketPath !== 'string' || socketPath === '') throw new InvalidArgumentError('socketPath must be a non-empty string');
    this.options = options instanceof ResolvedConnectOptions ? options : resolveConnectOptions(unixOnly(options));
    this.key = `http+unix://${encodeURIComponent(socketPath)}`;
    this.origin = this.key;
  }

  connect(signal?: AbortSignal, milestones?: ConnectMilestones): Promise<Duplex> {
    return openSocket('unix', this.origin, this.options, signal, milestones, () => directReadSocket((onread) => net.connect({ path: this.socketPath, onread })));
  }
}

// ---------------------------------------------------------------------------------------------
// Options, normalised once.

/**
 * Connect options validated once. A factory hands its instance to every endpoint it makes, and
 * `resolveConnectOptions` returns such an instance as it is, so that the per-request path
 * (`endpointForURI`) validates nothing again.
 */
class ResolvedConnectOptions {
  constructor(
    readonly connectTimeout: number,
    readonly clock: Clock,
    /** Passed to `net.connect` / `tls.connect`. */
    readonly net: Readonly<Pick<net.TcpNetConnectOpts, 'localAddress' | 'family' | 'autoSelectFamily' | 'autoSelectFamilyAttemptTimeout' | 'lookup'>>,
    readonly noDelay: boolean,
    /** Keep-alive initial delay in ms, or -1 for off. */
    readonly keepAliveDelay: number,
    /** Appended to endpoint keys: what, besides the scheme, host and port, changes the connection. */
    readonly keySuffix: string,
  ) {
    Object.freeze(this);
  }
}

const DEFAULT_KEEPALIVE_MS = 60_000;
const resolvedCache = new WeakMap<ConnectOptions, ResolvedConnectOptions>();
const lookupIds = new WeakMap<net.LookupFunction, number>();
let nextLookupId = 1;

/** Errors that a resolver reported: they are DNS errors whatever their code. */
const lookupErrors = new WeakSet<object>();

/** Wraps a resolver so that the errors it reports can be told apart from connect errors. */
function markingLookup(lookup: net.LookupFunction): net.LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, options, (error, address, family) => {
      if (error !== null && typeof error === 'object') lookupErrors.add(error);
      callback(error, address, family);
    });
  };
}

// Calls `dns.lookup` when used, not when loaded, so a resolver patched in later is honoured.
const defaultLookup = markingLookup((hostname, options, callback) => dns.lookup(hostname, options, callback));

function unixOnly(options: ConnectOptions): UnixSocketOptions {
  const result: UnixSocketOptions = {};
  if (options.connectTimeout !== undefined) result.connectTimeout = options.connectTimeout;
  if (options.clock !== undefined) result.clock = options.clock;
  return result;
}

/** Validates `options` once (errors name the option) and caches the result per options object. */
const CONNECT_OPTIONS = ['connectTimeout', 'clock', 'localAddress', 'family', 'autoSelectFamily', 'autoSelectFamilyAttemptTimeout', 'lookup', 'noDelay', 'keepAlive'] as const;
const STANDARD_ENDPOINT_OPTIONS = ['tlsPolicy', 'unixSockets', 'tlsSessionCacheSize', ...CONNECT_OPTIONS] as const;

function resolveConnectOptions(options: ConnectOptions): ResolvedConnectOptions {
  if (options instanceof ResolvedConnectOptions) return options;
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('connect options must be an object');
  const cached = resolvedCache.get(options);
  if (cached !== undefined) return cached;
  rejectUnknownOptions(options, CONNECT_OPTIONS, 'connect options');
  const { connectTimeout = Infinity, clock = systemClock, localAddress, family, autoSelectFamily, autoSelectFamilyAttemptTimeout, lookup, noDelay = true, keepAlive = true } = options;
  if (typeof connectTimeout !== 'number' || Number.isNaN(connectTimeout) || connectTimeout <= 0) {
    throw new InvalidArgumentError(`connectTimeout must be a positive number of milliseconds (or Infinity), got ${String(connectTimeout)}`);
  }
  if (clock === null || typeof clock !== 'object' || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
    throw new InvalidArgumentError('clock must be a Clock (now, setTimeout, clearTimeout)');
  }
  const netOptions: { -readonly [K in keyof ResolvedConnectOptions['net']]: ResolvedConnectOptions['net'][K] } = {};
  let keySuffix = '';
  if (localAddress !== undefined) {
    if (typeof localAddress !== 'string' || net.isIP(localAddress) === 0) throw new InvalidArgumentError(`localAddress must be an IP address, got ${String(localAddress)}`);
    netOptions.localAddress = localAddress;
    keySuffix += ` local=${localAddress}`;
  }
  if (family !== undefined) {
    if (family !== 0 && family !== 4 && family !== 6) throw new InvalidArgumentError(`family must be 0, 4 or 6, got ${String(family)}`);
    netOptions.family = family;
    if (family !== 0) keySuffix += ` family=${family}`;
  }
  if (autoSelectFamily !== undefined) {
    if (typeof autoSelectFamily !== 'boolean') throw new InvalidArgumentError(`autoSelectFamily must be a boolean, got ${String(autoSelectFamily)}`);
    netOptions.autoSelectFamily = autoSelectFamily;
  }
  if (autoSelectFamilyAttemptTimeout !== undefined) {
    if (typeof autoSelectFamilyAttemptTimeout !== 'number' || !(autoSelectFamilyAttemptTimeout >= 10) || !Number.isFinite(autoSelectFamilyAttemptTimeout)) {
      throw new InvalidArgumentError(`autoSelectFamilyAttemptTimeout must be a number of milliseconds, at least 10, got ${String(autoSelectFamilyAttemptTimeout)}`);
    }
    netOptions.autoSelectFamilyAttemptTimeout = autoSelectFamilyAttemptTimeout;
  }
  if (lookup !== undefined && typeof lookup !== 'function') throw new InvalidArgumentError('lookup must be a function with the signature of dns.lookup');
  netOptions.lookup = lookup === undefined ? defaultLookup : markingLookup(lookup);
  if (lookup !== undefined) {
    // Another resolver may send the same name somewhere else: never share its connections.
    let id = lookupIds.get(lookup);
    if (id === undefined) {
      id = nextLookupId++;
      lookupIds.set(lookup, id);
    }
    keySuffix += ` lookup=#${id}`;
  }
  if (typeof noDelay !== 'boolean') throw new InvalidArgumentError(`noDelay must be a boolean, got ${String(noDelay)}`);
  let keepAliveDelay: number;
  if (keepAlive === true) keepAliveDelay = DEFAULT_KEEPALIVE_MS;
  else if (keepAlive === false) keepAliveDelay = -1;
  else if (typeof keepAlive === 'number' && Number.isFinite(keepAlive) && keepAlive >= 0) keepAliveDelay = keepAlive;
  else throw new InvalidArgumentError(`keepAlive must be a boolean or a number of milliseconds, got ${String(keepAlive)}`);

  const resolved = new ResolvedConnectOptions(connectTimeout, clock, Object.freeze(netOptions), noDelay, keepAliveDelay, keySuffix);
  resolvedCache.set(options, resolved);
  return resolved;
}

function checkPolicy(policy: TLSPolicy): void {
  if (policy === null || typeof policy !== 'object' || typeof policy.creatorForNetloc !== 'function') {
    throw new InvalidArgumentError('tlsPolicy must be a TLSPolicy (an object with id and creatorForNetloc)');
  }
  if (typeof policy.id !== 'string' || policy.id === '') throw new InvalidArgumentError('tlsPolicy.id must be a non-empty string: it keeps connections of different policies apart');
}

function checkHostPort(host: string, port: number): void {
  if (typeof host !== 'string' || host === '') throw new InvalidArgumentError('host must be a non-empty string');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`port must be an integer from 0 to 65535, got ${String(port)}`);
}

/** The URL's host without IPv6 brackets. */
function hostOf(uri: URL): string {
  const host = uri.hostname;
  if (host === '') throw new InvalidRequestError('invalid URL: it has no host', { url: uri });
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

function portOf(uri: URL, defaultPort: number): number {
  return uri.port === '' ? defaultPort : Number(uri.port);
}

function netloc(host: string, port: number): string {
  // Only an IPv6 address contains ':' (a name cannot).
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

// ---------------------------------------------------------------------------------------------
// Opening a socket.

type SocketKind = 'tcp' | 'tls' | 'unix';

function ignoreError(): void {}

/**
 * Opens a socket and waits until it is connected (`tcp`, `unix`) or handshaken (`tls`).
 * Whatever happens first settles it: ready, an error, a close, the connect timeout, or the
 * signal. Every listener and the timer are removed then; a failed socket is destroyed.
 */
function openSocket(
  kind: SocketKind,
  url: string,
  options: ResolvedConnectOptions,
  signal: AbortSignal | undefined,
  milestones: ConnectMilestones | undefined,
  create: () => net.Socket,
): Promise<Duplex> {
  if (signal?.aborted === true) return Promise.reject(new CancelledError('request cancelled before connecting', { url, cause: signal.reason }));
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    try {
      socket = create();
    } catch (error) {
      reject(error instanceof StrandError ? error : new ConnectError(`could not connect: ${describe(error)}`, { url, cause: error }));
      return;
    }
    const readyEvent = kind === 'tls' ? 'secureConnect' : 'connect';
    const { clock, connectTimeout } = options;
    let handshaking = false;
    let timer: TimerHandle | null = null;

    const settle = (error: StrandError | null): void => {
      socket.removeListener(readyEvent, onReady);
      socket.removeListener('connect', onTcpConnect);
      socket.removeListener('lookup', onLookup);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      if (error === null) {
        if (kind !== 'unix') {
          socket.setNoDelay(options.noDelay);
          if (options.keepAliveDelay >= 0) socket.setKeepAlive(true, options.keepAliveDelay);
        }
        resolve(socket);
        return;
      }
      // An error may already be queued for the next tick: it must not become an uncaught one.
      socket.on('error', ignoreError);
      socket.destroy();
      reject(error);
    };
    const onReady = (): void => {
      if (milestones !== undefined) {
        const now = clock.now();
        if (kind === 'tls') milestones.tlsEnd = now;
        else milestones.tcpEnd = now;
      }
      settle(null);
    };
    const onTcpConnect = (): void => {
      handshaking = true;
      if (milestones !== undefined) milestones.tcpEnd = clock.now();
    };
    const onLookup = (error: Error | null): void => {
      if (error === null && milestones !== undefined) milestones.dnsEnd = clock.now();
    };
    const onError = (error: Error): void => settle(kind === 'tls' && (handshaking || isTLSFailure(error)) ? tlsError(error, url) : connectError(error, url));
    const onClose = (): void => {
      settle(
        handshaking
          ? new TLSHandshakeError('TLS handshake failed: the server closed the connection during the handshake', { url })
          : new ConnectError('the connection closed before it was established', { url }),
      );
    };
    const onAbort = (): void => settle(new CancelledError('request cancelled while connecting', { url, cause: signal?.reason }));

    socket.once(readyEvent, onReady);
    if (kind === 'tls') socket.once('connect', onTcpConnect);
    if (milestones !== undefined) socket.once('lookup', onLookup);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (connectTimeout !== Infinity) {
      timer = clock.setTimeout(() => {
        timer = null;
        settle(new TimeoutError('connect', connectTimeout, false, { url }));
      }, connectTimeout);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Error mapping.

/** Error codes of a failed name resolution (getaddrinfo and c-ares spellings). */
const DNS_CODES: ReadonlySet<string> = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_NODATA', 'EAI_FAIL', 'EAI_ADDRFAMILY', 'ENODATA', 'ESERVFAIL', 'ENONAME', 'ETIMEOUT']);

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(describe).join('; ');
  if (error instanceof Error) return error.message === '' ? String((error as NodeJS.ErrnoException).code ?? error.name) : error.message;
  return String(error);
}

/**
 * Maps a Node connect error to the Strand error that names it: {@link ConnectionRefusedError},
 * {@link DNSLookupError} (a `getaddrinfo` failure, or an error from a custom `lookup`), a
 * {@link TLSError} for a TLS failure, or a plain {@link ConnectError}.
 */
export function connectError(error: NodeJS.ErrnoException, url: string): ConnectError {
  if (error instanceof ConnectError) return error;
  if (isTLSFailure(error)) return tlsError(error, url);
  const code = error.code ?? '';
  if (lookupErrors.has(error)) return new DNSLookupError(`could not resolve the host name: ${describe(error)}`, { url, cause: error });
  if (code === 'ECONNREFUSED') return new ConnectionRefusedError(`connection refused: ${describe(error)}`, { url, cause: error });
  if (DNS_CODES.has(code) || error.syscall === 'getaddrinfo') return new DNSLookupError(`could not resolve the host name: ${describe(error)}`, { url, cause: error });
  if (code === 'ENOENT' && error.syscall === 'connect') return new ConnectError(`no Unix socket at that path: ${describe(error)}`, { url, cause: error });
  return new ConnectError(`could not connect: ${describe(error)}`, { url, cause: error });
}

/** OpenSSL certificate verification results that mean "issued by no CA we trust". */
const UNKNOWN_CA_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_UNTRUSTED',
]);

const HOSTNAME_CODES: ReadonlySet<string> = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH', 'IP_ADDRESS_MISMATCH', 'EMAIL_MISMATCH']);

/** The other OpenSSL verification results Node reports as `error.code`. */
const OTHER_CERT_CODES: ReadonlySet<string> = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'CRL_SIGNATURE_FAILURE',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
]);

const CLIENT_CERT_REJECTED = 'the server rejected our client certificate';

/** What a handshake failure means, by Node/OpenSSL code. */
const HANDSHAKE_HINTS: Readonly<Record<string, string>> = {
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'the server requires a client certificate',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'the server refused the handshake (it may require a client certificate, or share no cipher with us)',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: CLIENT_CERT_REJECTED,
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: CLIENT_CERT_REJECTED,
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: CLIENT_CERT_REJECTED,
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: `${CLIENT_CERT_REJECTED} (expired)`,
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED: `${CLIENT_CERT_REJECTED} (revoked)`,
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: `${CLIENT_CERT_REJECTED} (unknown CA)`,
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: 'the server denied access',
  ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL: 'the server does not offer HTTP/1.1 (ALPN)',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'no TLS version in common with the server',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'no TLS version in common with the server',
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: 'no TLS version in common with the server',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the server does not speak TLS on this port (plain HTTP?)',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'the server does not speak TLS on this port (plain HTTP?)',
  ERR_SSL_TLSV1_UNRECOGNIZED_NAME: 'the server does not know the host name sent in SNI',
  ECONNRESET: 'the server closed the connection during the handshake',
  EPIPE: 'the server closed the connection during the handshake',
};

/** Whether `error` comes from TLS itself (a certificate check or an SSL error), not from TCP. */
function isTLSFailure(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return false;
  return code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || UNKNOWN_CA_CODES.has(code) || HOSTNAME_CODES.has(code) || OTHER_CERT_CODES.has(code);
}

/**
 * Maps an error from a TLS socket to the {@link TLSError} that names the reason: hostname
 * mismatch, unknown CA (self-signed included), expired, another certificate problem, or a
 * handshake failure. The original error is the `cause`.
 *
 * With TLS 1.3 a server checks the client certificate after the client considers the
 * handshake done, so a missing or rejected client certificate may surface only when the
 * response is read, as the connection's error with the alert (e.g.
 * `ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`) as its cause; this function names it too.
 */
export function tlsError(error: unknown, url: string): TLSError {
  if (error instanceof TLSError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code ?? '';
  const message = describe(error);
  const options = { url, cause: error };
  if (HOSTNAME_CODES.has(code)) return new TLSHostnameMismatchError(`TLS certificate does not match the host name: ${message}`, options);
  if (code === 'CERT_HAS_EXPIRED') return new TLSCertificateExpiredError('TLS certificate has expired (CERT_HAS_EXPIRED)', options);
  if (UNKNOWN_CA_CODES.has(code)) {
    const why =
      code === 'DEPTH_ZERO_SELF_SIGNED_CERT'
        ? 'it is self-signed'
        : code === 'SELF_SIGNED_CERT_IN_CHAIN'
          ? 'its chain ends in an untrusted self-signed root'
          : 'it is issued by an unknown CA, or the server did not send the intermediate certificates';
    return new TLSUnknownCAError(`TLS certificate is not trusted: ${why} (${code})`, options);
  }
  if (OTHER_CERT_CODES.has(code)) return new TLSCertificateError(`TLS certificate rejected: ${message} (${code})`, options);
  const hint = HANDSHAKE_HINTS[code];
  return new TLSHandshakeError(hint === undefined ? `TLS handshake failed: ${message}` : `TLS handshake failed: ${hint} (${code})`, options);
}

brand(StandardEndpointFactory, 'core.StandardEndpointFactory');
