/**
 * Byte classes for the HTTP/1.1 response parser (RFC 9110 §5.6, RFC 9112), as 256-entry lookup
 * tables so the hot loops do one indexed load per byte.
 *
 * @packageDocumentation
 */

export const HTAB = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const DQUOTE = 0x22;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const SEMICOLON = 0x3b;
export const EQUALS = 0x3d;
export const BACKSLASH = 0x5c;

function table(accept: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) if (accept(c)) t[c] = 1;
  return t;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const TCHAR_SYMBOLS = "!#$%&'*+-.^_`|~";

/** RFC 9110 `tchar`: the bytes of a token (header names, chunk-extension names and values). */
export const TCHAR: Uint8Array = table((c) => isDigit(c) || isAlpha(c) || TCHAR_SYMBOLS.includes(String.fromCharCode(c)));

/**
 * Bytes allowed inside a field value or a reason phrase: HTAB, SP, VCHAR and obs-text
 * (0x80-0xFF). Excludes CR, LF, NUL, every other control byte and DEL.
 */
export const FIELD_CHAR: Uint8Array = table((c) => c === HTAB || (c >= 0x20 && c <= 0x7e) || c >= 0x80);

/** RFC 9110 `qdtext`: what a quoted-string holds besides quoted-pairs. */
export const QDTEXT: Uint8Array = table((c) => c === HTAB || c === SP || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80);

/** Hex digit values, -1 for anything else. */
export const HEX: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let c = 0x30; c <= 0x39; c++) t[c] = c - 0x30;
  for (let c = 0x41; c <= 0x46; c++) t[c] = c - 0x41 + 10;
  for (let c = 0x61; c <= 0x66; c++) t[c] = c - 0x61 + 10;
  return t;
})();

interface Latin1Sliceable {
  latin1Slice(start: number, end: number): string;
}

/** `buf[start, end)` decoded as latin1 (one char per byte), without `toString`'s argument handling. */
export const latin1: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as unknown as Partial<Latin1Sliceable>).latin1Slice === 'function'
    ? (buf, start, end) => (buf as unknown as Latin1Sliceable).latin1Slice(start, end)
    : (buf, start, end) => buf.toString('latin1', start, end);
