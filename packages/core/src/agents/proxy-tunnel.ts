/**
 * Reaching an HTTP proxy, and a `CONNECT` tunnel through it (RFC 9110 §9.3.6) as an
 * {@link Endpoint}: the pool keeps tunnels like any other connection, keyed by origin and proxy.
 *
 * @packageDocumentation
 */

import { createHash } from 'node:crypto';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { type Clock, systemClock } from '../time/clock.js';
import { type ConnectOptions, type Endpoint, TCPEndpoint, connectError } from '../net/endpoints.js';
import { CancelledError, ConnectError, ConnectionRefusedError, DNSLookupError, InvalidArgumentError, StrandError, type StrandErrorOptions, TimeoutError, redactUrl } from '../errors.js';
import { Headers } from '../message/headers.js';
import { type ParserLimits, type ResponseHead, type ResponseParserHandler, ResponseParser } from '../http1/parser.js';
import { type TLSPolicy, defaultTLSPolicy } from '../net/tls-policy.js';
import { startTLS } from '../net/tls-upgrade.js';
import { escapeForMessage } from '../validate.js';
import { brand } from '../brand.js';

/**
 * An HTTP proxy did not open the `CONNECT` tunnel: it answered with a status other than 2xx
 * (`statusCode`), or with something that is not HTTP (`statusCode` 0, the parse error as
 * `cause`). Nothing was sent to the origin. Code `STRAND_PROXY_AUTH_REQUIRED` when the proxy
 * wants (other) credentials — 407, or 401 as some proxies (tinyproxy) send — and
 * `STRAND_PROXY_TUNNEL_FAILED` otherwise. A proxy of another protocol (SOCKS) passes the code
 * itself in `options.code`.
 */
export class ProxyError extends StrandError {
  /** The proxy's status code, or 0 when it sent no valid response head. */
  readonly statusCode: number;
  /** The proxy's response headers (e.g. `Proxy-Authenticate`), or null. */
  readonly headers: Headers | null;

