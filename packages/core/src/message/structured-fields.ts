/**
 * Structured Field Values for HTTP (RFC 9651): parsing and serialising the three top-level
 * types, Item, List and Dictionary, with the bare item types of RFC 9651 (Integer, Decimal,
 * String, Token, Byte Sequence, Boolean, Date, Display String) and their Parameters.
 *
 * The parser follows RFC 9651 §4.2 step by step, over a JS string: one forward pass, every step
 * consumes input, so the work is linear in the field's length whatever it holds (the response
 * parser bounds that length: 16 KiB of head by default). A failure is a
 * {@link StructuredFieldError} that says where; the serialiser (§4.1) throws it too for a value
 * that has no serialisation. `Headers.structured(name, type)` is the lenient way in: undefined
 * for a field that is absent or does not parse.
 *
 * The JavaScript shape of a parsed field (the type names in brackets):
 *
 * | RFC 9651       | JavaScript                                                                      |
 * | -------------- | ------------------------------------------------------------------------------- |
 * | List           | `Array<StructuredItem \| InnerList>` ({@link StructuredList})                   |
 * | Dictionary     | `Map<string, StructuredItem \| InnerList>` ({@link StructuredDictionary}), in order |
 * | Inner List     | `{ items: StructuredItem[], params }` ({@link InnerList})                        |
 * | Item           | `{ value: BareItem, params }` ({@link StructuredItem})                           |
 * | Parameters     | `Map<string, BareItem>` ({@link StructuredParameters})                           |
 * | Integer        | `number` (a safe integer)                                                       |
 * | Decimal        | `number` (or a {@link Decimal}, with `{ decimals: 'Decimal' }`)                 |
 * | String         | `string`                                                                        |
 * | Token          | {@link Token}                                                                   |
 * | Byte Sequence  | `Uint8Array`                                                                    |
 * | Boolean        | `boolean`                                                                       |
 * | Date           | `Date` (whole seconds)                                                          |
 * | Display String | {@link DisplayString}                                                           |
 *
 * A key given twice in a Dictionary or in Parameters keeps the position of its first occurrence
 * and the value of its last (RFC 9651 §4.2.2, §4.2.3.2), which is what `Map.prototype.set` does.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError, StrandError } from '../errors.js';
import { brand } from '../brand.js';
import { describeType, escapeForMessage, isTokenChar } from '../validate.js';

// ---- the data model ----

/**
 * An RFC 9651 Token: a short textual word such as `text/html` or `gzip`, distinct from a String
 * (`"gzip"`) on the wire. Compare its {@link Token.value}. Checked when serialised: the first
 * character must be a letter or `*`, the others RFC 9110 tchar, `:` or `/`.
 */
export class Token {
  /** The token's text, as sent (case is significant). */
  readonly value: string;

  constructor(value: string) {
    this.value = value;
  }

  /** The token's text. */
  toString(): string {
    return this.value;
  }
}

/**
 * An RFC 9651 Display String: Unicode text for people (`%"f%c3%bc%c3%bc"` on the wire is
 * `new DisplayString('füü')`), distinct from an ASCII String. Checked when serialised: it must be
 * well-formed Unicode (no lone surrogate).
 */
export class DisplayString {
  /** The decoded text. */
  readonly value: string;

  constructor(value: string) {
    this.value = value;
  }

  /** The decoded text. */
  toString(): string {
    return this.value;
  }
}

/**
 * An RFC 9651 Decimal whose type must survive a round trip. Parsers return a Decimal as a plain
 * `number` unless asked for `{ decimals: 'Decimal' }`; a serialiser writes a non-integral
 * `number` as a Decimal and an integral one as an Integer, so `new Decimal(1)` is the way to send
 * `1.0`. At most 12 integer digits; the fraction is rounded to 3 digits, ties to even.
 */
export class Decimal {
  /** The number. */
  readonly value: number;

  constructor(value: number) {
    this.value = value;
  }

  /** The number, so a Decimal works in arithmetic (`+decimal`). */
  valueOf(): number {
    return this.value;
  }

  /** The number in JavaScript's notation (not the field's: see {@link serializeStructuredField}). */
  toString(): string {
    return String(this.value);
  }
}

/**
 * The value of an Item or of a parameter. `number` is an Integer when it is integral and a
 * Decimal otherwise (see {@link Decimal}); a `Date` must be whole seconds.
 */
