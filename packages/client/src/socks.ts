/**
 * SOCKS proxies (SOCKS4, SOCKS4a, SOCKS5 with RFC 1929 username/password, SOCKS5 with the
 * proxy resolving names) as an `EndpointFactory`: the tunnel is opened by the `socks` package
 * over a TCP connection from core's `TCPEndpoint`, and everything else is core's — the pool keeps
 * tunnels like any connection, `https:` origins get TLS to the origin on top of the tunnel
 * (verified by the TLS policy against the origin's name, never the proxy's), and the agent's
 * connect timeout and `AbortSignal` bound the whole opening.
 *
 * @packageDocumentation
 */

import { createHash } from 'node:crypto';
import * as dns from 'node:dns';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import {
  CancelledError,
  type ConnectMilestones,
  ConnectError,
  type ConnectOptions,
  DNSLookupError,
  type Endpoint,
  type EndpointFactory,
  InvalidArgumentError,
  InvalidRequestError,
  type StrandError,
  TCPEndpoint,
  atProxy,
  type TLSPolicy,
  TimeoutError,
  brand,
  defaultTLSPolicy,
  startTLS,
  systemClock,
} from '@strand/core';
import { SocksClient } from 'socks';
import { SocksProxyError } from './errors.js';

/** A SOCKS proxy, as read from its URL by {@link parseSocksProxyUrl}. */
export interface SocksProxy {
  /** `socks4:`, `socks4a:`, `socks5:` or `socks5h:`. */
  readonly scheme: 'socks4' | 'socks4a' | 'socks5' | 'socks5h';
  /** The SOCKS protocol version. */
  readonly version: 4 | 5;
  /** True when the proxy resolves host names (`socks4a`, `socks5h`); false when they are resolved here (`socks4`, `socks5`). */
  readonly remoteDns: boolean;
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  /** The proxy's port (1080 when the URL gives none). */
  readonly port: number;
  /** The SOCKS5 username (RFC 1929) or the SOCKS4 user id, percent-decoded; null for none. */
  readonly username: string | null;
  /** The SOCKS5 password, percent-decoded; null for none. */
  readonly password: string | null;
  /** `scheme://host:port`, without credentials: what messages show. */
  readonly displayName: string;
}

/** The SOCKS schemes understood, and what they mean. */
const SCHEMES: Readonly<Record<string, { version: 4 | 5; remoteDns: boolean }>> = {
  socks4: { version: 4, remoteDns: false },
  socks4a: { version: 4, remoteDns: true },
  socks5: { version: 5, remoteDns: false },
  socks5h: { version: 5, remoteDns: true },
};

/** The default port of a SOCKS proxy. */
export const DEFAULT_SOCKS_PORT = 1080;

/** True for `socks4:`, `socks4a:`, `socks5:` and `socks5h:` (any case, with or without the colon). */
export function isSocksScheme(scheme: string): boolean {
  return Object.hasOwn(SCHEMES, scheme.toLowerCase().replace(/:$/, ''));
}

const SOCKS_FORM = 'expected socks5h://[user:password@]host[:port] (or socks5://, socks4a://, socks4://; port 1080 by default)';

function invalid(option: string, shown: string, reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`${option} is not a valid SOCKS proxy URL (${shown}): ${reason}; ${SOCKS_FORM}`);
}

/** The value as messages show it: anything before an `@` hidden, control characters escaped. */
export function redactProxyValue(text: string): string {
  const at = text.lastIndexOf('@');
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text)?.[0] ?? '';
  const visible = at === -1 ? text : `${scheme}***@${text.slice(at + 1)}`;
  return JSON.stringify(visible.length > 200 ? `${visible.slice(0, 200)}…` : visible);
}

function decode(part: string, option: string, shown: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalid(option, shown, 'bad percent-encoding in the user name or password');
  }
}

