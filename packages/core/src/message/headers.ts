/**
 * HTTP header fields: ordered, multi-valued, case-insensitive, validated once at the edge.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError, InvalidHeaderError } from '../errors.js';
import { describeChar, escapeForMessage, findInvalidFieldValueChar, isToken, describeType } from '../validate.js';
import { brand } from '../brand.js';

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
}

/**
 * The live backing array `[name, value, ...]` of `headers`, without copying.
 * @internal For Strand's serializer only: read it, never mutate it or keep it.
 */
export function headersBackingList(headers: Headers): readonly string[] {
  return backingList(headers);
}

brand(Headers, 'core.Headers');