export type BareItem = number | Decimal | string | Token | Uint8Array | boolean | Date | DisplayString;

/** Parameters of an Item or an Inner List, in order; a key given twice keeps its first position and last value. */
export type StructuredParameters = Map<string, BareItem>;

/** An Item: a bare value with its parameters (`text/html;q=0.5` is `{ value: Token('text/html'), params: q → 0.5 }`). */
export interface StructuredItem {
  /** The bare value. */
  value: BareItem;
  /** Its parameters, in order (an empty Map for none). */
  params: StructuredParameters;
}

/** An Inner List: Items in parentheses with parameters of its own (`(gzip br);q=1`). */
export interface InnerList {
  /** The Items in the parentheses, in order. */
  items: StructuredItem[];
  /** The parameters of the Inner List itself (after its `)`), in order. */
  params: StructuredParameters;
}

/** A List field: Items and Inner Lists in order. An empty List is a field not sent. */
export type StructuredList = Array<StructuredItem | InnerList>;

/** A Dictionary field: keys to Items or Inner Lists, in order. An empty Dictionary is a field not sent. */
export type StructuredDictionary = Map<string, StructuredItem | InnerList>;

/** The three top-level types a field can be defined as. */
export type StructuredFieldType = 'item' | 'list' | 'dictionary';

/** True when a List or Dictionary member is an {@link InnerList} rather than an {@link StructuredItem}. */
export function isInnerList(member: StructuredItem | InnerList): member is InnerList {
  return Array.isArray((member as Partial<InnerList>).items);
}

/** Options of the parse functions. */
export interface StructuredParseOptions {
  /**
   * How a Decimal is returned: `'number'` (default), like an Integer, or `'Decimal'`, a
   * {@link Decimal} instance, so that the type is kept (`1.0` serialises back as `1.0`, not `1`).
   */
  decimals?: 'number' | 'Decimal';
}

/**
 * A structured field value could not be parsed (code `STRAND_STRUCTURED_FIELD_PARSE`; `offset`
 * says where, in the field lines joined with `", "`), or a value given to a serialiser has no
 * serialisation (code `STRAND_STRUCTURED_FIELD_SERIALIZE`: a key, token or string with a
 * character it may not contain, a number out of range, a type that is not a bare item).
 * Messages never quote the field value.
 */
export class StructuredFieldError extends StrandError {
  /** Index in the parsed value where parsing failed; undefined for a serialisation failure. */
  readonly offset: number | undefined;

  constructor(code: 'STRAND_STRUCTURED_FIELD_PARSE' | 'STRAND_STRUCTURED_FIELD_SERIALIZE', message: string, offset?: number) {
    super(code, message);
    this.offset = offset;
  }
}

// ---- character classes ----

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isLcAlpha(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}

/** A character of a key after the first: lcalpha, DIGIT, `_`, `-`, `.`, `*`. */
function isKeyChar(c: number): boolean {
  return isLcAlpha(c) || isDigit(c) || c === 0x5f || c === 0x2d || c === 0x2e || c === 0x2a;
}

/** A character of a token after the first: tchar, `:`, `/`. */
function isSfTokenChar(c: number): boolean {
  return isTokenChar(c) || c === 0x3a || c === 0x2f;
}

/** The value of a lower-case hex digit, -1 for anything else (display strings use lower case only). */
function lowerHexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Base64 digit values by char code (standard alphabet, not base64url); -1 for anything else. */
const BASE64_VALUE = new Int8Array(128).fill(-1);
for (let k = 0; k < BASE64_ALPHABET.length; k++) BASE64_VALUE[BASE64_ALPHABET.charCodeAt(k)] = k;

function base64Value(c: number): number {
  return c < 128 ? (BASE64_VALUE[c] as number) : -1;
}

/** UTF-8 for display strings: invalid sequences fail, and a leading U+FEFF is content, not a BOM. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const UTF8_ENCODER = new TextEncoder();

/** The largest Integer (and Date) magnitude: 15 digits. */
const MAX_INTEGER = 999_999_999_999_999;
/** The largest `Date` time value JavaScript can hold, ms (ECMA-262 §21.4.1.22). */
const MAX_DATE_MS = 8.64e15;

const SP = 0x20;
const HTAB = 0x09;
const DQUOTE = 0x22;
const PERCENT = 0x25;
const LPAREN = 0x28;
const RPAREN = 0x29;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const COLON = 0x3a;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const QUESTION = 0x3f;
const AT = 0x40;
const BACKSLASH = 0x5c;
const STAR = 0x2a;

