/**
 * {@link CachingAgent}: an HTTP cache (RFC 9111) as a wrapper agent. It answers from a
 * {@link CacheStore} when it may, validates stored responses with conditional requests, stores
 * cacheable responses while their bodies are read, and says what it did in `Cache-Status`.
 *
 * @packageDocumentation
 */

import { type Agent, type RequestOptions, WrapperAgent } from '../../agent.js';
import { CancelledError, InvalidArgumentError, ResponseDone, type StrandError } from '../../errors.js';
import { deriveResponse } from '../../message/derived.js';
import { Headers, type HeadersInit } from '../../message/headers.js';
import type { BodyProducer } from '../../message/producers.js';
import type { RequestInfo, Response } from '../../message/response.js';
import { type Clock, type TimerHandle, systemClock } from '../../time/clock.js';
import { diagnostics } from '../../diagnostics.js';
import { brand } from '../../brand.js';
import { isToken, rejectUnknownOptions } from '../../validate.js';
import { copyHeaders, discardBody } from '../shared.js';
import { type CacheOutcome, addCacheStatus, cacheStatusMember } from './cache-status.js';
import { currentAge } from './freshness.js';
import { invalidatedKeys } from './invalidation.js';
import { cacheKey, requestKey, variantId, varyMatches, varyNames, varyValues } from './key.js';
import { CACHE_MODES, type CacheMode, addModeFields, type Reading, type RequestDirectives, type Standing, isStorable, readStored, requestDirectives, responseDirectives, standing, unreusableFields } from './policy.js';
import { type CacheStore, type CacheStoreWriter, MemoryCacheStore, type StoredHead, type StoredResponse } from './store.js';
import { responseFromStorage } from './stored-body.js';
import { headMatches, isConditional, notModifiedFields, notModifiedMatches, satisfiesConditional, storedFields, updatedFields, validationHeaders } from './validation.js';

/** Per-request options of a {@link CachingAgent}: the usual ones and the Fetch cache mode. */
export interface CacheRequestOptions extends RequestOptions {
  /**
   * The Fetch standard's cache mode for this request (default `'default'`):
   * - `default`: RFC 9111 as the request's and the response's directives say;
   * - `no-store`: the cache is not used at all (not read, not written);
   * - `reload`: go to the network without a stored response's validators, and store the answer;
   * - `no-cache`: validate a stored response with the origin even if it is fresh;
   * - `force-cache`: use any stored response, however stale; the network only on a miss;
   * - `only-if-cached`: use any stored response, however stale; on a miss, a `504` and no request.
   *
   * As in Fetch, a request without its own `Cache-Control` sends `max-age=0` for `no-cache`, and
   * `no-cache` (with `Pragma: no-cache`) for `reload` and `no-store`, so caches on the way obey.
   */
  cache?: CacheMode | undefined;
}

/** Options of {@link CachingAgent}. */
export interface CachingAgentOptions {
  /** Where responses are kept. Default: a new {@link MemoryCacheStore} (64 MiB). */
  store?: CacheStore;
  /**
   * A shared cache (a proxy's, RFC 9111 `s-maxage`, `private`, `proxy-revalidate`, the
   * `Authorization` rule) instead of a private one (a user agent's). Default false.
   */
  shared?: boolean;
  /** The largest body stored, bytes; a longer one is passed on but not kept. Default 8 MiB. */
  maxBodySize?: number;
  /** The cache's name in `Cache-Status`. Default `Strand`. */
  name?: string;
  /** Add a `Cache-Status` member to every response (RFC 9211). Default true. */
  cacheStatus?: boolean;
  /** The wall-clock time, ms since the epoch (freshness is measured with it). Default `Date.now`. */
  now?: () => number;
  /** Timers (the wait of a request coalesced with another). Default the system clock (unref'd timers). */
  clock?: Clock;
  /**
   * How long a request waits for an identical request in flight (a concurrent miss) to store
   * its response before it goes to the network itself, ms. Default 10 000.
   */
  coalesceTimeout?: number;
  /** The total timeout of a background revalidation (`stale-while-revalidate`), ms. Default 30 000. */
  revalidationTimeout?: number;
  /**
   * Targeted cache-control fields this cache obeys, most specific first (RFC 9213), e.g.
   * `['CDN-Cache-Control']` for a cache that is part of a CDN: the first one a response carries
   * (and that parses) replaces its `Cache-Control` for this cache. Default none.
   */
  targetedFields?: readonly string[];
}

