import { BytesProducer, FileBodyProducer, UNKNOWN_LENGTH, type BodyProducer } from '../src/message/producers.js';
import { InvalidArgumentError, InvalidHeaderError, InvalidRequestError, type StrandError } from '../src/errors.js';
import { Headers } from '../src/message/headers.js';
import { CHUNKED_TERMINATOR, checkRequestLine, chunkHeader, prepareRequest, serializeHead } from '../src/http1/serializer.js';

function streamBody(): BodyProducer {
  return new FileBodyProducer((async function* () {
    yield 'x';
  })());
}

/** True when `s` contains a C0 control character or DEL (what must never reach a message or log line). */
function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Runs `fn`, expects a StrandError of class `cls` with `code`, and returns it. */
function rejection<T extends StrandError>(cls: new (...args: never[]) => T, code: string, fn: () => unknown): T {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(cls);
    expect((err as StrandError).code).toBe(code);
    return err as T;
  }
  throw new Error(`expected ${cls.name}, nothing was thrown`);
}

const invalidRequest = (fn: () => unknown): InvalidRequestError => rejection(InvalidRequestError, 'STRAND_INVALID_REQUEST', fn);
const invalidHeader = (fn: () => unknown): InvalidHeaderError => rejection(InvalidHeaderError, 'STRAND_INVALID_HEADER', fn);