  constructor(message: string, statusCode: number, headers: Headers | null, options?: StrandErrorOptions & { code?: 'STRAND_PROXY_AUTH_REQUIRED' | 'STRAND_PROXY_TUNNEL_FAILED' }) {
    super(options?.code ?? (statusCode === 407 || statusCode === 401 ? 'STRAND_PROXY_AUTH_REQUIRED' : 'STRAND_PROXY_TUNNEL_FAILED'), message, options);
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

/** The host of a URL as a socket wants it: IPv6 literals without brackets. */
export function socketHost(url: URL): string {
  const host = url.hostname;
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** The port of a URL, or its scheme's default. */
export function urlPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** What a proxy URL looks like, for error messages. */
const PROXY_URL_FORM = 'expected http://host:port or https://host:port (with user:password@ before the host when the proxy wants credentials), or host:port for http://';

/**
 * Parses a proxy URL: `http://[user:password@]host[:port]` or `https://...`, optionally ending
 * in `/`. A value without a scheme (`proxy.local:3128`, `user:pw@proxy.local:3128`) is taken as
 * `http://`, as curl does. The port defaults to 80 (443 for https).
 *
 * Anything else is refused rather than guessed at: another scheme (`socks5://`), a scheme not
 * followed by `//` (`http:/proxy:3128`, `http:proxy` — never read as a host named `http`), no
 * host, a port outside 1..65535, and a path, query or fragment (a proxy URL has none: one is
 * most likely a typo or a PAC file's URL).
 *
 * @param option - what the value is called in messages: the option or environment variable.
 * @throws {@link InvalidArgumentError} naming `option` and saying what a valid value looks like
 *   (the message never shows the password).
 */
export function parseProxyUrl(proxy: string | URL, option = 'proxy'): URL {
  let url: URL;
  let shown: string;
  if (proxy instanceof URL) {
    url = new URL(proxy.href);
    shown = `"${escapeForMessage(redactUrl(url))}"`;
  } else if (typeof proxy === 'string') {
    const text = proxy.trim();
    shown = redactProxyText(text);
    url = parseProxyText(text, option, shown);
  } else {
    throw new InvalidArgumentError(`${option} must be a proxy URL or a string, got ${proxy === null ? 'null' : typeof proxy}; ${PROXY_URL_FORM}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidProxyUrl(option, shown, `only http:// and https:// proxies are supported, got ${url.protocol.slice(0, -1)}://`);
  }
  if (url.hostname === '') throw invalidProxyUrl(option, shown, 'it has no host');
  if (url.port === '0') throw invalidProxyUrl(option, shown, 'the port must be a number from 1 to 65535');
  if (url.pathname !== '/' || /[?#]/.test(url.href)) throw invalidProxyUrl(option, shown, 'a proxy URL has no path, query or fragment');
  return url;
}

function invalidProxyUrl(option: string, shown: string, reason: string, cause?: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${option} is not a valid proxy URL (${shown}): ${reason}; ${PROXY_URL_FORM}`, cause === undefined ? undefined : { cause });
}

/** The proxy value as shown in messages: printable, short, and with anything before an `@` hidden. */
function redactProxyText(text: string): string {
  const at = text.lastIndexOf('@');
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text)?.[0] ?? '';
  const visible = at === -1 ? text : `${scheme}***@${text.slice(at + 1)}`;
  return `"${escapeForMessage(visible)}"`;
}

/** Parses a proxy URL given as text; checks its authority before the WHATWG parser can guess. */
function parseProxyText(text: string, option: string, shown: string): URL {
  if (text === '') throw invalidProxyUrl(option, shown, 'it is empty');
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(text)?.[0];
  let absolute: string;
  if (scheme !== undefined && text.startsWith('//', scheme.length)) {
    absolute = text;
  } else if (scheme !== undefined && /^https?:$/i.test(scheme)) {
    // `http:/proxy:3128`, `http:proxy`, `http:3128`: never a host named `http`.
    const rest = text.slice(scheme.length);
    throw invalidProxyUrl(option, shown, /^\d+(?:[/?#]|$)/.test(rest) ? 'it has no host' : `"${scheme}" must be followed by "//"`);
  } else if (scheme !== undefined && !/^\d*(?:[/?#]|$)/.test(text.slice(scheme.length)) && !/^[^/?#]*@/.test(text)) {
    // `socks5:proxy`: a scheme without `//` (in host:port, only a port follows the colon).
    throw invalidProxyUrl(option, shown, `"${escapeForMessage(scheme)}" must be followed by "//"`);
  } else {
    absolute = `http://${text}`;
  }
  // The authority, as written: `[user:password@]host[:port]`.
  const afterSlashes = absolute.slice(absolute.indexOf('//') + 2);
  const authorityEnd = afterSlashes.search(/[/?#]/);
  const authority = authorityEnd === -1 ? afterSlashes : afterSlashes.slice(0, authorityEnd);
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const portColon = hostPort.startsWith('[') ? hostPort.indexOf(':', hostPort.indexOf(']')) : hostPort.lastIndexOf(':');
  const host = portColon === -1 ? hostPort : hostPort.slice(0, portColon);
  if (host === '' || host === '[]') throw invalidProxyUrl(option, shown, 'it has no host');
  if (portColon !== -1) {
    const port = hostPort.slice(portColon + 1);
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      const hint = text.includes('@') ? ' (percent-encode any "/", "@", ":" or "#" in the user name and password)' : '';
      throw invalidProxyUrl(option, shown, `the port must be a number from 1 to 65535${hint}`);
    }
  }
  try {
    return new URL(absolute);
  } catch (cause) {
    throw invalidProxyUrl(option, shown, 'it cannot be parsed as a URL', cause);
  }
}

/** `Basic base64(user:password)` from the proxy URL's credentials (percent-decoded), or null when it has none. */
export function proxyAuthorization(proxy: URL): string | null {
  if (proxy.username === '' && proxy.password === '') return null;
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return `Basic ${Buffer.from(`${decode(proxy.username)}:${decode(proxy.password)}`, 'utf8').toString('base64')}`;
}

/** Options of {@link ProxyConnector}. */
export interface ProxyConnectorOptions {
  /** Verifies an `https:` proxy. Default: the shared browser-like policy. */
  proxyTlsPolicy?: TLSPolicy;
  /**
   * How the TCP connection to the proxy is opened (local address, family, resolver...). Its
   * `connectTimeout` (with its `clock`) bounds everything {@link ProxyConnector.connect} and a
   * {@link TunnelEndpoint} do: TCP, TLS to an `https:` proxy, and for a tunnel the CONNECT
   * exchange and TLS to the origin too.
   */
  connectOptions?: ConnectOptions;
}

/**
 * Opens connections to one proxy: TCP, then TLS for an `https:` proxy (verified by
 * `proxyTlsPolicy` against the proxy's host name). Its `key` names the proxy and a digest of its
 * credentials (connections authenticated differently are never shared; the key shows no secret).
 */
export class ProxyConnector {
  /** The proxy URL, credentials included. */
  readonly proxy: URL;
  /** The proxy as shown in messages: scheme, host and port. */
  readonly displayName: string;
  /** Identifies the proxy (scheme, host, port and credentials' hash): part of every pool key through it. */
  readonly key: string;
  /** `Basic ...` from the proxy URL's credentials, or null. */
  readonly authorization: string | null;
  /** Longest time to open a connection, or a tunnel, through this proxy, in ms (`connectOptions.connectTimeout`; default Infinity). */
  readonly connectTimeout: number;
  private readonly clock: Clock;
  private readonly tcp: TCPEndpoint;
  private readonly tlsPolicy: TLSPolicy;

  constructor(proxy: URL, options: ProxyConnectorOptions = {}) {
    this.proxy = proxy;
    this.displayName = `${proxy.protocol}//${proxy.host}`;
    this.authorization = proxyAuthorization(proxy);
    this.tlsPolicy = options.proxyTlsPolicy ?? defaultTLSPolicy();
    const connectOptions = options.connectOptions ?? {};
    // The TCP endpoint validates the connect options (connectTimeout and clock included).
    this.tcp = new TCPEndpoint(socketHost(proxy), urlPort(proxy), connectOptions);
    this.connectTimeout = connectOptions.connectTimeout ?? Infinity;
    this.clock = connectOptions.clock ?? systemClock;
    let key = proxy.protocol === 'https:' ? `${this.tcp.key.replace(/^http:/, 'https:')} tls=${this.tlsPolicy.id}` : this.tcp.key;
    if (this.authorization !== null) key += ` auth=${createHash('sha256').update(this.authorization).digest('hex').slice(0, 16)}`;
    this.key = key;
  }

  /**
   * Opens a connection to the proxy (for `https:` proxies: handshaken and verified), within
   * {@link connectTimeout}: a connect {@link TimeoutError} when it runs out.
   */
  connect(signal?: AbortSignal): Promise<net.Socket> {
    return this.withinConnectTimeout(signal, (bounded) => this.open(bounded));
  }

  /** @internal {@link connect} without the connect timeout: for a caller that bounds a longer run. */
  async open(signal: AbortSignal | undefined): Promise<net.Socket> {
    let socket: net.Socket;
    try {
      socket = (await this.tcp.connect(signal)) as net.Socket;
    } catch (error) {
      throw atProxy(error, this.displayName);
    }
    if (this.proxy.protocol !== 'https:') return socket;
    return startTLS(socket, socketHost(this.proxy), urlPort(this.proxy), this.tlsPolicy, this.displayName, signal);
  }

  /**
   * @internal Runs `work` with a signal that also aborts when {@link connectTimeout} runs out;
   * a run cut short that way rejects with a connect {@link TimeoutError} naming `url`.
   */
  withinConnectTimeout<T>(signal: AbortSignal | undefined, work: (signal: AbortSignal | undefined) => Promise<T>, url = this.displayName): Promise<T> {
    const timeout = this.connectTimeout;
    if (timeout === Infinity) return work(signal);
    const clock = this.clock;
    const controller = new AbortController();
    let timedOut: TimeoutError | null = null;
    const timer = clock.setTimeout(() => {
      timedOut = new TimeoutError('connect', timeout, false, { url });
      controller.abort(timedOut);
    }, timeout);
    return work(signal === undefined ? controller.signal : AbortSignal.any([signal, controller.signal])).then(
      (value) => {
        clock.clearTimeout(timer);
        return value;
      },
      (error: unknown) => {
        clock.clearTimeout(timer);
        throw timedOut ?? error;
      },
    );
  }
}


/** Options of {@link TunnelEndpoint}. */
export interface TunnelEndpointOptions {
  /** Verifies the origin inside the tunnel (an `https:` origin). Default: the shared browser-like policy. */
  tlsPolicy?: TLSPolicy;
  /** Limits for the proxy's answer to CONNECT. Default 16 KiB / 128 fields. */
  limits?: ParserLimits;
}

/**
 * A failure to reach a proxy itself, said so: the same class and `code` (so retries and exit
 * codes are unchanged), with a message that names the proxy, since a refused or unresolvable
 * proxy (a stale `ALL_PROXY`, say) otherwise reads like the target server's fault. Other errors
 * (timeouts, cancellation, TLS) are returned as they are. `proxy` is the proxy's display name,
 * without credentials.
 */
export function atProxy(error: unknown, proxy: string): unknown {
  if (!(error instanceof ConnectError)) return error;
  const cause = error.cause instanceof Error ? error.cause.message : error.message;
  const options = { url: proxy, cause: error };
  if (error instanceof ConnectionRefusedError) return new ConnectionRefusedError(`the proxy ${proxy} refused the connection (is it running, and is that its port?): ${cause}`, options);
  if (error instanceof DNSLookupError) return new DNSLookupError(`could not resolve the proxy's host name (${proxy}): ${cause}`, options);
  if (error.constructor !== ConnectError) return error;
  return new ConnectError(`could not connect to the proxy ${proxy}: ${cause}`, options, error.code);
}

/**
 * A connection to `host:port` through an HTTP proxy's `CONNECT` tunnel. `connect()` opens the
 * proxy connection, sends `CONNECT host:port` (with `Proxy-Authorization` from the proxy URL's
 * credentials, and only there), reads the proxy's answer, and for a `secure` origin runs TLS
 * to the origin inside the tunnel, verifying the origin's certificate and name (`tlsPolicy`) —
 * not the proxy's.
 *
 * A proxy that answers anything but 2xx fails with a {@link ProxyError} carrying its status
 * (407 or 401: `STRAND_PROXY_AUTH_REQUIRED`), and nothing is sent to the origin. A proxy that cannot be
 * reached, or closes before answering, is a {@link ConnectError}; a failed TLS handshake with
 * the origin a `TLSError`.
 *
 * The `key` names the origin and the proxy (and a digest of its credentials), so the pool keeps
 * tunnels apart per proxy and never hands a tunnel out for a direct connection.
 */
export class TunnelEndpoint implements Endpoint {
  /** The pool key: the origin and the proxy it is reached through. */
  readonly key: string;
  private readonly connector: ProxyConnector;
  private readonly tlsPolicy: TLSPolicy;
  private readonly limits: ParserLimits | undefined;
  private readonly authority: string;

  /**
   * @param connector - how to reach the proxy.
   * @param host - the origin's host name or IP literal (IPv6 without brackets).
   * @param port - the origin's port.
   * @param secure - run TLS to the origin inside the tunnel (`https:` origins).
   */
  constructor(
    connector: ProxyConnector,
    readonly host: string,
    readonly port: number,
    readonly secure: boolean,
    options: TunnelEndpointOptions = {},
  ) {
    this.connector = connector;
    this.tlsPolicy = options.tlsPolicy ?? defaultTLSPolicy();
    this.limits = options.limits;
    this.authority = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
    this.key = secure ? `https://${this.authority} tls=${this.tlsPolicy.id} via ${connector.key}` : `http://${this.authority} via ${connector.key}`;
  }

  /** Opens the tunnel (and TLS inside it), all within the connector's `connectTimeout`. */
  connect(signal?: AbortSignal): Promise<Duplex> {
    const origin = `${this.secure ? 'https' : 'http'}://${this.authority}`;
    return this.connector.withinConnectTimeout(
      signal,
      async (bounded): Promise<Duplex> => {
        const socket = await this.connector.open(bounded);
        await this.handshake(socket, bounded);
        if (!this.secure) return socket;
        return startTLS(socket, this.host, this.port, this.tlsPolicy, origin, bounded);
      },
      origin,
    );
  }

  /**
   * Sends CONNECT and reads the answer; resolves when the tunnel is open. Destroys the socket otherwise.
   *
   * The answer is read in paused mode (`'readable'` and `read()`), never by `'data'`: the socket
   * must not be left flowing with no listener, or what the proxy sends right after its 2xx head
   * would be emitted to no one. Bytes read past the end of the head are put back (`unshift`)
   * before the promise resolves, so whoever takes the tunnel next — `tls.connect({ socket })`,
   * which reads a socket's buffered bytes first, or an HTTP connection, which drains them when it
   * attaches — receives them before anything read later.
   */
  private handshake(socket: net.Socket, signal: AbortSignal | undefined): Promise<void> {
    const proxyName = this.connector.displayName;
    const where = `the proxy ${proxyName}`;
    const auth = this.connector.authorization;
    return new Promise<void>((resolve, reject) => {
      let head: ResponseHead | null = null;
      let complete = false;
      let settled = false;
      const handler: ResponseParserHandler = {
        onInformational() {},
        onHead(h) {
          head = h;
        },
        onBody() {},
        onTrailers() {},
        onComplete() {
          complete = true;
        },
      };
      const parser = new ResponseParser(handler, this.limits);
      parser.reset('CONNECT');
      /** Settles once: `rest` is what was read past the end of a 2xx head, handed back to the socket. */
      const finish = (error: Error | null, rest: Buffer | null = null): void => {
        if (settled) return;
        settled = true;
        socket.removeListener('readable', onReadable);
        socket.removeListener('error', onError);
        socket.removeListener('close', onClose);
        signal?.removeEventListener('abort', onAbort);
        if (error === null) {
          if (rest !== null) socket.unshift(rest);
          resolve();
        } else {
          socket.on('error', ignoreError);
          socket.destroy();
          reject(error);
        }
      };
      const onChunk = (chunk: Buffer): void => {
        let consumed: number;
        try {
          consumed = parser.execute(chunk);
        } catch (cause) {
          finish(new ProxyError(`${where} sent an invalid answer to CONNECT ${this.authority}`, 0, null, { url: proxyName, cause }));
          return;
        }
        const answer = head;
        if (answer === null) return;
        if (answer.code < 200 || answer.code >= 300) {
          // Whatever its body says, the tunnel is refused; the connection is closed.
          const phrase = answer.phrase === '' ? '' : ` ${answer.phrase}`;
          const hint = answer.code === 407 || answer.code === 401 ? (auth === null ? ' (the proxy wants credentials: put them in the proxy URL)' : ' (the proxy rejected the credentials)') : '';
          finish(new ProxyError(`${where} refused CONNECT ${this.authority}: ${answer.code}${phrase}${hint}`, answer.code, Headers.fromRaw(answer.rawHeaders), { url: proxyName }));
          return;
        }
        // A 2xx to CONNECT has no content (RFC 9110 §9.3.6): the parser completes at the end of
        // the head, and every byte after it is the tunnel's.
        if (complete) finish(null, consumed < chunk.length ? chunk.subarray(consumed) : null);
      };
      const onReadable = (): void => {
        let chunk: Buffer | null;
        while (!settled && (chunk = socket.read() as Buffer | null) !== null) onChunk(chunk);
      };
      const onError = (error: NodeJS.ErrnoException): void => finish(connectError(error, proxyName));
      const onClose = (): void => finish(new ConnectError(`${where} closed the connection before answering CONNECT ${this.authority}`, { url: proxyName }));
      const onAbort = (): void => finish(new CancelledError('request cancelled while opening the proxy tunnel', { url: proxyName, cause: signal?.reason }));
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      socket.on('readable', onReadable);
      socket.once('error', onError);
      socket.once('close', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.write(`CONNECT ${this.authority} HTTP/1.1\r\nHost: ${this.authority}\r\n${auth === null ? '' : `Proxy-Authorization: ${auth}\r\n`}\r\n`, 'latin1');
    });
  }
}

function ignoreError(): void {}

brand(ProxyError, 'core.ProxyError');