// ---- parsing (RFC 9651 §4.2) ----

/**
 * One parse: the input and a position that only moves forward. Each method is one algorithm of
 * §4.2 and starts at `i`.
 */
class Parser {
  readonly s: string;
  readonly n: number;
  readonly type: StructuredFieldType;
  readonly keepDecimals: boolean;
  i: number;
  /** Set by {@link Parser.number}: whether the number it returned was a Decimal. */
  wasDecimal: boolean;

  constructor(s: string, type: StructuredFieldType, keepDecimals: boolean) {
    this.s = s;
    this.n = s.length;
    this.type = type;
    this.keepDecimals = keepDecimals;
    this.i = 0;
    this.wasDecimal = false;
  }

  fail(what: string, at = this.i): never {
    throw new StructuredFieldError('STRAND_STRUCTURED_FIELD_PARSE', `invalid structured field (${this.type}): ${what} at index ${at}`, at);
  }

  /** The character code at `i`, NaN at the end. */
  peek(): number {
    return this.s.charCodeAt(this.i);
  }

  skipSP(): void {
    while (this.i < this.n && this.s.charCodeAt(this.i) === SP) this.i++;
  }

  skipOWS(): void {
    while (this.i < this.n) {
      const c = this.s.charCodeAt(this.i);
      if (c !== SP && c !== HTAB) return;
      this.i++;
    }
  }

  /** §4.2 steps 2-6 around one of the top-level algorithms. */
  top(): StructuredItem | StructuredList | StructuredDictionary {
    this.skipSP();
    const out = this.type === 'list' ? this.list() : this.type === 'dictionary' ? this.dictionary() : this.item();
    this.skipSP();
    if (this.i < this.n) this.fail(this.type === 'item' ? 'unexpected character after the item' : "expected ',' or the end");
    return out;
  }

  /** §4.2.1 Parsing a List. */
  list(): StructuredList {
    const members: StructuredList = [];
    while (this.i < this.n) {
      members.push(this.itemOrInnerList());
      this.skipOWS();
      if (this.i >= this.n) return members;
      if (this.peek() !== COMMA) this.fail("expected ',' after a list member");
      this.i++;
      this.skipOWS();
      if (this.i >= this.n) this.fail('a trailing comma ends the list');
    }
    return members;
  }

  /** §4.2.1.1 Parsing an Item or Inner List. */
  itemOrInnerList(): StructuredItem | InnerList {
    return this.peek() === LPAREN ? this.innerList() : this.item();
  }

  /** §4.2.1.2 Parsing an Inner List (at its `(`). */
  innerList(): InnerList {
    this.i++;
    const items: StructuredItem[] = [];
    while (this.i < this.n) {
      this.skipSP();
      if (this.peek() === RPAREN) {
        this.i++;
        return { items, params: this.parameters() };
      }
      items.push(this.item());
      const c = this.peek();
      if (c !== SP && c !== RPAREN) this.fail("expected a space or ')' after an inner list item");
    }
    return this.fail("an inner list without its ')'");
  }

  /** §4.2.2 Parsing a Dictionary. */
  dictionary(): StructuredDictionary {
    const dictionary: StructuredDictionary = new Map();
    while (this.i < this.n) {
      const key = this.key();
      let member: StructuredItem | InnerList;
      if (this.peek() === EQUALS) {
        this.i++;
        member = this.itemOrInnerList();
      } else {
        member = { value: true, params: this.parameters() };
      }
      dictionary.set(key, member);
      this.skipOWS();
      if (this.i >= this.n) return dictionary;
      if (this.peek() !== COMMA) this.fail("expected ',' after a dictionary member");
      this.i++;
      this.skipOWS();
      if (this.i >= this.n) this.fail('a trailing comma ends the dictionary');
    }
    return dictionary;
  }

  /** §4.2.3 Parsing an Item. */
  item(): StructuredItem {
    const value = this.bareItem();
    return { value, params: this.parameters() };
  }

