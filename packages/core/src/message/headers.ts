/**
 * HTTP header fields: ordered, multi-valued, case-insensitive, validated once at the edge.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError, InvalidHeaderError } from '../errors.js';
import { describeChar, escapeForMessage, findInvalidFieldValueChar, isToken, describeType } from '../validate.js';
import { brand } from '../brand.js';
import {
  type CacheDirectives,
  type Link,
  type MediaType,
  type RateLimit,
  type RateLimitPolicy,
  contentTypeOf,
  parseCacheControl,
  parseLinks,
  parseRateLimit,
  parseRateLimitPolicy,
  retryAfterDelay,
} from './field-values.js';
import {
  type StructuredDictionary,
  type StructuredFieldType,
  type StructuredItem,
  type StructuredList,
  type StructuredParseOptions,
  StructuredFieldError,
  parseStructuredField,
} from './structured-fields.js';

/**
 * Anything a {@link Headers} can be built from: another `Headers`, a plain object whose values
 * are a string or an array of strings (one field per element), or an iterable of
 * `[name, value]` pairs (an array of pairs, a `Map`, the WHATWG `Headers` of `fetch`).
 */
export type HeadersInit = Headers | Record<string, string | readonly string[]> | Iterable<readonly [string, string]>;

/** ASCII case-insensitive equality of two header names, without allocating. */
function sameName(a: string, b: string): boolean {
  if (a === b) return true;
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca >= 0x41 && ca <= 0x5a) ca += 0x20;
    if (cb >= 0x41 && cb <= 0x5a) cb += 0x20;
    if (ca !== cb) return false;
  }
  return true;
}


/** Throws unless `name` is a non-empty RFC 9110 token; returns it typed as a string. */
function checkName(name: unknown): string {
  if (typeof name !== 'string') {
    throw new InvalidHeaderError(String(name), `invalid header name: expected a string, got ${describeType(name)}`);
  }
  if (name.length === 0) throw new InvalidHeaderError(name, 'invalid header name: it must not be empty');
  if (!isToken(name)) {
    throw new InvalidHeaderError(name, `invalid header name "${escapeForMessage(name)}": it must be an RFC 9110 token (letters, digits and !#$%&'*+-.^_\`|~)`);
  }
  return name;
}

/**
 * Throws unless `value` is a string of HTAB, SP, VCHAR and obs-text; returns it with leading and
 * trailing SP/HTAB removed. The message names the header and the bad character, never the value.
 */
function checkValue(name: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new InvalidHeaderError(name, `invalid value for header "${escapeForMessage(name)}": expected a string, got ${describeType(value)}`);
  }
  const bad = findInvalidFieldValueChar(value);
  if (bad !== -1) {
    throw new InvalidHeaderError(name, `invalid value for header "${escapeForMessage(name)}": it contains ${describeChar(value.charCodeAt(bad))} at index ${bad}`);
  }
  let start = 0;
  let end = value.length;
  while (start < end) {
    const c = value.charCodeAt(start);
    if (c !== 0x20 && c !== 0x09) break;
    start++;
  }
  while (end > start) {
    const c = value.charCodeAt(end - 1);
    if (c !== 0x20 && c !== 0x09) break;
    end--;
  }
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

let backingList: (headers: Headers) => string[];

/**
 * An ordered list of HTTP header fields with case-insensitive lookup.
 *
 * Fields keep the name exactly as given and their order (the wire order, for parsed
 * responses); a name may occur several times. Internally one flat array
 * `[name, value, name, value, ...]`, so building, copying and serialising are cheap.
 *
 * Every name and value that enters through the constructor, {@link Headers.set} or
 * {@link Headers.add} is validated: a name must be an RFC 9110 token, a value a string of
 * HTAB, SP, VCHAR and obs-text (no CR, LF, NUL or other control, nothing above 0xFF);
 * leading and trailing SP/HTAB are trimmed. A violation is an {@link InvalidHeaderError}.
 * {@link Headers.fromRaw} is the trusted, unvalidated way in, for parser output.
 *
 * Typed readings of common fields: {@link Headers.contentType}, {@link Headers.cacheControl},
 * {@link Headers.link}, {@link Headers.retryAfter}, {@link Headers.rateLimit},
 * {@link Headers.rateLimitPolicy}, and {@link Headers.structured} for any structured field
 * (RFC 9651). They never throw on what a server sent: each returns undefined when its field is
 * absent or cannot be read (the parse functions they use, such as {@link parseStructuredField},
 * throw instead, and say why).
 *
 * @example
 * ```ts
 * const h = new Headers({ Accept: 'application/json', 'X-Tag': ['a', 'b'] });
 * h.get('accept');   // 'application/json'
 * h.get('x-tag');    // 'a, b'
 * h.getAll('x-tag'); // ['a', 'b']
 * ```
 */