describe('serializeHead', () => {
  it('writes a GET with no body and no framing header', () => {
    const req = prepareRequest('GET', 'http://example.test/search?q=1#frag', { Accept: '*/*', 'X-Multi': ['a', 'b'] });
    expect(serializeHead(req)).toBe('GET /search?q=1 HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\nX-Multi: a\r\nX-Multi: b\r\n\r\n');
    expect(req.framing).toBe('none');
    expect(req.contentLength).toBe(-1);
  });

  it('writes a POST with Content-Length after the caller headers', () => {
    const req = prepareRequest('POST', 'https://api.test/items', [['content-type', 'application/json']], new BytesProducer('{"a":1}'));
    expect(serializeHead(req)).toBe('POST /items HTTP/1.1\r\nHost: api.test\r\ncontent-type: application/json\r\nContent-Length: 7\r\n\r\n');
    expect(req.framing).toBe('length');
    expect(req.contentLength).toBe(7);
  });

  it('writes Transfer-Encoding: chunked for a body of unknown length', () => {
    const req = prepareRequest('PUT', 'http://h.test/upload', null, streamBody());
    expect(serializeHead(req)).toBe('PUT /upload HTTP/1.1\r\nHost: h.test\r\nTransfer-Encoding: chunked\r\n\r\n');
    expect(req.framing).toBe('chunked');
  });

  it('sends Content-Length: 0 for a body-less POST, PUT and PATCH but not for GET or DELETE', () => {
    for (const method of ['POST', 'PUT', 'PATCH']) {
      const req = prepareRequest(method, 'http://h.test/');
      expect(serializeHead(req)).toBe(`${method} / HTTP/1.1\r\nHost: h.test\r\nContent-Length: 0\r\n\r\n`);
      expect(req.body).toBeNull();
    }
    for (const method of ['GET', 'HEAD', 'DELETE', 'OPTIONS', 'post']) {
      expect(serializeHead(prepareRequest(method, 'http://h.test/'))).toBe(`${method} / HTTP/1.1\r\nHost: h.test\r\n\r\n`);
    }
  });

  it('sends Content-Length: 0 for an empty body whatever the method', () => {
    const req = prepareRequest('GET', 'http://h.test/', null, new BytesProducer(''));
    expect(serializeHead(req)).toBe('GET / HTTP/1.1\r\nHost: h.test\r\nContent-Length: 0\r\n\r\n');
  });

  it('allows a body on GET', () => {
    const req = prepareRequest('GET', 'http://h.test/q', null, new BytesProducer('abc'));
    expect(serializeHead(req)).toBe('GET /q HTTP/1.1\r\nHost: h.test\r\nContent-Length: 3\r\n\r\n');
  });

  it('puts a non-default port in Host and leaves the default port out', () => {
    expect(prepareRequest('GET', 'http://h.test:8080/').hostHeader).toBe('h.test:8080');
    expect(prepareRequest('GET', 'http://h.test:80/').hostHeader).toBe('h.test');
    expect(prepareRequest('GET', 'https://h.test:443/').hostHeader).toBe('h.test');
    expect(prepareRequest('GET', 'https://h.test:80/').hostHeader).toBe('h.test:80');
  });

  it('writes an IPv6 literal host in brackets', () => {
    expect(serializeHead(prepareRequest('GET', 'http://[::1]:8080/x'))).toBe('GET /x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n');
    expect(prepareRequest('GET', 'https://[2001:db8::1]/').hostHeader).toBe('[2001:db8::1]');
  });

  it('honours a Host given by the caller, in any case, and does not repeat it', () => {
    const req = prepareRequest('GET', 'http://10.0.0.1/', { host: 'virtual.test:81', Accept: '*/*' });
    expect(req.hostHeader).toBe('virtual.test:81');
    expect(req.headers.has('host')).toBe(false);
    expect(serializeHead(req)).toBe('GET / HTTP/1.1\r\nHost: virtual.test:81\r\nAccept: */*\r\n\r\n');
  });

  it('always sends at least / as the target, never the fragment, and keeps an empty query mark', () => {
    expect(prepareRequest('GET', 'http://h.test').target).toBe('/');
    expect(prepareRequest('GET', 'http://h.test?x=1#top').target).toBe('/?x=1');
    expect(prepareRequest('GET', new URL('http://h.test/a#b')).target).toBe('/a');
  });

  it('sends the URL already percent-encoded by the caller unchanged, and encodes latin1 characters as UTF-8', () => {
    expect(prepareRequest('GET', 'http://h.test/a%20b?c=%0A').target).toBe('/a%20b?c=%0A');
    expect(prepareRequest('GET', 'http://h.test/caf\u00e9').target).toBe('/caf%C3%A9');
  });

  it('accepts an internationalised host name', () => {
    expect(prepareRequest('GET', 'http://\u4f8b\u3048.jp/').hostHeader).toBe('xn--r8jz45g.jp');
  });

  it('keeps the method case and the URL credentials out of the head', () => {
    const req = prepareRequest('PROPFIND', 'http://alice:s3cret@h.test/dav');
    expect(serializeHead(req)).toBe('PROPFIND /dav HTTP/1.1\r\nHost: h.test\r\n\r\n');
  });

  it('adds Connection: close and replaces the target when asked', () => {
    const req = prepareRequest('GET', 'http://h.test/p?q', { Accept: '*/*' });
    expect(serializeHead(req, { connectionClose: true })).toBe('GET /p?q HTTP/1.1\r\nHost: h.test\r\nAccept: */*\r\nConnection: close\r\n\r\n');
    expect(serializeHead(req, { target: 'http://h.test/p?q' })).toBe('GET http://h.test/p?q HTTP/1.1\r\nHost: h.test\r\nAccept: */*\r\n\r\n');
    invalidRequest(() => serializeHead(req, { target: '/a b' }));
    invalidRequest(() => serializeHead(req, { target: '' }));
  });

  it('copies the caller headers: later changes to them do not reach the request', () => {
    const h = new Headers({ 'X-A': '1' });
    const req = prepareRequest('GET', 'http://h.test/', h);
    h.add('X-B', '2');
    expect(req.headers.raw()).toEqual(['X-A', '1']);
  });
});

