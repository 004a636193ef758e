import { InvalidArgumentError, InvalidHeaderError } from '../src/errors.js';
import { Headers } from '../src/message/headers.js';
import { escapeForMessage, isToken, isValidFieldValue } from '../src/validate.js';

/** True when `s` contains a C0 control character or DEL (what must never reach a message or log line). */
function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Runs `fn`, expects an InvalidHeaderError and returns it. */
function headerError(fn: () => unknown): InvalidHeaderError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidHeaderError);
    const e = err as InvalidHeaderError;
    expect(e.code).toBe('STRAND_INVALID_HEADER');
    return e;
  }
  throw new Error('expected an InvalidHeaderError, nothing was thrown');
}

describe('Headers', () => {
  it('looks names up case-insensitively', () => {
    const h = new Headers({ 'Content-Type': 'text/plain' });
    expect(h.get('content-type')).toBe('text/plain');
    expect(h.get('CONTENT-TYPE')).toBe('text/plain');
    expect(h.has('cOnTeNt-TyPe')).toBe(true);
    expect(h.has('content-length')).toBe(false);
    expect(h.get('content-length')).toBeUndefined();
    expect(h.getAll('content-length')).toEqual([]);
  });

  it('keeps fields in the order given, with names as given', () => {
    const h = new Headers([
      ['X-B', '1'],
      ['x-a', '2'],
      ['X-B', '3'],
    ]);
    expect([...h]).toEqual([
      ['X-B', '1'],
      ['x-a', '2'],
      ['X-B', '3'],
    ]);
    expect(h.raw()).toEqual(['X-B', '1', 'x-a', '2', 'X-B', '3']);
    expect(h.size).toBe(3);
  });

  it('holds several values for one name, joined by get and separate in getAll', () => {
    const h = new Headers({ Accept: ['text/html', 'application/json'] });
    h.add('accept', '*/*');
    expect(h.get('Accept')).toBe('text/html, application/json, */*');
    expect(h.getAll('ACCEPT')).toEqual(['text/html', 'application/json', '*/*']);
    expect(h.size).toBe(3);
  });

  it('builds from a Map, another Headers and null', () => {
    const fromMap = new Headers(new Map([['X-A', '1']]));
    expect(fromMap.get('x-a')).toBe('1');
    const copy = new Headers(fromMap);
    copy.add('X-B', '2');
    expect(fromMap.has('x-b')).toBe(false);
    expect(copy.raw()).toEqual(['X-A', '1', 'X-B', '2']);
    expect(new Headers(null).size).toBe(0);
    expect(new Headers().size).toBe(0);
  });

  it('set replaces every field of the name at the position of the first one', () => {
    const h = new Headers([
      ['A', '1'],
      ['X-Tag', 'old1'],
      ['B', '2'],
      ['x-tag', 'old2'],
      ['C', '3'],
    ]);
    h.set('X-TAG', ['new1', 'new2']);
    expect(h.raw()).toEqual(['A', '1', 'X-TAG', 'new1', 'X-TAG', 'new2', 'B', '2', 'C', '3']);
    h.set('D', '4');
    expect(h.raw().slice(-2)).toEqual(['D', '4']);
    h.set('x-tag', []);
    expect(h.has('x-tag')).toBe(false);
  });

  it('set validates every value before changing anything', () => {
    const h = new Headers({ 'X-Tag': 'keep' });
    headerError(() => h.set('X-Tag', ['ok', 'bad\r\nInjected: yes']));
    expect(h.raw()).toEqual(['X-Tag', 'keep']);
  });

  it('delete removes every field of the name and says whether it removed any', () => {
    const h = new Headers([
      ['Cookie', 'a=1'],
      ['X', 'y'],
      ['cookie', 'b=2'],
    ]);
    expect(h.delete('COOKIE')).toBe(true);
    expect(h.raw()).toEqual(['X', 'y']);
    expect(h.delete('cookie')).toBe(false);
    expect(h.size).toBe(1);
  });

  it('toObject keys lower-case names, single values as strings and several as arrays', () => {
    const h = new Headers([
      ['Set-Cookie', 'a=1'],
      ['Content-Type', 'text/plain'],
      ['set-cookie', 'b=2'],
      ['__proto__', 'x'],
    ]);
    const obj = h.toObject();
    expect(obj).toEqual({ 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain', ['__proto__']: 'x' });
    expect(Object.keys(obj)).toEqual(['set-cookie', 'content-type', '__proto__']);
    expect(Object.getPrototypeOf(obj)).toBeNull();
  });

  it('trims leading and trailing spaces and tabs from values but keeps inner ones', () => {
    const h = new Headers({ 'X-A': ' \t a  b \t' });
    h.add('X-B', '   ');
    expect(h.get('x-a')).toBe('a  b');
    expect(h.get('x-b')).toBe('');
  });

  it('accepts obs-text (0x80-0xFF) in values', () => {
    const h = new Headers({ 'X-Latin1': 'caf\u00e9 \u00ff' });
    expect(h.get('x-latin1')).toBe('caf\u00e9 \u00ff');
  });

  it.each([
    ['CR', 'a\rb', 'CR (0x0D)'],
    ['LF', 'a\nb', 'LF (0x0A)'],
    ['CRLF injection', 'x\r\nSet-Cookie: evil=1', 'CR (0x0D)'],
    ['NUL', 'a\u0000b', 'NUL (0x00)'],
    ['an escape control', 'a\u001bb', 'control character 0x1B'],
    ['DEL', 'a\u007fb', 'DEL (0x7F)'],
    ['a character above 0xFF', 'caf\u0100', 'U+0100'],
  ])('rejects a value containing %s, naming the header but not echoing the value', (_what, value, described) => {
    for (const build of [
      () => new Headers({ 'X-Bad': value }),
      () => new Headers([['X-Bad', value]]),
      () => new Headers().add('X-Bad', value),
      () => new Headers().set('X-Bad', value),
    ]) {
      const err = headerError(build);
      expect(err.headerName).toBe('X-Bad');
      expect(err.message).toContain('"X-Bad"');
      expect(err.message).toContain(described);
      expect(hasControlChar(err.message)).toBe(false);
    }
  });

  it.each([
    ['a number', 42],
    ['undefined', undefined],
    ['null', null],
    ['an object', { toString: () => 'x' }],
  ])('rejects %s as a value instead of coercing it', (_what, value) => {
    const err = headerError(() => new Headers({ 'X-Num': value as unknown as string }));
    expect(err.headerName).toBe('X-Num');
    expect(err.message).toContain('expected a string');
    const viaAdd = headerError(() => new Headers().add('X-Num', value as unknown as string));
    expect(viaAdd.headerName).toBe('X-Num');
  });

  it.each([
    ['empty', ''],
    ['with a space', 'X Bad'],
    ['with a colon', 'X-Bad:'],
    ['with CRLF', 'X-Bad\r\nInjected'],
    ['with a non-ASCII letter', 'X-Caf\u00e9'],
    ['with parentheses', 'X(1)'],
  ])('rejects a name that is %s', (_what, name) => {
    const err = headerError(() => new Headers([[name, 'v']]));
    expect(err.headerName).toBe(name);
    expect(hasControlChar(err.message)).toBe(false);
    expect(headerError(() => new Headers().add(name, 'v')).headerName).toBe(name);
    expect(headerError(() => new Headers().set(name, 'v')).headerName).toBe(name);
  });

  it('rejects an init that is not a headers shape with an InvalidArgumentError', () => {
    expect(() => new Headers('Accept: */*' as unknown as Record<string, string>)).toThrow(InvalidArgumentError);
    expect(() => new Headers([['a', 'b', 'c']] as unknown as [string, string][])).toThrow(InvalidArgumentError);
  });

  it('fromRaw adopts the array as is, without validating or copying it', () => {
    const flat = ['Content-Type', 'text/plain', 'X-Odd', 'bad\r\nvalue'];
    const h = Headers.fromRaw(flat);
    expect(h.get('x-odd')).toBe('bad\r\nvalue');
    flat.push('X-Late', 'seen');
    expect(h.get('x-late')).toBe('seen');
    expect(h.size).toBe(3);
  });

  it('validates fields of a fromRaw Headers when they are copied through the constructor', () => {
    const raw = Headers.fromRaw(['X-Odd', 'bad\nvalue']);
    expect(headerError(() => new Headers(raw)).headerName).toBe('X-Odd');
    const ok = Headers.fromRaw(['X-Ok', 'fine']);
    expect(new Headers(ok).raw()).toEqual(['X-Ok', 'fine']);
  });

  it('clone and raw return independent copies', () => {
    const h = new Headers({ A: '1' });
    const c = h.clone();
    c.add('B', '2');
    const r = h.raw();
    r.push('C', '3');
    expect(h.raw()).toEqual(['A', '1']);
    expect(c.raw()).toEqual(['A', '1', 'B', '2']);
  });
});

describe('validate', () => {
  it('isToken accepts RFC 9110 tokens only', () => {
    expect(isToken("GET!#$%&'*+-.^_`|~09azAZ")).toBe(true);
    for (const bad of ['', 'a b', 'a:b', 'a\u00e9', 'a\u0100', 'a"b', 'a/b', 'a\tb']) expect(isToken(bad)).toBe(false);
  });

  it('isValidFieldValue allows HTAB, SP, VCHAR and obs-text only', () => {
    expect(isValidFieldValue('')).toBe(true);
    expect(isValidFieldValue('a\tb c~\u0080\u00ff')).toBe(true);
    for (const bad of ['\r', '\n', '\u0000', '\u001f', '\u007f', '\u0100', '\u2028']) expect(isValidFieldValue(`a${bad}b`)).toBe(false);
  });

  it('escapeForMessage makes control characters visible and cuts long strings', () => {
    expect(escapeForMessage('a\r\nb\u2028')).toBe('a\\x0D\\x0Ab\\u2028');
    expect(escapeForMessage('x'.repeat(500), 10)).toBe(`${'x'.repeat(10)}...`);
  });
});
