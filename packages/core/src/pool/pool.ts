import type { Duplex } from 'node:stream';
import { type Clock, type TimerHandle, systemClock } from '../time/clock.js';
import type { Endpoint } from '../net/endpoints.js';
import type { ConnectMilestones } from '../message/exchange.js';
import { CancelledError, ClosedError, InvalidArgumentError, type StrandError, TimeoutError } from '../errors.js';
import { type ConnectionOwner, HTTP11Connection } from '../http1/connection.js';
import type { ParserLimits } from '../http1/parser.js';
import type { PreparedRequest } from '../http1/serializer.js';
import { rejectUnknownOptions } from '../validate.js';
import { brand } from '../brand.js';
import { diagnostics } from '../diagnostics.js';

/** Options of {@link HTTPConnectionPool}. */
export interface HTTPConnectionPoolOptions {
  /** Keep connections open between requests. Default true. */
  persistent?: boolean;
  /** Idle connections kept per endpoint; more are closed. Default 256 (Node's `maxFreeSockets`). */
  maxPersistentPerHost?: number;
  /** Connections open at once per endpoint (in use or connecting); further requests wait in a FIFO queue. Default Infinity. */
  maxConnectionsPerHost?: number;
  /**
   * How long an idle connection is kept, in ms. Default 30 s. A server's `Keep-Alive: timeout=N`
   * shortens it to N seconds less a margin of one second, so a request never races the server
   * closing the socket.
   */
  cachedConnectionTimeout?: number;
  /**
   * Retry a request once, transparently, when it failed on a *reused* connection before any
   * response byte arrived, if the method is idempotent and the body can be replayed (the server
   * most likely closed the idle connection as the request was sent). Default true.
   */
  retryAutomatically?: boolean;
  /** The clock for idle expiry and queue timeouts. Default: the system clock. */
  clock?: Clock;
  /**
   * HTTP/1.1 pipelining: how many requests a connection may carry at once (default 1, none, as
   * undici's). Above 1, an idempotent request without a body that finds no idle connection and
   * no room for a new one (`maxConnectionsPerHost`) is written on a busy connection behind the
   * requests already there, up to this many, instead of waiting in the queue. Responses come in
   * order, so a slow response (or a body nobody reads) holds up the ones behind it: that
   * head-of-line blocking is the price. Requests with a body, non-idempotent ones and
   * `Expect: 100-continue` are never pipelined; they wait for a connection of their own. When a
   * connection closes with pipelined requests unanswered, those are sent again once (they were
   * idempotent; `retryAutomatically` must be on, as it is by default) and this pool stops
   * pipelining to that origin. A server that closes mid-pipeline may reset the connection before
   * the answers it did send are read, so on a pipelining pool the automatic retry also covers a
   * connection's first request.
   */
  pipelining?: number;
}

/** Connection counts of one endpoint, from {@link HTTPConnectionPool.stats}. */
export interface PoolHostStats {
  /** Connections open or being opened. */
  open: number;
  /** Open connections waiting in the pool for a request. */
  idle: number;
  /** Open connections carrying a request (or being opened for one). */
  inUse: number;
  /** Requests waiting for a connection because of `maxConnectionsPerHost`. */
  queued: number;
}

/** What a caller of {@link HTTPConnectionPool.acquire} passes. */
export interface AcquireOptions {
  /** Parser limits for a connection opened for this request. */
  limits?: ParserLimits | undefined;
  /** Cancels the wait for a connection (queued or connecting). */
  signal?: AbortSignal | undefined;
  /** Longest wait in the queue, ms. */
  queueTimeout?: number | undefined;
  /** Longest connect (TCP + TLS), ms. */
  connectTimeout?: number | undefined;
  /** URL for error messages. */
  url?: string | undefined;
  /** Called when a new connection starts and ends opening (for timings). */
  onConnect?: ((phase: 'start' | 'end', now: number) => void) | undefined;
  /** Where the endpoint records DNS, TCP and TLS milestones of a new connection. */
  milestones?: ConnectMilestones | undefined;
  /**
   * The request the connection is for, when it could be pipelined: a queued request may then be
   * given a busy connection with room (see {@link HTTPConnectionPoolOptions.pipelining}), on
   * which the caller must start it at once (in the promise's reaction).
   */
  pipelineRequest?: PreparedRequest | undefined;
}

