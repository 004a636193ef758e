/**
 * HTTP/2 sessions per origin: streams are multiplexed on a session up to the peer's
 * `SETTINGS_MAX_CONCURRENT_STREAMS`, another session is opened when every one is full, and an
 * origin whose TLS handshake did not choose `h2` is remembered as HTTP/1.1.
 *
 * @packageDocumentation
 */

import * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { CancelledError, ClosedError, ConnectError, type StrandError, TimeoutError } from '../errors.js';
import type { Endpoint } from '../net/endpoints.js';
import type { ConnectMilestones } from '../message/exchange.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import { diagnostics } from '../diagnostics.js';
import { H2Session, type SessionOwner } from './session.js';

/** What connecting to an origin gave: a session, or a TLS socket on which the server chose HTTP/1.1 (null for the requests that shared the attempt). */
export type Connected = { readonly kind: 'h2'; readonly session: H2Session } | { readonly kind: 'http1'; readonly socket: Duplex | null };

/** Options of {@link H2SessionPool}. */
export interface H2SessionPoolOptions {
  readonly clock: Clock;
  /** Idle sessions are closed after this many ms (Infinity: never). */
  readonly idleTimeout: number;
  /** A session idle this long (ms) is checked with a PING before it takes a stream (Infinity: never). */
  readonly pingAfterIdle: number;
  /** Most sessions opened to one origin; past it, streams wait in the least busy session. */
  readonly maxSessionsPerOrigin: number;
  /** `SETTINGS_MAX_HEADER_LIST_SIZE` we announce (bounds response heads). */
  readonly maxHeaderListSize: number;
  /** Most header fields accepted in a response head. */
  readonly maxHeaderListPairs: number;
  /** Our `SETTINGS_INITIAL_WINDOW_SIZE`: body bytes a stream may receive ahead of its reader. */
  readonly streamWindowSize: number;
  /** The session's receive window: body bytes all its streams together may receive ahead of their readers. */
  readonly sessionWindowSize: number;
}

/** What one request asks of {@link H2SessionPool.acquire}. */
export interface SessionRequest {
  /** The request URL (for errors and the session's authority). */
  readonly url: URL;
  readonly signal: AbortSignal | undefined;
  /** Longest wait for a new session (TCP, TLS and the peer's SETTINGS), ms. */
  readonly connectTimeout: number;
  /** Connect milestones (DNS, TCP, TLS) are recorded here. */
  readonly milestones: ConnectMilestones | undefined;
  /** Told when a new session starts opening and when it is ready. */
  readonly onConnect: ((phase: 'start' | 'end', now: number) => void) | undefined;
}

/** The sessions of one origin (endpoint key). */
interface Origin {
  readonly sessions: H2Session[];
  /** A session being opened; requests that find no room wait for it rather than open their own. */
  connecting: Promise<Connected> | null;
}

/** Origins remembered as HTTP/1.1 (their TLS handshake chose it), most recent last. */
const MAX_HTTP1_ORIGINS = 1000;

/**
 * The per-origin session pool of an `Http2Agent`.
 *
 * States: `open` -> `closed` ({@link close} / {@link destroy}: no new session; later acquires
 * fail with a {@link ClosedError}).
 */
export class H2SessionPool implements SessionOwner {
  private readonly origins = new Map<string, Origin>();
  private readonly http1Origins = new Map<string, true>();
  private readonly options: H2SessionPoolOptions;
  private state: 'open' | 'closed' = 'open';

  constructor(options: H2SessionPoolOptions) {
    this.options = options;
  }

  /** True when connecting to `key` negotiated HTTP/1.1 before. */
  isHttp1(key: string): boolean {
    return this.http1Origins.has(key);
  }

  /** A session of `key` with room for a stream now, its slot reserved ({@link H2Session.reserve}), or null. */
  take(key: string): H2Session | null {
    const origin = this.origins.get(key);
    if (origin === undefined) return null;
    const { pingAfterIdle, clock } = this.options;
    const now = pingAfterIdle === Infinity ? 0 : clock.now();
    for (const session of origin.sessions) if (session.available && (pingAfterIdle === Infinity || !session.idleFor(pingAfterIdle, now))) return session.reserve();
    return null;
  }

  /** A session of `key` with room, idle for `pingAfterIdle` or more: to be checked with a PING before use. */
  private stale(key: string): H2Session | null {
    const { pingAfterIdle, clock } = this.options;
    const origin = this.origins.get(key);
    if (origin === undefined || pingAfterIdle === Infinity) return null;
    const now = clock.now();
    for (const session of origin.sessions) if (session.available && session.idleFor(pingAfterIdle, now)) return session;
    return null;
  }

