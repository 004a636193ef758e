/**
 * Request patterns: what routes, expectations and matchers say about a request, and how a
 * recorded request is compared with one, field by field, with a readable account of what differs.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from '@strand/core';
import { describeValue, isRecord, isToken } from '../validation.js';
import type { RecordedRequest } from './recorded-request.js';

/**
 * Anything with an `asymmetricMatch(value)` method, such as jest's `expect.stringMatching(...)`
 * or `expect.objectContaining(...)`. Accepted wherever a pattern takes a value.
 */
export interface AsymmetricMatcherLike {
  /** True when `other` matches (jest's asymmetric matcher protocol). */
  asymmetricMatch(other: unknown): boolean;
}

/** A header, query or body value in a pattern: exact text, a RegExp, or an asymmetric matcher. */
export type TextMatcher = string | RegExp | AsymmetricMatcherLike;

/**
 * What a request must look like. Every field is optional and every given field must match:
 *
 * - `method`: compared case-insensitively (`'post'` matches `POST`).
 * - `url`: an absolute URL (scheme, host, port, path and query must all match; the order of
 *   query parameters does not matter), a path with an optional query (`'/items?page=2'`, same
 *   rules without the origin), a RegExp tested on the whole URL, or an asymmetric matcher.
 * - `host`: `host[:port]` of the URL, case-insensitive.
 * - `path`: the URL's path. A string may hold `:name` segments (captured as `params.name`) and
 *   `*` (anything, slashes included); otherwise it must be equal. A RegExp's named groups
 *   become params.
 * - `query`: the listed parameters only: a string must be the parameter's only value, an array
 *   all of its values in order, `null` its absence.
 * - `headers`: the listed fields only (names case-insensitive); several fields of a name are
 *   compared joined with `", "`; `null` means the field must be absent.
 * - `body`: the body as text (a string, RegExp or asymmetric matcher) or its exact bytes.
 * - `json`: the body parsed as JSON, deep-equal to this (asymmetric matchers allowed inside).
 * - `where`: a last predicate over the whole request.
 */
export interface RequestPattern {
  /** The method, compared case-insensitively. */
  method?: string;
  /** The whole URL: exact text, a RegExp, or an asymmetric matcher (`expect.stringContaining(...)`). */
  url?: string | RegExp | AsymmetricMatcherLike;
  /** The host (and port, when not the default), lower case. */
  host?: string;
  /** The path: exact, a RegExp, or a pattern with `:name` parameters (captured in `params`). */
  path?: string | RegExp;
  /** Query parameters that must be present with these values (a list for a repeated key; `null`: must be absent). Others may be present. */
  query?: Readonly<Record<string, TextMatcher | readonly string[] | null>>;
  /** Header fields that must be present with these values (case-insensitive names; `null`: must be absent). Others may be present. */
  headers?: Readonly<Record<string, TextMatcher | null>>;
  /** The body: exact text, bytes, a RegExp or an asymmetric matcher. */
  body?: TextMatcher | Uint8Array;
  /** The body parsed as JSON, deep-equal to this (asymmetric matchers allowed inside). */
  json?: unknown;
  /** Any other check on the recorded request. */
  where?: (request: RecordedRequest) => boolean;
}

/** One field of a request that did not match, already formatted for a message. */
export interface Mismatch {
  /** The field that differs (`method`, `path`, `headers.accept`...). */
  readonly field: string;
  /** Human-readable lines explaining the difference (expected vs received, or a diff). */
  readonly lines: readonly string[];
}

/** The outcome of {@link matchRequest}. */
export interface MatchResult {
  /** True when every field of the pattern matched. */
  readonly matched: boolean;
  /** Path parameters captured by `path`. */
  readonly params: Record<string, string>;
  /** The fields that did not match, in the pattern's order (empty when matched). */
  readonly mismatches: readonly Mismatch[];
}

const PATTERN_KEYS: ReadonlySet<string> = new Set(['method', 'url', 'host', 'path', 'query', 'headers', 'body', 'json', 'where']);

const NO_EXTRA_KEYS: ReadonlySet<string> = new Set();

/** Patterns already checked by {@link matchRequest} (a pattern is usually compared many times). */
const checkedPatterns = new WeakSet<object>();

function checkTextMatcher(value: unknown, field: string, what: string, extra: string): void {
  if (typeof value === 'string' || value instanceof RegExp || isAsymmetric(value)) return;
  throw new InvalidArgumentError(`${what}: ${field} must be a string, a RegExp${extra} or an asymmetric matcher (expect.stringMatching...), got ${describeValue(value)}`);
}