  /** §4.2.3.1 Parsing a Bare Item. */
  bareItem(): BareItem {
    const c = this.peek();
    if (c === MINUS || isDigit(c)) {
      const value = this.number();
      return this.wasDecimal && this.keepDecimals ? new Decimal(value) : value;
    }
    if (c === DQUOTE) return this.string();
    if (isAlpha(c) || c === STAR) return this.token();
    if (c === COLON) return this.byteSequence();
    if (c === QUESTION) return this.boolean();
    if (c === AT) return this.date();
    if (c === PERCENT) return this.displayString();
    return this.fail(this.i >= this.n ? 'expected an item, found the end' : 'expected an item');
  }

  /** §4.2.3.2 Parsing Parameters. */
  parameters(): StructuredParameters {
    const params: StructuredParameters = new Map();
    while (this.peek() === SEMICOLON) {
      this.i++;
      this.skipSP();
      const key = this.key();
      let value: BareItem = true;
      if (this.peek() === EQUALS) {
        this.i++;
        value = this.bareItem();
      }
      params.set(key, value);
    }
    return params;
  }

  /** §4.2.3.3 Parsing a Key. */
  key(): string {
    const start = this.i;
    const c = this.peek();
    if (!isLcAlpha(c) && c !== STAR) this.fail('expected a key (a lower-case letter or * first)');
    this.i++;
    while (this.i < this.n && isKeyChar(this.s.charCodeAt(this.i))) this.i++;
    return this.s.slice(start, this.i);
  }

  /** §4.2.4 Parsing an Integer or Decimal; sets {@link Parser.wasDecimal}. Never returns -0. */
  number(): number {
    const s = this.s;
    const start = this.i;
    let i = start;
    if (s.charCodeAt(i) === MINUS) i++;
    if (!isDigit(s.charCodeAt(i))) this.fail('expected a digit', i);
    const digits = i;
    let dot = -1;
    while (i < this.n) {
      const c = s.charCodeAt(i);
      if (isDigit(c)) {
        i++;
      } else if (c === DOT && dot === -1) {
        if (i - digits > 12) this.fail('a decimal with more than 12 integer digits', i);
        dot = i;
        i++;
      } else {
        break;
      }
      if (dot === -1 ? i - digits > 15 : i - digits > 16) this.fail(dot === -1 ? 'an integer with more than 15 digits' : 'a decimal with too many digits', i);
    }
    if (dot !== -1) {
      if (dot === i - 1) this.fail('a decimal without fractional digits', i);
      if (i - dot - 1 > 3) this.fail('a decimal with more than 3 fractional digits', i);
    }
    this.i = i;
    this.wasDecimal = dot !== -1;
    const magnitude = Number(s.slice(digits, i));
    // `-0` and `-0.0` are zero: a sign on zero carries nothing.
    return s.charCodeAt(start) === MINUS && magnitude !== 0 ? -magnitude : magnitude;
  }

  /** §4.2.5 Parsing a String (at its `"`). */
  string(): string {
    const s = this.s;
    let i = this.i + 1;
    let out = '';
    let run = i;
    for (;;) {
      if (i >= this.n) this.fail('a string without its closing quote', i);
      const c = s.charCodeAt(i);
      if (c === BACKSLASH) {
        out += s.slice(run, i);
        i++;
        const escaped = s.charCodeAt(i);
        if (escaped !== DQUOTE && escaped !== BACKSLASH) this.fail('a backslash in a string must escape " or \\', i);
        run = i;
        i++;
      } else if (c === DQUOTE) {
        out += s.slice(run, i);
        this.i = i + 1;
        return out;
      } else if (c < 0x20 || c > 0x7e) {
        this.fail('a string may hold printable ASCII only', i);
      } else {
        i++;
      }
    }
  }

  /** §4.2.6 Parsing a Token (at its first character, a letter or `*`). */
  token(): Token {
    const start = this.i;
    let i = start + 1;
    while (i < this.n && isSfTokenChar(this.s.charCodeAt(i))) i++;
    this.i = i;
    return new Token(this.s.slice(start, i));
  }