  /** Sessions per origin key and the streams they carry, for tests and stats. */
  stats(): Record<string, { sessions: number; streams: number }> {
    const result: Record<string, { sessions: number; streams: number }> = {};
    for (const [key, origin] of this.origins) {
      let streams = 0;
      for (const session of origin.sessions) streams += session.active;
      result[key] = { sessions: origin.sessions.length, streams };
    }
    return result;
  }

  /**
   * A session of `endpoint` with room for one more stream (its slot reserved): one in the pool,
   * the one being opened, or a new one. Resolves with `{ kind: 'http1' }` when the server chose HTTP/1.1.
   */
  async acquire(endpoint: Endpoint, req: SessionRequest): Promise<Connected> {
    for (;;) {
      if (this.state === 'closed') throw new ClosedError('the HTTP/2 session pool is closed', { url: req.url });
      if (this.http1Origins.has(endpoint.key)) return { kind: 'http1', socket: null };
      const available = this.take(endpoint.key);
      if (available !== null) return { kind: 'h2', session: available };
      const stale = this.stale(endpoint.key);
      if (stale !== null) {
        // Idle for a while: its peer may be gone without a word (a NAT, a restart). One PING tells;
        // a session that does not answer within the connect timeout is destroyed, and we look again.
        await raceSignal(stale.checkAlive(req.connectTimeout), req);
        continue;
      }
      let origin = this.origins.get(endpoint.key);
      if (origin === undefined) {
        origin = { sessions: [], connecting: null };
        this.origins.set(endpoint.key, origin);
      }
      if (origin.connecting === null && origin.sessions.length >= this.options.maxSessionsPerOrigin) {
        // At the cap: the least busy session queues the stream (nghttp2 holds it until a slot frees).
        let least: H2Session | null = null;
        for (const session of origin.sessions) if (session.isOpen && (least === null || session.active < least.active)) least = session;
        if (least !== null) return { kind: 'h2', session: least.reserve() };
      }
      if (origin.connecting !== null) {
        // Share the attempt under way; then look again (it may be full already, or HTTP/1.1).
        await raceSignal(origin.connecting, req);
        continue;
      }
      const attempt = this.connect(endpoint, origin, req);
      origin.connecting = attempt;
      const clear = (): void => {
        if (origin.connecting === attempt) origin.connecting = null;
        // An attempt that failed, or found HTTP/1.1, leaves no empty record behind.
        if (origin.connecting === null && origin.sessions.length === 0 && this.origins.get(endpoint.key) === origin) this.origins.delete(endpoint.key);
      };
      attempt.then(clear, clear);
      try {
        // The socket of an HTTP/1.1 answer goes to the request that opened it.
        return await raceSignal(attempt, req);
      } catch (error) {
        // Cancelled while connecting: the slot is given back, a socket nobody will use is closed.
        attempt.then((connected) => {
          if (connected.kind === 'http1') connected.socket?.destroy();
          else connected.session.unreserve();
        }, ignore);
        throw error;
      }
    }
  }

  /** Closes every session gracefully (streams in flight finish); no new ones are opened. */
  close(): void {
    this.state = 'closed';
    for (const origin of this.origins.values()) for (const session of origin.sessions.slice()) session.close();
  }

  /** Closes every session now; streams in flight fail. */
  destroy(): void {
    this.state = 'closed';
    for (const origin of this.origins.values()) for (const session of origin.sessions.slice()) session.destroy();
  }

  sessionRetired(session: H2Session): void {
    if (diagnostics.connectionClosed.hasSubscribers) diagnostics.connectionClosed.publish({ key: session.key });
    const origin = this.origins.get(session.key);
    if (origin === undefined) return;
    const index = origin.sessions.indexOf(session);
    if (index >= 0) origin.sessions.splice(index, 1);
    if (origin.sessions.length === 0 && origin.connecting === null) this.origins.delete(session.key);
  }

