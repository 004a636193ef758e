/**
 * The cache key (RFC 9111 §2: the target URI) and `Vary` (§4.1): which stored variant a request
 * may be answered with.
 *
 * @packageDocumentation
 */

import { checkRequestLine } from '../../http1/serializer.js';
import type { Headers } from '../../message/headers.js';

/** The primary cache key of a request: its absolute URL, normalised by WHATWG URL parsing, without the fragment. */
export function cacheKey(uri: string | URL): string {
  const url = new URL(String(uri));
  url.hash = '';
  return url.href;
}

/**
 * The cache key of a request about to be sent: its URL checked as the agent will check it (a
 * bad method or URL is the agent's `InvalidRequestError`, before anything is looked up), through
 * the agent's cache of recently parsed URLs.
 */
export function requestKey(method: string, uri: string | URL): string {
  const url = checkRequestLine(method, uri);
  return url.hash === '' ? url.href : cacheKey(url);
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
  if (name === 'accept-language') return languagePreferences(lines);
  return lines
    .join(',')
    .split(',')
    .map((part) => part.trim().replace(/[ \t]+/g, ' '))
    .join(', ');
}

/**
 * `Accept-Language` by its meaning (RFC 9110 §12.5.4): language ranges are case-insensitive and
 * ranked by their weights, not by their order; ranges lower-cased and sorted by weight, then
 * name. A member that is not `range[;q=weight]` keeps the value as sent.
 */
function languagePreferences(lines: readonly string[]): string {
  const ranked: { range: string; q: number }[] = [];
  for (const member of lines.join(',').split(',')) {
    const text = member.trim();
    if (text === '') continue;
    const match = /^([A-Za-z0-9*-]+)\s*(?:;\s*q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?))?$/.exec(text);
    if (match === null) return lines.join(', ');
    ranked.push({ range: (match[1] as string).toLowerCase(), q: match[2] === undefined ? 1 : Number(match[2]) });
  }
  ranked.sort((a, b) => b.q - a.q || (a.range < b.range ? -1 : a.range > b.range ? 1 : 0));
  return ranked.map(({ range, q }) => (q === 1 ? range : `${range};q=${q}`)).join(', ');
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
