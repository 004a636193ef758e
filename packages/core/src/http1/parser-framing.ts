/**
 * Interpretation of the header fields that decide message framing and connection reuse:
 * `Content-Length`, `Transfer-Encoding` and `Connection` (RFC 9112 §6, §9.6; RFC 9110 §8.6).
 * Pure string functions; the response parser calls them once per such field.
 *
 * @packageDocumentation
 */

/** `parseContentLength` result: the value is not a decimal length (or is above MAX_SAFE_INTEGER). */
const CL_INVALID = -1;
/** `parseContentLength` result: a comma list whose members differ (`5, 6`). */
export const CL_MISMATCH = -2;

/** Most significant digits a length may have: Number.MAX_SAFE_INTEGER has 16. */
const MAX_LENGTH_DIGITS = 16;

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Parses one `Content-Length` field value (already trimmed): `1*DIGIT`, or a comma list of
 * identical such values (RFC 9110 §8.6). No sign, no inner spaces, no hex. Returns the length,
 * {@link CL_INVALID} or {@link CL_MISMATCH}. Never overflows: more than 16 significant digits, or
 * a value above Number.MAX_SAFE_INTEGER, is {@link CL_INVALID}.
 */
export function parseContentLength(value: string): number {
  const n = value.length;
  let result = -1;
  let i = 0;
  for (;;) {
    while (i < n && isOws(value.charCodeAt(i))) i++;
    let digits = 0;
    let significant = 0;
    let length = 0;
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      digits++;
      if (significant !== 0 || c !== 0x30) {
        if (++significant > MAX_LENGTH_DIGITS) return CL_INVALID;
        length = length * 10 + (c - 0x30);
      }
      i++;
    }
    if (digits === 0 || length > Number.MAX_SAFE_INTEGER) return CL_INVALID;
    if (result !== -1 && length !== result) return CL_MISMATCH;
    result = length;
    while (i < n && isOws(value.charCodeAt(i))) i++;
    if (i === n) return result;
    if (value.charCodeAt(i) !== 0x2c) return CL_INVALID;
    i++;
  }
}

/** True when `s[start, start + lower.length)` equals `lower` ignoring ASCII case (`lower` is lower case). */
export function equalsLowerAt(s: string, start: number, lower: string): boolean {
  const n = lower.length;
  for (let k = 0; k < n; k++) {
    let c = s.charCodeAt(start + k);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/** `Connection` token bit: `close`. */
export const CONN_CLOSE = 1;
/** `Connection` token bit: `keep-alive`. */
export const CONN_KEEP_ALIVE = 2;

/** The {@link CONN_CLOSE} / {@link CONN_KEEP_ALIVE} bits of one `Connection` field value (a comma list, case-insensitive). */
export function connectionTokens(value: string): number {
  const n = value.length;
  let bits = 0;
  let i = 0;
  while (i < n) {
    let end = value.indexOf(',', i);
    if (end === -1) end = n;
    let s = i;
    let e = end;
    while (s < e && isOws(value.charCodeAt(s))) s++;
    while (e > s && isOws(value.charCodeAt(e - 1))) e--;
    const len = e - s;
    if (len === 5 && equalsLowerAt(value, s, 'close')) bits |= CONN_CLOSE;
    else if (len === 10 && equalsLowerAt(value, s, 'keep-alive')) bits |= CONN_KEEP_ALIVE;
    i = end + 1;
  }
  return bits;
}

/**
 * The transfer codings of a message, accumulated over every `Transfer-Encoding` field in order
 * (RFC 9112 §6.1). Reused across messages through {@link reset}.
 */
export class TransferCodings {
  /** At least one `Transfer-Encoding` field was seen. */
  present = false;
  /** How many times `chunked` appeared. */
  chunked = 0;
  /** The last coding seen is `chunked`. */
  lastIsChunked = false;

  reset(): void {
    this.present = false;
    this.chunked = 0;
    this.lastIsChunked = false;
  }

  /**
   * Adds one field value. Returns '' when acceptable, else why not: an empty value, or `chunked`
   * applied twice (a sender must not, RFC 9112 §6.1, and it is a smuggling vector).
   */
  add(value: string): string {
    this.present = true;
    const n = value.length;
    let members = 0;
    let i = 0;
    while (i <= n) {
      let end = value.indexOf(',', i);
      if (end === -1) end = n;
      let s = i;
      let e = end;
      while (s < e && isOws(value.charCodeAt(s))) s++;
      while (e > s && isOws(value.charCodeAt(e - 1))) e--;
      if (e > s) {
        members++;
        const chunked = e - s === 7 && equalsLowerAt(value, s, 'chunked');
        if (chunked && ++this.chunked > 1) return '`chunked` is applied more than once';
        this.lastIsChunked = chunked;
      }
      i = end + 1;
    }
    return members === 0 ? 'empty Transfer-Encoding' : '';
  }
}