const MARGIN_MS = 1000;
/** Most endpoints a pool remembers as not to be pipelined to (beyond that, a broken one is only retried per request). */
const MAX_NO_PIPELINING = 4096;

interface Waiter {
  readonly endpoint: Endpoint;
  readonly options: AcquireOptions;
  readonly resolve: (connection: HTTP11Connection) => void;
  readonly reject: (error: StrandError) => void;
  timer: TimerHandle | null;
  done: boolean;
  cleanup?: () => void;
}

/** Book-keeping for one endpoint key. */
class HostState {
  /** Idle connections, most recently used last (handed out LIFO so cold ones expire). */
  readonly idle: HTTP11Connection[] = [];
  /** Open connections (idle or busy), for pipelining onto a busy one; only kept when the pool pipelines. */
  readonly connections: HTTP11Connection[] = [];
  /** Connections open or connecting. */
  open = 0;
  /** FIFO of waiting requests; `head` is the index of the first live one. */
  readonly waiters: (Waiter | null)[] = [];
  head = 0;

  get queued(): number {
    let n = 0;
    for (let i = this.head; i < this.waiters.length; i++) if (this.waiters[i] != null) n++;
    return n;
  }

  shiftWaiter(): Waiter | null {
    while (this.head < this.waiters.length) {
      const waiter = this.waiters[this.head];
      this.waiters[this.head++] = null;
      if (waiter !== null && waiter !== undefined && !waiter.done) return waiter;
    }
    this.waiters.length = 0;
    this.head = 0;
    return null;
  }
}

/**
 * Keeps connections per endpoint and hands an idle one out before opening another (Twisted's
 * `HTTPConnectionPool`). Rules:
 *
 * - A connection returns here only after its response was read to the end; one the server
 *   closed, or that received stray bytes, is dropped, never handed out.
 * - Idle connections beyond `maxPersistentPerHost` are closed, and each is closed after
 *   `cachedConnectionTimeout` (or the server's shorter `Keep-Alive: timeout`).
 * - At most `maxConnectionsPerHost` connections per endpoint; later requests queue in order, and
 *   a request cancelled while queued leaves the queue at once. With `pipelining` above 1, an
 *   idempotent request without a body goes behind the requests of a busy connection instead.
 * - Idle connections never keep the process alive (as with Node's `http.Agent` and undici): a
 *   socket is `unref()`ed when it goes idle here and `ref()`ed again when it is taken for a
 *   request, so a script whose last request is done exits at once instead of after
 *   `cachedConnectionTimeout`. A connection being opened or carrying a request (until its body
 *   was read to the end), and so a request queued for one, does keep the process alive. The
 *   pool's timers (idle expiry, queue and connect timeouts) never do: the system clock's timers
 *   are unref'd.
 */
export class HTTPConnectionPool implements ConnectionOwner {
  /** Connections are kept for more requests (false: one request each, `Connection: close`). */
  readonly persistent: boolean;
  /** Idle connections kept per endpoint; more are closed. */
  readonly maxPersistentPerHost: number;
  /** Connections open at once per endpoint; more requests wait in a FIFO queue. */
  readonly maxConnectionsPerHost: number;
  /** How long an idle connection is kept, ms (a server's shorter `Keep-Alive: timeout` wins). */
  readonly cachedConnectionTimeout: number;
  /** A request that failed on a reused connection before any response byte is sent again once, when it is safe. */
  readonly retryAutomatically: boolean;
  /** The clock of the pool's timers and of its connections' timeouts. */
  readonly clock: Clock;
  /** Requests a connection may carry at once (1: no pipelining); see {@link HTTPConnectionPoolOptions.pipelining}. */
  readonly pipelining: number;
  private readonly hosts = new Map<string, HostState>();
  private expiryTimer: TimerHandle | null = null;
  private idleCount = 0;
  /** The socket under each connection this pool opened, to unref it while idle and ref it when taken. */
  private readonly sockets = new WeakMap<HTTP11Connection, Duplex>();
  /** Every connection this pool opened that is not closed yet (idle or carrying a request). */
  private readonly live = new Set<HTTP11Connection>();
  /** Connections open or being opened, over all hosts. */
  private openTotal = 0;
  /** Set by close() (or destroy()): no more requests; resolves once every connection is gone. */
  private closing: { promise: Promise<void>; resolve: () => void } | null = null;
  /** Endpoints whose pipeline broke (a connection closed with requests unanswered): never pipelined to again by this pool. */
  private readonly noPipelining = new Set<string>();
  private destroyed = false;