/**
 * @internal Checks a request pattern before it is used: every field known (a typo would match
 * everything) and of the right type (a wrong one could never match, or would fail later inside a
 * request handler). Throws `InvalidArgumentError` naming the field; `what` says whose pattern it
 * is. `allowed` are the extra keys of the caller (a route's `reply` and `times`).
 */
export function checkPattern(pattern: unknown, allowed: ReadonlySet<string>, what: string): asserts pattern is RequestPattern {
  if (!isRecord(pattern)) throw new InvalidArgumentError(`${what}: a request pattern must be an object, got ${describeValue(pattern)}`);
  for (const key of Object.keys(pattern)) {
    if (!PATTERN_KEYS.has(key) && !allowed.has(key)) {
      throw new InvalidArgumentError(`${what}: unknown field "${key}" (known: ${[...PATTERN_KEYS, ...allowed].join(', ')})`);
    }
  }
  const { method, url, host, path, query, headers, body, where } = pattern;
  if (method !== undefined && (typeof method !== 'string' || !isToken(method))) throw new InvalidArgumentError(`${what}: method must be a method name such as 'GET', got ${describeValue(method)}`);
  if (typeof url === 'string') {
    if (!url.startsWith('/')) {
      try {
        new URL(url);
      } catch (error) {
        throw new InvalidArgumentError(`${what}: url must be an absolute URL or start with "/", got ${JSON.stringify(url)}`, { cause: error });
      }
    }
  } else if (url !== undefined && !(url instanceof RegExp) && !isAsymmetric(url)) {
    throw new InvalidArgumentError(`${what}: url must be a string, a RegExp or an asymmetric matcher, got ${describeValue(url)}`);
  }
  if (host !== undefined && (typeof host !== 'string' || host === '')) throw new InvalidArgumentError(`${what}: host must be a non-empty string such as 'api.test:8080', got ${describeValue(host)}`);
  if (typeof path === 'string') {
    if (!path.startsWith('/') && !path.startsWith('*')) throw new InvalidArgumentError(`${what}: path must start with "/" (or be "*"), got ${JSON.stringify(path)}`);
  } else if (path !== undefined && !(path instanceof RegExp)) {
    throw new InvalidArgumentError(`${what}: path must be a string or a RegExp, got ${describeValue(path)}`);
  }
  if (query !== undefined) {
    if (!isRecord(query)) throw new InvalidArgumentError(`${what}: query must be an object of parameter names to values, got ${describeValue(query)}`);
    for (const [name, value] of Object.entries(query)) {
      if (value === null) continue;
      if (Array.isArray(value)) {
        for (const item of value as readonly unknown[]) {
          if (typeof item !== 'string' && !isAsymmetric(item)) throw new InvalidArgumentError(`${what}: query ${JSON.stringify(name)} given as an array must hold strings, got ${describeValue(item)} in it`);
        }
        continue;
      }
      checkTextMatcher(value, `query ${JSON.stringify(name)}`, what, ', an array of strings, null (absent)');
    }
  }
  if (headers !== undefined) {
    if (!isRecord(headers)) throw new InvalidArgumentError(`${what}: headers must be an object of field names to values, got ${describeValue(headers)}`);
    for (const [name, value] of Object.entries(headers)) {
      if (!isToken(name)) throw new InvalidArgumentError(`${what}: headers: ${JSON.stringify(name)} is not a header field name`);
      if (value !== null) checkTextMatcher(value, `header ${JSON.stringify(name)}`, what, ', null (absent)');
    }
  }
  if (body !== undefined && !(body instanceof Uint8Array)) checkTextMatcher(body, 'body', what, ', a Uint8Array');
  if (where !== undefined && typeof where !== 'function') throw new InvalidArgumentError(`${what}: where must be a function of the request, got ${describeValue(where)}`);
}

function isAsymmetric(value: unknown): value is AsymmetricMatcherLike {
  return value !== null && typeof value === 'object' && typeof (value as Partial<AsymmetricMatcherLike>).asymmetricMatch === 'function';
}

// ---- path patterns ----

interface CompiledPath {
  regex: RegExp;
  names: string[];
}

