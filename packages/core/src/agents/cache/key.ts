/**
 * The cache key (RFC 9111 §2: the target URI) and `Vary` (§4.1): which stored variant a request
 * may be answered with.
 *
 * @packageDocumentation
 */

import type { Headers } from '../../message/headers.js';

/** The primary cache key of a request: its absolute URL, normalised by WHATWG URL parsing, without the fragment. */
export function cacheKey(uri: string | URL): string {
  const url = new URL(String(uri));
  url.hash = '';
  return url.href;
}

/**
 * The field names a response's `Vary` lists, lower-cased, in order, each once; `['*']` when it
 * holds `*` (the response never matches a later request). Empty without `Vary`.
 */
export function varyNames(headers: Headers): string[] {
  const names: string[] = [];
  for (const line of headers.getAll('vary')) {
    for (const part of line.split(',')) {
      const name = part.trim().toLowerCase();
      if (name === '') continue;
      if (name === '*') return ['*'];
      if (!names.includes(name)) names.push(name);
    }
  }
  return names;
}

/**
 * A request field's value for comparison (RFC 9111 §4.1): its field lines combined with `, `,
 * whitespace around commas and runs of whitespace collapsed; null when the field is absent.
 */
function normalisedValue(headers: Headers, name: string): string | null {
  const lines = headers.getAll(name);
  if (lines.length === 0) return null;
  return lines
    .join(',')
    .split(',')
    .map((part) => part.trim().replace(/[ \t]+/g, ' '))
    .join(', ');
}

/** The request's values of the fields `names` lists, as stored with a response. */
export function varyValues(names: readonly string[], requestHeaders: Headers): Record<string, string | null> {
  const values: Record<string, string | null> = {};
  for (const name of names) values[name] = name === '*' ? null : normalisedValue(requestHeaders, name);
  return values;
}

/** The variant id of stored values: one string per distinct set of request values. */
export function variantId(values: Readonly<Record<string, string | null>>): string {
  return JSON.stringify(Object.keys(values).sort().map((name) => [name, values[name]]));
}

/** True when a request with `requestHeaders` may be answered by a response stored with `stored` values (RFC 9111 §4.1). */
export function varyMatches(stored: Readonly<Record<string, string | null>>, requestHeaders: Headers): boolean {
  for (const name of Object.keys(stored)) {
    if (name === '*') return false;
    if (normalisedValue(requestHeaders, name) !== stored[name]) return false;
  }
  return true;
}