  constructor(options: HTTPConnectionPoolOptions = {}) {
    rejectUnknownOptions(
      options,
      ['persistent', 'maxPersistentPerHost', 'maxConnectionsPerHost', 'cachedConnectionTimeout', 'retryAutomatically', 'clock', 'pipelining'],
      'HTTPConnectionPool',
    );
    this.persistent = options.persistent ?? true;
    this.maxPersistentPerHost = checkCount(options.maxPersistentPerHost, 256, 'maxPersistentPerHost', 0);
    this.maxConnectionsPerHost = checkCount(options.maxConnectionsPerHost, Infinity, 'maxConnectionsPerHost', 1);
    this.cachedConnectionTimeout = checkCount(options.cachedConnectionTimeout, 30_000, 'cachedConnectionTimeout', 0);
    this.retryAutomatically = options.retryAutomatically ?? true;
    this.clock = options.clock ?? systemClock;
    this.pipelining = checkCount(options.pipelining, 1, 'pipelining', 1);
    if (this.pipelining === Infinity) throw new InvalidArgumentError('pipelining must be a finite number of requests per connection');
  }

  /**
   * Resolves with an idle connection to `endpoint`, a newly opened one, or (at the cap) the
   * first one freed. Rejects with a connect error, a queue or connect {@link TimeoutError}, or
   * {@link CancelledError}.
   */
  acquire(endpoint: Endpoint, options: AcquireOptions = {}): Promise<HTTP11Connection> {
    if (this.closing !== null) return Promise.reject(this.closedError(options.url));
    const key = endpoint.key;
    let host = this.hosts.get(key);
    if (host === undefined) {
      host = new HostState();
      this.hosts.set(key, host);
    }
    const idle = this.popIdle(host);
    if (idle !== null) return Promise.resolve(idle);
    if (options.signal?.aborted === true) {
      return Promise.reject(new CancelledError('request cancelled before it was sent', { url: options.url, cause: options.signal.reason }));
    }
    if (host.open < this.maxConnectionsPerHost) return this.openConnection(host, endpoint, options);
    return this.enqueue(host, endpoint, options);
  }

  /**
   * An idle, healthy connection to `endpoint` taken out of the pool now, or null. The fast path
   * of {@link acquire}: no promise, no options. `now` is the pool clock's current time when the
   * caller has just read it.
   */
  takeIdle(endpoint: Endpoint, now?: number): HTTP11Connection | null {
    if (this.closing !== null) return null;
    const host = this.hosts.get(endpoint.key);
    return host === undefined ? null : this.popIdle(host, now);
  }

  /**
   * A busy connection to `endpoint` on which `request` can be pipelined now, or null: only when
   * the pool pipelines, no connection is idle, no new one may be opened (`maxConnectionsPerHost`),
   * and a connection has room (fewest requests in flight first). The caller must start the
   * request on it synchronously.
   */
  takePipelined(endpoint: Endpoint, request: PreparedRequest): HTTP11Connection | null {
    if (this.pipelining <= 1 || !this.persistent || this.closing !== null) return null;
    const host = this.hosts.get(endpoint.key);
    if (host === undefined || host.idle.length > 0 || host.open < this.maxConnectionsPerHost || this.noPipelining.has(endpoint.key)) return null;
    let best: HTTP11Connection | null = null;
    for (const connection of host.connections) {
      const depth = connection.pipelineDepth;
      if (depth >= this.pipelining || (best !== null && depth >= best.pipelineDepth)) continue;
      if (connection.canPipeline(request)) best = connection;
    }
    return best;
  }