describe('prepareRequest rejects', () => {
  it.each([
    ['empty', ''],
    ['with a space', 'GET /'],
    ['with CRLF', 'G\r\nET'],
    ['with a non-ASCII letter', 'G\u00c9T'],
    ['with NUL', 'GET\u0000'],
  ])('a method that is %s', (_what, method) => {
    const err = invalidRequest(() => prepareRequest(method, 'http://h.test/'));
    expect(hasControlChar(err.message)).toBe(false);
  });

  it('a method that is not a string', () => {
    invalidRequest(() => prepareRequest(undefined as unknown as string, 'http://h.test/'));
  });

  it.each([
    ['LF in the path', 'http://h.test/a\nb'],
    ['CR in the path', 'http://h.test/a\rb'],
    ['CRLF injection in the query', 'http://h.test/?q=1\r\nX-Injected: 1'],
    ['a tab in the path', 'http://h.test/a\tb'],
    ['a space in the path', 'http://h.test/a b'],
    ['NUL in the path', 'http://h.test/a\u0000'],
    ['DEL in the path', 'http://h.test/a\u007f'],
    ['a character above 0xFF in the path', 'http://h.test/\u0100'],
    ['a character above 0xFF in the query', 'http://h.test/?q=\u2028'],
    ['LF in the host', 'http://h.te\nst/'],
    ['a leading space', ' http://h.test/'],
    ['a trailing newline', 'http://h.test/\n'],
  ])('a URL string with %s instead of letting the URL parser rewrite it', (_what, uri) => {
    const err = invalidRequest(() => prepareRequest('GET', uri));
    expect(hasControlChar(err.message)).toBe(false);
  });

  it.each([['ftp://h.test/'], ['unix:/var/run/docker.sock'], ['file:///etc/passwd'], ['data:text/plain,hi'], ['/relative'], ['h.test/x'], ['http://'], ['']])(
    'the URL %p (not an absolute http(s) URL with a host)',
    (uri) => {
      invalidRequest(() => prepareRequest('GET', uri));
    },
  );

  it('a URL object with another scheme, and a URI that is neither a string nor a URL', () => {
    invalidRequest(() => prepareRequest('GET', new URL('ws://h.test/')));
    invalidRequest(() => prepareRequest('GET', 42 as unknown as string));
  });

  it('a bad header name or value, naming the header and carrying the URL', () => {
    const err = invalidHeader(() => prepareRequest('GET', 'http://h.test/', { 'X-Bad': 'a\r\nb' }));
    expect(err.headerName).toBe('X-Bad');
    expect(err.url).toBe('http://h.test/');
    expect(invalidHeader(() => prepareRequest('GET', 'http://h.test/', [['Bad Name', 'v']])).headerName).toBe('Bad Name');
  });

  it('a Headers made by fromRaw with an invalid value', () => {
    invalidHeader(() => prepareRequest('GET', 'http://h.test/', Headers.fromRaw(['X-Raw', 'a\nb'])));
  });

  it.each([
    ['Host', 'host'],
    ['Content-Length', 'Content-Length'],
    ['Transfer-Encoding', 'transfer-encoding'],
  ])('%s given twice (in the same or another case)', (name, other) => {
    const err = invalidHeader(() =>
      prepareRequest('POST', 'http://h.test/', [
        [name, name === 'Host' ? 'a.test' : name === 'Content-Length' ? '3' : 'chunked'],
        [other, name === 'Host' ? 'b.test' : name === 'Content-Length' ? '3' : 'chunked'],
      ], name === 'Content-Length' ? new BytesProducer('abc') : streamBody()),
    );
    expect(err.headerName.toLowerCase()).toBe(name.toLowerCase());
  });

  it('an empty Host or one with spaces', () => {
    expect(invalidHeader(() => prepareRequest('GET', 'http://h.test/', { Host: '' })).headerName).toBe('Host');
    invalidHeader(() => prepareRequest('GET', 'http://h.test/', { Host: 'a b' }));
  });

  it('a Content-Length that is not all digits', () => {
    for (const value of ['-1', '1.0', '0x10', '3, 3', '+3', '']) {
      const err = invalidHeader(() => prepareRequest('POST', 'http://h.test/', { 'Content-Length': value }, new BytesProducer('abc')));
      expect(err.headerName).toBe('Content-Length');
    }
  });

  it('a Content-Length that disagrees with the body, or is not 0 without a body', () => {
    invalidRequest(() => prepareRequest('POST', 'http://h.test/', { 'Content-Length': '4' }, new BytesProducer('abc')));
    invalidRequest(() => prepareRequest('POST', 'http://h.test/', { 'Content-Length': '3' }));
  });

  it('a Content-Length with a body of unknown length', () => {
    invalidRequest(() => prepareRequest('POST', 'http://h.test/', { 'Content-Length': '1' }, streamBody()));
  });

  it('a Transfer-Encoding other than chunked, or chunked without a body of unknown length', () => {
    for (const value of ['gzip', 'gzip, chunked', 'chunked, gzip', 'identity']) {
      expect(invalidHeader(() => prepareRequest('POST', 'http://h.test/', { 'Transfer-Encoding': value }, streamBody())).headerName).toBe('Transfer-Encoding');
    }
    invalidRequest(() => prepareRequest('POST', 'http://h.test/', { 'Transfer-Encoding': 'chunked' }, new BytesProducer('abc')));
    invalidRequest(() => prepareRequest('POST', 'http://h.test/', { 'Transfer-Encoding': 'chunked' }));
  });

  it('a body that is not a producer, or whose length is not a non-negative safe integer', () => {
    invalidRequest(() => prepareRequest('POST', 'http://h.test/', null, 'text' as unknown as BodyProducer));
    const liar = { ...new BytesProducer('x'), length: -1, startProducing: () => Promise.resolve(), pauseProducing() {}, resumeProducing() {}, stopProducing() {} };
    invalidRequest(() => prepareRequest('POST', 'http://h.test/', null, liar));
  });
});

