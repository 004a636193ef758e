/**
 * Invalidation (RFC 9111 §4.4): a non-error response to an unsafe request makes the cache drop
 * what it stored for the target URI and for the same-origin `Location` and `Content-Location`.
 *
 * @packageDocumentation
 */

import type { Headers } from '../../message/headers.js';
import { cacheKey } from './key.js';

/** Methods that are safe (RFC 9110 §9.2.1): their responses never invalidate. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * The cache keys a response to `method` on `uri` invalidates: none for a safe method or an error
 * status (not 2xx/3xx); else the target URI and the `Location` and `Content-Location` URIs
 * (resolved against it) that have its origin.
 */
export function invalidatedKeys(method: string, uri: string | URL, code: number, headers: Headers): string[] {
  if (SAFE_METHODS.has(method) || code < 200 || code >= 400) return [];
  const target = new URL(String(uri));
  const keys = [cacheKey(target)];
  for (const name of ['location', 'content-location']) {
    const value = headers.get(name);
    if (value === undefined) continue;
    let url: URL;
    try {
      url = new URL(value.trim(), target);
    } catch {
      continue;
    }
    if (url.origin !== target.origin) continue;
    const key = cacheKey(url);
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}