  /** @internal A connection's current request was written in full: queued requests that can be pipelined go behind it. */
  connectionSent(connection: HTTP11Connection): void {
    if (this.pipelining <= 1 || this.closing !== null) return;
    const host = this.hosts.get(connection.key);
    if (host === undefined || host.head === host.waiters.length || this.noPipelining.has(connection.key)) return;
    for (let i = host.head; i < host.waiters.length && connection.pipelineDepth < this.pipelining; i++) {
      const waiter = host.waiters[i];
      if (waiter == null || waiter.done) continue;
      const request = waiter.options.pipelineRequest;
      if (request === undefined || !connection.canPipeline(request)) continue;
      host.waiters[i] = null;
      this.settle(waiter);
      connection.reserve();
      waiter.resolve(connection);
    }
  }

  /**
   * @internal Lets a busy connection's socket hold the event loop or not, for the request it
   * carries (`RequestOptions.holdProcess`); it holds again when taken from the idle list.
   */
  holdProcessFor(connection: HTTP11Connection, hold: boolean): void {
    holdProcess(this.sockets.get(connection), hold);
  }

  /** @internal Called by a connection whose exchange ended cleanly. */
  connectionIdle(connection: HTTP11Connection): void {
    const host = this.hosts.get(connection.key);
    if (host === undefined || !this.persistent || this.closing !== null) {
      connection.close();
      return;
    }
    const waiter = host.shiftWaiter();
    if (waiter !== null) {
      this.settle(waiter);
      waiter.resolve(connection);
      return;
    }
    if (host.idle.length >= this.maxPersistentPerHost || this.idleLifetime(connection) <= 0) {
      connection.close();
      return;
    }
    host.idle.push(connection);
    this.idleCount++;
    holdProcess(this.sockets.get(connection), false);
    this.scheduleExpiry();
  }

  /** @internal Called once by a connection that closed. */
  connectionClosed(connection: HTTP11Connection): void {
    this.live.delete(connection);
    if (diagnostics.connectionClosed.hasSubscribers) diagnostics.connectionClosed.publish({ key: connection.key });
    const host = this.hosts.get(connection.key);
    if (host === undefined) return;
    host.open--;
    if (this.pipelining > 1) {
      const at = host.connections.indexOf(connection);
      if (at !== -1) host.connections.splice(at, 1);
      if (connection.pipelineBroken && this.noPipelining.size < MAX_NO_PIPELINING) this.noPipelining.add(connection.key);
    }
    this.connectionGone();
    const index = host.idle.indexOf(connection);
    if (index !== -1) {
      host.idle.splice(index, 1);
      this.idleCount--;
    }
    this.serveQueue(host);
    this.forgetIfUnused(connection.key, host);
  }

  /** Closes every idle connection. Connections in use are closed or kept when their exchange ends. */
  closeCachedConnections(): Promise<void> {
    for (const host of [...this.hosts.values()]) {
      for (const connection of host.idle.splice(0)) {
        this.idleCount--;
        connection.close();
      }
    }
    if (this.expiryTimer !== null) {
      this.clock.clearTimeout(this.expiryTimer);
      this.expiryTimer = null;
    }
    return Promise.resolve();
  }

  /** True once {@link close} or {@link destroy} was called. */
  get closed(): boolean {
    return this.closing !== null;
  }

