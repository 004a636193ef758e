/**
 * RFC 9651 structured fields: the JavaScript shapes the parser returns, its errors, the
 * serialiser's refusals, and bounded work on hostile input. The HTTP WG's own test suite runs in
 * structured-fields-suite.test.ts.
 */
import {
  Decimal,
  DisplayString,
  InvalidArgumentError,
  StrandError,
  StructuredFieldError,
  type StructuredItem,
  type StructuredParameters,
  Token,
  isInnerList,
  parseStructuredField,
  serializeStructuredField,
} from '../src/index.js';

const none = (): StructuredParameters => new Map();

describe('parseStructuredField', () => {
  it('reads a Dictionary into a Map in field order, a member without a value being true', () => {
    const priority = parseStructuredField('u=1, i', 'dictionary');
    expect([...priority.keys()]).toEqual(['u', 'i']);
    expect(priority.get('u')).toEqual({ value: 1, params: new Map() });
    expect(priority.get('i')).toEqual({ value: true, params: new Map() });
  });

  it('keeps the position of the first occurrence and the value of the last for a repeated key', () => {
    const dict = parseStructuredField('a=1, b=2, a=3', 'dictionary');
    expect([...dict].map(([key, member]) => [key, (member as StructuredItem).value])).toEqual([['a', 3], ['b', 2]]);
    const [item] = parseStructuredField('x;q=1;p;q=2', 'list');
    expect([...(item as StructuredItem).params]).toEqual([['q', 2], ['p', true]]);
  });

  it('tells tokens, strings, display strings, byte sequences and dates apart', () => {
    const list = parseStructuredField('gzip, "gzip", %"f%c3%bc", :AQID:, @1659578233, ?0', 'list');
    const values = list.map((member) => (member as StructuredItem).value);
    expect(values[0]).toBeInstanceOf(Token);
    expect((values[0] as Token).value).toBe('gzip');
    expect(values[1]).toBe('gzip');
    expect(values[2]).toEqual(new DisplayString('fü'));
    expect(values[3]).toEqual(new Uint8Array([1, 2, 3]));
    expect(Buffer.isBuffer(values[3])).toBe(false);
    expect(values[4]).toEqual(new Date(1659578233 * 1000));
    expect(values[5]).toBe(false);
  });

  it('returns inner lists as { items, params }, told apart by isInnerList', () => {
    const [inner, item] = parseStructuredField('(a "b");lvl=5, c', 'list');
    expect(isInnerList(inner!)).toBe(true);
    expect(isInnerList(item!)).toBe(false);
    expect(inner).toEqual({ items: [{ value: new Token('a'), params: none() }, { value: 'b', params: none() }], params: new Map([['lvl', 5]]) });
  });

  it('returns a Decimal as a plain number, or as a Decimal that serialises back unchanged when asked', () => {
    expect(parseStructuredField('1.50', 'item').value).toBe(1.5);
    const kept = parseStructuredField('1.0', 'item', { decimals: 'Decimal' });
    expect(kept.value).toBeInstanceOf(Decimal);
    expect(+(kept.value as Decimal)).toBe(1);
    expect(serializeStructuredField(kept, 'item')).toBe('1.0');
    expect(serializeStructuredField(parseStructuredField('1.0', 'item'), 'item')).toBe('1');
    expect(parseStructuredField('7', 'item', { decimals: 'Decimal' }).value).toBe(7);
  });

  it('never returns negative zero', () => {
    expect(Object.is(parseStructuredField('-0', 'item').value, 0)).toBe(true);
    expect(Object.is(parseStructuredField('-0.0', 'item').value, 0)).toBe(true);
  });

  it('joins several field lines with ", " before parsing, as RFC 9651 §4.2 says', () => {
    expect(parseStructuredField(['a=1', 'b=2'], 'dictionary').size).toBe(2);
    expect(parseStructuredField(['1', '2'], 'list')).toHaveLength(2);
    expect(() => parseStructuredField(['1', '2'], 'item')).toThrow(StructuredFieldError);
  });

  it('reads an empty List or Dictionary field as empty, and an empty Item as an error', () => {
    expect(parseStructuredField('', 'list')).toEqual([]);
    expect(parseStructuredField('   ', 'dictionary')).toEqual(new Map());
    expect(() => parseStructuredField('', 'item')).toThrow(StructuredFieldError);
  });

  it('keeps a leading U+FEFF of a display string as text (it is not a byte order mark there)', () => {
    expect(parseStructuredField('%"%ef%bb%bfx"', 'item').value).toEqual(new DisplayString('\uFEFFx'));
  });

  it('fails with a StructuredFieldError that says where, with a stable code, without quoting the value', () => {
    let error: unknown;
    try {
      parseStructuredField('token=secret-value, 2x', 'dictionary');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StructuredFieldError);
    expect(error).toBeInstanceOf(StrandError);
    const sfError = error as StructuredFieldError;
    expect(sfError.code).toBe('STRAND_STRUCTURED_FIELD_PARSE');
    expect(sfError.offset).toBe(20);
    expect(sfError.message).toContain('dictionary');
    expect(sfError.message).toContain('index 20');
    expect(sfError.message).not.toContain('secret');
  });

  it('refuses a type other than item, list or dictionary as an invalid argument', () => {
    expect(() => parseStructuredField('1', 'number' as 'item')).toThrow(InvalidArgumentError);
    expect(() => serializeStructuredField({ value: 1, params: none() }, 'number' as 'item')).toThrow(InvalidArgumentError);
  });

  it('refuses a date beyond what a JavaScript Date holds, and a decimal date', () => {
    expect(parseStructuredField('@253402214400', 'item').value).toEqual(new Date('9999-12-31T00:00:00Z'));
    expect(() => parseStructuredField('@8640000000001', 'item')).toThrow(/beyond the range of a JavaScript Date/);
    expect(() => parseStructuredField('@1.5', 'item')).toThrow(/a date must be an integer/);
  });
});

