/**
 * The cache's rules (RFC 9111 §3, §4.2.4, §5.2): whether a response may be stored, what the
 * request's directives ask, and whether a stored response may answer a request as it is, stale,
 * or only after validation.
 *
 * @packageDocumentation
 */

import type { CacheDirectives } from '../../message/field-values.js';
import type { Headers } from '../../message/headers.js';
import { Token, isInnerList } from '../../message/structured-fields.js';
import { HEURISTICALLY_CACHEABLE, ageValue, currentAge, dateValue, freshnessLifetime } from './freshness.js';

/** The Fetch standard's cache modes, per request (see `CacheRequestOptions.cache`). */
export type CacheMode = 'default' | 'no-store' | 'reload' | 'no-cache' | 'force-cache' | 'only-if-cached';

/** The cache modes, for validation. */
export const CACHE_MODES: ReadonlySet<string> = new Set<CacheMode>(['default', 'no-store', 'reload', 'no-cache', 'force-cache', 'only-if-cached']);

/**
 * Adds the request fields the Fetch standard sends for a cache mode (HTTP-network-or-cache
 * fetch), unless the request has its own: `no-cache` asks caches on the way to validate with
 * `Cache-Control: max-age=0`; `no-store` and `reload` ask them not to answer from storage with
 * `Pragma: no-cache` and `Cache-Control: no-cache`.
 */
export function addModeFields(headers: Headers, mode: CacheMode): void {
  if (mode === 'no-cache' && !headers.has('cache-control')) headers.add('Cache-Control', 'max-age=0');
  if (mode === 'no-store' || mode === 'reload') {
    if (!headers.has('pragma')) headers.add('Pragma', 'no-cache');
    if (!headers.has('cache-control')) headers.add('Cache-Control', 'no-cache');
  }
}

/** What the request's `Cache-Control` (or, without one, `Pragma: no-cache`) asks of the cache (RFC 9111 §5.2.1). */
export interface RequestDirectives {
  /** `no-cache` (or `Pragma: no-cache`): a stored response must be validated first. */
  readonly noCache: boolean;
  /** `no-store`: the response must not be stored. */
  readonly noStore: boolean;
  /** `max-age`: the oldest response accepted, seconds. */
  readonly maxAge: number | undefined;
  /** `max-stale`: how stale a response may be, seconds (Infinity without a value). */
  readonly maxStale: number | undefined;
  /** `min-fresh`: how long a response must still be fresh, seconds. */
  readonly minFresh: number | undefined;
  /** `only-if-cached`: answer from storage or with 504. */
  readonly onlyIfCached: boolean;
  /** `stale-if-error`: how stale a response may be when the origin fails, seconds. */
  readonly staleIfError: number | undefined;
}

function seconds(value: string | number | true | undefined): number | undefined {
  // A malformed delta-seconds (RFC 9111 §1.2.2) is treated as 0: the most conservative reading.
  if (value === undefined) return undefined;
  return typeof value === 'number' ? value : 0;
}

/** Reads the request's cache directives. */
export function requestDirectives(headers: Headers): RequestDirectives {
  const cc = headers.cacheControl();
  if (cc === undefined) {
    const pragma = headers.getAll('pragma').some((line) => line.split(',').some((part) => part.trim().toLowerCase() === 'no-cache'));
    return { noCache: pragma, noStore: false, maxAge: undefined, maxStale: undefined, minFresh: undefined, onlyIfCached: false, staleIfError: undefined };
  }
  const maxStale = cc.get('max-stale');
  return {
    noCache: cc.has('no-cache'),
    noStore: cc.has('no-store'),
    maxAge: seconds(cc.get('max-age')),
    maxStale: maxStale === true ? Infinity : typeof maxStale === 'number' ? maxStale : maxStale === undefined ? undefined : 0,
    minFresh: seconds(cc.get('min-fresh')),
    onlyIfCached: cc.has('only-if-cached'),
    staleIfError: seconds(cc.get('stale-if-error')),
  };
}

/**
 * The response's cache directives for this cache (RFC 9213 §2.1): the first of `targeted` (a
 * targeted field such as `CDN-Cache-Control`, read as an RFC 9651 Dictionary) that is present and
 * valid replaces `Cache-Control` entirely; otherwise `Cache-Control`.
 */
export function responseDirectives(headers: Headers, targeted: readonly string[]): CacheDirectives | undefined {
  for (const name of targeted) {
    if (!headers.has(name)) continue;
    const dictionary = headers.structured(name, 'dictionary');
    if (dictionary === undefined || !(dictionary instanceof Map)) continue;
    const directives: CacheDirectives = new Map();
    for (const [key, member] of dictionary) {
      if (isInnerList(member)) continue;
      const value = member.value;
      if (value === true) directives.set(key, true);
      else if (typeof value === 'number' && Number.isInteger(value) && value >= 0) directives.set(key, Math.min(value, 2 ** 31));
      else if (typeof value === 'string' || value instanceof Token) directives.set(key, String(value));
      else directives.set(key, 'invalid');
    }
    return directives;
  }
  return headers.cacheControl();
}

/** Statuses whose meaning the cache understands well enough to store under `must-understand` (RFC 9111 §5.2.2.3). */
const UNDERSTOOD: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501]);

/**
 * Whether a response to a `GET` may be stored (RFC 9111 §3): a final status other than 206 and
 * 304 (no ranges here), no `no-store` (unless `must-understand` with an understood status), in a
 * shared cache neither `private` nor a request with `Authorization` unless the response allows
 * it, and something that makes it reusable: explicit freshness, `public`, `private` (private
 * cache), or a heuristically cacheable status (which also covers a validator-only response).
 */
