/**
 * What must not follow a request to another origin: credentials in headers and in the URL.
 *
 * @packageDocumentation
 */

import type { Headers } from '../message/headers.js';

/**
 * Header fields dropped whenever a redirect leaves the origin (scheme, host or port), and never
 * restored for the rest of the chain: `Authorization`, `Cookie`, `Proxy-Authorization`.
 */
export const DEFAULT_SENSITIVE_HEADERS: readonly string[] = Object.freeze(['Authorization', 'Cookie', 'Proxy-Authorization']);

/** Fields describing a request body, dropped when a redirect turns the request into a body-less GET (Fetch, "request-body-header name"). */
export const BODY_HEADERS: readonly string[] = Object.freeze(['Content-Type', 'Content-Encoding', 'Content-Language', 'Content-Location', 'Content-Length', 'Transfer-Encoding']);

/** True when `a` and `b` have the same scheme, host and port (default ports made explicit). */
export function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.hostname === b.hostname && effectivePort(a) === effectivePort(b);
}

/** The URL's port, or the default port of its scheme. */
export function effectivePort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** Removes every field named in `names` (case-insensitive). */
export function removeHeaders(headers: Headers, names: Iterable<string>): void {
  for (const name of names) headers.delete(name);
}

/** `url` without `user:password@` (a copy when there was one to remove). */
export function withoutCredentials(url: URL): URL {
  if (url.username === '' && url.password === '') return url;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy;
}