const pathCache = new Map<string, CompiledPath>();

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Compiles `/users/:id/*` to a RegExp and its parameter names. */
function compilePath(pattern: string): CompiledPath {
  const cached = pathCache.get(pattern);
  if (cached !== undefined) return cached;
  const names: string[] = [];
  let source = '^';
  let last = 0;
  const token = /:([A-Za-z_][A-Za-z0-9_]*)|\*/g;
  for (let m = token.exec(pattern); m !== null; m = token.exec(pattern)) {
    source += escapeRegex(pattern.slice(last, m.index));
    if (m[0] === '*') {
      source += '.*';
    } else {
      names.push(m[1] as string);
      source += '([^/]+)';
    }
    last = m.index + m[0].length;
  }
  source += `${escapeRegex(pattern.slice(last))}$`;
  const compiled = { regex: new RegExp(source), names };
  if (pathCache.size < 1000) pathCache.set(pattern, compiled);
  return compiled;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// ---- value formatting ----

/** Formats a value for a message: strings quoted, RegExps as written, matchers by their description. */
function formatValue(value: unknown): string {
  return pretty(value, '', 0).join('\n');
}

function matcherName(value: AsymmetricMatcherLike): string {
  const described = value as { toAsymmetricMatcher?: () => string; toString: () => string };
  if (typeof described.toAsymmetricMatcher === 'function') return described.toAsymmetricMatcher();
  const text = described.toString();
  return text === '[object Object]' ? 'a custom matcher' : text;
}

/** Pretty-prints JSON-like values over several lines (2-space indent), matchers included. */
function pretty(value: unknown, indent: string, depth: number): string[] {
  if (value === undefined) return ['undefined'];
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (typeof value === 'string') return [JSON.stringify(value)];
  if (typeof value === 'bigint') return [`${value}n`];
  if (typeof value === 'function') return ['[function]'];
  if (value instanceof RegExp) return [String(value)];
  if (isAsymmetric(value)) return [matcherName(value)];
  if (value instanceof Uint8Array) return [`<${value.byteLength} bytes: ${JSON.stringify(Buffer.from(value).toString('latin1').slice(0, 64))}>`];
  if (depth > 20) return ['[…]'];
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return ['[]'];
    const lines = ['['];
    value.forEach((item, i) => {
      const sub = pretty(item, inner, depth + 1);
      sub[0] = inner + (sub[0] as string);
      if (i < value.length - 1) sub[sub.length - 1] += ',';
      lines.push(...sub);
    });
    lines.push(`${indent}]`);
    return lines;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return ['{}'];
  const lines = ['{'];
  entries.forEach(([key, item], i) => {
    const sub = pretty(item, inner, depth + 1);
    sub[0] = `${inner}${JSON.stringify(key)}: ${sub[0] as string}`;
    if (i < entries.length - 1) sub[sub.length - 1] += ',';
    lines.push(...sub);
  });
  lines.push(`${indent}}`);
  return lines;
}

/** A line diff (longest common subsequence): `  ` kept, `- ` expected only, `+ ` received only. */
function diffLines(expected: readonly string[], received: readonly string[]): string[] {
  const n = expected.length;
  const m = received.length;
  if (n * m > 250_000) return [...expected.map((l) => `- ${l}`), ...received.map((l) => `+ ${l}`)];
  const table: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    const row = table[i] as number[];
    const below = table[i + 1] as number[];
    for (let j = m - 1; j >= 0; j--) {
      row[j] = expected[i] === received[j] ? (below[j + 1] as number) + 1 : Math.max(below[j] as number, row[j + 1] as number);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (expected[i] === received[j]) {
      out.push(`  ${expected[i] as string}`);
      i++;
      j++;
    } else if ((table[i + 1] as number[])[j] as number >= ((table[i] as number[])[j + 1] as number)) {
      out.push(`- ${expected[i++] as string}`);
    } else {
      out.push(`+ ${received[j++] as string}`);
    }
  }
  while (i < n) out.push(`- ${expected[i++] as string}`);
  while (j < m) out.push(`+ ${received[j++] as string}`);
  return out;
}

// ---- equality ----

/** Deep equality of JSON-like values, honouring asymmetric matchers in `expected`; `undefined` properties count as absent. */
function deepEqual(expected: unknown, received: unknown): boolean {
  if (isAsymmetric(expected)) return expected.asymmetricMatch(received);
  if (expected === received) return true;
  if (typeof expected === 'number' && typeof received === 'number') return Number.isNaN(expected) && Number.isNaN(received);
  if (expected === null || received === null || typeof expected !== 'object' || typeof received !== 'object') return false;
  if (Array.isArray(expected)) {
    if (!Array.isArray(received) || expected.length !== received.length) return false;
    return expected.every((item, i) => deepEqual(item, received[i]));
  }
  if (Array.isArray(received)) return false;
  if (expected instanceof Uint8Array || received instanceof Uint8Array) {
    return expected instanceof Uint8Array && received instanceof Uint8Array && Buffer.from(expected).equals(Buffer.from(received));
  }
  const e = expected as Record<string, unknown>;
  const r = received as Record<string, unknown>;
  const keys = new Set([...Object.keys(e), ...Object.keys(r)]);
  for (const key of keys) {
    if (!deepEqual(e[key], r[key])) return false;
  }
  return true;
}

function matchText(expected: TextMatcher, received: string): boolean {
  if (typeof expected === 'string') return expected === received;
  if (expected instanceof RegExp) {
    expected.lastIndex = 0;
    return expected.test(received);
  }
  return expected.asymmetricMatch(received);
}

function simple(field: string, expected: string, received: string): Mismatch {
  return { field, lines: [`expected ${expected}`, `received ${received}`] };
}

function sortedParams(params: URLSearchParams): string[] {
  return [...params].map(([k, v]) => `${k}=${v}`).sort();
}

function sameQuery(a: URLSearchParams, b: URLSearchParams): boolean {
  const x = sortedParams(a);
  const y = sortedParams(b);
  return x.length === y.length && x.every((item, i) => item === y[i]);
}

function matchUrl(expected: string, url: URL): boolean {
  if (expected.startsWith('/')) {
    const parsed = new URL(expected, 'http://pattern.invalid');
    return parsed.pathname === url.pathname && sameQuery(parsed.searchParams, url.searchParams);
  }
  let parsed: URL;
  try {
    parsed = new URL(expected);
  } catch (error) {
    throw new InvalidArgumentError(`request pattern: url must be an absolute URL or start with "/", got ${JSON.stringify(expected)}`, { cause: error });
  }
  return parsed.protocol === url.protocol && parsed.host === url.host && parsed.pathname === url.pathname && sameQuery(parsed.searchParams, url.searchParams);
}

/**
 * Compares `request` with `pattern`, field by field. Never throws for a request; throws
 * `InvalidArgumentError` naming the field for a malformed pattern (an unknown field, a value of
 * the wrong type, an unparseable `url`).
 */
export function matchRequest(pattern: RequestPattern, request: RecordedRequest): MatchResult {
  if (!checkedPatterns.has(pattern)) {
    checkPattern(pattern, NO_EXTRA_KEYS, 'matchRequest');
    checkedPatterns.add(pattern);
  }
  return comparePattern(pattern, request);
}

/** @internal {@link matchRequest} for a pattern already checked with {@link checkPattern}. */
export function comparePattern(pattern: RequestPattern, request: RecordedRequest): MatchResult {
  const mismatches: Mismatch[] = [];
  let params: Record<string, string> = {};

  if (pattern.method !== undefined && pattern.method.toUpperCase() !== request.method.toUpperCase()) {
    mismatches.push(simple('method', pattern.method.toUpperCase(), request.method));
  }
  if (pattern.url !== undefined) {
    const expected = pattern.url;
    const ok = typeof expected === 'string' ? matchUrl(expected, request.url) : matchText(expected, request.url.href);
    if (!ok) mismatches.push(simple('url', typeof expected === 'string' ? expected : formatValue(expected), request.url.href));
  }
  if (pattern.host !== undefined && pattern.host.toLowerCase() !== request.url.host.toLowerCase()) {
    mismatches.push(simple('host', pattern.host, request.url.host));
  }
  if (pattern.path !== undefined) {
    const path = request.url.pathname;
    if (typeof pattern.path === 'string') {
      const queryAt = pattern.path.indexOf('?');
      const pathPart = queryAt === -1 ? pattern.path : pattern.path.slice(0, queryAt);
      const compiled = compilePath(pathPart);
      const m = compiled.regex.exec(path);
      const queryOk = queryAt === -1 || sameQuery(new URLSearchParams(pattern.path.slice(queryAt + 1)), request.url.searchParams);
      if (m === null || !queryOk) {
        mismatches.push(simple('path', pattern.path, queryAt === -1 ? path : `${path}${request.url.search}`));
      } else {
        params = {};
        compiled.names.forEach((name, i) => {
          params[name] = decode(m[i + 1] as string);
        });
      }
    } else {
      pattern.path.lastIndex = 0;
      const m = pattern.path.exec(path);
      if (m === null) mismatches.push(simple('path', String(pattern.path), path));
      else if (m.groups !== undefined) params = Object.fromEntries(Object.entries(m.groups).filter((e): e is [string, string] => e[1] !== undefined).map(([k, v]) => [k, decode(v)]));
    }
  }
  if (pattern.query !== undefined) {
    const query = request.url.searchParams;
    for (const [name, expected] of Object.entries(pattern.query)) {
      const values = query.getAll(name);
      const received = values.length === 0 ? '(absent)' : values.length === 1 ? JSON.stringify(values[0]) : JSON.stringify(values);
      let ok: boolean;
      if (expected === null) ok = values.length === 0;
      else if (Array.isArray(expected)) ok = deepEqual(expected, values);
      else if (isAsymmetric(expected) && values.length > 1) ok = expected.asymmetricMatch(values);
      else ok = values.length === 1 && matchText(expected as TextMatcher, values[0] as string);
      if (!ok) mismatches.push(simple(`query ${name}`, expected === null ? '(absent)' : formatValue(expected), received));
    }
  }
  if (pattern.headers !== undefined) {
    for (const [name, expected] of Object.entries(pattern.headers)) {
      const value = request.headers.get(name);
      const ok = expected === null ? value === undefined : value !== undefined && matchText(expected, value);
      if (!ok) mismatches.push(simple(`header ${name}`, expected === null ? '(absent)' : formatValue(expected), value === undefined ? '(absent)' : JSON.stringify(value)));
    }
  }
  if (pattern.body !== undefined) {
    const expected = pattern.body;
    if (expected instanceof Uint8Array) {
      if (!request.body.equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))) {
        mismatches.push(simple('body', formatValue(expected), formatValue(request.body)));
      }
    } else if (!matchText(expected, request.text())) {
      mismatches.push(simple('body', formatValue(expected), formatValue(request.text())));
    }
  }
  if ('json' in pattern) {
    let parsed: unknown;
    let isJson = true;
    try {
      parsed = JSON.parse(request.text());
    } catch {
      isJson = false;
    }
    if (!isJson) {
      mismatches.push(simple('json', formatValue(pattern.json).replace(/\n\s*/g, ' '), `a body that is not JSON: ${formatValue(request.text().slice(0, 200))}`));
    } else if (!deepEqual(pattern.json, parsed)) {
      mismatches.push({ field: 'json', lines: diffLines(pretty(pattern.json, '', 0), pretty(parsed, '', 0)) });
    }
  }
  if (pattern.where !== undefined && mismatches.length === 0) {
    let ok: boolean;
    try {
      ok = pattern.where(request);
    } catch (error) {
      ok = false;
      mismatches.push({ field: 'where', lines: [`the predicate threw: ${error instanceof Error ? error.message : String(error)}`] });
    }
    if (!ok && mismatches.length === 0) mismatches.push({ field: 'where', lines: ['the predicate returned false'] });
  }
  return { matched: mismatches.length === 0, params, mismatches };
}

