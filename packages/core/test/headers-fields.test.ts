/**
 * The typed readings of Headers: structured(), contentType(), cacheControl(), link(),
 * retryAfter(), rateLimit() and rateLimitPolicy(), and the parse functions behind them
 * (parseMediaType, parseHttpDate, parseLinks). They return undefined for a field that is absent
 * or unreadable, never throw on what a server sent, and do work linear in the field's length.
 */
import { Decimal, Headers, InvalidArgumentError, Token, linksByRel, parseHttpDate, parseLinks, parseMediaType } from '../src/index.js';

describe('Headers.structured', () => {
  it('parses a field as the type it is defined as, joining its field lines with ", "', () => {
    const headers = new Headers([
      ['Priority', 'u=1'],
      ['Example-List', 'a, b'],
      ['priority', 'i'],
      ['Example-List', '"c";x=1'],
      ['Example-Item', '2.5;unit=s'],
    ]);
    expect(headers.structured('priority', 'dictionary')).toEqual(new Map([['u', { value: 1, params: new Map() }], ['i', { value: true, params: new Map() }]]));
    expect(headers.structured('example-list', 'list')?.map((member) => ('value' in member ? member.value : null))).toEqual([new Token('a'), new Token('b'), 'c']);
    expect(headers.structured('example-item', 'item')).toEqual({ value: 2.5, params: new Map([['unit', new Token('s')]]) });
    expect(headers.structured('example-item', 'item', { decimals: 'Decimal' })?.value).toEqual(new Decimal(2.5));
  });

  it('returns undefined for an absent field and for one that does not parse as the type', () => {
    const headers = new Headers({ 'Example-Item': '1, 2', Broken: '"unterminated' });
    expect(headers.structured('missing', 'list')).toBeUndefined();
    expect(headers.structured('example-item', 'item')).toBeUndefined();
    expect(headers.structured('broken', 'list')).toBeUndefined();
    expect(headers.structured('example-item', 'list')).toHaveLength(2);
  });

  it('throws for a type other than item, list or dictionary, even when the field is absent', () => {
    expect(() => new Headers().structured('x', 'lists' as 'list')).toThrow(InvalidArgumentError);
  });
});

describe('Headers.contentType and parseMediaType', () => {
  it('reads type, subtype and parameters, lower-casing what is case-insensitive', () => {
    const type = new Headers({ 'Content-Type': 'Text/HTML; Charset="UTF-8"; Level=1' }).contentType();
    expect(type).toEqual({ type: 'text', subtype: 'html', essence: 'text/html', parameters: new Map([['charset', 'UTF-8'], ['level', '1']]), charset: 'utf-8' });
  });

  it('unquotes quoted values (with ; , and escapes inside) and keeps the first of a repeated parameter', () => {
    const type = parseMediaType('multipart/form-data; boundary="a;b,\\"c"; boundary=second');
    expect(type?.parameters.get('boundary')).toBe('a;b,"c');
    expect(parseMediaType('text/plain; charset="unterminated')?.charset).toBe('unterminated');
  });

  it('skips parameters that are not name=value, as browsers do', () => {
    const type = parseMediaType('text/html ; flag; empty=; =x; sp ace=1; bad=a b; q="x" junk; charset=utf-8');
    expect([...(type?.parameters ?? [])]).toEqual([['q', 'x'], ['charset', 'utf-8']]);
  });

  it('is undefined without a type/subtype or with something else after it', () => {
    for (const value of ['', 'text', 'text/', '/html', 'text/html garbage', 'text /html', 'te xt/html', '"text/html"']) {
      expect(parseMediaType(value)).toBeUndefined();
    }
    expect(new Headers().contentType()).toBeUndefined();
    expect(new Headers({ 'Content-Type': 'nonsense' }).contentType()).toBeUndefined();
  });

  it('reads several values the way browsers do: the last valid one, keeping the charset of the same essence', () => {
    const read = (...values: string[]): string | undefined => {
      const type = new Headers(values.map((v): [string, string] => ['Content-Type', v])).contentType();
      return type === undefined ? undefined : `${type.essence};${type.charset ?? '-'}`;
    };
    expect(read('text/plain;charset=gbk', 'text/html')).toBe('text/html;-');
    expect(read('text/html;charset=gbk', 'text/html')).toBe('text/html;gbk');
    expect(read('text/html;charset=gbk, text/html;x=1')).toBe('text/html;gbk');
    expect(read('text/html, */*')).toBe('text/html;-');
    expect(read('text/html', 'nonsense')).toBe('text/html;-');
    expect(read('text/html;charset="a,b"')).toBe('text/html;a,b');
  });
});