  /** §4.2.7 Parsing a Byte Sequence (at its `:`): standard base64; missing padding and non-zero pad bits are accepted. */
  byteSequence(): Uint8Array {
    const s = this.s;
    const start = this.i + 1;
    const end = s.indexOf(':', start);
    if (end === -1) this.fail('a byte sequence without its closing colon');
    let dataEnd = end;
    while (dataEnd > start && s.charCodeAt(dataEnd - 1) === EQUALS) dataEnd--;
    const padding = end - dataEnd;
    const length = dataEnd - start;
    if (padding > 2 || (padding > 0 && (length + padding) % 4 !== 0) || length % 4 === 1) {
      this.fail('a byte sequence whose base64 is not validly padded', start);
    }
    const bytes = new Uint8Array(Math.floor((length * 3) / 4));
    let out = 0;
    let bits = 0;
    let held = 0;
    for (let k = start; k < dataEnd; k++) {
      const v = base64Value(s.charCodeAt(k));
      if (v === -1) this.fail('a byte sequence may hold base64 characters only', k);
      bits = ((bits << 6) | v) & 0xffff;
      held += 6;
      if (held >= 8) {
        held -= 8;
        bytes[out++] = (bits >> held) & 0xff;
      }
    }
    this.i = end + 1;
    return bytes;
  }

  /** §4.2.8 Parsing a Boolean (at its `?`). */
  boolean(): boolean {
    const c = this.s.charCodeAt(this.i + 1);
    if (c !== 0x30 && c !== 0x31) this.fail('a boolean is ?0 or ?1', this.i + 1);
    this.i += 2;
    return c === 0x31;
  }

  /** §4.2.9 Parsing a Date (at its `@`). A date outside JavaScript's range (±8.64e12 s, about ±273 000 years) fails. */
  date(): Date {
    const at = this.i;
    this.i++;
    const seconds = this.number();
    if (this.wasDecimal) this.fail('a date must be an integer', at);
    const ms = seconds * 1000;
    if (Math.abs(ms) > MAX_DATE_MS) this.fail('a date beyond the range of a JavaScript Date', at);
    return new Date(ms);
  }

  /** §4.2.10 Parsing a Display String (at its `%`). */
  displayString(): DisplayString {
    const s = this.s;
    if (s.charCodeAt(this.i + 1) !== DQUOTE) this.fail('expected " after % (a display string)', this.i + 1);
    let i = this.i + 2;
    // A literal `"` always ends a display string (a quote inside is %22), so its bytes fit here.
    const end = s.indexOf('"', i);
    if (end === -1) this.fail('a display string without its closing quote');
    const bytes = new Uint8Array(end - i);
    let length = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) this.fail('a display string may hold printable ASCII only (others are %-encoded)', i);
      if (c === PERCENT) {
        const high = lowerHexValue(s.charCodeAt(i + 1));
        const low = i + 2 < end ? lowerHexValue(s.charCodeAt(i + 2)) : -1;
        if (high === -1 || low === -1) this.fail('% in a display string must be followed by two lower-case hex digits', i);
        bytes[length++] = (high << 4) | low;
        i += 3;
      } else {
        bytes[length++] = c;
        i++;
      }
    }
    let text: string;
    try {
      text = UTF8.decode(bytes.subarray(0, length));
    } catch {
      return this.fail('a display string that is not valid UTF-8', this.i);
    }
    this.i = end + 1;
    return new DisplayString(text);
  }
}

function checkType(type: unknown): StructuredFieldType {
  if (type !== 'item' && type !== 'list' && type !== 'dictionary') {
    throw new InvalidArgumentError(`a structured field type is 'item', 'list' or 'dictionary', got ${typeof type === 'string' ? `'${escapeForMessage(type, 20)}'` : describeType(type)}`);
  }
  return type;
}

/**
 * Parses a structured field (RFC 9651 §4.2) defined as an Item, a List or a Dictionary. Several
 * field lines are joined with `", "` first, as the RFC says (so an Item field sent twice fails);
 * an empty List or Dictionary field is an empty List or Dictionary. In a Dictionary, a member
 * without a value is `true` (`a;x` is `a → { value: true, params: x → true }`).
 *
 * @param field - the field value, or its field lines in order (`headers.getAll(name)`)
 * @param type - how the field is defined: `'item'`, `'list'` or `'dictionary'`
 * @throws {@link StructuredFieldError} (`STRAND_STRUCTURED_FIELD_PARSE`, with the `offset`) when
 *   the value is not one; {@link InvalidArgumentError} for another `type`.
 * @example
 * ```ts
 * const priority = parseStructuredField('u=1, i', 'dictionary');
 * priority.get('u');  // { value: 1, params: Map {} }
 * priority.get('i');  // { value: true, params: Map {} }
 * const accept = parseStructuredField('text/html;q=0.5, (a b)', 'list');
 * // [{ value: Token('text/html'), params: Map { 'q' => 0.5 } }, { items: [a, b], params: Map {} }]
 * ```
 */