/**
 * Reads a SOCKS proxy URL: `socks5h://[user:password@]host[:port]` (also `socks5://`,
 * `socks4a://`, `socks4://`; the port defaults to 1080). Refused rather than guessed at: another
 * scheme, no host, a port outside 1..65535, a path, query or fragment, a password for SOCKS4
 * (which has user ids only), and a user name or password longer than 255 bytes (RFC 1929).
 *
 * @param option - what the value is called in messages (the option or environment variable).
 * @throws `InvalidArgumentError` naming `option`; the message never shows the credentials.
 */
export function parseSocksProxyUrl(proxy: string | URL, option = 'proxy'): SocksProxy {
  const text = typeof proxy === 'string' ? proxy.trim() : proxy instanceof URL ? proxy.href : null;
  if (text === null) throw new InvalidArgumentError(`${option} must be a SOCKS proxy URL (a string or a URL); ${SOCKS_FORM}`);
  const shown = redactProxyValue(text);
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text);
  const scheme = schemeMatch?.[1]?.toLowerCase();
  const kind = scheme === undefined ? undefined : SCHEMES[scheme];
  if (scheme === undefined || kind === undefined) throw invalid(option, shown, 'the scheme must be socks4, socks4a, socks5 or socks5h');
  // The authority as written, `[user:password@]host[:port]`, checked before the WHATWG parser can guess.
  const afterScheme = text.slice((schemeMatch?.[0] ?? '').length);
  const written = afterScheme.slice(0, afterScheme.search(/[/?#]|$/));
  const hostPort = written.slice(written.lastIndexOf('@') + 1);
  const portColon = hostPort.startsWith('[') ? hostPort.indexOf(':', hostPort.indexOf(']')) : hostPort.lastIndexOf(':');
  const hostText = portColon === -1 ? hostPort : hostPort.slice(0, portColon);
  if (hostText === '' || hostText === '[]') throw invalid(option, shown, 'it has no host');
  if (portColon !== -1) {
    const portText = hostPort.slice(portColon + 1);
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw invalid(option, shown, 'the port must be a number from 1 to 65535');
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(option, shown, 'it cannot be parsed as a URL (percent-encode any "/", "@", ":" or "#" in the user name and password)');
  }
  let host = url.hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') throw invalid(option, shown, 'it has no host');
  if (url.port === '0') throw invalid(option, shown, 'the port must be a number from 1 to 65535');
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '' || /[?#]/.test(text)) {
    throw invalid(option, shown, 'a proxy URL has no path, query or fragment');
  }
  const port = url.port === '' ? DEFAULT_SOCKS_PORT : Number(url.port);
  const username = url.username === '' ? null : decode(url.username, option, shown);
  const password = url.password === '' ? null : decode(url.password, option, shown);
  if (kind.version === 4 && password !== null) throw invalid(option, shown, 'SOCKS4 has no passwords, only a user id (use socks5:// or socks5h:// for a username and password)');
  if ((username !== null && Buffer.byteLength(username) > 255) || (password !== null && Buffer.byteLength(password) > 255)) {
    throw invalid(option, shown, 'a SOCKS user name or password is at most 255 bytes');
  }
  const display = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  return { scheme: scheme as SocksProxy['scheme'], version: kind.version, remoteDns: kind.remoteDns, host, port, username, password, displayName: `${scheme}://${display}` };
}

/** Options of {@link SocksEndpointFactory}. */
export interface SocksEndpointOptions {
  /** Verifies `https:` origins (inside the tunnel). Default: core's shared browser-like policy. */
  tlsPolicy?: TLSPolicy;
  /**
   * How the TCP connection to the proxy is opened (local address, family, `lookup`...). `lookup`
   * and `family` also serve the host names `socks5://` and `socks4://` resolve here.
   */
  connectOptions?: ConnectOptions;
}

/**
 * Opens connections to `http:` and `https:` origins through one SOCKS proxy. Give it to core's
 * `HttpAgent.usingEndpointFactory` (the client does so for a `socks…://` `proxy`).
 *
 * - `socks5h://` and `socks4a://` send the host name to the proxy, which resolves it;
 *   `socks5://` and `socks4://` resolve it here (`socks4`: IPv4 only) and send the address.
 * - Credentials in the URL are offered to a SOCKS5 proxy as RFC 1929 username/password (and
 *   "no authentication" too: the proxy chooses); for SOCKS4 the user name is the user id.
 * - A proxy that refuses the credentials fails with a {@link SocksProxyError}
 *   `STRAND_PROXY_AUTH_REQUIRED`; one that refuses the CONNECT with `STRAND_PROXY_TUNNEL_FAILED`
 *   and its `reply` code. Nothing is sent to the origin then. A proxy that cannot be reached is a
 *   `ConnectError` (`ConnectionRefusedError`, `DNSLookupError`) naming the proxy.
 * - `https:` origins get TLS inside the tunnel, verified by `tlsPolicy` against the origin's
 *   host name.
 *
 * Endpoint keys name the origin, the TLS policy and the proxy (with a digest of its credentials),
 * so the pool never hands a tunnel out for another origin, proxy or identity.
 *
 * @example
 * ```ts
 * const agent = HttpAgent.usingEndpointFactory(new SocksEndpointFactory('socks5h://127.0.0.1:1080'));
 * ```
 */
export class SocksEndpointFactory implements EndpointFactory {
  /** The proxy every connection goes through. */
  readonly proxy: SocksProxy;
  /** Part of every endpoint key: the proxy, its connect options and a digest of its credentials. */
  readonly key: string;
  private readonly tcp: TCPEndpoint;
  private readonly tlsPolicy: TLSPolicy;
  private readonly lookup: net.LookupFunction;
  private readonly family: 0 | 4 | 6;

  /** @throws `InvalidArgumentError` for a proxy URL that is not a valid SOCKS URL, or bad connect options. */
  constructor(proxy: SocksProxy | string | URL, options: SocksEndpointOptions = {}) {
    this.proxy = typeof proxy === 'string' || proxy instanceof URL ? parseSocksProxyUrl(proxy) : proxy;
    const connectOptions = options.connectOptions ?? {};
    // The TCP endpoint checks the connect options.
    this.tcp = new TCPEndpoint(this.proxy.host, this.proxy.port, connectOptions);
    this.tlsPolicy = options.tlsPolicy ?? defaultTLSPolicy();
    this.lookup = connectOptions.lookup ?? dns.lookup;
    this.family = connectOptions.family ?? 0;
    let key = `${this.proxy.scheme}${this.tcp.key.slice('http'.length)}`;
    if (this.proxy.username !== null || this.proxy.password !== null) {
      key += ` auth=${createHash('sha256').update(`${this.proxy.username ?? ''}\0${this.proxy.password ?? ''}`).digest('hex').slice(0, 16)}`;
    }
    this.key = key;
  }

  /** A connection through the proxy to `uri`'s origin (TLS to the origin inside it for `https:`). */
  endpointForURI(uri: URL): Endpoint {
    if (uri.protocol !== 'http:' && uri.protocol !== 'https:') throw new InvalidRequestError(`a SOCKS proxy carries only http: and https: URLs here, got ${uri.protocol}`, { url: uri });
    const hostname = uri.hostname;
    if (hostname === '') throw new InvalidRequestError('invalid URL: it has no host', { url: uri });
    const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    const secure = uri.protocol === 'https:';
    const port = uri.port === '' ? (secure ? 443 : 80) : Number(uri.port);
    return new SocksEndpoint(this, host, port, secure);
  }

  /** @internal What the endpoints share. */
  parts(): { tcp: TCPEndpoint; tlsPolicy: TLSPolicy; lookup: net.LookupFunction; family: 0 | 4 | 6 } {
    return { tcp: this.tcp, tlsPolicy: this.tlsPolicy, lookup: this.lookup, family: this.family };
  }
}

/** A connection to one origin through a SOCKS proxy (see {@link SocksEndpointFactory}). */
class SocksEndpoint implements Endpoint {
  readonly key: string;
  private readonly origin: string;
  private readonly authority: string;

  constructor(
    private readonly factory: SocksEndpointFactory,
    private readonly host: string,
    private readonly port: number,
    private readonly secure: boolean,
  ) {
    this.authority = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
    this.origin = `${secure ? 'https' : 'http'}://${this.authority}`;
    this.key = secure ? `${this.origin} tls=${factory.parts().tlsPolicy.id} via ${factory.key}` : `${this.origin} via ${factory.key}`;
  }

  async connect(signal?: AbortSignal, milestones?: ConnectMilestones): Promise<Duplex> {
    const { proxy } = this.factory;
    const { tcp, tlsPolicy } = this.factory.parts();
    if (signal?.aborted === true) throw new CancelledError('request cancelled before connecting', { url: this.origin, cause: signal.reason });
    let destination = this.host;
    if (proxy.version === 4 && net.isIPv6(destination)) {
      throw new InvalidRequestError(`SOCKS4 cannot carry IPv6 addresses: use a socks5:// or socks5h:// proxy for ${this.origin}`, { url: this.origin });
    }
    if (!proxy.remoteDns && net.isIP(destination) === 0) destination = await this.resolve(signal);
    let socket: net.Socket;
    try {
      socket = (await tcp.connect(signal, milestones)) as net.Socket;
    } catch (error) {
      throw atProxy(error, proxy.displayName);
    }
    await this.handshake(socket, destination, signal);
    if (!this.secure) return socket;
    const secure = await startTLS(socket, this.host, this.port, tlsPolicy, this.origin, signal);
    if (milestones !== undefined) milestones.tlsEnd = systemClock.now();
    return secure;
  }

  /** Resolves the origin's host name here (`socks5://`, `socks4://`); SOCKS4 takes IPv4 only. */
  private resolve(signal: AbortSignal | undefined): Promise<string> {
    const { lookup, family } = this.factory.parts();
    const wanted = this.factory.proxy.version === 4 ? 4 : family;
    return new Promise((resolve, reject) => {
      let done = false;
      const onAbort = (): void => finish(new CancelledError('request cancelled while resolving the host name', { url: this.origin, cause: signal?.reason }), null);
      const finish = (error: StrandError | null, address: string | null): void => {
        if (done) return;
        done = true;
        signal?.removeEventListener('abort', onAbort);
        if (error !== null) reject(error);
        else resolve(address as string);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      lookup(this.host, { family: wanted, all: false }, (error, address) => {
        if (error !== null) {
          finish(new DNSLookupError(`could not resolve the host name for the SOCKS proxy to reach: ${error.message}`, { url: this.origin, cause: error }), null);
        } else if (typeof address !== 'string' || net.isIP(address) === 0) {
          finish(new DNSLookupError('could not resolve the host name for the SOCKS proxy to reach: the resolver gave no address', { url: this.origin }), null);
        } else {
          finish(null, address);
        }
      });
    });
  }

  /** Runs the SOCKS handshake over `socket`; destroys it on failure. */
  private handshake(socket: net.Socket, destination: string, signal: AbortSignal | undefined): Promise<void> {
    const { proxy } = this.factory;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | null): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (error === null) {
          resolve();
          return;
        }
        socket.on('error', ignoreError);
        socket.destroy();
        reject(error);
      };
      const onAbort = (): void => finish(new CancelledError('request cancelled during the SOCKS handshake', { url: this.origin, cause: signal?.reason }));
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      const socksProxy: { host: string; port: number; type: 4 | 5; userId?: string; password?: string } = { host: proxy.host, port: proxy.port, type: proxy.version };
      if (proxy.username !== null) socksProxy.userId = proxy.username;
      if (proxy.password !== null) socksProxy.password = proxy.password;
      SocksClient.createConnection({
        command: 'connect',
        proxy: socksProxy,
        destination: { host: destination, port: this.port },
        existing_socket: socket,
        timeout: SOCKS_HANDSHAKE_TIMEOUT,
      }).then(
        () => finish(null),
        // The socks package's error carries its options, credentials included: it is never kept as a cause.
        (error: unknown) => finish(socksError(error instanceof Error ? error.message : String(error), proxy, this.authority, this.origin)),
      );
    });
  }
}