describe('Headers.cacheControl', () => {
  const cc = (...lines: string[]): Map<string, string | number | true> | undefined => new Headers(lines.map((v): [string, string] => ['Cache-Control', v])).cacheControl();

  it('maps directives in order, lower-cased, with numbers for delta-seconds and unquoted arguments', () => {
    expect([...(cc('Public, Max-Age=600, no-cache="Set-Cookie, X-Foo", s-maxage="60"', 'stale-while-revalidate=30, max-stale, private=x') ?? [])]).toEqual([
      ['public', true],
      ['max-age', 600],
      ['no-cache', 'Set-Cookie, X-Foo'],
      ['s-maxage', 60],
      ['stale-while-revalidate', 30],
      ['max-stale', true],
      ['private', 'x'],
    ]);
  });

  it('keeps the first of a repeated directive (RFC 9111 §4.2.1)', () => {
    expect(cc('max-age=10, max-age=0')?.get('max-age')).toBe(10);
  });

  it('keeps an argument that is not delta-seconds as the string it is, and caps a huge one at 2^31', () => {
    const directives = cc('max-age=-1, s-maxage=1.5, min-fresh=, stale-if-error=99999999999999999999');
    expect(directives?.get('max-age')).toBe('-1');
    expect(directives?.get('s-maxage')).toBe('1.5');
    expect(directives?.get('min-fresh')).toBe('');
    expect(directives?.get('stale-if-error')).toBe(2 ** 31);
  });

  it('tolerates spaces around = and skips what is not a directive', () => {
    expect([...(cc(',, max-age = 5 , =x, "quoted, junk", no-store junk, no-transform,') ?? [])]).toEqual([['max-age', 5], ['no-transform', true]]);
  });

  it('is undefined when the field is absent, an empty Map when it holds nothing', () => {
    expect(new Headers().cacheControl()).toBeUndefined();
    expect(cc('')?.size).toBe(0);
  });
});

describe('Headers.link and parseLinks', () => {
  it('lists the links of every Link field in order, resolved against the base, once per rel type', () => {
    const headers = new Headers([
      ['Link', '<?page=3>; rel="next", </items?page=1>; rel="first prev"'],
      ['Link', '<https://other.example/x>; rel=Alternate; type="text/html"; title="a, b; c"'],
    ]);
    const links = headers.link('https://api.example/items?page=2');
    expect(links?.map((link) => ({ ...link }))).toEqual([
      { url: 'https://api.example/items?page=3', rel: 'next' },
      { url: 'https://api.example/items?page=1', rel: 'first' },
      { url: 'https://api.example/items?page=1', rel: 'prev' },
      { url: 'https://other.example/x', rel: 'alternate', type: 'text/html', title: 'a, b; c' },
    ]);
    expect(linksByRel(links ?? [])['prev']?.url).toBe('https://api.example/items?page=1');
    expect(new Headers().link()).toBeUndefined();
  });

  it('keeps a relative target as sent without a base, and skips what is not a link', () => {
    expect(parseLinks(['junk, </a>; rel=x; rel=y, <b'], undefined).map((link) => ({ ...link }))).toEqual([{ url: '/a', rel: 'x' }]);
  });

  it('keeps parameter names such as __proto__ as plain keys of a link, never as its prototype', () => {
    const [link] = parseLinks(['</x>; rel=__proto__; __proto__=polluted; constructor=c'], 'http://h.test/');
    expect(Object.getPrototypeOf(link)).toBeNull();
    expect(Object.getOwnPropertyDescriptor(link, '__proto__')?.value).toBe('polluted');
    expect(link?.['constructor']).toBe('c');
  });
});

describe('Headers.retryAfter and parseHttpDate', () => {
  const at = Date.UTC(1994, 10, 6, 8, 49, 37);

  it('reads delay-seconds as ms', () => {
    expect(new Headers({ 'Retry-After': '120' }).retryAfter()).toBe(120_000);
    expect(new Headers({ 'Retry-After': '0' }).retryAfter()).toBe(0);
    expect(new Headers({ 'Retry-After': '9'.repeat(400) }).retryAfter()).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("measures an HTTP-date against the message's own Date, else against now", () => {
    const retryAt = 'Sun, 06 Nov 1994 08:50:37 GMT';
    expect(new Headers({ Date: 'Sun, 06 Nov 1994 08:49:37 GMT', 'Retry-After': retryAt }).retryAfter(0)).toBe(60_000);
    expect(new Headers({ 'Retry-After': retryAt }).retryAfter(at + 10_000)).toBe(50_000);
    expect(new Headers({ Date: 'yesterday', 'Retry-After': retryAt }).retryAfter(at)).toBe(60_000);
    expect(new Headers({ 'Retry-After': retryAt }).retryAfter(at + 3_600_000)).toBe(0); // already past
  });

  it('is undefined when absent or neither seconds nor a date', () => {
    for (const value of ['soon', '1.5', '-1', '', '12 s', 'Sun, 06 Nov 1994 08:49:37 CET']) expect(new Headers({ 'Retry-After': value }).retryAfter()).toBeUndefined();
    expect(new Headers().retryAfter()).toBeUndefined();
  });

  it('reads the three HTTP-date formats of RFC 9110 §5.6.7, asctime as UTC', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(at);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2026, 0, 1))).toBe(at);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(at);
    expect(parseHttpDate('SUN, 06 NOV 1994 08:49:37 gmt')).toBe(at);
  });

  it('reads a two-digit year more than 50 years ahead as the century before', () => {
    const now = Date.UTC(2026, 5, 1);
    expect(new Date(parseHttpDate('Monday, 01-Jan-76 00:00:00 GMT', now) ?? NaN).getUTCFullYear()).toBe(2076);
    expect(new Date(parseHttpDate('Thursday, 01-Jan-77 00:00:00 GMT', now) ?? NaN).getUTCFullYear()).toBe(1977);
  });

  it('refuses impossible dates and other formats', () => {
    for (const value of ['Sun, 31 Feb 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 24:00:00 GMT', 'Sun, 06 Nov 1994 08:61:00 GMT', 'Sun, 00 Nov 1994 08:49:37 GMT', '1994-11-06T08:49:37Z', 'Sun, 6 Nov 1994 08:49:37 GMT', '784111777']) {
      expect(parseHttpDate(value)).toBeUndefined();
    }
    expect(new Date(parseHttpDate('Sat, 01 Jan 0050 00:00:00 GMT') ?? NaN).getUTCFullYear()).toBe(50);
  });
});

