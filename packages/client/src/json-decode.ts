/**
 * Where and why a text is not JSON (RFC 8259), for {@link JSONDecodeError}: run only after
 * `JSON.parse` failed. V8's own message cannot be used as it is — several of its forms quote a
 * piece of the body (`Unexpected token '<', "<html>…" is not valid JSON`), and bodies carry
 * tokens and personal data into logs — and its wording and whether it gives a position change
 * between Node versions. This scanner says the same thing every time and never quotes the text.
 */

/** Where a text stops being JSON. */
export interface JsonErrorLocation {
  /** Index in the decoded text (UTF-16 code units) of the first character that cannot be JSON; the text's length when it ends too early. */
  readonly position: number;
  /** 1-based line of `position` (lines end at LF). */
  readonly line: number;
  /** 1-based column of `position` in its line, in UTF-16 code units. */
  readonly column: number;
  /** Why, in words that never contain the text, e.g. `expected ',' or '}' after a property value`. */
  readonly reason: string;
}

// What the scanner expects next.
/** A value (the top, an array element after a comma, a property value after the colon). */
const VALUE = 0;
/** A value or `]`: just after `[`. */
const VALUE_OR_CLOSE = 1;
/** A property name (after a comma in an object). */
const NAME = 2;
/** A property name or `}`: just after `{`. */
const NAME_OR_CLOSE = 3;
/** `:` after a property name. */
const COLON = 4;
/** `,` or the closer of the current container, or the end at the top. */
const AFTER = 5;
type Expect = typeof VALUE | typeof VALUE_OR_CLOSE | typeof NAME | typeof NAME_OR_CLOSE | typeof COLON | typeof AFTER;

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** A character named without quoting the text around it: ASCII punctuation as itself, anything else by its class. */
function describeChar(c: number): string {
  if (c < 0x20 || c === 0x7f) return `control character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  if (isDigit(c)) return 'digit';
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return 'letter';
  if (c > 0x7f) return 'non-ASCII character';
  return `"${String.fromCharCode(c)}"`;
}

function locate(text: string, position: number, reason: string): JsonErrorLocation {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { position, line, column: position - lineStart + 1, reason };
}

/**
 * The first place where `text` is not JSON, and why; null when it is valid JSON. Linear in the
 * text, iterative (any nesting depth), allocation-free but for the container stack.
 */
export function locateJsonError(text: string): JsonErrorLocation | null {
  const n = text.length;
  const containers: number[] = []; // 0x7b `{` or 0x5b `[`
  let expect: Expect = VALUE;
  let i = 0;
  const fail = (at: number, reason: string): JsonErrorLocation => locate(text, at, reason);
  const unexpected = (at: number, wanted: string): JsonErrorLocation =>
    at >= n ? fail(n, `unexpected end of the body, expected ${wanted}`) : fail(at, `unexpected ${describeChar(text.charCodeAt(at))}, expected ${wanted}`);

  for (;;) {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== SPACE && c !== TAB && c !== LF && c !== CR) break;
      i++;
    }
    if (expect === AFTER && containers.length === 0) {
      return i < n ? fail(i, `unexpected ${describeChar(text.charCodeAt(i))} after the JSON value`) : null;
    }
    if (i >= n) {
      // At the top, a value is expected only before the first one: nothing but whitespace came.
      if (expect === VALUE && containers.length === 0) return fail(n, n === 0 ? 'the body is empty' : 'the body is only whitespace');
      break;
    }
    const c = text.charCodeAt(i);
    switch (expect) {
      case COLON:
        if (c !== 0x3a) return unexpected(i, "':' after a property name");
        i++;
        expect = VALUE;
        continue;
      case AFTER: {
        const open = containers[containers.length - 1];
        const close = open === 0x7b ? 0x7d : 0x5d;
        if (c === 0x2c) {
          i++;
          expect = open === 0x7b ? NAME : VALUE;
        } else if (c === close) {
          i++;
          containers.pop();
        } else {
          return unexpected(i, open === 0x7b ? "',' or '}' after a property value" : "',' or ']' after an array element");
        }
        continue;
      }
      case NAME:
      case NAME_OR_CLOSE:
        if (c === 0x7d && expect === NAME_OR_CLOSE) {
          i++;
          containers.pop();
          expect = AFTER;
          continue;
        }
        if (c !== QUOTE) return unexpected(i, expect === NAME_OR_CLOSE ? "a property name in double quotes or '}'" : 'a property name in double quotes');
        {
          const end = scanString(text, i);
          if (typeof end !== 'number') return end;
          i = end;
        }
        expect = COLON;
        continue;
      case VALUE:
      case VALUE_OR_CLOSE:
        if (c === 0x5d && expect === VALUE_OR_CLOSE) {
          i++;
          containers.pop();
          expect = AFTER;
          continue;
        }
        if (c === 0x7b) {
          containers.push(c);
          i++;
          expect = NAME_OR_CLOSE;
          continue;
        }
        if (c === 0x5b) {
          containers.push(c);
          i++;
          expect = VALUE_OR_CLOSE;
          continue;
        }
        {
          const end = c === QUOTE ? scanString(text, i) : c === 0x2d || isDigit(c) ? scanNumber(text, i) : scanLiteral(text, i);
          if (end === null) return unexpected(i, expect === VALUE_OR_CLOSE ? "a value or ']'" : 'a value');
          if (typeof end !== 'number') return end;
          i = end;
        }
        expect = AFTER;
        continue;
    }
  }
  // The text ended inside a container or before a value.
  switch (expect) {
    case COLON:
      return unexpected(n, "':' after a property name");
    case NAME:
    case NAME_OR_CLOSE:
      return unexpected(n, 'a property name in double quotes');
    case AFTER:
      return unexpected(n, containers[containers.length - 1] === 0x7b ? "',' or '}' after a property value" : "',' or ']' after an array element");
    default:
      return unexpected(n, 'a value');
  }

  /** The index after the string starting at `start` (a quote), or where and why it is not one. */
  function scanString(s: string, start: number): number | JsonErrorLocation {
    let j = start + 1;
    while (j < n) {
      const ch = s.charCodeAt(j);
      if (ch === QUOTE) return j + 1;
      if (ch < 0x20) return fail(j, `${describeChar(ch)} inside a string (it must be escaped)`);
      if (ch === BACKSLASH) {
        const e = s.charCodeAt(j + 1);
        if (j + 1 >= n) break;
        if (e === 0x75) {
          for (let k = j + 2; k < j + 6; k++) {
            if (k >= n) return fail(n, 'unexpected end of the body inside a \\u escape');
            if (!isHex(s.charCodeAt(k))) return fail(k, 'bad \\u escape in a string (four hex digits expected)');
          }
          j += 6;
          continue;
        }
        if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
          return fail(j + 1, 'bad escape in a string (\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u expected)');
        }
        j += 2;
        continue;
      }
      j++;
    }
    return fail(n, 'unterminated string');
  }

  /** The index after the number starting at `start` (`-` or a digit), or where and why it is not one. */
  function scanNumber(s: string, start: number): number | JsonErrorLocation {
    let j = start;
    if (s.charCodeAt(j) === 0x2d) j++;
    if (j >= n) return fail(n, "unexpected end of the body after '-'");
    if (!isDigit(s.charCodeAt(j))) return fail(j, "no digit after '-'");
    if (s.charCodeAt(j) === 0x30) {
      j++;
      if (isDigit(s.charCodeAt(j))) return fail(j, 'a number cannot have a leading zero');
    } else {
      while (isDigit(s.charCodeAt(j))) j++;
    }
    if (s.charCodeAt(j) === 0x2e) {
      j++;
      if (!isDigit(s.charCodeAt(j))) return fail(j, 'no digit after the decimal point');
      while (isDigit(s.charCodeAt(j))) j++;
    }
    const e = s.charCodeAt(j);
    if (e === 0x65 || e === 0x45) {
      j++;
      const sign = s.charCodeAt(j);
      if (sign === 0x2b || sign === 0x2d) j++;
      if (!isDigit(s.charCodeAt(j))) return fail(j, 'no digit in the exponent');
      while (isDigit(s.charCodeAt(j))) j++;
    }
    return j;
  }

  /** The index after `true`, `false` or `null` at `start`; null when none starts there; where and why when one starts and breaks off. */
  function scanLiteral(s: string, start: number): number | JsonErrorLocation | null {
    for (const word of LITERALS) {
      if (s.charCodeAt(start) !== word.charCodeAt(0)) continue;
      for (let k = 1; k < word.length; k++) {
        if (start + k >= n) return fail(n, `unexpected end of the body inside ${word}`);
        if (s.charCodeAt(start + k) !== word.charCodeAt(k)) return fail(start + k, `unexpected ${describeChar(s.charCodeAt(start + k))} inside what should be ${word}`);
      }
      return start + word.length;
    }
    return null;
  }
}

const LITERALS = ['true', 'false', 'null'] as const;
