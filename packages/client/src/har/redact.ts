/**
 * Redaction of HAR entries: credentials and tokens are replaced before anything is written.
 * Header values (`Authorization`, `Cookie`, `Set-Cookie` values...), URL passwords and
 * well-known token parameters in query strings, `Location` fields and form bodies.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from '@strand/core';
import type { HarCookie, HarEntry, HarNameValue, HarRequest } from './model.js';

/** What replaces a secret: `REDACTED`. */
export const REDACTED = 'REDACTED';

/** Header fields whose values are always redacted (names compared case-insensitively). The `Authorization` scheme is kept (`Bearer REDACTED`); cookies keep their names. */
export const DEFAULT_REDACTED_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'x-amz-security-token',
]);

/** Query and form parameters whose values are always redacted (names compared case-insensitively). */
export const DEFAULT_REDACTED_PARAMS: readonly string[] = Object.freeze([
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'auth',
  'api_key',
  'apikey',
  'api-key',
  'key_secret',
  'client_secret',
  'secret',
  'password',
  'passwd',
  'sig',
  'signature',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-goog-signature',
  'x-goog-credential',
]);

/** Options of redaction. The defaults always apply; these add to them. */
export interface RedactOptions {
  /** More header field names whose values are replaced (case-insensitive). */
  headers?: readonly string[];
  /** More query-string and form parameter names whose values are replaced (case-insensitive). */
  params?: readonly string[];
}

const REDACT_KEYS = ['headers', 'params'] as const;

/** The checked form of {@link RedactOptions}: lower-cased name sets. */
export interface HarRedaction {
  /** Header field names whose values are replaced, lower case. */
  readonly headers: ReadonlySet<string>;
  /** Query and form parameter names whose values are replaced, lower case. */
  readonly params: ReadonlySet<string>;
}

function names(value: unknown, field: string, owner: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) throw new InvalidArgumentError(`${owner}: redact.${field} must be an array of names, got ${JSON.stringify(value)}`);
  return (value as string[]).map((v) => v.toLowerCase());
}

/**
 * Checks redaction options and merges them with the defaults.
 *
 * @throws `InvalidArgumentError` naming `owner` and the option.
 */
export function harRedaction(options: RedactOptions | undefined, owner: string): HarRedaction {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) throw new InvalidArgumentError(`${owner}: redact must be an object of options or false`);
  for (const key of Object.keys(options ?? {})) {
    if (!(REDACT_KEYS as readonly string[]).includes(key)) throw new InvalidArgumentError(`${owner}: unknown redact option "${key}" (known: ${REDACT_KEYS.join(', ')})`);
  }
  return {
    headers: new Set([...DEFAULT_REDACTED_HEADERS, ...names(options?.headers, 'headers', owner)]),
    params: new Set([...DEFAULT_REDACTED_PARAMS, ...names(options?.params, 'params', owner)]),
  };
}

/** `a=1; b=2` with every value replaced. */
function redactCookiePairs(value: string): string {
  return value
    .split(';')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq === -1 ? pair : `${pair.slice(0, eq)}=${REDACTED}`;
    })
    .join(';');
}

/** The value of header `name` with its secret replaced: cookies keep names and attributes, credentials their scheme. */
function redactHeaderValue(name: string, value: string): string {
  if (name === 'cookie') return redactCookiePairs(value);
  if (name === 'set-cookie') {
    const semi = value.indexOf(';');
    const first = semi === -1 ? value : value.slice(0, semi);
    return redactCookiePairs(first) + (semi === -1 ? '' : value.slice(semi));
  }
  if (name === 'authorization' || name === 'proxy-authorization') {
    const space = value.indexOf(' ');
    return space === -1 ? REDACTED : `${value.slice(0, space)} ${REDACTED}`;
  }
  return REDACTED;
}

/** Collects where things were replaced. */
class Log {
  readonly places = new Set<string>();
  add(place: string): void {
    this.places.add(place);
  }
}

/** A URL (absolute, or relative as a `Location` may be) with its password and token parameters replaced. */
function redactUrl(text: string, rules: HarRedaction, log: Log, place: string): string {
  let url: URL;
  let relative = false;
  try {
    url = new URL(text);
  } catch {
    try {
      url = new URL(text, 'http://relative.invalid');
      relative = true;
    } catch {
      return text;
    }
  }
  let changed = false;
  if (url.password !== '') {
    url.password = REDACTED;
    log.add(`${place}.password`);
    changed = true;
  }
  if (redactParams(url.searchParams, rules, log, `${place}.query`)) changed = true;
  if (!changed) return text;
  return relative ? url.href.slice('http://relative.invalid'.length) : url.href;
}