export function parseStructuredField(field: string | readonly string[], type: 'item', options?: StructuredParseOptions): StructuredItem;
export function parseStructuredField(field: string | readonly string[], type: 'list', options?: StructuredParseOptions): StructuredList;
export function parseStructuredField(field: string | readonly string[], type: 'dictionary', options?: StructuredParseOptions): StructuredDictionary;
export function parseStructuredField(field: string | readonly string[], type: StructuredFieldType, options?: StructuredParseOptions): StructuredItem | StructuredList | StructuredDictionary;
export function parseStructuredField(field: string | readonly string[], type: StructuredFieldType, options?: StructuredParseOptions): StructuredItem | StructuredList | StructuredDictionary {
  const value = typeof field === 'string' ? field : field.join(', ');
  return new Parser(value, checkType(type), options?.decimals === 'Decimal').top();
}

// ---- serialising (RFC 9651 §4.1) ----

function serializeFailure(what: string): never {
  throw new StructuredFieldError('STRAND_STRUCTURED_FIELD_SERIALIZE', `cannot serialise a structured field: ${what}`);
}

/** §4.1.1 Serializing a List: members joined with `", "`; `''` for an empty List (do not send the field). */
function serializeList(list: readonly (StructuredItem | InnerList)[]): string {
  if (!Array.isArray(list)) serializeFailure(`a List is an array, got ${describeType(list)}`);
  let out = '';
  for (let k = 0; k < list.length; k++) {
    if (k > 0) out += ', ';
    out += serializeMember(list[k] as StructuredItem | InnerList);
  }
  return out;
}

/**
 * §4.1.2 Serializing a Dictionary (a `Map`, or any iterable of `[key, member]`): `key=member`
 * joined with `", "`, a member whose value is `true` written as its key and parameters only;
 * `''` for an empty Dictionary (do not send the field).
 */