describe('prepareRequest accepts framing headers that agree with the body', () => {
  it('a matching Content-Length, in any case, written once by the serializer', () => {
    const req = prepareRequest('POST', 'http://h.test/', { 'content-length': '3' }, new BytesProducer('abc'));
    expect(req.headers.size).toBe(0);
    expect(serializeHead(req)).toBe('POST / HTTP/1.1\r\nHost: h.test\r\nContent-Length: 3\r\n\r\n');
  });

  it('Content-Length: 0 without a body, even on GET', () => {
    const req = prepareRequest('GET', 'http://h.test/', { 'Content-Length': '0' });
    expect(serializeHead(req)).toBe('GET / HTTP/1.1\r\nHost: h.test\r\nContent-Length: 0\r\n\r\n');
  });

  it('Transfer-Encoding: chunked (any case) with a body of unknown length', () => {
    const req = prepareRequest('POST', 'http://h.test/', { 'Transfer-Encoding': 'Chunked' }, streamBody());
    expect(req.framing).toBe('chunked');
    expect(serializeHead(req)).toBe('POST / HTTP/1.1\r\nHost: h.test\r\nTransfer-Encoding: chunked\r\n\r\n');
  });

  it('a custom producer of unknown length', () => {
    const custom: BodyProducer = {
      length: UNKNOWN_LENGTH,
      replayable: false,
      startProducing: () => Promise.resolve(),
      pauseProducing: () => undefined,
      resumeProducing: () => undefined,
      stopProducing: () => undefined,
    };
    expect(prepareRequest('POST', 'http://h.test/', null, custom).framing).toBe('chunked');
  });
});

