/**
 * The client's HTTP cache options: `cache` (a client's store) and, per request, `cacheMode` and
 * `ifModifiedSince` (tornado's `if_modified_since`). The cache itself is core's `CachingAgent`.
 *
 * @packageDocumentation
 */

import { type Agent, type CacheMode, type CacheStore, CachingAgent, InvalidArgumentError, MemoryCacheStore } from '@strand/core';
import { describe } from './fields.js';

const CACHE_MODES: ReadonlySet<string> = new Set<CacheMode>(['default', 'no-store', 'reload', 'no-cache', 'force-cache', 'only-if-cached']);

function isCacheStore(value: unknown): value is CacheStore {
  if (typeof value !== 'object' || value === null) return false;
  const store = value as Partial<Record<keyof CacheStore, unknown>>;
  return typeof store.get === 'function' && typeof store.open === 'function' && typeof store.update === 'function' && typeof store.delete === 'function';
}

/** The store of the `cache` client option: `true` a new `MemoryCacheStore`, a `CacheStore` itself, `false`/absent none. */
export function cacheStoreOption(value: unknown): CacheStore | null {
  if (value === undefined || value === false) return null;
  if (value === true) return new MemoryCacheStore();
  if (isCacheStore(value)) return value;
  throw new InvalidArgumentError(`cache must be a boolean or a CacheStore (get, open, update, delete), got ${describe(value)}`);
}

/** The `cacheMode` request option, checked; null when absent. */
export function cacheModeOption(value: unknown): CacheMode | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' || !CACHE_MODES.has(value)) throw new InvalidArgumentError(`cacheMode must be one of ${[...CACHE_MODES].join(', ')}, got ${describe(value)}`);
  return value as CacheMode;
}

/** The `If-Modified-Since` value of the `ifModifiedSince` request option (a `Date` or ms since the epoch) as an HTTP-date. */
export function ifModifiedSinceValue(value: unknown): string {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Number.NaN;
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`ifModifiedSince must be a valid Date or a number of ms since the epoch, got ${value instanceof Date ? 'an invalid Date' : describe(value)}`);
  return new Date(ms).toUTCString();
}

/** One `CachingAgent` per base agent, all on one store: a stable agent for each base, so stacks built on it can be shared. */
export class ClientCache {
  private readonly agents = new WeakMap<Agent, CachingAgent>();

  constructor(readonly store: CacheStore) {}

  /** `base` behind the cache. */
  over(base: Agent): Agent {
    let caching = this.agents.get(base);
    if (caching === undefined) this.agents.set(base, (caching = new CachingAgent(base, { store: this.store })));
    return caching;
  }
}