const KNOWN_OPTIONS = ['store', 'shared', 'maxBodySize', 'name', 'cacheStatus', 'now', 'clock', 'coalesceTimeout', 'revalidationTimeout', 'targetedFields'] as const;

/** One request as the cache sees it. */
interface Exchange {
  readonly method: 'GET' | 'HEAD';
  readonly uri: string | URL;
  readonly key: string;
  readonly headers: Headers;
  readonly body: BodyProducer | null | undefined;
  readonly options: RequestOptions;
  readonly mode: CacheMode;
  readonly directives: RequestDirectives;
  readonly info: RequestInfo;
  /** This request waited for another one to the same key. */
  readonly collapsed: boolean;
}

/** What the cache read from a stored response, once (see `CachingAgent.read`). */
interface StoredReading {
  readonly headers: Headers;
  readonly reading: Reading;
  readonly served: readonly string[];
}

/** A concurrent miss in flight: later requests for its key wait for `done`. */
interface InFlight {
  readonly done: Promise<void>;
  readonly release: () => void;
}

function checkNumber(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`CachingAgent: ${option} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/**
 * An HTTP cache in front of any {@link Agent} (RFC 9111), private by default:
 *
 * - **Stores** responses to `GET` that RFC 9111 §3 allows (explicit freshness, `public`,
 *   `private` in a private cache, or a heuristically cacheable status; never `no-store`, never
 *   a `206`), one per URL and `Vary` variant, teeing the body into the store as the caller reads
 *   it: a body that fails, is abandoned or outgrows `maxBodySize` is never stored.
 * - **Serves** a stored response while it is fresh (`s-maxage` in a shared cache, `max-age`,
 *   `Expires` against `Date`, `Age` and the response delay counted; a heuristic only where
 *   allowed), honouring the request's `max-age`, `min-fresh`, `max-stale`, `no-cache` and
 *   `only-if-cached`, and the response's `no-cache`, `must-revalidate`, `proxy-revalidate`.
 * - **Validates** a stale one with `If-None-Match`/`If-Modified-Since`; a `304` updates the
 *   stored header fields and the stored response is served.
 * - `stale-while-revalidate`: serves the stale response and validates in the background (bounded
 *   by `revalidationTimeout`, cancelled by {@link close}, failures swallowed);
 *   `stale-if-error`: serves it when the origin fails or answers 5xx.
 * - Concurrent misses for one URL go to the network once; the others wait for the stored response.
 * - A non-error answer to an unsafe method (POST, PUT, DELETE...) invalidates the target URL and
 *   its same-origin `Location` and `Content-Location`.
 * - Each response carries a `Cache-Status` member (RFC 9211), e.g. `Strand; hit; ttl=42` or
 *   `Strand; fwd=uri-miss; stored`; the decision is also published on `strand:cache:decision`.
 * - Per request, the Fetch cache modes through {@link CacheRequestOptions.cache}.
 *
 * A store that fails never fails a request: the cache goes to the network instead.
 *
 * @example
 * ```ts
 * const agent = new CachingAgent(new HttpAgent(), { store: new MemoryCacheStore({ maxSize: 16 << 20 }) });
 * const first = await agent.request('GET', url);   // Cache-Status: Strand; fwd=uri-miss; stored
 * await readBody(first);                           // stored once the body has been read
 * const second = await agent.request('GET', url);  // Cache-Status: Strand; hit; ttl=...
 * ```
 */
export class CachingAgent extends WrapperAgent {
  /** Where responses are kept. */
  readonly store: CacheStore;
  /** True for a shared cache, false for a private one. */
  readonly shared: boolean;
  private readonly maxBodySize: number;
  private readonly name: string;
  private readonly cacheStatus: boolean;
  private readonly now: () => number;
  private readonly clock: Clock;
  private readonly coalesceTimeout: number;
  private readonly revalidationTimeout: number;
  private readonly targeted: readonly string[];
  private readonly inFlight = new Map<string, InFlight>();
  private readonly revalidations = new Map<string, AbortController>();
  /** What each stored response (an immutable object) says about itself, read once. */
  private readonly readings = new WeakMap<StoredResponse, StoredReading>();

  constructor(agent: Agent, options: CachingAgentOptions = {}) {
    super(agent);
    rejectUnknownOptions(options, KNOWN_OPTIONS, 'CachingAgent');
    this.store = options.store ?? new MemoryCacheStore();
    if (options.shared !== undefined && typeof options.shared !== 'boolean') throw new InvalidArgumentError(`CachingAgent: shared must be a boolean, got ${typeof options.shared}`);
    this.shared = options.shared ?? false;
    this.maxBodySize = checkNumber(options.maxBodySize, 8 * 1024 * 1024, 'maxBodySize');
    this.name = options.name ?? 'Strand';
    if (!/^[A-Za-z*][A-Za-z0-9_\-.:%*/!#$&'+^`|~]*$/.test(this.name)) throw new InvalidArgumentError(`CachingAgent: name must be a token (RFC 9651), got ${JSON.stringify(this.name)}`);
    this.cacheStatus = options.cacheStatus ?? true;
    this.now = options.now ?? Date.now;
    this.clock = options.clock ?? systemClock;
    this.coalesceTimeout = checkNumber(options.coalesceTimeout, 10_000, 'coalesceTimeout');
    this.revalidationTimeout = checkNumber(options.revalidationTimeout, 30_000, 'revalidationTimeout');
    const targeted = [...(options.targetedFields ?? [])];
    for (const name of targeted) if (typeof name !== 'string' || !isToken(name)) throw new InvalidArgumentError(`CachingAgent: targetedFields must be field names, got ${String(name)}`);
    this.targeted = targeted.map((name) => name.toLowerCase());
  }

  async request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options: CacheRequestOptions = {}): Promise<Response> {
    const mode = options.cache ?? 'default';
    if (!CACHE_MODES.has(mode)) throw new InvalidArgumentError(`CachingAgent: cache must be one of ${[...CACHE_MODES].join(', ')}, got ${String(mode)}`);
    const key = requestKey(method, uri);
    const requestHeaders = copyHeaders(headers, uri);
    addModeFields(requestHeaders, mode);
    if (method !== 'GET' && method !== 'HEAD') return this.forwardUnsafe(method, uri, key, requestHeaders, body, options);
    const info: RequestInfo = { method, uri: String(uri), headers: requestHeaders };
    const bypass = mode === 'no-store' || requestHeaders.has('range') || requestHeaders.has('if-range') || requestHeaders.has('if-match') || requestHeaders.has('if-unmodified-since');
    if (bypass) {
      const response = await this.agent.request(method, uri, requestHeaders, body, options);
      return this.label(info, key, response, { fwd: mode === 'no-store' ? 'bypass' : 'request' });
    }
    const directives = requestDirectives(requestHeaders);
    const exchange: Exchange = {
      method,
      uri,
      key,
      headers: requestHeaders,
      body,
      options,
      mode,
      directives: mode === 'no-cache' ? { ...directives, noCache: true } : directives,
      info,
      collapsed: false,
    };
    return this.lookup(exchange);
  }

  /** Cancels background revalidations, then closes the wrapped agent. */
  override close(): Promise<void> {
    this.cancelRevalidations();
    return super.close();
  }

  /** Cancels background revalidations, then destroys the wrapped agent. */
  override destroy(reason?: StrandError): Promise<void> {
    this.cancelRevalidations();
    return super.destroy(reason);
  }

  private cancelRevalidations(): void {
    for (const controller of this.revalidations.values()) controller.abort(new CancelledError('the caching agent was closed'));
    this.revalidations.clear();
  }

  // ---- the decision ----

  private async lookup(exchange: Exchange): Promise<Response> {
    const signal = exchange.options.signal;
    if (signal?.aborted === true) throw new CancelledError('request cancelled', { url: exchange.info.uri, cause: signal.reason });
    const variants = await this.load(exchange.key);
    const selected = this.select(variants, exchange.headers);
    if (selected === undefined) {
      const fwd = variants.length > 0 ? 'vary-miss' : 'uri-miss';
      if (exchange.mode === 'only-if-cached' || exchange.directives.onlyIfCached) return this.gatewayTimeout(exchange);
      // A request waits once: after that (the other one stored nothing, or took too long) it goes itself.
      const pending = this.coalescable(exchange) && !exchange.collapsed ? this.inFlight.get(exchange.key) : undefined;
      if (pending !== undefined) {
        await this.waitFor(pending, exchange);
        return this.lookup({ ...exchange, collapsed: true });
      }
      return this.fetch(exchange, exchange.headers, { fwd });
    }
    if (exchange.mode === 'reload') return this.fetch(exchange, exchange.headers, { fwd: 'request' });
    const { headers: storedHeaders, reading } = this.read(selected);
    const standingNow = standing(reading, selected.requestTime, selected.responseTime, exchange.directives, this.shared, this.now());
    if (exchange.mode === 'force-cache' || exchange.mode === 'only-if-cached') return this.serve(exchange, selected, { hit: true, ttl: standingNow.ttl });
    switch (standingNow.verdict) {
      case 'fresh':
      case 'stale-ok':
        return this.serve(exchange, selected, { hit: true, ttl: standingNow.ttl });
      case 'revalidate-in-background':
        this.revalidateInBackground(exchange, selected, storedHeaders);
        return this.serve(exchange, selected, { hit: true, ttl: standingNow.ttl, detail: 'stale-while-revalidate' });
      case 'validate':
        if (exchange.directives.onlyIfCached) return this.gatewayTimeout(exchange);
        return this.validate(exchange, selected, storedHeaders, standingNow);
    }
  }

  /** The newest stored variant whose `Vary` values match the request (RFC 9111 §4.1). */
  private select(variants: readonly StoredResponse[], headers: Headers): StoredResponse | undefined {
    let best: StoredResponse | undefined;
    let bestDate = -Infinity;
    for (const variant of variants) {
      if (!varyMatches(variant.varyValues, headers)) continue;
      const date = this.read(variant).reading.date;
      if (best === undefined || date > bestDate || (date === bestDate && variant.responseTime > best.responseTime)) {
        best = variant;
        bestDate = date;
      }
    }
    return best;
  }

  /** Sends a validation request for `selected` and answers from its outcome. */
  private async validate(exchange: Exchange, selected: StoredResponse, storedHeaders: Headers, standingNow: Standing): Promise<Response> {
    const conditional = validationHeaders(exchange.headers, storedHeaders);
    const requestTime = this.now();
    let response: Response;
    try {
      response = await this.agent.request(exchange.method, exchange.uri, conditional ?? exchange.headers, exchange.body, exchange.options);
    } catch (error) {
      if (standingNow.staleIfError && exchange.options.signal?.aborted !== true) return this.serve(exchange, selected, { fwd: 'stale', ttl: standingNow.ttl, detail: 'stale-if-error' });
      throw error;
    }
    if (response.code === 304 && conditional !== null) {
      await discardBody(response);
      if (!notModifiedMatches(storedHeaders, response.headers)) return this.fetch(exchange, exchange.headers, { fwd: 'stale', fwdStatus: 304 });
      const refreshed = await this.refresh(selected, response.headers, requestTime, !exchange.directives.noStore);
      const ttl = standing(this.read(refreshed).reading, refreshed.requestTime, refreshed.responseTime, exchange.directives, this.shared, this.now()).ttl;
      return this.serve(exchange, refreshed, { fwd: 'stale', fwdStatus: 304, ttl });
    }
    if (exchange.method === 'HEAD' && response.code === 200 && headMatches(storedHeaders, response.headers)) {
      await discardBody(response);
      const refreshed = await this.refresh(selected, response.headers, requestTime, !exchange.directives.noStore);
      return this.serve(exchange, refreshed, { fwd: 'stale', fwdStatus: 200 });
    }
    if (response.code >= 500 && standingNow.staleIfError) {
      await discardBody(response);
      return this.serve(exchange, selected, { fwd: 'stale', fwdStatus: response.code, ttl: standingNow.ttl, detail: 'stale-if-error' });
    }
    return this.accept(exchange, response, requestTime, { fwd: 'stale', fwdStatus: response.code }, null);
  }

  /**
   * The stored response with the head `notModified` updates (RFC 9111 §4.3.4), stored unless
   * `store` is false (a request with `no-store`: nothing of its response may be kept).
   */
  private async refresh(selected: StoredResponse, notModified: Headers, requestTime: number, store = true): Promise<StoredResponse> {
    const refreshed: StoredResponse = { ...selected, headers: updatedFields(selected.headers, notModified), requestTime, responseTime: this.now() };
    if (store) {
      try {
        const updating = this.store.update(refreshed);
        if (updating !== undefined) await updating;
      } catch {
        // A store that cannot update keeps the old head; this answer is still right.
      }
    }
    return refreshed;
  }


  /** Goes to the network for `exchange`, coalescing concurrent misses, and stores what may be stored. */
  private async fetch(exchange: Exchange, headers: Headers, outcome: CacheOutcome): Promise<Response> {
    let flight: InFlight | null = null;
    if (this.coalescable(exchange) && !this.inFlight.has(exchange.key)) {
      let release!: () => void;
      const done = new Promise<void>((resolve) => {
        release = resolve;
      });
      const entry: InFlight = {
        done,
        release: () => {
          if (this.inFlight.get(exchange.key) === entry) this.inFlight.delete(exchange.key);
          release();
        },
      };
      this.inFlight.set(exchange.key, entry);
      flight = entry;
    }
    const requestTime = this.now();
    let response: Response;
    try {
      response = await this.agent.request(exchange.method, exchange.uri, headers, exchange.body, exchange.options);
    } catch (error) {
      flight?.release();
      throw error;
    }
    return this.accept(exchange, response, requestTime, { ...outcome, collapsed: exchange.collapsed }, flight);
  }

  /** Labels a response from the origin and, when it may be stored, tees its body into the store. */
  private accept(exchange: Exchange, response: Response, requestTime: number, outcome: CacheOutcome, flight: InFlight | null): Response {
    const responseTime = this.now();
    const cc = responseDirectives(response.headers, this.targeted);
    const storable =
      exchange.method === 'GET' && exchange.mode !== 'no-store' && !exchange.directives.noStore && isStorable(response.code, response.headers, cc, exchange.headers, this.shared);
    const opened = storable ? this.openWriter(exchange, response, requestTime, responseTime) : null;
    if (opened === null) {
      flight?.release();
      return this.label(exchange.info, exchange.key, response, outcome);
    }
    const headers = response.headers.clone();
    const labelled = { ...outcome, stored: true };
    if (this.cacheStatus) addCacheStatus(headers, this.name, labelled);
    this.publish(exchange.info, exchange.key, labelled, false);
    let bytes = 0;
    let open = true;
    return deriveResponse(response, {
      headers,
      onData: (chunk) => {
        if (!open) return;
        bytes += chunk.length;
        if (bytes > this.maxBodySize) {
          open = false;
          opened.writer.abort();
          return;
        }
        opened.writer.write(chunk);
      },
      onEnd: (reason) => {
        if (open && reason instanceof ResponseDone) {
          open = false;
          void this.commit(opened.head, opened.writer, exchange.headers).finally(() => flight?.release());
          return;
        }
        if (open) opened.writer.abort();
        open = false;
        flight?.release();
      },
    });
  }

  /** Opens a store entry for `response`; null when the store refuses. Writer failures are contained. */
  private openWriter(exchange: Exchange, response: Response, requestTime: number, responseTime: number): { head: StoredHead; writer: CacheStoreWriter } | null {
    const names = varyNames(response.headers);
    if (names.includes('*')) return null; // Vary: * never matches a later request (RFC 9111 §4.1)
    const values = varyValues(names, exchange.headers);
    const head: StoredHead = {
      key: exchange.key,
      variant: variantId(values),
      varyValues: values,
      code: response.code,
      phrase: response.phrase,
      version: response.version,
      headers: storedFields(response.headers),
      requestTime,
      responseTime,
    };
    let writer: CacheStoreWriter;
    try {
      writer = this.store.open(head);
    } catch {
      return null;
    }
    const guarded: CacheStoreWriter = {
      write: (chunk) => {
        try {
          writer.write(chunk);
        } catch {
          // A failing store only loses this entry.
        }
      },
      commit: () => writer.commit(),
      abort: () => {
        try {
          writer.abort();
        } catch {
          // Nothing was stored.
        }
      },
    };
    return { head, writer: guarded };
  }

  /** Commits a stored body, then drops older variants this response replaces for the request. */
  private async commit(head: StoredHead, writer: CacheStoreWriter, requestHeaders: Headers): Promise<void> {
    try {
      await writer.commit();
      for (const other of await this.load(head.key)) {
        if (other.variant !== head.variant && varyMatches(other.varyValues, requestHeaders)) await this.store.delete(head.key, other.variant);
      }
    } catch {
      // A store that fails to commit keeps nothing; the caller has its response.
    }
  }

  /** A response made from the stored `entry`, with its current `Age` (or a `304` for the client's own matching precondition). */
  private serve(exchange: Exchange, entry: StoredResponse, outcome: CacheOutcome): Response {
    const { reading, served } = this.read(entry);
    const age = String(Math.floor(currentAge(reading.date, reading.age, entry.requestTime, entry.responseTime, this.now())));
    const labelled: CacheOutcome = exchange.collapsed ? { ...outcome, collapsed: true } : outcome;
    this.publish(exchange.info, exchange.key, labelled, false);
    // The stored fields were checked when stored, `Age` is digits and the Cache-Status member is
    // made of tokens and integers: the list is adopted as it is, not validated again.
    const fields = served.slice();
    fields.push('Age', age);
    if (isConditional(exchange.headers)) {
      const headers = Headers.fromRaw(fields);
      if (satisfiesConditional(exchange.headers, headers, entry.responseTime)) {
        const notModified = notModifiedFields(headers);
        notModified.set('Age', age);
        if (this.cacheStatus) addCacheStatus(notModified, this.name, labelled);
        return responseFromStorage({ code: 304, phrase: 'Not Modified', version: entry.version, headers: notModified, body: [], request: exchange.info });
      }
    }
    if (this.cacheStatus) fields.push('Cache-Status', cacheStatusMember(this.name, labelled));
    return responseFromStorage({ code: entry.code, phrase: entry.phrase, version: entry.version, headers: Headers.fromRaw(fields), body: exchange.method === 'HEAD' ? [] : entry.body, request: exchange.info });
  }

  /** `only-if-cached` without a usable stored response: a `504` made here, no request sent (RFC 9111 §5.2.1.7). */
  private gatewayTimeout(exchange: Exchange): Response {
    const headers = new Headers({ 'Content-Length': '0' });
    const outcome: CacheOutcome = { detail: 'only-if-cached' };
    if (this.cacheStatus) addCacheStatus(headers, this.name, outcome);
    this.publish(exchange.info, exchange.key, outcome, false);
    return responseFromStorage({ code: 504, phrase: 'Gateway Timeout', version: [1, 1], headers, body: [], request: exchange.info });
  }

  /**
   * Validates `selected` in the background once per stored response; never rejects, never
   * outlives `revalidationTimeout` or {@link close}, and never keeps the process alive: its
   * request has `holdProcess: false` (its timers are the agent's, unref'd).
   */
  private revalidateInBackground(exchange: Exchange, selected: StoredResponse, storedHeaders: Headers): void {
    const id = `${selected.key}\n${selected.variant}`;
    if (this.revalidations.has(id)) return;
    const controller = new AbortController();
    this.revalidations.set(id, controller);
    const options: RequestOptions = { signal: controller.signal, timeout: this.revalidationTimeout, holdProcess: false };
    const background: Exchange = { ...exchange, method: 'GET', body: null, options, directives: { ...exchange.directives, noStore: false }, collapsed: false };
    const run = async (): Promise<void> => {
      const conditional = validationHeaders(exchange.headers, storedHeaders);
      const requestTime = this.now();
      const response = await this.agent.request('GET', exchange.uri, conditional ?? exchange.headers, null, options);
      if (response.code === 304 && conditional !== null) {
        await discardBody(response);
        if (notModifiedMatches(storedHeaders, response.headers)) await this.refresh(selected, response.headers, requestTime);
        this.publish(exchange.info, exchange.key, { fwd: 'stale', fwdStatus: 304 }, true);
        return;
      }
      const accepted = this.accept(background, response, requestTime, { fwd: 'stale', fwdStatus: response.code }, null);
      await discardBody(accepted, this.maxBodySize + 1);
    };
    run()
      .catch(() => {
        // A failed background revalidation leaves the stale response as it was.
      })
      .finally(() => {
        if (this.revalidations.get(id) === controller) this.revalidations.delete(id);
      });
  }

  /** Forwards a request with another method; a non-error answer to an unsafe one invalidates (RFC 9111 §4.4). */
  private async forwardUnsafe(method: string, uri: string | URL, key: string, headers: Headers, body: BodyProducer | null | undefined, options: RequestOptions): Promise<Response> {
    const requestTime = this.now();
    const response = await this.agent.request(method, uri, headers, body, options);
    for (const key of invalidatedKeys(method, uri, response.code, response.headers)) {
      try {
        await this.store.delete(key);
      } catch {
        // The store failed; the response is still the caller's.
      }
    }
    const info: RequestInfo = { method, uri: String(uri), headers };
    if (method === 'POST' && this.answersLaterGets(key, response)) {
      // RFC 9111 §3 and RFC 9110 §9.3.3: a POST response with explicit freshness and a
      // Content-Location of the request URL may answer later GETs for it.
      const asGet: Exchange = { method: 'GET', uri, key, headers, body: null, options, mode: 'default', directives: requestDirectives(headers), info, collapsed: false };
      return this.accept(asGet, response, requestTime, { fwd: 'method' }, null);
    }
    return this.label(info, key, response, { fwd: 'method' });
  }

  /** Whether a POST response names its own URL in `Content-Location` and has explicit freshness. */
  private answersLaterGets(key: string, response: Response): boolean {
    const location = response.headers.get('content-location');
    if (location === undefined) return false;
    let target: string;
    try {
      target = cacheKey(new URL(location.trim(), key));
    } catch {
      return false;
    }
    const cc = responseDirectives(response.headers, this.targeted);
    const explicit = cc?.has('max-age') === true || (this.shared && cc?.has('s-maxage') === true) || response.headers.has('expires');
    return target === key && explicit;
  }

  // ---- helpers ----

  /**
   * What a stored response says about itself, memoised per entry: its fields (not to be changed)
   * and its {@link Reading}, and the fields it is served with before `Age` and `Cache-Status`
   * (the stored ones without `Age` and without those it may not be reused with).
   */
  private read(entry: StoredResponse): StoredReading {
    let read = this.readings.get(entry);
    if (read === undefined) {
      const headers = Headers.fromRaw(entry.headers.slice());
      const reading = readStored(entry.code, headers, entry.responseTime, this.shared, this.targeted);
      const unreusable = unreusableFields(reading.cc, this.shared);
      const served: string[] = [];
      for (let i = 0; i + 1 < entry.headers.length; i += 2) {
        const name = entry.headers[i] as string;
        const lower = name.toLowerCase();
        if (lower !== 'age' && (unreusable.length === 0 || !unreusable.includes(lower))) served.push(name, entry.headers[i + 1] as string);
      }
      read = { headers, reading, served };
      this.readings.set(entry, read);
    }
    return read;
  }

  /** The stored variants of `key`; none when the store fails. */
  private async load(key: string): Promise<readonly StoredResponse[]> {
    try {
      return await this.store.get(key);
    } catch {
      return [];
    }
  }

  /** Whether a miss for this request may wait for another in flight (a plain GET that would be stored). */
  private coalescable(exchange: Exchange): boolean {
    return (
      exchange.method === 'GET' &&
      (exchange.mode === 'default' || exchange.mode === 'force-cache') &&
      !exchange.directives.noCache &&
      !exchange.directives.noStore &&
      !isConditional(exchange.headers)
    );
  }

  /** Waits for a coalesced miss to end, at most `coalesceTimeout`; rejects when the request is cancelled. */
  private waitFor(flight: InFlight, exchange: Exchange): Promise<void> {
    const signal = exchange.options.signal;
    return new Promise<void>((resolve, reject) => {
      let timer: TimerHandle | null = null;
      const finish = (): void => {
        if (timer !== null) this.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        finish();
        reject(new CancelledError('request cancelled', { url: exchange.info.uri, cause: signal?.reason }));
      };
      timer = this.clock.setTimeout(() => {
        finish();
        resolve();
      }, this.coalesceTimeout);
      signal?.addEventListener('abort', onAbort, { once: true });
      void flight.done.then(() => {
        finish();
        resolve();
      });
    });
  }

  /** `response` with this cache's `Cache-Status` member added (the body is the same). */
  private label(info: RequestInfo, key: string, response: Response, outcome: CacheOutcome): Response {
    this.publish(info, key, outcome, false);
    if (!this.cacheStatus) return response;
    const headers = response.headers.clone();
    addCacheStatus(headers, this.name, outcome);
    return deriveResponse(response, { headers });
  }

  private publish(info: RequestInfo, key: string, outcome: CacheOutcome, background: boolean): void {
    if (!diagnostics.cacheDecision.hasSubscribers) return;
    diagnostics.cacheDecision.publish({ method: info.method, url: info.uri, key, status: cacheStatusMember(this.name, outcome), background });
  }
}

brand(CachingAgent, 'core.CachingAgent');