/** A one-line summary of a pattern, e.g. `POST /users (json, headers: content-type)`. */
export function describePattern(pattern: RequestPattern): string {
  const method = pattern.method?.toUpperCase() ?? '*';
  const target = typeof pattern.url === 'string' ? pattern.url : pattern.url !== undefined ? formatValue(pattern.url) : pattern.path !== undefined ? String(pattern.path) : '*';
  const extras: string[] = [];
  if (pattern.host !== undefined) extras.push(`host ${pattern.host}`);
  if (pattern.query !== undefined) extras.push(`query ${Object.keys(pattern.query).join(', ')}`);
  if (pattern.headers !== undefined) extras.push(`headers ${Object.keys(pattern.headers).join(', ')}`);
  if (pattern.body !== undefined) extras.push('body');
  if ('json' in pattern) extras.push(`json ${formatValue(pattern.json).replace(/\n\s*/g, ' ')}`);
  if (pattern.where !== undefined) extras.push('where(...)');
  return extras.length === 0 ? `${method} ${target}` : `${method} ${target} (${extras.join('; ')})`;
}

/** Formats mismatches as an indented block, one field after another. */
export function formatMismatches(mismatches: readonly Mismatch[], indent = '    '): string {
  const out: string[] = [];
  for (const mismatch of mismatches) {
    out.push(`${indent}${mismatch.field}:`);
    for (const line of mismatch.lines) out.push(`${indent}  ${line}`);
  }
  return out.join('\n');
}

/** Among `patterns`, the one `request` comes closest to (fewest mismatching fields), with its result. */
export function closestPattern<P extends RequestPattern>(patterns: readonly P[], request: RecordedRequest): { pattern: P; index: number; result: MatchResult } | undefined {
  let best: { pattern: P; index: number; result: MatchResult } | undefined;
  patterns.forEach((pattern, index) => {
    const result = comparePattern(pattern, request);
    if (best === undefined || result.mismatches.length < best.result.mismatches.length) best = { pattern, index, result };
  });
  return best;
}