export function isStorable(code: number, headers: Headers, cc: CacheDirectives | undefined, requestHeaders: Headers, shared: boolean): boolean {
  if (code < 200 || code === 206 || code === 304) return false;
  if (cc?.has('must-understand') === true) {
    if (!UNDERSTOOD.has(code)) return false;
  } else if (cc?.has('no-store') === true) {
    return false;
  }
  if (shared) {
    if (cc?.get('private') === true) return false;
    if (requestHeaders.has('authorization') && cc?.has('must-revalidate') !== true && cc?.has('public') !== true && cc?.has('s-maxage') !== true) return false;
  }
  if (cc?.has('public') === true || cc?.has('max-age') === true || headers.has('expires')) return true;
  if (shared && cc?.has('s-maxage') === true) return true;
  if (!shared && cc?.has('private') === true) return true;
  return HEURISTICALLY_CACHEABLE.has(code);
}

/** How a stored response stands against a request now. */
export interface Standing {
  /** Current age, seconds. */
  readonly age: number;
  /** Freshness lifetime, seconds. */
  readonly lifetime: number;
  /** `lifetime - age`: seconds of freshness left (negative once stale). */
  readonly ttl: number;
  /**
   * `fresh`: may be served as is. `stale-ok`: stale, but the request's `max-stale` allows it.
   * `revalidate-in-background`: stale within `stale-while-revalidate`: serve, then validate.
   * `validate`: must be validated (stale, `no-cache`, or the request's `max-age`/`min-fresh`).
   */
  readonly verdict: 'fresh' | 'stale-ok' | 'revalidate-in-background' | 'validate';
  /** True when the response may be served stale if the origin fails (`stale-if-error`). */
  readonly staleIfError: boolean;
}

/**
 * What a stored response says about itself, read once: its directives for this cache, its
 * freshness lifetime (seconds), its `Date` (ms) and its `Age` (seconds).
 */
export interface Reading {
  /** The response's directives for this cache ({@link responseDirectives}). */
  readonly cc: CacheDirectives | undefined;
  /** Its freshness lifetime, seconds. */
  readonly lifetime: number;
  /** Its `Date`, ms since the epoch (the time it was received when absent). */
  readonly date: number;
  /** Its `Age` value, seconds. */
  readonly age: number;
}

/** Reads a stored response's {@link Reading}. */
export function readStored(code: number, headers: Headers, responseTime: number, shared: boolean, targeted: readonly string[]): Reading {
  const cc = responseDirectives(headers, targeted);
  return { cc, lifetime: freshnessLifetime(code, headers, cc, shared, responseTime).seconds, date: dateValue(headers, responseTime), age: ageValue(headers) };
}

/**
 * Decides whether a stored response (its `reading`) may answer a request with `request`
 * directives at `now` (RFC 9111 §4.2.4, §5.2; RFC 5861): freshness against the request's
 * `max-age` and `min-fresh`; stale serving only where `must-revalidate`, `proxy-revalidate` and
 * `s-maxage` (shared) and `no-cache` allow it, through `max-stale`, `stale-while-revalidate` or
 * `stale-if-error`.
 */
export function standing(reading: Reading, requestTime: number, responseTime: number, request: RequestDirectives, shared: boolean, now: number): Standing {
  const { cc, lifetime } = reading;
  const age = currentAge(reading.date, reading.age, requestTime, responseTime, now);
  const ttl = lifetime - age;
  const staleness = -ttl;
  // A qualified no-cache="field" only keeps those fields from reuse (see unreusableFields).
  const noCache = cc?.get('no-cache') === true;
  const mayServeStale = !noCache && cc?.has('must-revalidate') !== true && !(shared && (cc?.has('proxy-revalidate') === true || cc?.has('s-maxage') === true));
  const sie = request.staleIfError ?? seconds(cc?.get('stale-if-error'));
  const staleIfError = mayServeStale && sie !== undefined && staleness <= sie;
  const result = (verdict: Standing['verdict']): Standing => ({ age, lifetime, ttl, verdict, staleIfError });
  if (noCache || request.noCache) return result('validate');
  if (request.maxAge !== undefined && age > request.maxAge) return result('validate');
  if (ttl > 0) {
    if (request.minFresh !== undefined && ttl < request.minFresh) return result('validate');
    return result('fresh');
  }
  if (!mayServeStale) return result('validate');
  if (request.maxStale !== undefined && staleness <= request.maxStale) return result('stale-ok');
  const swr = seconds(cc?.get('stale-while-revalidate'));
  if (swr !== undefined && staleness <= swr) return result('revalidate-in-background');
  return result('validate');
}

/**
 * The fields a stored response must not be reused with (RFC 9111 §5.2.2.4, §5.2.2.7): those a
 * qualified `no-cache="..."` lists, and in a shared cache those a qualified `private="..."` lists.
 * Lower-case names.
 */
export function unreusableFields(cc: CacheDirectives | undefined, shared: boolean): string[] {
  const names: string[] = [];
  const add = (value: string | number | true | undefined): void => {
    if (typeof value === 'string') for (const name of value.split(',')) if (name.trim() !== '') names.push(name.trim().toLowerCase());
  };
  add(cc?.get('no-cache'));
  if (shared) add(cc?.get('private'));
  return names;
}
