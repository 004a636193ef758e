/**
 * Character-class checks shared by the header store, the request serializer and the response
 * parser: RFC 9110 tokens (method, header names), field values (header values), and the
 * printable-ASCII set of a request target. Each check is a `charCodeAt` loop over a 256-entry
 * lookup table; none allocates.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from './errors.js';

/** `TCHAR[c] === 1` when the octet `c` is an RFC 9110 `tchar`. */
const TCHAR = new Uint8Array(256);
/** `FIELD_CHAR[c] === 1` when the octet `c` may appear in a field value: HTAB, SP, VCHAR, obs-text. */
const FIELD_CHAR = new Uint8Array(256);

for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1; // DIGIT
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1; // ALPHA upper
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1; // ALPHA lower

FIELD_CHAR[0x09] = 1; // HTAB
for (let c = 0x20; c <= 0x7e; c++) FIELD_CHAR[c] = 1; // SP + VCHAR
for (let c = 0x80; c <= 0xff; c++) FIELD_CHAR[c] = 1; // obs-text

/** True when the character (or byte) code `code` is an RFC 9110 `tchar`. */
export function isTokenChar(code: number): boolean {
  return TCHAR[code] === 1;
}

/** True when `s` is a non-empty RFC 9110 `token` (as a method or a header name must be). */
export function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    if (TCHAR[s.charCodeAt(i)] !== 1) return false;
  }
  return true;
}

/**
 * Index of the first character of `s` that may not appear in a header field value, or -1 when
 * every character is allowed. The empty string is a valid (empty) field value.
 */
export function findInvalidFieldValueChar(s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (FIELD_CHAR[s.charCodeAt(i)] !== 1) return i;
  }
  return -1;
}

/**
 * True when `s` contains only HTAB, SP, VCHAR and obs-text (0x80–0xFF), i.e. it is safe to
 * write as a header field value: no CR, LF, NUL or other control, nothing above 0xFF.
 * Leading and trailing whitespace is allowed here (the caller trims).
 */
export function isValidFieldValue(s: string): boolean {
  return findInvalidFieldValueChar(s) === -1;
}

/**
 * True when `s` is non-empty and contains only visible ASCII (0x21–0x7E): no whitespace, no
 * controls, nothing above 0x7E. Used for the request target and the Host value.
 */
export function isVisibleAscii(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

const NAMED_CHARS: Readonly<Record<number, string>> = { 0x00: 'NUL', 0x09: 'HTAB', 0x0a: 'LF', 0x0d: 'CR', 0x20: 'SP', 0x7f: 'DEL' };

function hex(code: number, width: number): string {
  return code.toString(16).toUpperCase().padStart(width, '0');
}

/**
 * A short human description of a character code for error messages, e.g. `CR (0x0D)`,
 * `control character 0x1B`, `character U+2028 (above 0xFF)`.
 */
export function describeChar(code: number): string {
  const named = NAMED_CHARS[code];
  if (named !== undefined) return `${named} (0x${hex(code, 2)})`;
  if (code < 0x20) return `control character 0x${hex(code, 2)}`;
  if (code > 0xff) return `character U+${hex(code, 4)} (above 0xFF)`;
  return `character 0x${hex(code, 2)}`;
}

/**
 * Makes an untrusted string safe to embed in an error message: every character outside
 * printable ASCII (0x20–0x7E) is written as `\xNN` or `\uNNNN`, so CR/LF can never split a log
 * line, and the result is cut to about `max` characters.
 */
export function escapeForMessage(s: string, max = 100): string {
  let out = '';
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (out.length >= max) return `${out}...`;
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) out += s.charAt(i);
    else if (c <= 0xff) out += `\\x${hex(c, 2)}`;
    else out += `\\u${hex(c, 4)}`;
  }
  return out;
}

/**
 * Throws an {@link InvalidArgumentError} naming the first key of `options` that is not in
 * `known`, so a misspelt or outdated option is an error instead of being silently ignored.
 */
export function rejectUnknownOptions(options: object, known: readonly string[], owner: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const near = closestName(key, known);
      throw new InvalidArgumentError(`${owner}: unknown option "${key}"; the options are ${known.join(', ')}${near === null ? '' : ` (did you mean "${near}"?)`}`);
    }
  }
}

/** Edit distance (Levenshtein), for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

/**
 * The name in `known` closest to `name`, for a "did you mean" hint: the one it is a unique prefix
 * of, else the nearest by edit distance if within a third of its length (at least 1); null when
 * none is that close.
 */
export function closestName(name: string, known: readonly string[]): string | null {
  const prefixed = known.filter((k) => k.startsWith(name));
  if (prefixed.length === 1) return prefixed[0] as string;
  let best: string | null = null;
  let bestDistance = Math.max(1, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}


/**
 * What kind of value `value` is, for an error message that says what was given instead:
 * `null`, `undefined`, `number`, `string`..., `an array`, `a Uint8Array`, `an object` (a plain
 * one), `a Map` (an instance: its class). Never the value itself (it may be a secret).
 */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    if (name === 'Object') return 'an object';
    return typeof name === 'string' && name !== '' ? `a ${name}` : 'a null-prototype object';
  }
  return typeof value;
}