describe('error messages never carry URL credentials', () => {
  const cases: [string, 'request' | 'header', () => unknown][] = [
    ['a control character in the URL', 'request', () => prepareRequest('GET', 'http://alice:s3cret@h.test/a\nb')],
    ['a control character in the password', 'request', () => prepareRequest('GET', 'http://alice:s3c\nret@h.test/')],
    ['a control character and @ in the path', 'request', () => prepareRequest('GET', 'http://alice:s3cret@h.test/a@b\n')],
    ['an unparseable URL', 'request', () => prepareRequest('GET', 'http://alice:s3cret@[bad/')],
    ['an unsupported scheme', 'request', () => prepareRequest('GET', 'ftp://alice:s3cret@h.test/')],
    ['an unsupported scheme in a URL object', 'request', () => prepareRequest('GET', new URL('ftp://alice:s3cret@h.test/'))],
    ['a bad method', 'request', () => prepareRequest('G T', 'http://alice:s3cret@h.test/')],
    ['a bad header', 'header', () => prepareRequest('GET', 'http://alice:s3cret@h.test/', { 'X-A': '\n' })],
    ['a framing conflict', 'request', () => prepareRequest('POST', 'http://alice:s3cret@h.test/', { 'Content-Length': '9' }, new BytesProducer('x'))],
  ];

  it.each(cases)('for %s', (_what, kind, fn) => {
    const err = kind === 'request' ? invalidRequest(fn) : invalidHeader(fn);
    expect(err.message).not.toContain('s3cret');
    expect(err.message).not.toContain('s3c');
    expect(err.url ?? '').not.toContain('s3c');
    expect(hasControlChar(err.message)).toBe(false);
  });
});

describe('chunk framing', () => {
  it('chunkHeader writes the size in lower-case hex followed by CRLF', () => {
    expect(chunkHeader(26)).toBe('1a\r\n');
    expect(chunkHeader(1)).toBe('1\r\n');
    expect(chunkHeader(65536)).toBe('10000\r\n');
  });

  it('chunkHeader refuses sizes that would end the body or are not integers', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => chunkHeader(bad)).toThrow(InvalidArgumentError);
  });

  it('CHUNKED_TERMINATOR is the last chunk and an empty trailer section', () => {
    expect(CHUNKED_TERMINATOR.toString('latin1')).toBe('0\r\n\r\n');
  });
});

describe('prepareRequest: parsed URL reuse', () => {
  it('parses a URL string once and shares the read-only result between requests', () => {
    const a = prepareRequest('GET', 'http://cache.test/path?q=1');
    const b = prepareRequest('POST', 'http://cache.test/path?q=1');
    expect(b.url).toBe(a.url);
    expect(b.target).toBe('/path?q=1');
  });

  it('does not share URLs that carry credentials, and still validates the method every time', () => {
    const a = prepareRequest('GET', 'http://u:p@cache.test/');
    const b = prepareRequest('GET', 'http://u:p@cache.test/');
    expect(b.url).not.toBe(a.url);
    expect(() => prepareRequest('BAD METHOD', 'http://cache.test/path?q=1')).toThrow(InvalidRequestError);
  });
});

describe('checkRequestLine', () => {
  it('rejects every method and URL that prepareRequest rejects, with the same error', () => {
    const bad: Array<[string, string | URL]> = [
      ['BAD METHOD', 'http://line.test/'],
      ['', 'http://line.test/'],
      ['GET', 'http://line.test/a b'],
      ['GET', 'http://line.test/a\nb'],
      ['GET', 'ftp://line.test/'],
      ['GET', '/relative'],
      ['GET', new URL('ftp://line.test/')],
    ];
    for (const [method, uri] of bad) {
      let expected: unknown;
      try {
        prepareRequest(method, uri);
      } catch (error) {
        expected = error;
      }
      expect(expected).toBeInstanceOf(InvalidRequestError);
      expect(() => checkRequestLine(method, uri)).toThrow((expected as Error).message);
    }
  });

  it('returns the URL an agent will use for the same string, so the agent does not parse it again', () => {
    const url = checkRequestLine('GET', 'http://line.test/shared?x=1');
    expect(prepareRequest('GET', 'http://line.test/shared?x=1').url).toBe(url);
    expect(url.href).toBe('http://line.test/shared?x=1');
  });

  it('returns a copy of a URL object, never the caller\'s own', () => {
    const given = new URL('http://line.test/own');
    const url = checkRequestLine('GET', given);
    expect(url).not.toBe(given);
    expect(url.href).toBe(given.href);
  });
});