function serializeDictionary(dictionary: ReadonlyMap<string, StructuredItem | InnerList> | Iterable<readonly [string, StructuredItem | InnerList]>): string {
  if (dictionary == null || typeof (dictionary as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function') {
    serializeFailure(`a Dictionary is a Map or an iterable of [key, member], got ${describeType(dictionary)}`);
  }
  let out = '';
  for (const [key, member] of dictionary) {
    if (out !== '') out += ', ';
    out += serializeKey(key);
    if (!isInnerList(member) && member.value === true) {
      out += serializeParameters(member.params);
    } else {
      out += '=';
      out += serializeMember(member);
    }
  }
  return out;
}

/**
 * §4.1.3 Serializing an Item: its bare value and parameters (`5;foo=bar`).
 *
 * @throws {@link StructuredFieldError} (`STRAND_STRUCTURED_FIELD_SERIALIZE`) for a value with no serialisation.
 * @example
 * ```ts
 * serializeItem({ value: new Token('text/html'), params: new Map([['q', 0.5]]) }); // 'text/html;q=0.5'
 * ```
 */
function serializeItem(item: StructuredItem): string {
  if (item === null || typeof item !== 'object') serializeFailure(`an Item is { value, params }, got ${describeType(item)}`);
  return serializeBareItem(item.value) + serializeParameters(item.params);
}

function serializeMember(member: StructuredItem | InnerList): string {
  if (member === null || typeof member !== 'object') serializeFailure(`a member is an Item or an Inner List, got ${describeType(member)}`);
  if (isInnerList(member)) {
    let out = '(';
    const items = member.items;
    for (let k = 0; k < items.length; k++) {
      if (k > 0) out += ' ';
      out += serializeItem(items[k] as StructuredItem);
    }
    return `${out})${serializeParameters(member.params)}`;
  }
  return serializeItem(member);
}

/** §4.1.1.2 Serializing Parameters: `;key` for `true`, `;key=value` otherwise. */
function serializeParameters(params: ReadonlyMap<string, BareItem> | undefined): string {
  if (params == null) return '';
  if (typeof (params as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function') serializeFailure(`parameters are a Map, got ${describeType(params)}`);
  let out = '';
  for (const [key, value] of params) {
    out += ';';
    out += serializeKey(key);
    if (value !== true) {
      out += '=';
      out += serializeBareItem(value);
    }
  }
  return out;
}

/** §4.1.1.3 Serializing a Key. */
function serializeKey(key: string): string {
  if (typeof key !== 'string') serializeFailure(`a key is a string, got ${describeType(key)}`);
  const n = key.length;
  const first = key.charCodeAt(0);
  if (n === 0 || (!isLcAlpha(first) && first !== STAR)) serializeFailure('a key starts with a lower-case letter or *');
  for (let k = 1; k < n; k++) {
    if (!isKeyChar(key.charCodeAt(k))) serializeFailure('a key holds lower-case letters, digits, _, -, . and * only');
  }
  return key;
}

/**
 * §4.1.3.1 Serializing a Bare Item of any type.
 *
 * @throws {@link StructuredFieldError} (`STRAND_STRUCTURED_FIELD_SERIALIZE`) for a value with no serialisation.
 */
function serializeBareItem(value: BareItem): string {
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? serializeInteger(value) : serializeDecimal(value);
    case 'string':
      return serializeString(value);
    case 'boolean':
      return value ? '?1' : '?0';
    case 'object':
      if (value instanceof Token) return serializeToken(value.value);
      if (value instanceof Decimal) return serializeDecimal(value.value);
      if (value instanceof Uint8Array) return `:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}:`;
      if (value instanceof Date) return serializeDate(value);
      if (value instanceof DisplayString) return serializeDisplayString(value.value);
      break;
    default:
      break;
  }
  return serializeFailure(`${describeType(value)} is not a bare item type`);
}

/** §4.1.4 Serializing an Integer. */
function serializeInteger(value: number): string {
  if (value < -MAX_INTEGER || value > MAX_INTEGER) serializeFailure('an Integer has at most 15 digits');
  return String(value === 0 ? 0 : value);
}

/**
 * §4.1.5 Serializing a Decimal: rounded to 3 fractional digits, ties to even. The rounding works
 * on the shortest decimal text of the number (what `String(n)` gives), so `0.0025` is the tie it
 * reads as and becomes `0.002`, whatever its binary approximation.
 */
function serializeDecimal(value: number): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) serializeFailure('a Decimal is a finite number');
  const text = String(Math.abs(value));
  if (text.includes('e')) {
    // Exponent notation: below 1e-6 (which rounds to zero) or at least 1e21 (too large).
    if (Math.abs(value) >= 1) serializeFailure('a Decimal has at most 12 integer digits');
    return '0.0';
  }
  const dot = text.indexOf('.');
  let integer = dot === -1 ? text : text.slice(0, dot);
  let fraction = dot === -1 ? '' : text.slice(dot + 1);
  if (fraction.length > 3) {
    const next = fraction.charCodeAt(3) - 0x30;
    const rest = fraction.slice(4);
    const last = fraction.charCodeAt(2) - 0x30;
    const up = next > 5 || (next === 5 && (/[1-9]/.test(rest) || last % 2 === 1));
    fraction = fraction.slice(0, 3);
    if (up) {
      const digits = incrementDigits(integer + fraction);
      integer = digits.slice(0, -3);
      fraction = digits.slice(-3);
    }
  }
  fraction = fraction.replace(/0+$/, '');
  if (integer.length > 12) serializeFailure('a Decimal has at most 12 integer digits');
  if (fraction === '') fraction = '0';
  const zero = integer === '0' && fraction === '0';
  return `${value < 0 && !zero ? '-' : ''}${integer}.${fraction}`;
}

/** Adds one to a string of decimal digits. */
function incrementDigits(digits: string): string {
  let k = digits.length - 1;
  while (k >= 0 && digits.charCodeAt(k) === 0x39) k--;
  if (k < 0) return `1${'0'.repeat(digits.length)}`;
  return digits.slice(0, k) + String.fromCharCode(digits.charCodeAt(k) + 1) + '0'.repeat(digits.length - k - 1);
}

/** §4.1.6 Serializing a String: printable ASCII, `"` and `\` escaped. */
function serializeString(value: string): string {
  let out = '"';
  let run = 0;
  const n = value.length;
  for (let k = 0; k < n; k++) {
    const c = value.charCodeAt(k);
    if (c < 0x20 || c > 0x7e) serializeFailure('a String holds printable ASCII only (use a DisplayString for other text)');
    if (c === DQUOTE || c === BACKSLASH) {
      out += `${value.slice(run, k)}\\`;
      run = k;
    }
  }
  return `${out}${value.slice(run)}"`;
}

