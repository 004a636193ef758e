/**
 * Validation (RFC 9111 §4.3): the conditional request a cache sends, which stored response a
 * `304` refers to, how it updates the stored header fields (§3.2, §4.3.4), and answering a
 * client's own conditional request from storage (§4.3.2).
 *
 * @packageDocumentation
 */

import { parseHttpDate } from '../../message/field-values.js';
import { Headers } from '../../message/headers.js';

/** Fields that describe one connection, never stored (RFC 9111 §3.1, RFC 9110 §7.6.1). */
const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade']);

/**
 * Fields never stored (RFC 9111 §3.1): the hop-by-hop ones, and those specific to the proxy a
 * request went through (the cache key does not name the proxy).
 */
const NOT_STORED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'proxy-authenticate', 'proxy-authentication-info', 'proxy-authorization']);

/** The fields a stored response does not take from a `304` (RFC 9111 §3.2): framing and those never stored. */
const NOT_UPDATED: ReadonlySet<string> = new Set([...NOT_STORED, 'content-length']);

/** The request fields that make a request conditional. */
const CONDITIONALS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range'] as const;

/** The names `Connection` lists (RFC 9110 §7.6.1), lower-cased. */
function connectionOptions(headers: Headers): Set<string> {
  const names = new Set<string>();
  for (const line of headers.getAll('connection')) for (const part of line.split(',')) names.add(part.trim().toLowerCase());
  return names;
}

/** A response's fields as stored: a flat list without the hop-by-hop and proxy fields. */
export function storedFields(headers: Headers): string[] {
  const listed = connectionOptions(headers);
  const flat: string[] = [];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (!NOT_STORED.has(lower) && !listed.has(lower)) flat.push(name, value);
  }
  return flat;
}

/**
 * The stored fields updated by a `304` (RFC 9111 §3.2): each field the `304` carries replaces the
 * stored field of that name (all its lines), except the framing and hop-by-hop fields.
 */
export function updatedFields(stored: readonly string[], notModified: Headers): string[] {
  const listed = connectionOptions(notModified);
  const replacing = new Map<string, [string, string][]>();
  for (const [name, value] of notModified) {
    const lower = name.toLowerCase();
    if (NOT_UPDATED.has(lower) || listed.has(lower)) continue;
    let lines = replacing.get(lower);
    if (lines === undefined) replacing.set(lower, (lines = []));
    lines.push([name, value]);
  }
  const flat: string[] = [];
  for (let i = 0; i < stored.length; i += 2) {
    const lower = (stored[i] as string).toLowerCase();
    if (!replacing.has(lower)) flat.push(stored[i] as string, stored[i + 1] as string);
  }
  for (const lines of replacing.values()) for (const [name, value] of lines) flat.push(name, value);
  return flat;
}

/** True when the request carries a precondition of its own (`If-None-Match`, `If-Modified-Since`, ...). */
export function isConditional(headers: Headers): boolean {
  return CONDITIONALS.some((name) => headers.has(name));
}

/**
 * The request headers of a validation request for a stored response (RFC 9111 §4.3.1): the
 * request's own with `If-None-Match` for the stored `ETag` and `If-Modified-Since` for its
 * `Last-Modified`. Null when the stored response has neither validator.
 */
export function validationHeaders(request: Headers, stored: Headers): Headers | null {
  const etag = stored.get('etag');
  const lastModified = stored.get('last-modified');
  if (etag === undefined && lastModified === undefined) return null;
  const headers = request.clone();
  if (etag !== undefined) headers.set('If-None-Match', etag);
  if (lastModified !== undefined) headers.set('If-Modified-Since', lastModified);
  return headers;
}

function opaque(tag: string): string {
  const t = tag.trim();
  return t.startsWith('W/') ? t.slice(2) : t;
}

/**
 * Whether a `304` refers to the stored response with `stored` fields (RFC 9111 §4.3.4): by a
 * strong `ETag` when it has one, else by `Last-Modified`; a `304` with neither validator refers
 * to the stored response that was validated.
 */
export function notModifiedMatches(stored: Headers, notModified: Headers): boolean {
  const etag = notModified.get('etag');
  if (etag !== undefined && !etag.trim().startsWith('W/')) return stored.get('etag')?.trim() === etag.trim();
  const lastModified = notModified.get('last-modified');
  if (lastModified !== undefined) return stored.get('last-modified') === lastModified;
  if (etag !== undefined) return stored.get('etag') !== undefined && opaque(stored.get('etag') as string) === opaque(etag);
  return true;
}

/**
 * Whether a stored response satisfies the client's own `If-None-Match` / `If-Modified-Since`
 * (RFC 9111 §4.3.2, RFC 9110 §13.1): the cache then answers `304` from storage. `If-None-Match`
 * compares entity tags weakly (or `*`); without it, `If-Modified-Since` compares the stored
 * `Last-Modified` (or its `Date`).
 */
export function satisfiesConditional(request: Headers, stored: Headers, storedAt: number): boolean {
  const inm = request.getAll('if-none-match');
  if (inm.length > 0) {
    const etag = stored.get('etag');
    const tags = inm.join(',').split(',').map((t) => t.trim());
    if (tags.includes('*')) return true;
    return etag !== undefined && tags.some((tag) => opaque(tag) === opaque(etag));
  }
  const ims = request.get('if-modified-since');
  if (ims === undefined) return false;
  const since = parseHttpDate(ims, storedAt);
  const modifiedField = stored.get('last-modified') ?? stored.get('date');
  const modified = modifiedField === undefined ? undefined : parseHttpDate(modifiedField, storedAt);
  return since !== undefined && modified !== undefined && modified <= since;
}

/** The fields of a `304` made from a stored response (RFC 9110 §15.4.5): those a `200` would carry, minus the content's own. */
export function notModifiedFields(stored: Headers): Headers {
  const headers = new Headers();
  for (const name of ['cache-control', 'content-location', 'date', 'etag', 'expires', 'last-modified', 'vary']) {
    for (const value of stored.getAll(name)) headers.add(name, value);
  }
  return headers;
}

/**
 * Whether a `200` answer to a `HEAD` describes the stored response (RFC 9111 §4.3.5), so that it
 * may freshen it: the same strong `ETag`, else the same `Last-Modified`, else neither validator
 * on either side; and the same `Content-Length` when both have one.
 */
export function headMatches(stored: Headers, head: Headers): boolean {
  const length = head.get('content-length');
  const storedLength = stored.get('content-length');
  if (length !== undefined && storedLength !== undefined && length !== storedLength) return false;
  const etag = head.get('etag');
  if (etag !== undefined) return !etag.trim().startsWith('W/') && stored.get('etag')?.trim() === etag.trim();
  const lastModified = head.get('last-modified');
  if (lastModified !== undefined) return stored.get('last-modified') === lastModified;
  return stored.get('etag') === undefined && stored.get('last-modified') === undefined;
}