/** The socks package's own bound on a handshake (after TCP), in ms; a shorter connect timeout wins. */
export const SOCKS_HANDSHAKE_TIMEOUT = 30_000;

/** What a SOCKS5 reply code means (RFC 1928 §6). */
const SOCKS5_REPLIES: Readonly<Record<string, { code: number; text: string }>> = {
  Failure: { code: 1, text: 'general SOCKS server failure' },
  NotAllowed: { code: 2, text: 'connection not allowed by the proxy\'s rules' },
  NetworkUnreachable: { code: 3, text: 'network unreachable' },
  HostUnreachable: { code: 4, text: 'host unreachable' },
  ConnectionRefused: { code: 5, text: 'connection refused by the destination' },
  TTLExpired: { code: 6, text: 'TTL expired' },
  CommandNotSupported: { code: 7, text: 'command not supported' },
  AddressNotSupported: { code: 8, text: 'address type not supported' },
};

/** What a SOCKS4 reply code means. */
const SOCKS4_REPLIES: Readonly<Record<string, { code: number; text: string }>> = {
  Failed: { code: 91, text: 'request rejected or failed' },
  Rejected: { code: 92, text: 'rejected: the proxy cannot reach the client\'s identd' },
  RejectedIdent: { code: 93, text: 'rejected: identd reports a different user id' },
};