describe('serializeStructuredField', () => {
  const item = (value: StructuredItem['value'], params: StructuredParameters = none()): StructuredItem => ({ value, params });

  it('writes integers as integers, other numbers as decimals rounded to three digits, ties to even', () => {
    expect(serializeStructuredField(item(42), 'item')).toBe('42');
    expect(serializeStructuredField(item(-0), 'item')).toBe('0');
    expect(serializeStructuredField(item(0.1 + 0.2), 'item')).toBe('0.3');
    expect(serializeStructuredField(item(2.0005), 'item')).toBe('2.0');
    expect(serializeStructuredField(item(2.0015), 'item')).toBe('2.002');
    expect(serializeStructuredField(item(-0.0001), 'item')).toBe('0.0');
    expect(serializeStructuredField(item(1e-7), 'item')).toBe('0.0');
    expect(serializeStructuredField(item(new Decimal(5)), 'item')).toBe('5.0');
    expect(serializeStructuredField(item(999_999_999_999.999), 'item')).toBe('999999999999.999');
    expect(() => serializeStructuredField(item(999_999_999_999.9999), 'item')).toThrow(/at most 12 integer digits/); // rounds up to 13 digits
  });

  it('writes every bare item type and parameters, true parameters as the key alone', () => {
    const params = new Map<string, StructuredItem['value']>([['a', true], ['b', false], ['c', new Token('x/y')], ['d', 'q"\\'], ['e', new Date(0)]]);
    expect(serializeStructuredField(item(new Uint8Array([104, 105]), params), 'item')).toBe(':aGk=:;a;b=?0;c=x/y;d="q\\"\\\\";e=@0');
    expect(serializeStructuredField(item(new DisplayString('füü "%"')), 'item')).toBe('%"f%c3%bc%c3%bc %22%25%22"');
  });

  it('writes a Dictionary from a Map or any iterable of pairs, and an empty one as "" (do not send)', () => {
    const members: Array<[string, StructuredItem]> = [['u', item(1)], ['i', item(true, new Map([['x', 1]]))]];
    expect(serializeStructuredField(new Map(members), 'dictionary')).toBe('u=1, i;x=1');
    expect(serializeStructuredField(members, 'dictionary')).toBe('u=1, i;x=1');
    expect(serializeStructuredField(new Map(), 'dictionary')).toBe('');
    expect(serializeStructuredField([], 'list')).toBe('');
  });

  it('round-trips what it parses', () => {
    for (const [text, type] of [
      ['a=(1 2 "x");p, b=?0, c=:AAE=:;q=@-5', 'dictionary'],
      ['text/html;q=0.5, (gzip br);x=%"caf%c3%a9", *', 'list'],
      ['-999999999999999;a=1.125', 'item'],
    ] as const) {
      expect(serializeStructuredField(parseStructuredField(text, type, { decimals: 'Decimal' }), type)).toBe(text);
    }
  });

  it.each([
    ['an integer of 16 digits', item(1e15)],
    ['NaN', item(NaN)],
    ['Infinity', item(Infinity)],
    ['a decimal of 13 integer digits', item(1234567890123.5)],
    ['a non-ASCII string', item('café')],
    ['a string with a newline', item('a\nb')],
    ['an empty token', item(new Token(''))],
    ['a token with a space', item(new Token('a b'))],
    ['a token starting with a digit', item(new Token('1a'))],
    ['an upper-case parameter key', item(1, new Map([['Q', 1]]))],
    ['an empty parameter key', item(1, new Map([['', 1]]))],
    ['a date with milliseconds', item(new Date(1500))],
    ['an invalid date', item(new Date(NaN))],
    ['a display string with a lone surrogate', item(new DisplayString('a\uD800b'))],
    ['null', item(null as unknown as number)],
    ['an object that is no bare item', item({} as unknown as number)],
    ['a bigint', item(1n as unknown as number)],
  ])('refuses to serialise %s with a StructuredFieldError', (_what, value) => {
    let error: unknown;
    try {
      serializeStructuredField(value, 'item');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StructuredFieldError);
    expect((error as StructuredFieldError).code).toBe('STRAND_STRUCTURED_FIELD_SERIALIZE');
  });

  it('refuses a dictionary key that is not a key', () => {
    expect(() => serializeStructuredField(new Map([['Bad', item(1)]]), 'dictionary')).toThrow(StructuredFieldError);
  });
});

