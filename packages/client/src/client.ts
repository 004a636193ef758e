/**
 * {@link HTTPClient}: treq's `HTTPClient`, Promise-first. One client holds an agent (or uses the
 * global pool), a cookie jar, defaults, and a cap on requests in flight.
 */

import { performance } from 'node:perf_hooks';
import {
  type Agent,
  type BodyEndReason,
  type ByteRangeSpec,
  type CacheRequestOptions,
  type CacheStore,
  type Clock,
  Deadline,
  HTTPConnectionPool,
  Http2Agent,
  InvalidArgumentError,
  type Response,
  PoolHolder,
  type StrandError,
  readBody,
  brand,
  systemClock,
} from '@strand/core';
import type { CookieJar } from 'tough-cookie';
import { DigestCache } from './auth.js';
import { ClientCache, cacheStoreOption } from './cache.js';
import { type HookedCall, applyHookRequest, mergeRetryOptions, runAfterResponse, runBeforeError } from './hook-runner.js';
import type { DataToBodyProducer } from './body.js';
import { createCookieJar } from './cookies.js';
import { describe, isObjectLiteral } from './fields.js';
import { type MapConcurrentOptions, Semaphore, type Settled, mapConcurrent } from './limiter.js';
import { NetrcFiles } from './netrc.js';
import { DEFAULT_OPTION_KEYS, type NormalizedDefaults, type NormalizedRequest, normalizeAuth, normalizeDefaults, normalizeRequest, unknownOption } from './options.js';
import { agentForPool, defaultPool, environmentAgent, getGlobalPool, routedAgent } from './pools.js';
import { progressProducer } from './progress.js';
import { ProxyEnvironment } from './proxies.js';
import { relayResponse } from './relay.js';
import { type ResponseRange, rangeOf } from './ranges.js';
import { ClientResponse, type Timings, emptyTimings } from './response.js';
import { type RequestStack, SharedStack, buildStack } from './stack.js';
import type { ClientRequestOptions, DefaultRequestOptions, HookRequest } from './types.js';

/** Options of {@link HTTPClient}: where requests go, cookies, limits, and defaults for every request. */
export interface HTTPClientOptions extends DefaultRequestOptions {
  /**
   * The agent every request goes through (a custom `HttpAgent`, a `ProxyAgent`, a Unix-socket
   * agent, the testing package's fake agent…). Default: an `HttpAgent` on `pool`.
   */
  agent?: Agent;
  /** The pool of the default agent (not with `agent`). Default: the global pool. */
  pool?: HTTPConnectionPool;
  /** `false`: the default agent gets its own non-persistent pool (not with `agent` or `pool`). */
  persistent?: boolean;
  /**
   * Where relative URLs point: `new HTTPClient({ baseUrl: 'http://127.0.0.1:8080/api' })` sends
   * `client.get('users')` and `client.get('/users')` to `http://127.0.0.1:8080/api/users` (the
   * path is appended, as axios's `baseURL` does; not resolved the WHATWG way, which would drop
   * `api`). An absolute URL is used as it is. Must be an absolute `http:`/`https:` URL without
   * query or fragment.
   */
  baseUrl?: string | URL;
  /**
   * Where cookies are kept between requests: a tough-cookie jar (default: a new one, see
   * {@link @strand/client!createCookieJar}), or `null` to keep none (cookies still follow a redirect chain).
   */
  cookieJar?: CookieJar | null;
  /** Converts `data` values that are not forms into body producers; see {@link DataToBodyProducer}. */
  dataToBodyProducer?: DataToBodyProducer;
  /**
   * Requests in flight at once, tornado's `max_clients`; more wait in a FIFO queue (the wait is
   * `timings.queue`, bounded by `timeout.queue`). A request is in flight until its body has been
   * read. Default: no limit.
   */
  maxConcurrentRequests?: number;
  /**
   * An HTTP cache (RFC 9111, core's private `CachingAgent`) for the client's requests: `true`
   * keeps responses in a new `MemoryCacheStore` (64 MiB), a `CacheStore` keeps them there (a
   * `FileCacheStore`, or a store several clients share). Default `false`: no cache. A request
   * picks a Fetch cache mode with `cacheMode`.
   */
  cache?: boolean | CacheStore;
  /**
   * HTTP/2 for the default agent (core's `Http2Agent`): `true` offers `h2` by ALPN on `https:`
   * and speaks it where the server chooses it (HTTP/1.1 on the pool otherwise); `'h2c'` also
   * speaks cleartext HTTP/2 with prior knowledge to every `http:` URL (only for services you
   * know speak it). Requests with a `proxy`, `tls`, their own `pool` or `persistent`, or routed
   * through an environment proxy go over HTTP/1.1. Not with `agent`. Default `false`.
   */
  http2?: boolean | 'h2c';
}