/**
 * Turns the socks package's failure (a message; its error object holds the credentials and is
 * dropped) into a Strand error naming the proxy and what it said.
 */
function socksError(message: string, proxy: SocksProxy, authority: string, origin: string): StrandError {
  const where = `the SOCKS proxy ${proxy.displayName}`;
  const options = { url: origin };
  const credentials = proxy.username !== null || proxy.password !== null;
  if (message.startsWith('Socks5 Authentication failed')) {
    return new SocksProxyError(`${where} rejected the username and password`, 'auth', null, options);
  }
  if (message.includes('no accepted authentication type')) {
    const hint = credentials ? 'it accepts neither the username and password nor no authentication' : 'it wants credentials: put user:password@ in the proxy URL';
    return new SocksProxyError(`${where} accepts none of the authentication methods offered (${hint})`, 'auth', null, options);
  }
  const rejected5 = /^Socks5 proxy rejected connection - (\w+)/.exec(message);
  if (rejected5 !== null) {
    const reply = SOCKS5_REPLIES[rejected5[1] as string];
    return new SocksProxyError(`${where} refused CONNECT ${authority}: ${reply?.text ?? 'unknown reply'}${reply === undefined ? '' : ` (SOCKS5 reply ${reply.code})`}`, 'refused', reply?.code ?? null, options);
  }
  const rejected4 = /^Socks4 Proxy rejected connection - \((\w+)\)/.exec(message);
  if (rejected4 !== null) {
    const reply = SOCKS4_REPLIES[rejected4[1] as string];
    return new SocksProxyError(`${where} refused CONNECT ${authority}: ${reply?.text ?? 'unknown reply'}${reply === undefined ? '' : ` (SOCKS4 reply ${reply.code})`}`, 'refused', reply?.code ?? null, options);
  }
  if (message === 'Socket closed') return new ConnectError(`${where} closed the connection before the tunnel to ${authority} was open`, options);
  if (message === 'Proxy connection timed out') return new TimeoutError('connect', SOCKS_HANDSHAKE_TIMEOUT, false, options);
  if (/^(?:Received invalid|Socks4 invalid)/.test(message)) {
    return new SocksProxyError(`${where} does not answer as a SOCKS${proxy.version} proxy (${message.replace(/\.$/, '')})`, 'protocol', null, options);
  }
  return new ConnectError(`the SOCKS handshake with ${where.slice(4)} failed: ${message}`, options);
}


function ignoreError(): void {}

brand(SocksEndpointFactory, 'client.SocksEndpointFactory');