  /**
   * Closes the pool: idle connections now, connections carrying a request once their response
   * was read to the end; requests queued for a connection, and every later request, fail with
   * {@link ClosedError}. Resolves when the last connection is closed. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing === null) {
      let resolve: () => void = () => {};
      const promise = new Promise<void>((r) => (resolve = r));
      this.closing = { promise, resolve };
      for (const host of [...this.hosts.values()]) {
        let waiter: Waiter | null;
        while ((waiter = host.shiftWaiter()) !== null) {
          this.settle(waiter);
          waiter.reject(this.closedError(waiter.options.url));
        }
      }
      void this.closeCachedConnections();
      if (this.openTotal === 0) resolve();
    }
    return this.closing.promise;
  }

  /**
   * Closes the pool and every connection now: requests in flight fail with `reason` (default a
   * {@link ClosedError}), bodies being read end with it. Resolves when every connection is closed.
   */
  destroy(reason?: StrandError): Promise<void> {
    this.destroyed = true;
    const closed = this.close();
    const error = reason ?? new ClosedError('the connection pool was destroyed while the request was in flight');
    for (const connection of [...this.live]) connection.close(error);
    return closed;
  }

  /** `await using pool = new HTTPConnectionPool()`: {@link close} at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Open, idle, in-use connections and queued requests per endpoint key. */
  stats(): Record<string, PoolHostStats> {
    const result: Record<string, PoolHostStats> = {};
    for (const [key, host] of this.hosts) {
      const idle = host.idle.length;
      result[key] = { open: host.open, idle, inUse: host.open - idle, queued: host.queued };
    }
    return result;
  }

  private popIdle(host: HostState, now = this.clock.now()): HTTP11Connection | null {
    if (host.idle.length === 0) return null;
    let connection = host.idle.pop();
    while (connection !== undefined) {
      this.idleCount--;
      if (connection.isIdle && now - connection.idleSince < this.idleLifetime(connection)) {
        holdProcess(this.sockets.get(connection), true);
        return connection;
      }
      connection.close();
      connection = host.idle.pop();
    }
    return null;
  }

  private idleLifetime(connection: HTTP11Connection): number {
    return Math.min(this.cachedConnectionTimeout, connection.keepAliveHint - MARGIN_MS);
  }

  private closedError(url: string | undefined): ClosedError {
    return new ClosedError('the connection pool is closed: it takes no more requests (make a new pool or agent)', url === undefined ? {} : { url });
  }

  /** One connection (open or being opened) is gone: a closing pool may be done. */
  private connectionGone(): void {
    this.openTotal--;
    if (this.openTotal === 0 && this.closing !== null) this.closing.resolve();
  }

  private openConnection(host: HostState, endpoint: Endpoint, options: AcquireOptions): Promise<HTTP11Connection> {
    host.open++;
    this.openTotal++;
    const clock = this.clock;
    options.onConnect?.('start', clock.now());
    const connectTimeout = options.connectTimeout ?? Infinity;
    let signal = options.signal;
    let timer: TimerHandle | null = null;
    let timedOut: TimeoutError | null = null;
    if (connectTimeout !== Infinity) {
      const controller = new AbortController();
      timer = clock.setTimeout(() => {
        timedOut = new TimeoutError('connect', connectTimeout, false, { url: options.url ?? endpoint.key });
        controller.abort(timedOut);
      }, connectTimeout);
      signal = signal === undefined ? controller.signal : AbortSignal.any([signal, controller.signal]);
    }
    const connectParams = diagnostics.beforeConnect.hasSubscribers || diagnostics.connected.hasSubscribers || diagnostics.connectError.hasSubscribers ? { key: endpoint.key, url: options.url } : null;
    if (connectParams !== null && diagnostics.beforeConnect.hasSubscribers) diagnostics.beforeConnect.publish({ connectParams });
    return endpoint.connect(signal, options.milestones).then(
      (socket) => {
        if (timer !== null) clock.clearTimeout(timer);
        if (connectParams !== null && diagnostics.connected.hasSubscribers) diagnostics.connected.publish({ connectParams, socket });
        if (this.destroyed) {
          // Destroyed while connecting: nothing may start on this connection.
          socket.destroy();
          host.open--;
          this.connectionGone();
          this.forgetIfUnused(endpoint.key, host);
          throw this.closedError(options.url);
        }
        options.onConnect?.('end', clock.now());
        const connection = new HTTP11Connection(socket, endpoint.key, this, options.limits, clock);
        this.sockets.set(connection, socket);
        this.live.add(connection);
        if (this.pipelining > 1) host.connections.push(connection);
        return connection;
      },
      (error: unknown) => {
        if (timer !== null) clock.clearTimeout(timer);
        if (connectParams !== null && diagnostics.connectError.hasSubscribers) diagnostics.connectError.publish({ connectParams, error: timedOut ?? error });
        host.open--;
        this.connectionGone();
        this.serveQueue(host);
        this.forgetIfUnused(endpoint.key, host);
        throw timedOut ?? error;
      },
    );
  }