describe('Headers.rateLimit and rateLimitPolicy (draft-ietf-httpapi-ratelimit-headers-11)', () => {
  it('reads each service limit of RateLimit, over several field lines', () => {
    const limits = new Headers([
      ['RateLimit', '"default";r=50;t=30'],
      ['RateLimit', 'daily;r=999;pk=:dHJpYWwxMjEzMjM=:;acme-x=1'],
    ]).rateLimit();
    expect(limits).toEqual([
      { policy: 'default', remaining: 50, reset: 30, partitionKey: undefined, params: new Map([['r', 50], ['t', 30]]) },
      { policy: 'daily', remaining: 999, reset: undefined, partitionKey: new Uint8Array(Buffer.from('trial121323')), params: expect.any(Map) as unknown },
    ]);
  });

  it('reads each quota policy of RateLimit-Policy, the quota unit defaulting to requests', () => {
    const policies = new Headers({ 'RateLimit-Policy': '"burst";q=100;w=60,"daily";q=1000;w=86400, "bytes";q=65535;qu="content-bytes"' }).rateLimitPolicy();
    expect(policies?.map(({ policy, quota, quotaUnit, window }) => ({ policy, quota, quotaUnit, window }))).toEqual([
      { policy: 'burst', quota: 100, quotaUnit: 'requests', window: 60 },
      { policy: 'daily', quota: 1000, quotaUnit: 'requests', window: 86400 },
      { policy: 'bytes', quota: 65535, quotaUnit: 'content-bytes', window: undefined },
    ]);
  });

  it('ignores a malformed field as a whole, as the draft requires', () => {
    for (const value of ['"a";t=3', '"a";r=-1', '"a";r=1.5', '"a";r="1"', '"a";r=1;t=?1', '"a";r=1;pk="x"', '("a");r=1', '1;r=1', '"a";r=1, "b"', '', 'limit=10, remaining=1, reset=7', '"a";r=1,']) {
      expect(new Headers({ RateLimit: value }).rateLimit()).toBeUndefined();
    }
    for (const value of ['"a"', '"a";q=1;w=0', '"a";q=1;qu=requests', '"a";q=10;w=1.5', '10;w=1']) {
      expect(new Headers({ 'RateLimit-Policy': value }).rateLimitPolicy()).toBeUndefined();
    }
    expect(new Headers().rateLimit()).toBeUndefined();
    expect(new Headers().rateLimitPolicy()).toBeUndefined();
  });
});

describe('bounded work on hostile fields', () => {
  it('reads hostile Content-Type, Cache-Control, Link and Retry-After fields in time linear in their length', () => {
    const big = 200_000;
    const hostile = [
      `text/html${'; a="\\"'.repeat(big / 6)}`,
      `text/html${';'.repeat(big)}`,
      '"'.repeat(big),
      `${'a="b'.repeat(big / 4)}`,
      `${',='.repeat(big / 2)}`,
      `max-age=1 ${'x'.repeat(big)}`,
      '<'.repeat(big),
      `${'<,'.repeat(big / 2)}>`,
      `Sun, 06 Nov 1994 08:49:37 GMT${' '.repeat(big)}x`,
      `${'\\'.repeat(big)}`,
    ];
    const started = performance.now();
    for (const value of hostile) {
      const headers = new Headers([['Content-Type', value], ['Cache-Control', value], ['Link', value], ['Retry-After', value], ['RateLimit', value], ['RateLimit-Policy', value]]);
      headers.contentType();
      headers.cacheControl();
      headers.link('http://h.test/');
      headers.retryAfter();
      headers.rateLimit();
      headers.rateLimitPolicy();
      parseHttpDate(value);
    }
    // Linear work takes milliseconds here; quadratic work would take minutes.
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