export class Headers implements Iterable<[string, string]> {
  #list: string[];
  /** False when a field may have entered unvalidated (through {@link Headers.fromRaw}). */
  #validated: boolean;

  static {
    backingList = (headers) => headers.#list;
  }

  /**
   * Builds a validated header list.
   *
   * @param init - initial fields; `null`/`undefined` for none. A `Headers` built by this
   *   constructor is copied as is (it was validated when it was built); one made by
   *   {@link Headers.fromRaw} is validated as it is copied.
   * @throws {@link InvalidHeaderError} for a bad name or value (the error names the header).
   * @throws {@link InvalidArgumentError} when `init` is not one of the {@link HeadersInit} shapes.
   */
  constructor(init?: HeadersInit | null) {
    this.#list = [];
    this.#validated = true;
    if (init == null) return;
    // This copy's own Headers: copied from its list. A Headers of another copy of Strand (the
    // other build) is read as an iterable below, and validated.
    if (typeof init === 'object' && #list in init) {
      const source = init.#list;
      if (init.#validated) {
        this.#list = source.slice();
      } else {
        for (let i = 0; i + 1 < source.length; i += 2) this.#push(source[i], source[i + 1]);
      }
      return;
    }
    if (typeof init !== 'object' && typeof init !== 'function') {
      throw new InvalidArgumentError(`headers must be a Headers, an object or an iterable of [name, value] pairs, got ${describeType(init)}`);
    }
    const iterate = (init as Partial<Iterable<unknown>>)[Symbol.iterator];
    if (typeof iterate === 'function') {
      for (const entry of init as Iterable<unknown>) {
        if (!Array.isArray(entry) || entry.length !== 2) {
          throw new InvalidArgumentError('headers: each entry of an iterable must be a [name, value] pair');
        }
        this.#push(entry[0], entry[1]);
      }
      return;
    }
    const record = init as Record<string, unknown>;
    for (const name of Object.keys(record)) {
      const value = record[name];
      if (Array.isArray(value)) {
        const checked = checkName(name);
        for (const v of value as unknown[]) this.#list.push(checked, checkValue(checked, v));
      } else {
        this.#push(name, value);
      }
    }
  }

  /**
   * Wraps a flat `[name, value, ...]` array **without validating or copying it**: the array is
   * adopted and must not be used by the caller afterwards. Only for trusted input such as the
   * response parser's output (already checked, values already trimmed).
   */
  static fromRaw(flat: string[]): Headers {
    const headers = new Headers();
    headers.#list = flat;
    headers.#validated = false;
    return headers;
  }

