/**
 * Freshness (RFC 9111 §4.2): how long a stored response is fresh, and how old it is now.
 * All times are ms since the epoch; lifetimes and ages are in seconds.
 *
 * @packageDocumentation
 */

import type { CacheDirectives } from '../../message/field-values.js';
import { parseHttpDate } from '../../message/field-values.js';
import type { Headers } from '../../message/headers.js';

/**
 * Statuses a cache may give a heuristic freshness lifetime (RFC 9110 §15.1, "heuristically
 * cacheable"); any other needs explicit freshness or `public`.
 */
export const HEURISTICALLY_CACHEABLE: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/** The share of the time since `Last-Modified` used as a heuristic lifetime (RFC 9111 §4.2.2's example). */
const HEURISTIC_FRACTION = 0.1;
/** The longest heuristic lifetime given, in seconds (one day, as common caches do). */
const HEURISTIC_CAP = 24 * 60 * 60;

/** A response's freshness lifetime and where it came from. */
export interface Lifetime {
  /** Seconds the response is fresh for, from its generation (0: stale at once). */
  readonly seconds: number;
  /** `explicit` (s-maxage, max-age, Expires), `heuristic` (Last-Modified), or `none`. */
  readonly source: 'explicit' | 'heuristic' | 'none';
}

/** The response's `Date` in ms, or `fallback` (the time it was received) when absent or unreadable. */
export function dateValue(headers: Headers, fallback: number): number {
  const date = headers.get('date');
  const parsed = date === undefined ? undefined : parseHttpDate(date, fallback);
  return parsed ?? fallback;
}

/**
 * The `Age` value in seconds (RFC 9111 §5.1): the first member when several were sent, a
 * non-negative integer; 0 when absent or not one.
 */
export function ageValue(headers: Headers): number {
  const age = headers.get('age');
  if (age === undefined) return 0;
  const first = (age.split(',')[0] as string).trim();
  return /^\d+$/.test(first) ? Math.min(Number(first), 2 ** 31) : 0;
}

/**
 * The freshness lifetime (RFC 9111 §4.2.1): `s-maxage` in a shared cache, then `max-age`, then
 * `Expires` minus `Date` (an unreadable `Expires` or `max-age` means already stale); failing
 * those, a heuristic (§4.2.2) of 10% of the time since `Last-Modified` (at most a day), only for
 * a heuristically cacheable status or a `public` response.
 */
export function freshnessLifetime(code: number, headers: Headers, directives: CacheDirectives | undefined, shared: boolean, receivedAt: number): Lifetime {
  if (shared) {
    const sMaxAge = directives?.get('s-maxage');
    if (sMaxAge !== undefined) return { seconds: typeof sMaxAge === 'number' ? sMaxAge : 0, source: 'explicit' };
  }
  const maxAge = directives?.get('max-age');
  if (maxAge !== undefined) return { seconds: typeof maxAge === 'number' ? maxAge : 0, source: 'explicit' };
  const expiresLines = headers.getAll('expires');
  if (expiresLines.length > 0) {
    const expires = expiresLines.length === 1 ? parseHttpDate(expiresLines[0] as string, receivedAt) : undefined;
    if (expires === undefined) return { seconds: 0, source: 'explicit' };
    return { seconds: Math.max(0, (expires - dateValue(headers, receivedAt)) / 1000), source: 'explicit' };
  }
  if (!HEURISTICALLY_CACHEABLE.has(code) && directives?.has('public') !== true) return { seconds: 0, source: 'none' };
  const lastModified = headers.get('last-modified');
  const modified = lastModified === undefined ? undefined : parseHttpDate(lastModified, receivedAt);
  if (modified === undefined) return { seconds: 0, source: 'none' };
  const since = (dateValue(headers, receivedAt) - modified) / 1000;
  if (since <= 0) return { seconds: 0, source: 'none' };
  return { seconds: Math.min(HEURISTIC_CAP, Math.floor(since * HEURISTIC_FRACTION)), source: 'heuristic' };
}

/**
 * The current age in seconds (RFC 9111 §4.2.3): the larger of the apparent age (`response_time`
 * minus `date`) and the corrected `Age` (plus the response delay), plus the time it has been
 * stored. `date` is the response's `Date` in ms ({@link dateValue}); `age` its {@link ageValue}.
 */
export function currentAge(date: number, age: number, requestTime: number, responseTime: number, now: number): number {
  const apparentAge = Math.max(0, responseTime - date) / 1000;
  const responseDelay = Math.max(0, responseTime - requestTime) / 1000;
  const correctedAgeValue = age + responseDelay;
  const correctedInitialAge = Math.max(apparentAge, correctedAgeValue);
  const residentTime = Math.max(0, now - responseTime) / 1000;
  return correctedInitialAge + residentTime;
}