const CLIENT_KEYS: ReadonlySet<string> = new Set([...DEFAULT_OPTION_KEYS, 'agent', 'pool', 'persistent', 'baseUrl', 'cookieJar', 'dataToBodyProducer', 'maxConcurrentRequests', 'cache', 'http2']);

/** A URL with a scheme (`http:`, `https:`, `mailto:`…): not relative to a base. */
const ABSOLUTE_URL = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

/** Checks `baseUrl` and returns it without trailing slashes, ready for appending a path. */
function normalizeBaseUrl(baseUrl: unknown): string | null {
  if (baseUrl === undefined) return null;
  if (typeof baseUrl !== 'string' && !(baseUrl instanceof URL)) throw new InvalidArgumentError(`baseUrl must be a string or a URL, got ${describe(baseUrl)}`);
  const text = String(baseUrl);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new InvalidArgumentError(`baseUrl must be an absolute http: or https: URL, got ${JSON.stringify(text)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InvalidArgumentError(`baseUrl must be an http: or https: URL, got ${parsed.protocol}`);
  // Any '?' or '#' starts a query or a fragment (even an empty one, which `search`/`hash` do not show).
  if (text.includes('?') || text.includes('#')) throw new InvalidArgumentError('baseUrl cannot have a query or a fragment: give query parameters with params');
  return parsed.href.replace(/\/+$/, '');
}

/** Options of {@link HTTPClient.getMany}: request options plus the concurrency. */
export interface ManyOptions extends ClientRequestOptions, Pick<MapConcurrentOptions, 'onSettled'> {
  /** Requests at once (default 4). */
  concurrency?: number;
}

/**
 * A client: the requests-style API on any {@link Agent}.
 *
 * @example
 * ```ts
 * const client = new HTTPClient({ headers: { Accept: 'application/json' }, timeout: 10_000 });
 * const response = await client.post('http://127.0.0.1:8080/items', { json: { name: 'strand' } });
 * console.log(response.code, await response.json());
 * ```
 */
export class HTTPClient extends PoolHolder {
  /** The jar cookies are kept in between requests; null when the client keeps none. */
  readonly cookieJar: CookieJar | null;
  /** The client's agent, or null when requests use the pool rules (`pool`, `persistent`, the global pool). */
  readonly agent: Agent | null;
  private readonly pool: HTTPConnectionPool | null;
  /** `baseUrl` without trailing slashes, or null. */
  private readonly baseUrl: string | null;
  private readonly defaults: NormalizedDefaults;
  private readonly convert: DataToBodyProducer | null;
  private readonly limiter: Semaphore;
  private readonly digestCache = new DigestCache();
  private readonly stacks: SharedStack;
  /** The proxy variables of the environment when the client was made; null when it set none. */
  private readonly environment: ProxyEnvironment | null;
  private readonly netrcFiles = new NetrcFiles();
  /** The client's cache, or null without one. */
  private readonly cache: ClientCache | null;
  /** The HTTP/2 agent of the `http2` option (closed with the client), or null. */
  private readonly http2: Http2Agent | null;

  /** @throws `InvalidArgumentError` naming the option, for any bad option. */
  constructor(options: HTTPClientOptions = {}) {
    if (!isObjectLiteral(options)) throw new InvalidArgumentError(`HTTPClient options must be an object, got ${describe(options)}`);
    for (const key of Object.keys(options)) if (!CLIENT_KEYS.has(key)) throw unknownOption(key, CLIENT_KEYS, 'HTTPClient');
    const agent = options.agent ?? null;
    if (agent !== null && (typeof agent !== 'object' || typeof (agent as Partial<Agent>).request !== 'function')) {
      throw new InvalidArgumentError(`agent must be an Agent (an object with a request method), got ${describe(agent)}`);
    }
    if (agent !== null && (options.pool !== undefined || options.persistent !== undefined)) {
      throw new InvalidArgumentError('pool and persistent configure the default agent; they cannot be used together with agent');
    }
    if (agent !== null && (options.proxy !== undefined || options.tls !== undefined)) {
      throw new InvalidArgumentError('proxy and tls configure the default agent; they cannot be used together with agent (give that agent its proxy and TLS policy)');
    }
    if (options.pool !== undefined && !(options.pool instanceof HTTPConnectionPool)) throw new InvalidArgumentError(`pool must be an HTTPConnectionPool, got ${describe(options.pool)}`);
    if (options.persistent !== undefined && typeof options.persistent !== 'boolean') throw new InvalidArgumentError(`persistent must be a boolean, got ${describe(options.persistent)}`);
    if (options.pool !== undefined && options.persistent !== undefined) throw new InvalidArgumentError('persistent cannot be used together with pool: the pool says whether it is persistent');
    if (options.dataToBodyProducer !== undefined && typeof options.dataToBodyProducer !== 'function') {
      throw new InvalidArgumentError(`dataToBodyProducer must be a function, got ${describe(options.dataToBodyProducer)}`);
    }
    if (options.http2 !== undefined && options.http2 !== true && options.http2 !== false && options.http2 !== 'h2c') {
      throw new InvalidArgumentError(`http2 must be true, false or 'h2c', got ${describe(options.http2)}`);
    }
    if (agent !== null && options.http2 !== undefined && options.http2 !== false) {
      throw new InvalidArgumentError('http2 configures the default agent; it cannot be used together with agent (pass an Http2Agent as agent instead)');
    }
    const cacheStore = cacheStoreOption(options.cache);
    // With `persistent: false` the client has a pool of its own, closed with it.
    const ownPool = options.pool === undefined && options.persistent === false ? new HTTPConnectionPool({ persistent: false }) : null;
    super(ownPool);
    const jar = options.cookieJar === undefined ? createCookieJar() : options.cookieJar;
    if (jar !== null && (typeof jar !== 'object' || typeof (jar as Partial<CookieJar>).getCookies !== 'function')) {
      throw new InvalidArgumentError(`cookieJar must be a tough-cookie CookieJar or null, got ${describe(jar)}`);
    }
    this.agent = agent;
    this.baseUrl = normalizeBaseUrl(options.baseUrl);
    this.pool = options.pool ?? ownPool;
    this.cookieJar = jar;
    this.convert = options.dataToBodyProducer ?? null;
    this.limiter = new Semaphore(options.maxConcurrentRequests ?? Infinity);
    this.cache = cacheStore === null ? null : new ClientCache(cacheStore);
    this.defaults = normalizeDefaults(options);
    this.stacks = new SharedStack(this.defaults.stack);
    // HTTP/1.1 (a server that does not choose h2, or http: without h2c) goes to the pool the rules pick.
    const http1: Agent = { request: (...args) => agentForPool(defaultPool(this.pool, null)).request(...args) };
    this.http2 = options.http2 === true || options.http2 === 'h2c' ? new Http2Agent({ h2c: options.http2 === 'h2c', http1, ...(this.pool === null ? {} : { clock: this.pool.clock }) }) : null;
    // Read once, so a client without proxy variables pays nothing per request; a request may turn trustEnv on.
    this.environment = agent === null ? ProxyEnvironment.read(process.env) : null;
  }

  /** Stops taking requests; closes the pool it made and its HTTP/2 sessions (see `PoolHolder.close`). */
  override async close(): Promise<void> {
    await this.http2?.close();
    return super.close();
  }

  /** Like {@link close}, but requests in flight on its own pool and HTTP/2 sessions fail now. */
  override async destroy(reason?: StrandError): Promise<void> {
    await this.http2?.destroy(reason);
    return super.destroy(reason);
  }

  /** Requests in flight now (holding a slot under `maxConcurrentRequests`). */
  get inFlight(): number {
    return this.limiter.inUse;
  }

  /** Requests waiting for a slot now. */
  get queued(): number {
    return this.limiter.waiting;
  }

  /**
   * Sends a request. Resolves when the response is ready: its body read (up to `maxBodySize`),
   * or, with `unbuffered: true`, its head arrived. Rejects with a typed `StrandError`: an
   * `InvalidArgumentError` naming the option (nothing was sent), a connection, timeout,
   * redirect or response error from core, or an `HTTPStatusError` with `throwForStatus` — or
   * with what a hook threw, or what a `beforeError` hook put in the error's place.
   */
  request(method: string, url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    if (this.closed) return Promise.reject(this.closedError('this HTTPClient'));
    const started = performance.now();
    const prefix = this.baseUrl;
    if (prefix !== null && typeof url === 'string' && !ABSOLUTE_URL.test(url)) url = url === '' ? prefix : `${prefix}/${url.replace(/^\/+/, '')}`;
    let req: NormalizedRequest;
    try {
      req = normalizeRequest(method, url, options, this.defaults, this.convert);
    } catch (error) {
      return Promise.reject(error);
    }
    // A plain request (no hooks, no upload progress) goes straight to the stack.
    if (req.hooks === null && req.onUploadProgress === null) return this.send(req, started, req.throwForStatus);
    return this.hooked(req, { method, url, options: options ?? {}, context: {} }, started, 0);
  }

  /**
   * A request with hooks or upload progress: the `beforeRequest` hooks (and what they changed
   * checked again), the upload counter, the request, the `afterResponse` hooks, `throwForStatus`,
   * and `beforeError` for anything that failed. `call` is what the caller asked, for `retry()`.
   */
  private async hooked(original: NormalizedRequest, call: HookedCall, started: number, retryCount: number): Promise<ClientResponse> {
    const hooks = original.hooks;
    const request: HookRequest = {
      method: original.method,
      url: new URL(original.url.href),
      headers: original.headers,
      body: original.body,
      signal: original.signal,
      retryCount,
      context: call.context,
    };
    try {
      let req = original;
      // A beforeRequest hook may answer the call itself (ky's way): later hooks and the network are skipped.
      let answered: ClientResponse | null = null;
      if (hooks !== null && hooks.beforeRequest.length > 0) {
        for (const hook of hooks.beforeRequest) {
          const result: unknown = await hook(request);
          if (result === undefined) continue;
          if (!(result instanceof ClientResponse)) throw new InvalidArgumentError(`beforeRequest: a hook may return nothing or a ClientResponse to answer the call, got ${describe(result)}`);
          answered = result;
          break;
        }
        if (answered === null) req = applyHookRequest(original, request, this.convert);
      }
      if (req.onUploadProgress !== null && req.body !== null) req = { ...req, body: progressProducer(req.body, req.onUploadProgress) };
      let response = answered ?? (await this.send(req, started, false));
      if (hooks !== null && hooks.afterResponse.length > 0) {
        response = await runAfterResponse(hooks.afterResponse, response, request, retryCount, (changes) => this.retryFromHook(original, call, changes, retryCount));
      }
      if (req.throwForStatus && !response.ok) {
        await response.dump();
        response.raiseForStatus();
      }
      return response;
    } catch (error) {
      if (hooks === null || hooks.beforeError.length === 0) throw error;
      throw await runBeforeError(hooks.beforeError, error, request);
    }
  }

  /** The request of `call` again, for an `afterResponse` hook's `retry(changes)`. */
  private retryFromHook(original: NormalizedRequest, call: HookedCall, changes: ClientRequestOptions | undefined, retryCount: number): Promise<ClientResponse> {
    if (retryCount > 0) return Promise.reject(new InvalidArgumentError('afterResponse: retry() was called in the hooks of a request that is itself a retry; a request is sent again once at most'));
    if (changes !== undefined && !isObjectLiteral(changes)) return Promise.reject(new InvalidArgumentError(`afterResponse: retry() takes request options, got ${describe(changes)}`));
    const { options, newBody } = mergeRetryOptions(call.options, changes ?? {});
    let req: NormalizedRequest;
    try {
      req = normalizeRequest(call.method, call.url, options, this.defaults, this.convert);
    } catch (error) {
      return Promise.reject(error);
    }
    const body = original.body;
    if (!newBody && body !== null) {
      if (!body.replayable) {
        return Promise.reject(new InvalidArgumentError('afterResponse: retry() cannot send the request body again: it is a one-shot stream; give retry() a new data, json or files'));
      }
      const contentType = original.headers.get('content-type');
      if (contentType !== undefined && !req.headers.has('content-type')) req.headers.set('Content-Type', contentType);
      req = { ...req, body };
    }
    return this.hooked(req, { ...call, options }, performance.now(), retryCount + 1);
  }

  /**
   * Sends a normalised request through the stack: netrc, the base agent, the total deadline, a
   * concurrency slot, then the body read (or relayed, `unbuffered`). `throwForStatus`: raise
   * an `HTTPStatusError` for a failed status.
   */
  private async send(req: NormalizedRequest, started: number, throwForStatus: boolean): Promise<ClientResponse> {
    if (req.netrc !== null && req.auth === null) req = await this.withNetrc(req);
    const base = this.cache === null ? this.baseAgent(req) : this.cache.over(this.baseAgent(req));
    const total = req.timeout.total;
    const deadline = new Deadline(total, req.signal, req.url.href, total === undefined ? systemClock : this.clockOf(req));
    let release: (() => void) | null = null;
    try {
      const timings = emptyTimings();
      // A free slot is taken at once, without a promise (no wait: `timings.queue` is 0); a full
      // limiter (or an aborted signal) goes through `acquire`, and the wait is measured.
      if (deadline.signal?.aborted !== true) release = this.limiter.tryAcquire();
      let dispatched: number;
      if (release !== null) {
        dispatched = performance.now();
        timings.queue = 0;
      } else {
        const queueStart = performance.now();
        release = await this.limiter.acquire(deadline.signal, req.timeout.queue ?? Infinity, req.url.href);
        dispatched = performance.now();
        timings.queue = dispatched - queueStart;
      }
      deadline.markSent();
      const stack = this.cookieJar === null ? buildStack(base, req, req.jar ?? createCookieJar, this.digestCache) : this.stacks.stackFor(base, req, this.cookieJar, this.digestCache);
      const coreOptions: CacheRequestOptions = {};
      if (deadline.signal !== undefined) coreOptions.signal = deadline.signal;
      if (req.cacheMode !== null) coreOptions.cache = req.cacheMode;
      if (req.onInformational !== null) coreOptions.onInformational = req.onInformational;
      if (req.onHead !== null) coreOptions.onHead = req.onHead;
      if (req.hasTimeout) coreOptions.timeout = req.timeout;
      const response = await stack.agent.request(req.method, req.url.href, req.headers, req.body, coreOptions);
      const range = req.range === null ? null : checkedRange(response, req.range);
      const head = performance.now();
      timings.firstByte = head - dispatched;
      addCoreTimings(timings, response);

      if (req.unbuffered) {
        const slot = release;
        release = null;
        return streamingResponse(req, response, range, stack, timings, deadline, slot, started, head, throwForStatus);
      }

      const bytes = await readBody(response, { maxBytes: req.stack.maxBodySize });
      const end = performance.now();
      timings.body = end - head;
      timings.total = end - started;
      const result = new ClientResponse({ original: response, body: { kind: 'buffered', bytes }, timings, jar: stack.jar, followedRedirects: req.stack.allowRedirects, maxBodySize: req.stack.maxBodySize, range });
      if (throwForStatus) result.raiseForStatus();
      return result;
    } catch (error) {
      throw deadline.translate(error);
    } finally {
      if (release !== null) {
        release();
        deadline.clear();
      }
    }
  }

  /**
   * The agent a request starts from: its own `agent`, the client's, or on the pool the rules pick
   * an agent for its route — `proxy` if given (`false`: direct), else the environment's proxies
   * (chosen per hop) when `trustEnv` and the environment names any, else direct — with its `tls`.
   * A plain request (no proxy anywhere, no `tls`) gets the pool's one `HttpAgent`, as always.
   */
  private baseAgent(req: NormalizedRequest): Agent {
    if (req.agent !== null) {
      if (req.pool !== null || req.persistent !== null) throw new InvalidArgumentError('pool and persistent configure the default agent; they cannot be used together with agent');
      if (req.routeOptions) throw new InvalidArgumentError('proxy and tls configure the default agent; they cannot be used together with agent');
      return req.agent;
    }
    if (this.agent !== null) {
      if (req.pool !== null || req.persistent !== null) throw new InvalidArgumentError('pool and persistent cannot be used with a client that has its own agent; pass agent instead');
      if (req.routeOptions) throw new InvalidArgumentError('proxy and tls cannot be used with a client that has its own agent; give that agent its proxy and TLS policy');
      return this.agent;
    }
    const pool = defaultPool(req.pool ?? this.pool, req.persistent);
    const proxy = req.proxy;
    if (proxy === null && req.trustEnv && this.environment !== null) return environmentAgent(pool, this.environment, req.tlsPolicy);
    if (proxy === false || proxy === null) {
      if (req.tlsPolicy !== null) return routedAgent(pool, null, req.tlsPolicy);
      return this.http2 !== null && req.pool === null && req.persistent === null ? this.http2 : agentForPool(pool);
    }
    return routedAgent(pool, proxy, req.tlsPolicy);
  }

  /** The clock of the pool `req` goes through (so a `ManualClock` pool drives the total deadline too); the system clock for a given agent. */
  private clockOf(req: NormalizedRequest): Clock {
    if (req.agent !== null || this.agent !== null) return systemClock;
    const pool = req.pool ?? this.pool;
    if (pool !== null) return pool.clock;
    return req.persistent === false ? systemClock : getGlobalPool().clock;
  }

  /** `req` with Basic credentials for its host from its netrc file, when the file has some. */
  private async withNetrc(req: NormalizedRequest): Promise<NormalizedRequest> {
    const netrc = req.netrc;
    if (netrc === null) return req;
    const found = await this.netrcFiles.credentials(netrc, req.url.hostname, req.trustEnv);
    return found === undefined ? req : { ...req, auth: normalizeAuth(found, 'netrc') };
  }

  /** `GET`. */
  get(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request('GET', url, options);
  }

  /** `HEAD`. */
  head(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request('HEAD', url, options);
  }

  /** `POST`. */
  post(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request('POST', url, options);
  }

  /** `PUT`. */
  put(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request('PUT', url, options);
  }

  /** `PATCH`. */
  patch(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request('PATCH', url, options);
  }

  /** `DELETE`. */
  delete(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request('DELETE', url, options);
  }

  /** `OPTIONS`. */
  options(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request('OPTIONS', url, options);
  }

  /**
   * GETs every URL, `concurrency` at a time (default 4), and resolves with one result per URL in
   * the same order: `{ ok: true, value: response }` or `{ ok: false, error }`. Never rejects for
   * a failed URL. Responses are buffered unless `unbuffered` is set.
   *
   * @example
   * ```ts
   * const results = await client.getMany(urls, { concurrency: 2 });
   * ```
   */
  getMany(urls: Iterable<string | URL>, options: ManyOptions = {}): Promise<Array<Settled<ClientResponse>>> {
    const { concurrency, onSettled, ...rest } = options;
    const many: MapConcurrentOptions = {};
    if (concurrency !== undefined) many.concurrency = concurrency;
    if (onSettled !== undefined) many.onSettled = onSettled;
    if (rest.signal !== undefined) many.signal = rest.signal;
    return mapConcurrent(urls, (url) => this.get(url, rest), many);
  }
}

/**
 * The response of an `unbuffered` request: its body relayed so that the request ends (slot
 * released, total timeout cleared, body timing taken) whenever and however the body ends.
 * `slot` is the request's concurrency slot, now owned by the body. Throws the
 * `HTTPStatusError` of `throwForStatus` after abandoning the body.
 */
function streamingResponse(
  req: NormalizedRequest,
  response: Response,
  range: ResponseRange | null,
  stack: RequestStack,
  timings: Timings,
  deadline: Deadline,
  slot: () => void,
  started: number,
  head: number,
  throwForStatus: boolean,
): ClientResponse {
  const onEnd = (): void => {
    const end = performance.now();
    timings.body = end - head;
    timings.total = end - started;
    deadline.clear();
    slot();
  };
  const relayed = relayResponse(response, onEnd, (reason) => deadline.translate(reason) as BodyEndReason);
  const result = new ClientResponse({ original: response, body: { kind: 'streaming', response: relayed }, timings, jar: stack.jar, followedRedirects: req.stack.allowRedirects, maxBodySize: req.stack.maxBodySize, range });
  if (throwForStatus && !result.ok) {
    abandon(relayed);
    result.raiseForStatus();
  }
  return result;
}

/** Copies what core measured of the final exchange (clock times of its agent) into durations. */
function addCoreTimings(timings: Timings, response: Response): void {
  const t = response.timings;
  if (t == null) return;
  let opening = 0;
  if (t.connectStart !== undefined && t.connectEnd !== undefined) {
    opening = t.connectEnd - t.connectStart;
    // Core splits the opening when the endpoint reports it: lookup, TCP connect, TLS handshake.
    const afterLookup = t.dnsEnd ?? t.connectStart;
    if (t.dnsEnd !== undefined) timings.dns = t.dnsEnd - t.connectStart;
    timings.connect = t.tcpEnd !== undefined ? t.tcpEnd - afterLookup : t.connectEnd - afterLookup;
    if (t.tlsEnd !== undefined && t.tcpEnd !== undefined) timings.tls = t.tlsEnd - t.tcpEnd;
  }
  if (t.acquired !== undefined) {
    const waited = t.acquired - t.start - opening;
    if (waited > 0) timings.queue = (timings.queue ?? 0) + waited;
  }
}

/** What `response` is for the request's ranges; a 206 that is not what was asked abandons the body and throws core's `RangeMismatchError`. */
function checkedRange(response: Response, ranges: readonly ByteRangeSpec[]): ResponseRange {
  try {
    return rangeOf(response, ranges);
  } catch (error) {
    abandon(response);
    throw error;
  }
}

/** Abandons an unread body (its connection is closed, the request's slot released). */
function abandon(response: Response): void {
  response.deliverBody({
    makeConnection(transport) {
      transport.stopProducing();
    },
    dataReceived() {},
    connectionLost() {},
  });
}

brand(HTTPClient, 'client.HTTPClient');