/** Replaces token parameters in place; true if any was. */
function redactParams(params: URLSearchParams, rules: HarRedaction, log: Log, place: string): boolean {
  let changed = false;
  for (const key of new Set(params.keys())) {
    if (!rules.params.has(key.toLowerCase())) continue;
    const count = params.getAll(key).length;
    params.delete(key);
    for (let i = 0; i < count; i++) params.append(key, REDACTED);
    log.add(`${place}.${key}`);
    changed = true;
  }
  return changed;
}

function redactPairs(pairs: HarNameValue[], names: ReadonlySet<string>, log: Log, place: string, valueOf: (name: string, value: string) => string): HarNameValue[] {
  return pairs.map((pair) => {
    const name = pair.name.toLowerCase();
    if (!names.has(name)) return pair;
    log.add(`${place}.${name}`);
    return { ...pair, value: valueOf(name, pair.value) };
  });
}

function redactHeaders(headers: HarNameValue[], rules: HarRedaction, log: Log, place: string): HarNameValue[] {
  return headers.map((pair) => {
    const name = pair.name.toLowerCase();
    if (rules.headers.has(name)) {
      log.add(`${place}.${name}`);
      return { ...pair, value: redactHeaderValue(name, pair.value) };
    }
    if (name === 'location' || name === 'content-location' || name === 'referer') {
      const value = redactUrl(pair.value, rules, log, `${place}.${name}`);
      return value === pair.value ? pair : { ...pair, value };
    }
    return pair;
  });
}

function redactCookies(cookies: HarCookie[], log: Log, place: string): HarCookie[] {
  if (cookies.length > 0) log.add(place);
  return cookies.map((cookie) => ({ ...cookie, value: REDACTED }));
}

/** The request part of redaction, also what a replay applies to a live request before matching it. */
export function redactRequest(request: HarRequest, rules: HarRedaction, places: Set<string> = new Set()): HarRequest {
  const log = new Log();
  const out: HarRequest = {
    ...request,
    url: redactUrl(request.url, rules, log, 'request.url'),
    headers: redactHeaders(request.headers, rules, log, 'request.headers'),
    cookies: redactCookies(request.cookies, log, 'request.cookies'),
    queryString: redactPairs(request.queryString, rules.params, log, 'request.queryString', () => REDACTED),
  };
  const post = request.postData;
  if (post !== undefined && post.mimeType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const params = new URLSearchParams(post.text);
    if (redactParams(params, rules, log, 'request.postData')) {
      out.postData = { ...post, text: params.toString() };
      if (post.params !== undefined) out.postData.params = redactPairs(post.params, rules.params, log, 'request.postData.params', () => REDACTED);
    }
  }
  for (const place of log.places) places.add(place);
  return out;
}

/**
 * `entry` with its secrets replaced by {@link REDACTED} (a new object; `entry` is not changed).
 * `_strand.redacted` lists where.
 */
export function redactEntry(entry: HarEntry, rules: HarRedaction): HarEntry {
  const places = new Set<string>();
  const log = new Log();
  const request = redactRequest(entry.request, rules, places);
  const response = {
    ...entry.response,
    headers: redactHeaders(entry.response.headers, rules, log, 'response.headers'),
    cookies: redactCookies(entry.response.cookies, log, 'response.cookies'),
    redirectURL: entry.response.redirectURL === '' ? '' : redactUrl(entry.response.redirectURL, rules, log, 'response.redirectURL'),
  };
  const out: HarEntry = { ...entry, request, response };
  const strand = entry._strand;
  if (strand !== undefined) {
    out._strand = { ...strand };
    if (strand.trailers !== undefined) out._strand.trailers = redactHeaders(strand.trailers, rules, log, 'response.trailers');
    if (strand.informational !== undefined) {
      out._strand.informational = strand.informational.map((info) => ({ ...info, headers: redactHeaders(info.headers, rules, log, `response.informational.${info.status}`) }));
    }
  }
  for (const place of log.places) places.add(place);
  if (places.size > 0) out._strand = { ...(out._strand ?? { v: 1 }), redacted: [...places].sort() };
  return out;
}