describe('identity across copies', () => {
  it('brands Token, DisplayString, Decimal and StructuredFieldError', () => {
    const foreignToken = { [Symbol.for('strand.core.Token')]: true, value: 'x' };
    expect(foreignToken).toBeInstanceOf(Token);
    expect({ [Symbol.for('strand.core.Decimal')]: true }).toBeInstanceOf(Decimal);
    expect({ [Symbol.for('strand.core.DisplayString')]: true }).toBeInstanceOf(DisplayString);
    expect(new StructuredFieldError('STRAND_STRUCTURED_FIELD_PARSE', 'x')).toBeInstanceOf(StrandError);
  });
});

describe('bounded work on hostile input', () => {
  it('parses (or refuses) large hostile fields in time linear in their length', () => {
    const big = 200_000; // twelve times the 16 KiB a response head may hold by default
    const cases: Array<[string, 'item' | 'list' | 'dictionary']> = [
      [`"${'\\"'.repeat(big / 2)}"`, 'item'],
      [`%"${'%c3%a9'.repeat(big / 6)}"`, 'item'],
      ['%"", '.repeat(big / 5).slice(0, -2), 'list'],
      [`a${';a'.repeat(big / 2)}`, 'item'],
      [`a${';b=1'.repeat(big / 4)}`, 'item'],
      ['a=1, '.repeat(big / 5).slice(0, -2), 'dictionary'],
      [`(${'a '.repeat(big / 2)})`, 'list'],
      [`:${'AAAA'.repeat(big / 4)}:`, 'item'],
      [`:${'A'.repeat(big)}`, 'item'], // no closing colon
      [`%"${'a'.repeat(big)}`, 'item'], // no closing quote
      ['(((('.repeat(big / 4), 'list'],
      [`${'1,'.repeat(big / 2)}`, 'list'], // trailing comma at the very end
    ];
    const started = performance.now();
    for (const [value, type] of cases) {
      try {
        parseStructuredField(value, type);
      } catch (error) {
        expect(error).toBeInstanceOf(StructuredFieldError);
      }
    }
    // Linear work takes milliseconds here; quadratic work would take minutes.
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