  private enqueue(host: HostState, endpoint: Endpoint, options: AcquireOptions): Promise<HTTP11Connection> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { endpoint, options, resolve, reject, timer: null, done: false };
      const signal = options.signal;
      const leave = (error: StrandError): void => {
        if (waiter.done) return;
        this.settle(waiter);
        const index = host.waiters.indexOf(waiter, host.head);
        if (index !== -1) host.waiters[index] = null;
        reject(error);
        this.forgetIfUnused(endpoint.key, host);
      };
      if (signal !== undefined) {
        const onAbort = (): void => leave(new CancelledError('request cancelled while waiting for a connection', { url: options.url, cause: signal.reason }));
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      const queueTimeout = options.queueTimeout ?? Infinity;
      if (queueTimeout !== Infinity) {
        waiter.timer = this.clock.setTimeout(() => leave(new TimeoutError('queue', queueTimeout, false, { url: options.url ?? endpoint.key })), queueTimeout);
      }
      host.waiters.push(waiter);
      if (diagnostics.queued.hasSubscribers) diagnostics.queued.publish({ key: endpoint.key, url: options.url });
    });
  }

  /** Marks a waiter as served or gone and releases its timer and listener. */
  private settle(waiter: Waiter): void {
    waiter.done = true;
    if (waiter.timer !== null) this.clock.clearTimeout(waiter.timer);
    waiter.cleanup?.();
  }

  /** A slot freed up: open a connection for the first live waiter. */
  private serveQueue(host: HostState): void {
    while (host.open < this.maxConnectionsPerHost) {
      const waiter = host.shiftWaiter();
      if (waiter === null) return;
      this.settle(waiter);
      this.openConnection(host, waiter.endpoint, waiter.options).then(waiter.resolve, waiter.reject);
    }
  }

  private forgetIfUnused(key: string, host: HostState): void {
    if (host.open === 0 && host.idle.length === 0 && host.queued === 0 && this.hosts.get(key) === host) this.hosts.delete(key);
  }

  /** Runs one coarse expiry timer while there are idle connections. */
  private scheduleExpiry(): void {
    if (this.expiryTimer !== null || this.idleCount === 0) return;
    const tick = Math.max(100, Math.min(1000, Math.floor(this.cachedConnectionTimeout / 4)));
    this.expiryTimer = this.clock.setTimeout(this.expire, tick);
  }

  private readonly expire = (): void => {
    this.expiryTimer = null;
    const now = this.clock.now();
    for (const host of [...this.hosts.values()]) {
      for (const connection of [...host.idle]) {
        if (now - connection.idleSince >= this.idleLifetime(connection)) connection.close();
      }
    }
    this.scheduleExpiry();
  };
}

/** A socket's hold on the event loop, where it has one (net and TLS sockets; an in-memory Duplex may not). */
interface Refable {
  ref?: unknown;
  unref?: unknown;
}

/**
 * `ref()`s (`hold` true) or `unref()`s `socket` when it has those methods: an idle socket must
 * not keep the process alive, a busy one must.
 */
function holdProcess(socket: Duplex | undefined, hold: boolean): void {
  if (socket === undefined) return;
  const method = hold ? (socket as Refable).ref : (socket as Refable).unref;
  if (typeof method === 'function') (method as () => unknown).call(socket);
}

function checkCount(value: number | undefined, fallback: number, option: string, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || (value !== Infinity && !Number.isInteger(value))) {
    throw new InvalidArgumentError(`${option} must be an integer of at least ${min} (or Infinity), got ${String(value)}`);
  }
  return value;
}

brand(HTTPConnectionPool, 'core.HTTPConnectionPool');