  /** Opens a socket to `endpoint` and, unless the server chose HTTP/1.1, an HTTP/2 session on it, waiting for the peer's SETTINGS. */
  private async connect(endpoint: Endpoint, origin: Origin, req: SessionRequest): Promise<Connected> {
    const { clock } = this.options;
    const url = req.url.href;
    const controller = new AbortController();
    let timer: TimerHandle | null = null;
    let timedOut = false;
    const deadline = new Promise<never>((_resolve, reject) => {
      if (req.connectTimeout === Infinity) return;
      timer = clock.setTimeout(() => {
        timer = null;
        timedOut = true;
        controller.abort();
        reject(new TimeoutError('connect', req.connectTimeout, false, { url }));
      }, req.connectTimeout);
    });
    deadline.catch(ignore);
    req.onConnect?.('start', clock.now());
    const connectParams = diagnostics.beforeConnect.hasSubscribers || diagnostics.connected.hasSubscribers || diagnostics.connectError.hasSubscribers ? { key: endpoint.key, url } : null;
    if (connectParams !== null && diagnostics.beforeConnect.hasSubscribers) diagnostics.beforeConnect.publish({ connectParams });
    try {
      let socket: Duplex;
      try {
        socket = await Promise.race([endpoint.connect(controller.signal, req.milestones), deadline]);
      } catch (error) {
        if (timedOut) throw new TimeoutError('connect', req.connectTimeout, false, { url });
        throw error;
      }
      if (connectParams !== null && diagnostics.connected.hasSubscribers) diagnostics.connected.publish({ connectParams, socket });
      const alpn = (socket as Partial<TLSSocket>).alpnProtocol;
      if (typeof alpn === 'string' || alpn === false) {
        if (alpn !== 'h2') {
          this.rememberHttp1(endpoint.key);
          req.onConnect?.('end', clock.now());
          return { kind: 'http1', socket };
        }
      }
      const session = await Promise.race([this.startSession(socket, req.url), deadline]).catch((error: unknown) => {
        socket.destroy();
        throw timedOut ? new TimeoutError('connect', req.connectTimeout, false, { url }) : error;
      });
      const pooled = new H2Session(endpoint.key, session, this, clock, this.options.idleTimeout);
      if (this.state === 'closed') {
        pooled.destroy();
        throw new ClosedError('the HTTP/2 session pool is closed', { url });
      }
      origin.sessions.push(pooled);
      if (!this.origins.has(endpoint.key)) this.origins.set(endpoint.key, origin);
      req.onConnect?.('end', clock.now());
      return { kind: 'h2', session: pooled.reserve() };
    } catch (error) {
      if (connectParams !== null && diagnostics.connectError.hasSubscribers) diagnostics.connectError.publish({ connectParams, error });
      throw error;
    } finally {
      if (timer !== null) clock.clearTimeout(timer);
    }
  }

  /** An HTTP/2 session on `socket`, once the peer's SETTINGS arrived (so its stream limit is known). */
  private startSession(socket: Duplex, url: URL): Promise<http2.ClientHttp2Session> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(url.origin, {
        createConnection: () => socket,
        settings: { enablePush: false, maxHeaderListSize: this.options.maxHeaderListSize, initialWindowSize: this.options.streamWindowSize },
        maxHeaderListPairs: this.options.maxHeaderListPairs,
      });
      const settle = (error: StrandError | null): void => {
        session.removeListener('remoteSettings', onSettings);
        session.removeListener('error', onError);
        session.removeListener('close', onClose);
        if (error === null) {
          resolve(session);
          return;
        }
        session.on('error', ignore);
        session.destroy();
        reject(error);
      };
      const onSettings = (): void => {
        // The session window starts at 64 KiB whatever the settings say (RFC 9113 §6.9.2): widen it once.
        if (this.options.sessionWindowSize > 65_535) session.setLocalWindowSize(this.options.sessionWindowSize);
        settle(null);
      };
      const onError = (error: Error): void => settle(new ConnectError(`the HTTP/2 session could not be opened: ${error.message}`, { url: url.href, cause: error }));
      const onClose = (): void => settle(new ConnectError('the connection closed before the server sent its HTTP/2 settings', { url: url.href }));
      session.once('remoteSettings', onSettings);
      session.once('error', onError);
      session.once('close', onClose);
    });
  }

  private rememberHttp1(key: string): void {
    this.http1Origins.delete(key);
    this.http1Origins.set(key, true);
    if (this.http1Origins.size > MAX_HTTP1_ORIGINS) {
      const oldest = this.http1Origins.keys().next();
      if (oldest.done !== true) this.http1Origins.delete(oldest.value);
    }
  }
}

/** `promise`, or a {@link CancelledError} as soon as the request's signal aborts (the shared attempt goes on for the others). */
function raceSignal<T>(promise: Promise<T>, req: SessionRequest): Promise<T> {
  const signal = req.signal;
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(new CancelledError('request cancelled before connecting', { url: req.url.href, cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new CancelledError('request cancelled while connecting', { url: req.url.href, cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function ignore(): void {}