  #push(name: unknown, value: unknown): void {
    const checkedName = checkName(name);
    this.#list.push(checkedName, checkValue(checkedName, value));
  }

  /**
   * The value of the field `name` (case-insensitive); several fields of that name are joined
   * with `", "` in order. `undefined` when absent. For `Set-Cookie`, whose values cannot be
   * joined, use {@link Headers.getAll}.
   */
  get(name: string): string | undefined {
    const list = this.#list;
    let result: string | undefined;
    for (let i = 0; i < list.length; i += 2) {
      if (sameName(list[i] as string, name)) {
        const value = list[i + 1] as string;
        result = result === undefined ? value : `${result}, ${value}`;
      }
    }
    return result;
  }

  /** Every value of the field `name` (case-insensitive), in order; `[]` when absent. */
  getAll(name: string): string[] {
    const list = this.#list;
    const values: string[] = [];
    for (let i = 0; i < list.length; i += 2) {
      if (sameName(list[i] as string, name)) values.push(list[i + 1] as string);
    }
    return values;
  }

  /** True when at least one field is named `name` (case-insensitive). */
  has(name: string): boolean {
    const list = this.#list;
    for (let i = 0; i < list.length; i += 2) {
      if (sameName(list[i] as string, name)) return true;
    }
    return false;
  }

  /**
   * Replaces every field named `name` (case-insensitive) with one field per given value, under
   * the spelling `name`. The new fields take the position of the first old one; when there was
   * none they are appended. An empty array removes the fields. Validates everything before
   * changing anything.
   *
   * @throws {@link InvalidHeaderError} for a bad name or value.
   */
  set(name: string, value: string | readonly string[]): this {
    const checkedName = checkName(name);
    let values: string[];
    if (Array.isArray(value)) {
      values = [];
      for (const v of value as unknown[]) values.push(checkValue(checkedName, v));
    } else {
      values = [checkValue(checkedName, value)];
    }
    const list = this.#list;
    let first = -1;
    let w = 0;
    for (let r = 0; r < list.length; r += 2) {
      const n = list[r] as string;
      if (sameName(n, checkedName)) {
        if (first === -1) first = w;
        continue;
      }
      if (w !== r) {
        list[w] = n;
        list[w + 1] = list[r + 1] as string;
      }
      w += 2;
    }
    list.length = w;
    const pairs: string[] = [];
    for (const v of values) pairs.push(checkedName, v);
    if (first === -1) {
      for (const item of pairs) list.push(item);
    } else {
      list.splice(first, 0, ...pairs);
    }
    return this;
  }

  /**
   * Appends one field `name: value`, keeping any existing fields of that name.
   *
   * @throws {@link InvalidHeaderError} for a bad name or value.
   */
  add(name: string, value: string): this {
    this.#push(name, value);
    return this;
  }

  /** Removes every field named `name` (case-insensitive); true when at least one was removed. */
  delete(name: string): boolean {
    const list = this.#list;
    let w = 0;
    for (let r = 0; r < list.length; r += 2) {
      const n = list[r] as string;
      if (sameName(n, name)) continue;
      if (w !== r) {
        list[w] = n;
        list[w + 1] = list[r + 1] as string;
      }
      w += 2;
    }
    const removed = w !== list.length;
    list.length = w;
    return removed;
  }

  /** The number of fields (a name given twice counts twice). */
  get size(): number {
    return this.#list.length >> 1;
  }

  /** Iterates the fields as `[name, value]`, names as given, in order. */
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    const list = this.#list;
    for (let i = 0; i + 1 < list.length; i += 2) {
      yield [list[i] as string, list[i + 1] as string];
    }
  }

  /** A copy of the fields as one flat array `[name, value, name, value, ...]`. */
  raw(): string[] {
    return this.#list.slice();
  }

  /**
   * The fields as an object keyed by lower-case name: a name with one field maps to its value,
   * a name with several to an array of them, in order. The object has a null prototype, so a
   * field named `__proto__` is just a key.
   */
  toObject(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
    const list = this.#list;
    for (let i = 0; i < list.length; i += 2) {
      const key = (list[i] as string).toLowerCase();
      const value = list[i + 1] as string;
      const existing = out[key];
      if (existing === undefined) out[key] = value;
      else if (typeof existing === 'string') out[key] = [existing, value];
      else existing.push(value);
    }
    return out;
  }

  /** An independent copy (no re-validation). */
  clone(): Headers {
    const copy = new Headers();
    copy.#list = this.#list.slice();
    copy.#validated = this.#validated;
    return copy;
  }

  // ---- typed readings of common fields: undefined when the field is absent or unreadable ----

  /**
   * The structured field `name` (RFC 9651) parsed as the given top-level type, its field lines
   * joined with `", "` (see {@link parseStructuredField} for the shapes). Undefined when the
   * field is absent or does not parse as that type: use {@link parseStructuredField} on
   * {@link Headers.getAll} to know why.
   *
   * @throws {@link InvalidArgumentError} when `type` is not `'item'`, `'list'` or `'dictionary'`.
   * @example
   * ```ts
   * const priority = new Headers({ Priority: 'u=1, i' }).structured('priority', 'dictionary');
   * priority?.get('u'); // { value: 1, params: Map {} }
   * ```
   */
  structured(name: string, type: 'item', options?: StructuredParseOptions): StructuredItem | undefined;
  structured(name: string, type: 'list', options?: StructuredParseOptions): StructuredList | undefined;
  structured(name: string, type: 'dictionary', options?: StructuredParseOptions): StructuredDictionary | undefined;
  structured(name: string, type: StructuredFieldType, options?: StructuredParseOptions): StructuredItem | StructuredList | StructuredDictionary | undefined;
  structured(name: string, type: StructuredFieldType, options?: StructuredParseOptions): StructuredItem | StructuredList | StructuredDictionary | undefined {
    if (type !== 'item' && type !== 'list' && type !== 'dictionary') {
      throw new InvalidArgumentError(`structured(): the type is 'item', 'list' or 'dictionary', got ${typeof type === 'string' ? `'${escapeForMessage(type, 20)}'` : describeType(type)}`);
    }
    const lines = this.getAll(name);
    if (lines.length === 0) return undefined;
    try {
      return parseStructuredField(lines, type, options);
    } catch (error) {
      if (error instanceof StructuredFieldError) return undefined;
      throw error;
    }
  }

  /**
   * The media type of `Content-Type` (RFC 9110 §8.3): `{ type, subtype, essence, parameters,
   * charset }`, type, subtype and parameter names lower-cased, `charset` lower-cased too.
   * Several values are read the way browsers do (the last valid one counts). Undefined when the
   * field is absent or holds no valid media type.
   *
   * @example
   * ```ts
   * new Headers({ 'Content-Type': 'text/HTML; charset="UTF-8"' }).contentType();
   * // { type: 'text', subtype: 'html', essence: 'text/html', parameters: Map { 'charset' => 'UTF-8' }, charset: 'utf-8' }
   * ```
   */
  contentType(): MediaType | undefined {
    const lines = this.getAll('content-type');
    return lines.length === 0 ? undefined : contentTypeOf(lines);
  }

  /**
   * The directives of `Cache-Control` (RFC 9111 §5.2) as a `Map`, names lower-cased: `true` for a
   * directive without an argument, a number of seconds for `max-age`, `s-maxage`, `max-stale`,
   * `min-fresh`, `stale-while-revalidate` and `stale-if-error`, the unquoted argument otherwise.
   * Of a directive given twice the first counts; what is not a directive is skipped. Undefined
   * when the field is absent.
   *
   * @example
   * ```ts
   * const cc = new Headers({ 'Cache-Control': 'public, max-age="600", no-cache="Set-Cookie"' }).cacheControl();
   * cc?.get('max-age'); // 600
   * cc?.has('no-store'); // false
   * ```
   */
  cacheControl(): CacheDirectives | undefined {
    const lines = this.getAll('cache-control');
    return lines.length === 0 ? undefined : parseCacheControl(lines);
  }

  /**
   * The links of the `Link` fields (RFC 8288), in order: `{ url, rel, ...params }`, `url`
   * resolved against `base`, a link with several `rel` types once per type (see
   * {@link parseLinks}). Undefined when the field is absent.
   *
   * @example
   * ```ts
   * const next = response.headers.link(response.url)?.find((link) => link.rel === 'next')?.url;
   * ```
   */
  link(base?: string | URL): Link[] | undefined {
    const lines = this.getAll('link');
    return lines.length === 0 ? undefined : parseLinks(lines, base);
  }

  /**
   * How long `Retry-After` (RFC 9110 §10.2.3) asks to wait, in ms, never negative: its
   * delay-seconds, or its HTTP-date minus this message's own `Date` (the server's clock: a skewed
   * local clock does not matter) or, without a valid `Date`, minus `now`. Undefined when the
   * field is absent or is neither.
   *
   * @param now - the current time, ms since the epoch; default `Date.now()`
   */
  retryAfter(now: number = Date.now()): number | undefined {
    return retryAfterDelay(this.get('retry-after'), this.get('date'), now);
  }

  /**
   * The service limits of the `RateLimit` field (draft-ietf-httpapi-ratelimit-headers-11: a List
   * of `"policy";r=<remaining>;t=<seconds>;pk=<key>`): `{ policy, remaining, reset,
   * partitionKey, params }` each. Undefined when the field is absent, empty or malformed (the
   * draft says a malformed field MUST be ignored), or in the earlier drafts' shapes.
   *
   * @example
   * ```ts
   * new Headers({ RateLimit: '"default";r=50;t=30' }).rateLimit();
   * // [{ policy: 'default', remaining: 50, reset: 30, partitionKey: undefined, params: Map {…} }]
   * ```
   */
  rateLimit(): RateLimit[] | undefined {
    const lines = this.getAll('ratelimit');
    return lines.length === 0 ? undefined : parseRateLimit(lines);
  }

  /**
   * The quota policies of the `RateLimit-Policy` field (draft-ietf-httpapi-ratelimit-headers-11:
   * a List of `"policy";q=<quota>;qu="<unit>";w=<seconds>;pk=<key>`): `{ policy, quota,
   * quotaUnit, window, partitionKey, params }` each, `quotaUnit` defaulting to `requests`.
   * Undefined when the field is absent, empty or malformed.
   */
  rateLimitPolicy(): RateLimitPolicy[] | undefined {
    const lines = this.getAll('ratelimit-policy');
    return lines.length === 0 ? undefined : parseRateLimitPolicy(lines);
  }
}

/**
 * The live backing array `[name, value, ...]` of `headers`, without copying.
 * @internal For Strand's serializer only: read it, never mutate it or keep it.
 */
export function headersBackingList(headers: Headers): readonly string[] {
  return backingList(headers);
}

brand(Headers, 'core.Headers');