/** §4.1.7 Serializing a Token. */
function serializeToken(value: string): string {
  if (typeof value !== 'string') serializeFailure(`a Token's value is a string, got ${describeType(value)}`);
  const first = value.charCodeAt(0);
  if (!isAlpha(first) && first !== STAR) serializeFailure('a Token starts with a letter or *');
  for (let k = 1; k < value.length; k++) {
    if (!isSfTokenChar(value.charCodeAt(k))) serializeFailure("a Token holds tchar, ':' and '/' only");
  }
  return value;
}

/** §4.1.10 Serializing a Date: `@` and the integer seconds. */
function serializeDate(value: Date): string {
  const ms = value.getTime();
  if (!Number.isFinite(ms)) serializeFailure('an invalid Date');
  if (ms % 1000 !== 0) serializeFailure('a Date must be whole seconds (round it: new Date(Math.floor(ms / 1000) * 1000))');
  return `@${serializeInteger(ms / 1000)}`;
}

const HEX = '0123456789abcdef';

/** §4.1.11 Serializing a Display String: UTF-8, with `%`, `"` and non-printable bytes as lower-case `%xx`. */
function serializeDisplayString(value: string): string {
  if (typeof value !== 'string') serializeFailure(`a DisplayString's value is a string, got ${describeType(value)}`);
  if (/[\uD800-\uDFFF]/u.test(value)) serializeFailure('a DisplayString must be well-formed Unicode (it has a lone surrogate)');
  const bytes = UTF8_ENCODER.encode(value);
  let out = '%"';
  for (const b of bytes) {
    if (b === PERCENT || b === DQUOTE || b < 0x20 || b > 0x7e) out += `%${HEX[b >> 4] as string}${HEX[b & 15] as string}`;
    else out += String.fromCharCode(b);
  }
  return `${out}"`;
}

/**
 * Serialises a structured field (RFC 9651 §4.1) of the given top-level type into one field value:
 * an Item (`5;foo=bar`), a List (members joined with `", "`, Inner Lists as `(a b);p`) or a
 * Dictionary (a `Map`, or any iterable of `[key, member]`; a member whose value is `true` is
 * written as its key and parameters only). `''` for an empty List or Dictionary means: do not send
 * the field. A `number` is an Integer when integral, a Decimal otherwise ({@link Decimal} forces a
 * Decimal); a `Date` must be whole seconds; a missing `params` counts as none.
 *
 * @throws {@link StructuredFieldError} (`STRAND_STRUCTURED_FIELD_SERIALIZE`) for a value with no
 *   serialisation (a key, token or string with a character it may not hold, a number out of
 *   range, a value that is not a bare item); {@link InvalidArgumentError} for another `type`.
 * @example
 * ```ts
 * serializeStructuredField({ value: new Token('text/html'), params: new Map([['q', 0.5]]) }, 'item'); // 'text/html;q=0.5'
 * serializeStructuredField(new Map([['u', { value: 1, params: new Map() }], ['i', { value: true, params: new Map() }]]), 'dictionary'); // 'u=1, i'
 * ```
 */
export function serializeStructuredField(value: StructuredItem, type: 'item'): string;
export function serializeStructuredField(value: readonly (StructuredItem | InnerList)[], type: 'list'): string;
export function serializeStructuredField(value: ReadonlyMap<string, StructuredItem | InnerList> | Iterable<readonly [string, StructuredItem | InnerList]>, type: 'dictionary'): string;
export function serializeStructuredField(value: StructuredItem | readonly (StructuredItem | InnerList)[] | ReadonlyMap<string, StructuredItem | InnerList> | Iterable<readonly [string, StructuredItem | InnerList]>, type: StructuredFieldType): string;
export function serializeStructuredField(value: StructuredItem | readonly (StructuredItem | InnerList)[] | ReadonlyMap<string, StructuredItem | InnerList> | Iterable<readonly [string, StructuredItem | InnerList]>, type: StructuredFieldType): string {
  switch (checkType(type)) {
    case 'item':
      return serializeItem(value as StructuredItem);
    case 'list':
      return serializeList(value as readonly (StructuredItem | InnerList)[]);
    case 'dictionary':
      return serializeDictionary(value as ReadonlyMap<string, StructuredItem | InnerList>);
  }
}

for (const [cls, name] of [
  [Token, 'Token'],
  [DisplayString, 'DisplayString'],
  [Decimal, 'Decimal'],
  [StructuredFieldError, 'StructuredFieldError'],
] as const) {
  brand(cls, `core.${name}`);
}
