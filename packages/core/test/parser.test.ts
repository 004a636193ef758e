/**
 * ResponseParser: our own cases, beyond the llhttp corpus (parser-conformance.test.ts), with
 * the request-smuggling cases first. Most inputs are run whole and at every split size, and the
 * results (events, error kind and offset) must be identical.
 */
import { InvalidArgumentError, ParseError, type ParseErrorKind } from '../src/errors.js';
import {
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_HEADER_COUNT,
  type ParserLimits,
  type ResponseHead,
  type ResponseParserHandler,
  ResponseParser,
} from '../src/http1/parser.js';

// ---- helpers ----

type ParserEvent = ['info', ResponseHead] | ['head', ResponseHead] | ['body', string] | ['trailers', string[]] | ['complete'];

/** Records every callback; body chunks as latin1 strings in `events` and as Buffers in `chunks`. */
class Recorder implements ResponseParserHandler {
  events: ParserEvent[] = [];
  chunks: Buffer[] = [];

  onInformational(head: ResponseHead): void {
    this.events.push(['info', head]);
  }
  onHead(head: ResponseHead): void {
    this.events.push(['head', head]);
  }
  onBody(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.events.push(['body', chunk.toString('latin1')]);
  }
  onTrailers(rawTrailers: string[]): void {
    this.events.push(['trailers', rawTrailers]);
  }
  onComplete(): void {
    this.events.push(['complete']);
  }
}

interface ParseOptions {
  method?: string;
  limits?: ParserLimits;
  /** Feed in chunks of this size (default: whole). */
  chunkSize?: number;
  /** Call finish() after the input. */
  finish?: boolean;
}

interface ParseResult {
  events: ParserEvent[];
  /** Total bytes execute reported consumed (feeding stops at the first completed message). */
  consumed: number;
  error: ParseError | null;
  parser: ResponseParser;
  recorder: Recorder;
}

function bytesOf(input: string | Buffer): Buffer {
  return typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
}

/** Feeds `input` to a fresh parser; stops once a message completed (the rest is stray). */
function parse(input: string | Buffer, options: ParseOptions = {}): ParseResult {
  const bytes = bytesOf(input);
  const recorder = new Recorder();
  const parser = new ResponseParser(recorder, options.limits);
  parser.reset(options.method ?? 'GET');
  const size = options.chunkSize ?? Math.max(bytes.length, 1);
  let consumed = 0;
  let error: ParseError | null = null;
  try {
    for (let off = 0; off < bytes.length; off += size) {
      const chunk = bytes.subarray(off, Math.min(off + size, bytes.length));
      const n = parser.execute(chunk);
      consumed += n;
      if (recorder.events.some((e) => e[0] === 'complete')) break;
      expect(n).toBe(chunk.length);
    }
    if (options.finish === true) parser.finish();
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    error = e;
  }
  return { events: recorder.events, consumed, error, parser, recorder };
}

/** Events with adjacent body pieces merged, so results of different split sizes compare equal. */
function merged(events: ParserEvent[]): ParserEvent[] {
  const out: ParserEvent[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (e[0] === 'body' && last !== undefined && last[0] === 'body') last[1] += e[1];
    else out.push(e[0] === 'body' ? ['body', e[1]] : e);
  }
  return out;
}

function comparable(r: ParseResult): unknown {
  // After an error, `consumed` only counts the chunks before the failing one: compare the offset instead.
  return { events: merged(r.events), consumed: r.error === null ? r.consumed : null, error: r.error === null ? null : [r.error.kind, r.error.offset] };
}

/** Parses whole and at every split size; asserts identical results; returns the whole-input one. */
function parseAll(input: string | Buffer, options: ParseOptions = {}): ParseResult {
  const bytes = bytesOf(input);
  const whole = parse(bytes, { ...options, chunkSize: bytes.length });
  const reference = comparable(whole);
  for (let size = 1; size < bytes.length; size++) {
    expect([size, comparable(parse(bytes, { ...options, chunkSize: size }))]).toEqual([size, reference]);
  }
  return whole;
}

/** Asserts that `input` fails with `kind` at every split size, without EOF; returns the error. */
function expectError(input: string | Buffer, kind: ParseErrorKind, options: ParseOptions = {}): ParseError {
  const result = parseAll(input, options);
  if (result.error === null) throw new Error(`expected ${kind}, got events ${JSON.stringify(merged(result.events))}`);
  expect(result.error.kind).toBe(kind);
  expect(result.error.code).toBe('STRAND_PARSE_ERROR');
  return result.error;
}

/** The final head of a result. */
function headOf(result: ParseResult): ResponseHead {
  if (result.error !== null) throw result.error;
  const event = result.events.find((e) => e[0] === 'head');
  if (event === undefined) throw new Error(`no head in ${JSON.stringify(result.events)}`);
  return event[1] as ResponseHead;
}

/** All body bytes of a result, as latin1. */
function bodyOf(result: ParseResult): string {
  return result.events
    .filter((e) => e[0] === 'body')
    .map((e) => e[1] as string)
    .join('');
}

function kinds(result: ParseResult): string[] {
  return result.events.map((e) => e[0]);
}

/** A response head with these header lines (each without CRLF) and the empty line. */
function head(lines: string[], status = 'HTTP/1.1 200 OK'): string {
  return [status, ...lines, '', ''].join('\r\n');
}

// ---- request smuggling: framing ----

describe('framing that could smuggle a response', () => {
  it('rejects Content-Length together with Transfer-Encoding, in either order', () => {
    expectError(head(['Content-Length: 5', 'Transfer-Encoding: chunked']) + '5\r\nhello\r\n0\r\n\r\n', 'CONFLICTING_FRAMING');
    expectError(head(['Transfer-Encoding: chunked', 'Content-Length: 5']), 'CONFLICTING_FRAMING');
    expectError(head(['Transfer-Encoding: gzip', 'Content-Length: 0']), 'CONFLICTING_FRAMING');
  });

  it('accepts repeated identical Content-Length fields', () => {
    const result = parseAll(head(['Content-Length: 5', 'Content-Length: 5']) + 'hello');
    expect(headOf(result)).toMatchObject({ framing: 'length', contentLength: 5 });
    expect(bodyOf(result)).toBe('hello');
    expect(kinds(result)).toEqual(['head', 'body', 'complete']);
  });

  it('rejects Content-Length fields with different values', () => {
    expectError(head(['Content-Length: 5', 'Content-Length: 6']), 'INVALID_CONTENT_LENGTH');
    expectError(head(['Content-Length: 5', 'X: y', 'content-length: 50']), 'INVALID_CONTENT_LENGTH');
  });

  it('accepts a Content-Length list of identical values and rejects a list of different ones', () => {
    expect(headOf(parseAll(head(['Content-Length: 5, 5']) + 'hello'))).toMatchObject({ framing: 'length', contentLength: 5 });
    expect(headOf(parseAll(head(['Content-Length: 5,5 ,  5']) + 'hello'))).toMatchObject({ contentLength: 5 });
    expect(headOf(parseAll(head(['Content-Length: 5, 005']) + 'hello'))).toMatchObject({ contentLength: 5 });
    expectError(head(['Content-Length: 5, 6']), 'INVALID_CONTENT_LENGTH');
    expectError(head(['Content-Length: 5', 'Content-Length: 5, 6']), 'INVALID_CONTENT_LENGTH');
  });

  it.each([
    ['+5', 'a sign'],
    ['-1', 'a negative value'],
    ['5 5', 'a space inside'],
    ['0x5', 'hex'],
    ['5a', 'trailing garbage'],
    ['1e3', 'an exponent'],
    ['5,', 'an empty list member'],
    [',5', 'an empty first member'],
    ['', 'an empty value'],
    ['99999999999999999999', 'an overflowing value'],
    ['9007199254740992', 'a value above MAX_SAFE_INTEGER'],
    ['00000000000000000009007199254740992', 'a value above MAX_SAFE_INTEGER after leading zeros'],
  ])('rejects Content-Length %j (%s)', (value) => {
    expectError(head([`Content-Length: ${value}`]), 'INVALID_CONTENT_LENGTH');
  });

  it('accepts the largest safe Content-Length and leading zeros, without overflow', () => {
    expect(headOf(parse(head(['Content-Length: 9007199254740991'])))).toMatchObject({ framing: 'length', contentLength: Number.MAX_SAFE_INTEGER });
    expect(headOf(parseAll(head(['Content-Length: 007']) + 'abcdefg'))).toMatchObject({ contentLength: 7 });
  });

  it('uses chunked framing when chunked is the last coding (gzip, chunked)', () => {
    const result = parseAll(head(['Transfer-Encoding: gzip, chunked']) + '3\r\nabc\r\n0\r\n\r\n');
    expect(headOf(result)).toMatchObject({ framing: 'chunked', contentLength: -1, keepAlive: true });
    expect(bodyOf(result)).toBe('abc');
    expect(kinds(result).at(-1)).toBe('complete');
  });

  it('uses chunked framing when the codings are spread over several fields, case-insensitively', () => {
    expect(headOf(parseAll(head(['Transfer-Encoding: gzip', 'transfer-encoding: CHUNKED']) + '0\r\n\r\n'))).toMatchObject({ framing: 'chunked' });
  });

  it('reads until close when chunked is not the last coding (chunked, gzip)', () => {
    const result = parseAll(head(['Transfer-Encoding: chunked, gzip']) + '3\r\nabc\r\n0\r\n\r\n', { finish: true });
    expect(headOf(result)).toMatchObject({ framing: 'close', keepAlive: false });
    expect(bodyOf(result)).toBe('3\r\nabc\r\n0\r\n\r\n');
    expect(kinds(result).at(-1)).toBe('complete');
  });

  it('reads until close for a transfer coding other than chunked', () => {
    expect(headOf(parseAll(head(['Transfer-Encoding: gzip']) + 'xyz'))).toMatchObject({ framing: 'close', keepAlive: false });
  });

  it('rejects chunked applied twice, in one field or across fields', () => {
    expectError(head(['Transfer-Encoding: chunked, chunked']), 'INVALID_TRANSFER_ENCODING');
    expectError(head(['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked']), 'INVALID_TRANSFER_ENCODING');
    expectError(head(['Transfer-Encoding: chunked, gzip, chunked']), 'INVALID_TRANSFER_ENCODING');
  });

  it('rejects an empty Transfer-Encoding', () => {
    expectError(head(['Transfer-Encoding: ']), 'INVALID_TRANSFER_ENCODING');
    expectError(head(['Transfer-Encoding: , ,']), 'INVALID_TRANSFER_ENCODING');
  });

  it('never lets an obs-folded Transfer-Encoding or Content-Length take effect', () => {
    expectError(head(['Transfer-Encoding: gzip,', ' chunked']), 'INVALID_TRANSFER_ENCODING');
    expectError(head(['Transfer-Encoding: chunked', '  abc']), 'INVALID_TRANSFER_ENCODING');
    expectError(head(['Content-Length: 1', '\t0']), 'INVALID_CONTENT_LENGTH');
  });

  it('does not treat look-alike field names as framing fields', () => {
    const result = parseAll(head(['Content-Length-X: 5', 'X-Transfer-Encoding: chunked']) + 'body');
    expect(headOf(result)).toMatchObject({ framing: 'close', contentLength: -1 });
    expect(bodyOf(result)).toBe('body');
  });
});

// ---- bodiless responses ----

describe('responses without a body', () => {
  it.each([
    ['204', 'HTTP/1.1 204 No Content'],
    ['304', 'HTTP/1.1 304 Not Modified'],
  ])('treats a %s as bodiless even with Content-Length or Transfer-Encoding', (_code, status) => {
    for (const fields of [['Content-Length: 10'], ['Transfer-Encoding: chunked'], ['Content-Length: 3', 'Transfer-Encoding: chunked']]) {
      const input = head(fields, status) + 'abc';
      const result = parseAll(input);
      expect(headOf(result)).toMatchObject({ framing: 'none', contentLength: -1, keepAlive: true });
      expect(kinds(result)).toEqual(['head', 'complete']);
      expect(result.consumed).toBe(input.length - 3);
    }
  });

  it('treats the response to HEAD as bodiless whatever its headers say', () => {
    const input = head(['Content-Length: 1000']) + 'HTTP/1.1 200 OK\r\n';
    const result = parseAll(input, { method: 'HEAD' });
    expect(headOf(result)).toMatchObject({ framing: 'none', contentLength: -1, keepAlive: true });
    expect(kinds(result)).toEqual(['head', 'complete']);
    expect(result.consumed).toBe(input.length - 'HTTP/1.1 200 OK\r\n'.length);
    expect(headOf(parseAll(head(['Transfer-Encoding: chunked']), { method: 'HEAD' }))).toMatchObject({ framing: 'none' });
  });

  it('only treats the exact method HEAD as bodiless', () => {
    expect(headOf(parse(head(['Content-Length: 4']) + 'abcd', { method: 'GET' }))).toMatchObject({ framing: 'length' });
  });

  it('completes a Content-Length: 0 response right after onHead, in the same execute', () => {
    const result = parseAll(head(['Content-Length: 0']));
    expect(headOf(result)).toMatchObject({ framing: 'length', contentLength: 0 });
    expect(kinds(result)).toEqual(['head', 'complete']);
  });
});

// ---- keep-alive ----

describe('keepAlive', () => {
  it.each([
    ['HTTP/1.1 with no Connection field', 'HTTP/1.1 200 OK', [], true],
    ['HTTP/1.1 with Connection: close', 'HTTP/1.1 200 OK', ['Connection: close'], false],
    ['HTTP/1.1 with close in a token list, any case', 'HTTP/1.1 200 OK', ['Connection: Upgrade, CLOSE'], false],
    ['HTTP/1.1 with close in a second Connection field', 'HTTP/1.1 200 OK', ['Connection: keep-alive', 'connection: close'], false],
    ['HTTP/1.1 with a token that only contains "close"', 'HTTP/1.1 200 OK', ['Connection: closed, x-close'], true],
    ['HTTP/1.0 with no Connection field', 'HTTP/1.0 200 OK', [], false],
    ['HTTP/1.0 with Connection: keep-alive', 'HTTP/1.0 200 OK', ['Connection: Keep-Alive'], true],
    ['HTTP/1.0 with keep-alive and close', 'HTTP/1.0 200 OK', ['Connection: keep-alive, close'], false],
  ])('is right for %s', (_name, status, fields, keepAlive) => {
    const result = parseAll(head([...fields, 'Content-Length: 2'], status) + 'ok');
    expect(headOf(result)).toMatchObject({ keepAlive, versionMajor: 1, versionMinor: status.startsWith('HTTP/1.0') ? 0 : 1 });
  });

  it('is false for a close-delimited body even with keep-alive', () => {
    expect(headOf(parse(head(['Connection: keep-alive'])))).toMatchObject({ framing: 'close', keepAlive: false });
    expect(headOf(parse(head(['Connection: keep-alive'], 'HTTP/1.0 200 OK')))).toMatchObject({ framing: 'close', keepAlive: false });
  });

  it('is false for an HTTP/1.0 response with Transfer-Encoding (RFC 9112 §6.1)', () => {
    const result = parseAll(head(['Connection: keep-alive', 'Transfer-Encoding: chunked'], 'HTTP/1.0 200 OK') + '2\r\nok\r\n0\r\n\r\n');
    expect(headOf(result)).toMatchObject({ framing: 'chunked', keepAlive: false });
    expect(bodyOf(result)).toBe('ok');
  });
});

// ---- the status line ----

describe('the status line', () => {
  it('parses version, code and reason, and hands the head over once', () => {
    const result = parseAll('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    expect(result.events).toEqual([
      ['head', { versionMajor: 1, versionMinor: 1, code: 404, phrase: 'Not Found', rawHeaders: ['Content-Length', '0'], framing: 'length', contentLength: 0, keepAlive: true }],
      ['complete'],
    ]);
  });

  it('accepts a status line without SP and reason, and an empty reason', () => {
    expect(headOf(parseAll('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n')).phrase).toBe('');
    expect(headOf(parseAll('HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n')).phrase).toBe('');
  });

  it('decodes obs-text in the reason as latin1 and keeps HTAB and inner spaces', () => {
    const input = Buffer.concat([Buffer.from('HTTP/1.1 500 Ori'), Buffer.from([0xeb]), Buffer.from('n\ttatie  x\r\nContent-Length: 0\r\n\r\n')]);
    expect(headOf(parseAll(input)).phrase).toBe('Ori\u00ebn\ttatie  x');
  });

  it.each([
    ['NUL', 'HTTP/1.1 200 O\0K\r\n\r\n'],
    ['DEL', 'HTTP/1.1 200 O\x7fK\r\n\r\n'],
    ['a control character', 'HTTP/1.1 200 O\x01K\r\n\r\n'],
  ])('rejects %s in the reason phrase', (_what, input) => {
    expect(expectError(input, 'INVALID_STATUS_LINE').offset).toBe(14);
  });

  it.each(['HTTP/2.0 200 OK', 'HTTP/1.2 200 OK', 'HTTP/0.9 200 OK', 'http/1.1 200 OK', 'HTTPS/1.1 200 OK', 'RTSP/1.0 200 OK', 'HTTP/1.1\t200 OK', 'HTTP/1 200 OK'])(
    'rejects the version in %j',
    (status) => {
      expectError(`${status}\r\n\r\n`, 'INVALID_VERSION');
    },
  );

  it.each(['HTTP/1.1 20 OK', 'HTTP/1.1 2000 OK', 'HTTP/1.1 099 Low', 'HTTP/1.1 2x0 OK', 'HTTP/1.1  200 OK', 'HTTP/1.1 200\tOK'])('rejects the status code in %j', (status) => {
    expectError(`${status}\r\n\r\n`, 'INVALID_STATUS');
  });

  it('rejects a status line that ends after the version', () => {
    expectError('HTTP/1.1 \r\n\r\n', 'INVALID_STATUS');
    expectError('HTTP/1.1\r\n\r\n', 'INVALID_STATUS_LINE');
  });

  it('accepts status codes up to 999', () => {
    expect(headOf(parseAll(head(['Content-Length: 0'], 'HTTP/1.1 599 Odd'))).code).toBe(599);
    expect(headOf(parseAll(head(['Content-Length: 0'], 'HTTP/1.1 999 Odder'))).code).toBe(999);
  });

  it('skips empty lines before the status line, and counts their bytes in offsets', () => {
    const result = parseAll('\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(headOf(result).code).toBe(200);
    expect(result.consumed).toBe(4 + 38);
    expect(expectError('\r\n\r\nHTTP/1.1 200 OK\r\nX\0: y\r\n\r\n', 'INVALID_HEADER').offset).toBe(22);
  });

  it('rejects a bare LF or a bare CR before the status line', () => {
    expect(expectError('\nHTTP/1.1 200 OK\r\n\r\n', 'INVALID_LINE_ENDING').offset).toBe(0);
    expect(expectError('\rHTTP/1.1 200 OK\r\n\r\n', 'INVALID_LINE_ENDING').offset).toBe(1);
  });

  it('rejects a bare LF or bare CR ending the status line as soon as the byte arrives', () => {
    expect(expectError('HTTP/1.1 200 OK\n', 'INVALID_LINE_ENDING').offset).toBe(15);
    expect(expectError('HTTP/1.1 200 OK\rX', 'INVALID_LINE_ENDING').offset).toBe(16);
    expect(expectError('HTTP/1.1 200\n', 'INVALID_LINE_ENDING').offset).toBe(12);
  });
});

// ---- header fields ----

describe('header fields', () => {
  it('keeps names as sent, in wire order, with duplicates, and trims SP/HTAB around values', () => {
    const result = parseAll(head(['X-A:  one ', 'x-a:\ttwo\t', 'Set-Cookie: a=1', 'Set-Cookie: b=2', 'Empty:', 'Spaces:    ', 'Inner: a  b\tc', 'Content-Length: 0']));
    expect(headOf(result).rawHeaders).toEqual(['X-A', 'one', 'x-a', 'two', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Empty', '', 'Spaces', '', 'Inner', 'a  b\tc', 'Content-Length', '0']);
  });

  it('accepts every tchar in names and obs-text in values (latin1)', () => {
    const input = Buffer.concat([Buffer.from("HTTP/1.1 200 OK\r\n!#$%&'*+-.^_`|~09azAZ: v\r\nX: caf"), Buffer.from([0xe9, 0xff]), Buffer.from('\r\nContent-Length: 0\r\n\r\n')]);
    expect(headOf(parseAll(input)).rawHeaders).toEqual(["!#$%&'*+-.^_`|~09azAZ", 'v', 'X', 'caf\u00e9\u00ff', 'Content-Length', '0']);
  });

  it('rejects NUL in a header value, as soon as it arrives', () => {
    expect(expectError('HTTP/1.1 200 OK\r\nX: a\0b', 'INVALID_HEADER').offset).toBe(21);
  });

  it('rejects NUL in a header name', () => {
    expect(expectError('HTTP/1.1 200 OK\r\nX\0Y: 1\r\n\r\n', 'INVALID_HEADER').offset).toBe(18);
    expect(expectError('HTTP/1.1 200 OK\r\n\0: 1\r\n\r\n', 'INVALID_HEADER').offset).toBe(17);
  });

  it.each([
    ['\x01', 'SOH'],
    ['\x1f', 'US'],
    ['\x7f', 'DEL'],
    ['\x0b', 'VT'],
    ['\x0c', 'FF'],
  ])('rejects the control character %j (%s) in a value', (ch) => {
    expectError(`HTTP/1.1 200 OK\r\nX: a${ch}b\r\n\r\n`, 'INVALID_HEADER');
  });

  it('rejects whitespace between the field name and the colon', () => {
    expect(expectError('HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello', 'INVALID_HEADER').offset).toBe(31);
    expectError('HTTP/1.1 200 OK\r\nX\t: 5\r\n\r\n', 'INVALID_HEADER');
  });

  it('rejects an empty field name and non-token names', () => {
    expectError('HTTP/1.1 200 OK\r\n: v\r\n\r\n', 'INVALID_HEADER');
    expectError('HTTP/1.1 200 OK\r\nX(y): v\r\n\r\n', 'INVALID_HEADER');
    expectError('HTTP/1.1 200 OK\r\nX/y: v\r\n\r\n', 'INVALID_HEADER');
    expectError('HTTP/1.1 200 OK\r\nNoColon\r\n\r\n', 'INVALID_HEADER');
  });

  it('rejects a bare LF in a header line, as soon as it arrives', () => {
    expect(expectError('HTTP/1.1 200 OK\r\nX: 1\nY: 2', 'INVALID_LINE_ENDING').offset).toBe(21);
    expect(expectError('HTTP/1.1 200 OK\r\nX\n', 'INVALID_LINE_ENDING').offset).toBe(18);
    expect(expectError('HTTP/1.1 200 OK\r\nX:\n', 'INVALID_LINE_ENDING').offset).toBe(19);
    expect(expectError('HTTP/1.1 200 OK\r\nX: 1\r\n\n', 'INVALID_LINE_ENDING').offset).toBe(23);
  });

  it('rejects a bare CR in a header line, as soon as the next byte arrives', () => {
    expect(expectError('HTTP/1.1 200 OK\r\nX: 1\rY', 'INVALID_LINE_ENDING').offset).toBe(22);
    expect(expectError('HTTP/1.1 200 OK\r\nX: 1\r\n\rX', 'INVALID_LINE_ENDING').offset).toBe(24);
    expect(expectError('HTTP/1.1 200 OK\r\nX: a\rb: c\r\n\r\n', 'INVALID_LINE_ENDING').offset).toBe(22);
  });

  it('unfolds obs-fold into one SP, dropping the whitespace around the fold', () => {
    const result = parseAll(head(['X-Long: first  ', ' \t second', '\tthird', 'Y: 1', 'Content-Length: 0']));
    expect(headOf(result).rawHeaders).toEqual(['X-Long', 'first second third', 'Y', '1', 'Content-Length', '0']);
  });

  it('unfolds a fold after an empty value, and ignores a whitespace-only continuation', () => {
    expect(headOf(parseAll(head(['X:', '  value', 'Content-Length: 0']))).rawHeaders).toEqual(['X', 'value', 'Content-Length', '0']);
    expect(headOf(parseAll(head(['X: a', '   ', 'Content-Length: 0']))).rawHeaders).toEqual(['X', 'a', 'Content-Length', '0']);
  });

  it('rejects an obs-fold as the first header line', () => {
    expect(expectError('HTTP/1.1 200 OK\r\n Host: foo', 'INVALID_HEADER').offset).toBe(17);
    expectError('HTTP/1.1 200 OK\r\n\tX: 1\r\n\r\n', 'INVALID_HEADER');
  });

  it('does not count fold lines as fields', () => {
    const result = parseAll(head(['A: 1', ' 2', ' 3', 'Content-Length: 0']), { limits: { maxHeaderCount: 2 } });
    expect(headOf(result).rawHeaders).toEqual(['A', '1 2 3', 'Content-Length', '0']);
  });
});

// ---- interim responses ----

describe('1xx interim responses', () => {
  it('reports a 100 Continue through onInformational, then the final response', () => {
    const input = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    const result = parseAll(input);
    expect(result.events).toEqual([
      ['info', { versionMajor: 1, versionMinor: 1, code: 100, phrase: 'Continue', rawHeaders: [], framing: 'none', contentLength: -1, keepAlive: true }],
      ['head', expect.objectContaining({ code: 200, framing: 'length', contentLength: 2 })],
      ['body', 'ok'],
      ['complete'],
    ]);
    expect(result.consumed).toBe(input.length);
  });

  it('reports a 103 Early Hints with its headers, several 1xx in a row, and empty lines between heads', () => {
    const input =
      'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nLink: </b.js>; rel=preload\r\n\r\n' +
      '\r\nHTTP/1.1 102 Processing\r\n\r\n' +
      'HTTP/1.1 204 No Content\r\nX: final\r\n\r\n';
    const result = parseAll(input);
    expect(kinds(result)).toEqual(['info', 'info', 'head', 'complete']);
    expect(result.events[0]![1]).toMatchObject({ code: 103, phrase: 'Early Hints', rawHeaders: ['Link', '</a.css>; rel=preload', 'Link', '</b.js>; rel=preload'] });
    expect(result.events[1]![1]).toMatchObject({ code: 102, rawHeaders: [] });
    expect(result.events[2]![1]).toMatchObject({ code: 204, rawHeaders: ['X', 'final'] });
  });

  it('ignores framing headers on a 1xx (it has no body)', () => {
    const result = parseAll('HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(kinds(result)).toEqual(['info', 'head', 'complete']);
  });

  it('rejects 101 Switching Protocols: no upgrade is ever requested', () => {
    const error = expectError('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x00', 'UNEXPECTED_UPGRADE');
    expect(error.offset).toBe(77);
  });

  it('fails with UNEXPECTED_EOF when the connection closes after a 1xx but before the final head', () => {
    const result = parse('HTTP/1.1 100 Continue\r\n\r\n', { finish: true });
    expect(kinds(result)).toEqual(['info']);
    expect(result.error?.kind).toBe('UNEXPECTED_EOF');
  });

  it('accepts 10 interim responses by default and fails at the 11th, where it ends', () => {
    const info = 'HTTP/1.1 100 Continue\r\n\r\n';
    const final = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    expect(kinds(parseAll(info.repeat(10) + final)).filter((k) => k === 'info')).toHaveLength(10);
    const error = expectError(info.repeat(11) + final, 'TOO_MANY_INTERIM_RESPONSES');
    expect(error.offset).toBe(info.length * 11);
  });

  it('takes maxInterimResponses as a limit', () => {
    const limits = { maxInterimResponses: 2 };
    const info = 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n';
    const final = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    expect(kinds(parseAll(info + info + final, { limits }))).toEqual(['info', 'info', 'head', 'complete']);
    expectError(info + info + info + final, 'TOO_MANY_INTERIM_RESPONSES', { limits });
  });
});

// ---- chunked bodies ----

describe('chunked bodies', () => {
  const te = head(['Transfer-Encoding: chunked']);

  it('delivers one onBody per chunk-data piece, then completes', () => {
    const result = parseAll(te + '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    expect(result.events.slice(1)).toEqual([['body', 'hello'], ['body', ' world'], ['complete']]);
    expect(headOf(result)).toMatchObject({ framing: 'chunked', contentLength: -1, keepAlive: true });
  });

  it('accepts hex sizes in either case and leading zeros', () => {
    const data = 'x'.repeat(26);
    expect(bodyOf(parseAll(te + `1a\r\n${data}\r\n1A\r\n${data}\r\n00000\r\n\r\n`))).toBe(data + data);
  });

  it('accepts and ignores chunk extensions: tokens, quoted strings with escapes, BWS after ; and around =', () => {
    const result = parseAll(te + '3;a;b=c;q="x;\\"y\\\\";  sp = "v";\tt\t=\tw\r\nabc\r\n0;last=1\r\n\r\n');
    expect(bodyOf(result)).toBe('abc');
    expect(kinds(result).at(-1)).toBe('complete');
  });

  it.each([
    ['whitespace after the size', '5 \r\nhello\r\n0\r\n\r\n', 'INVALID_CHUNK'],
    ['whitespace before ;', '5 ;a\r\nhello\r\n0\r\n\r\n', 'INVALID_CHUNK'],
    ['an empty size line', '\r\n', 'INVALID_CHUNK'],
    ['a non-hex size', 'g\r\n', 'INVALID_CHUNK'],
    ['a signed size', '+5\r\nhello\r\n', 'INVALID_CHUNK'],
    ['a 0x prefix', '0x5\r\nhello\r\n', 'INVALID_CHUNK'],
    ['an empty extension name', '5;\r\nhello\r\n', 'INVALID_CHUNK'],
    ['a double semicolon', '5;;a\r\nhello\r\n', 'INVALID_CHUNK'],
    ['an empty extension value', '5;a=\r\nhello\r\n', 'INVALID_CHUNK'],
    ['whitespace inside an extension value', '5;a=b c\r\nhello\r\n', 'INVALID_CHUNK'],
    ['text after a quoted value', '5;a="b"c\r\nhello\r\n', 'INVALID_CHUNK'],
    ['whitespace after a quoted value', '5;a="b" ;c\r\nhello\r\n', 'INVALID_CHUNK'],
    ['whitespace after an extension name, before ; or CRLF', '5;a ;b\r\nhello\r\n', 'INVALID_CHUNK'],
    ['an unterminated quoted value', '5;a="b\r\nhello\r\n', 'INVALID_CHUNK'],
    ['NUL in the size line', '5\0\r\nhello\r\n', 'INVALID_CHUNK'],
    ['NUL in an extension', '5;a\0=b\r\nhello\r\n', 'INVALID_CHUNK'],
    ['NUL in a quoted extension value', '5;a="\0"\r\nhello\r\n', 'INVALID_CHUNK'],
    ['a bare LF after the size', '5\nhello\r\n', 'INVALID_LINE_ENDING'],
    ['a bare CR after the size', '5\rhello\r\n', 'INVALID_LINE_ENDING'],
    ['a bare LF after an extension', '5;a=b\nhello\r\n', 'INVALID_LINE_ENDING'],
    ['a bare LF inside a quoted extension value', '5;a="\n"\r\nhello\r\n', 'INVALID_LINE_ENDING'],
    ['data longer than its size', '5\r\nhelloX\r\n', 'INVALID_CHUNK'],
    ['a bare LF after the data', '5\r\nhello\n0\r\n\r\n', 'INVALID_LINE_ENDING'],
    ['a bare CR after the data', '5\r\nhello\r0\r\n\r\n', 'INVALID_LINE_ENDING'],
    ['a missing last-chunk', '3\r\nfoo\r\n\r\n', 'INVALID_CHUNK'],
    ['a bare LF after the last-chunk', '0\n\r\n', 'INVALID_LINE_ENDING'],
  ])('rejects %s', (_what, body, kind) => {
    const error = expectError(te + body, kind as ParseErrorKind);
    expect(error.offset).toBeGreaterThanOrEqual(te.length);
    expect(error.offset).toBeLessThan(te.length + body.length);
  });

  it('rejects a chunk size that would overflow, without losing precision', () => {
    expect(expectError(te + '20000000000000\r\n', 'INVALID_CHUNK').offset).toBe(te.length + 13); // 2^53
    expectError(te + 'ffffffffffffffffffff\r\n', 'INVALID_CHUNK');
    // MAX_SAFE_INTEGER itself is a valid size (the data just has not arrived).
    const result = parseAll(te + '1fffffffffffff\r\nabc');
    expect(result.error).toBeNull();
    expect(bodyOf(result)).toBe('abc');
  });

  it('bounds the chunk size line (extensions) by maxHeaderBytes', () => {
    const limits = { maxHeaderBytes: 64 };
    const ok = `5;${'a'.repeat(60)}\r\n`; // 64 bytes with CRLF
    expect(ok.length).toBe(64);
    expect(parseAll(te + ok + 'hello\r\n0\r\n\r\n', { limits }).error).toBeNull();
    const error = expectError(te + `5;${'a'.repeat(61)}\r\n`, 'INVALID_CHUNK', { limits });
    expect(error.offset).toBe(te.length + 64);
  });

  it('reports trailer fields through onTrailers, then completes', () => {
    const result = parseAll(te + '2\r\nok\r\n0\r\nExpires: never\r\nx-checksum:  abc \r\nX-Folded: a\r\n b\r\n\r\n');
    expect(result.events.slice(1)).toEqual([['body', 'ok'], ['trailers', ['Expires', 'never', 'x-checksum', 'abc', 'X-Folded', 'a b']], ['complete']]);
  });

  it('does not call onTrailers when there are none', () => {
    expect(kinds(parseAll(te + '0\r\n\r\n'))).toEqual(['head', 'complete']);
  });

  it('passes framing-like trailer fields through without acting on them', () => {
    const result = parseAll(te + '0\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n');
    expect(result.events.slice(1)).toEqual([['trailers', ['Content-Length', '99', 'Transfer-Encoding', 'chunked']], ['complete']]);
  });

  it.each([
    ['NUL in a trailer value', '0\r\nX: a\0\r\n\r\n', 'INVALID_TRAILER'],
    ['whitespace before the colon', '0\r\nX : a\r\n\r\n', 'INVALID_TRAILER'],
    ['a fold as the first trailer line', '0\r\n X: a\r\n\r\n', 'INVALID_TRAILER'],
    ['a folded Content-Length trailer', '0\r\nContent-Length: 1\r\n 2\r\n\r\n', 'INVALID_TRAILER'],
    ['a bare LF in the trailers', '0\r\nX: a\n\r\n', 'INVALID_LINE_ENDING'],
    ['a bare CR in the trailers', '0\r\nX: a\r\n\rX', 'INVALID_LINE_ENDING'],
  ])('rejects %s', (_what, body, kind) => {
    expectError(te + body, kind as ParseErrorKind);
  });

  it('fails with UNEXPECTED_EOF when the connection closes inside the chunks or the trailers', () => {
    expect(parse(te + '5\r\nhel', { finish: true }).error?.kind).toBe('UNEXPECTED_EOF');
    expect(parse(te + '5\r\nhello\r\n', { finish: true }).error?.kind).toBe('UNEXPECTED_EOF');
    expect(parse(te + '0\r\n', { finish: true }).error?.kind).toBe('UNEXPECTED_EOF');
    expect(parse(te + '0\r\nX: 1\r\n', { finish: true }).error?.kind).toBe('UNEXPECTED_EOF');
  });
});

// ---- limits ----

describe('header limits', () => {
  it('exports the documented defaults', () => {
    expect(DEFAULT_MAX_HEADER_BYTES).toBe(16384);
    expect(DEFAULT_MAX_HEADER_COUNT).toBe(128);
  });

  it('accepts a head of exactly maxHeaderBytes and rejects one byte more', () => {
    const limits = { maxHeaderBytes: 64 };
    const exact = head(['Content-Length: 0', `X: ${'a'.repeat(64 - 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: \r\n\r\n'.length)}`]);
    expect(exact.length).toBe(64);
    expect(kinds(parseAll(exact, { limits }))).toEqual(['head', 'complete']);
    const tooBig = head(['Content-Length: 0', `X: ${'a'.repeat(65 - 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: \r\n\r\n'.length)}`]);
    expect(expectError(tooBig, 'HEADERS_TOO_LARGE', { limits }).offset).toBe(64);
  });

  it('throws as soon as the limit is passed, without waiting for the end of the head', () => {
    const limits = { maxHeaderBytes: 100 };
    const endless = 'HTTP/1.1 200 OK\r\nX: ' + 'a'.repeat(200);
    expect(expectError(endless, 'HEADERS_TOO_LARGE', { limits }).offset).toBe(100);
    // With the default limit, 16 KiB of one header value fails at byte 16384, in any chunking.
    const big = Buffer.from('HTTP/1.1 200 OK\r\nX: ' + 'b'.repeat(20000));
    for (const size of [1, 1000, 4096, big.length]) {
      const result = parse(big, { chunkSize: size });
      expect(result.error?.kind).toBe('HEADERS_TOO_LARGE');
      expect(result.error?.offset).toBe(DEFAULT_MAX_HEADER_BYTES);
    }
  });

  it('accepts maxHeaderCount fields and rejects one more, when its name starts', () => {
    const limits = { maxHeaderCount: 3 };
    expect(headOf(parseAll(head(['A: 1', 'B: 2', 'Content-Length: 0']), { limits })).rawHeaders).toHaveLength(6);
    const error = expectError(head(['A: 1', 'B: 2', 'C: 3', 'D: 4']), 'TOO_MANY_HEADERS', { limits });
    expect(error.offset).toBe('HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n'.length);
  });

  it('allows 128 header fields by default and rejects 129', () => {
    const fields = Array.from({ length: 127 }, (_, n) => `X-${n}: ${n}`);
    expect(headOf(parse(head([...fields, 'Content-Length: 0']))).rawHeaders).toHaveLength(256);
    expect(parse(head([...fields, 'X-127: 1', 'Content-Length: 0'])).error?.kind).toBe('TOO_MANY_HEADERS');
  });

  it('applies the limits to each 1xx head separately from the final head', () => {
    const limits = { maxHeaderBytes: 60, maxHeaderCount: 2 };
    const info = 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\nLink: </b>\r\n\r\n'; // 52 bytes, 2 fields
    const final = 'HTTP/1.1 200 OK\r\nA: 1\r\nContent-Length: 0\r\n\r\n'; // 44 bytes, 2 fields
    expect(kinds(parseAll(info + info + final, { limits }))).toEqual(['info', 'info', 'head', 'complete']);
    expectError('HTTP/1.1 103 Early Hints\r\nLink: </aaaaaaaaaa>\r\nLink: </b>\r\n\r\n' + final, 'HEADERS_TOO_LARGE', { limits });
    // The final head's budget starts after the 1xx: it fails at its own 61st byte.
    const error = expectError(info + 'HTTP/1.1 200 OK\r\nA: ' + 'b'.repeat(60), 'HEADERS_TOO_LARGE', { limits });
    expect(error.offset).toBe(info.length + 60);
    expectError('HTTP/1.1 103 Hints\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n' + final, 'TOO_MANY_HEADERS', { limits });
  });

  it('applies the limits to the trailers separately from the head', () => {
    const limits = { maxHeaderBytes: 64, maxHeaderCount: 2 };
    const te = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    expect(kinds(parseAll(te + '0\r\nA: 1\r\nB: 2\r\n\r\n', { limits }))).toEqual(['head', 'trailers', 'complete']);
    expectError(te + '0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n', 'TOO_MANY_HEADERS', { limits });
    const error = expectError(te + `0\r\nA: ${'t'.repeat(70)}\r\n\r\n`, 'HEADERS_TOO_LARGE', { limits });
    expect(error.offset).toBe(te.length + 3 + 64);
  });

  it('is configurable and validates its options', () => {
    const handler = new Recorder();
    expect(() => new ResponseParser(handler, { maxHeaderBytes: 0 })).toThrow(InvalidArgumentError);
    expect(() => new ResponseParser(handler, { maxHeaderCount: 1.5 })).toThrow(/maxHeaderCount/);
    expect(() => new ResponseParser(handler, { maxHeaderBytes: Number.NaN })).toThrow(/maxHeaderBytes/);
    expect(() => new ResponseParser(handler, {})).not.toThrow();
  });
});

// ---- body delivery ----

describe('body delivery', () => {
  it('delivers a Content-Length body as views of the input, one onBody per execute', () => {
    const input = Buffer.from(head(['Content-Length: 10']) + '0123456789');
    const result = parse(input);
    expect(result.recorder.chunks).toHaveLength(1);
    const chunk = result.recorder.chunks[0]!;
    expect(chunk.buffer).toBe(input.buffer);
    expect(chunk.byteOffset).toBe(input.byteOffset + input.length - 10);
    expect(chunk.toString()).toBe('0123456789');

    const split = parse(input, { chunkSize: input.length - 4 });
    expect(split.recorder.chunks.map((c) => c.toString())).toEqual(['012345', '6789']);
  });

  it('delivers chunked data as views of the input', () => {
    const input = Buffer.from(head(['Transfer-Encoding: chunked']) + '3\r\nabc\r\n0\r\n\r\n');
    const result = parse(input);
    expect(result.recorder.chunks[0]!.buffer).toBe(input.buffer);
  });

  it('delivers everything after the head of a close-delimited body, until finish()', () => {
    const result = parseAll(head(['X: 1']) + 'HTTP/1.1 200 OK\r\n\r\n\0\xff', { finish: true });
    expect(headOf(result)).toMatchObject({ framing: 'close', contentLength: -1, keepAlive: false });
    expect(bodyOf(result)).toBe('HTTP/1.1 200 OK\r\n\r\n\0\xff');
    expect(kinds(result).at(-1)).toBe('complete');
  });
});

// ---- finish() ----

describe('finish()', () => {
  it('completes a close-delimited body', () => {
    const result = parse(head([]) + 'abc', { finish: true });
    expect(kinds(result)).toEqual(['head', 'body', 'complete']);
    expect(result.error).toBeNull();
  });

  it('completes a close-delimited body with no bytes at all', () => {
    expect(kinds(parse(head([]), { finish: true }))).toEqual(['head', 'complete']);
  });

  it('throws UNEXPECTED_EOF in the middle of a Content-Length body, at the bytes consumed', () => {
    const input = head(['Content-Length: 10']) + 'abc';
    const result = parse(input, { finish: true });
    expect(result.error?.kind).toBe('UNEXPECTED_EOF');
    expect(result.error?.offset).toBe(input.length);
  });

  it('throws UNEXPECTED_EOF in the middle of a head', () => {
    expect(parse('H', { finish: true }).error?.kind).toBe('UNEXPECTED_EOF');
    expect(parse('HTTP/1.1 200 OK\r\nX: 1\r\n', { finish: true }).error?.kind).toBe('UNEXPECTED_EOF');
  });

  it('does nothing when no byte of the message was seen', () => {
    const recorder = new Recorder();
    const parser = new ResponseParser(recorder);
    parser.reset('GET');
    expect(() => parser.finish()).not.toThrow();
    expect(recorder.events).toEqual([]);
    // Empty lines before a status line are not part of a message either.
    expect(parser.execute(Buffer.from('\r\n'))).toBe(2);
    expect(() => parser.finish()).not.toThrow();
  });

  it('does nothing after the message completed, or before any reset', () => {
    const result = parse(head(['Content-Length: 0']));
    expect(() => result.parser.finish()).not.toThrow();
    expect(kinds(result)).toEqual(['head', 'complete']);
    expect(() => new ResponseParser(new Recorder()).finish()).not.toThrow();
  });

  it('leaves the parser dead after UNEXPECTED_EOF', () => {
    const result = parse(head(['Content-Length: 5']) + 'ab', { finish: true });
    expect(() => result.parser.execute(Buffer.from('cde'))).toThrow(ParseError);
  });
});

// ---- execute(), reset() and the message boundary ----

describe('execute() and reset()', () => {
  const first = head(['Content-Length: 3']) + 'abc';
  const second = head(['Transfer-Encoding: chunked'], 'HTTP/1.1 201 Created') + '2\r\nhi\r\n0\r\n\r\n';

  it('returns fewer bytes than given when the message completes inside the chunk, and parses none of the rest', () => {
    const recorder = new Recorder();
    const parser = new ResponseParser(recorder);
    parser.reset('GET');
    const input = Buffer.from(first + second);
    expect(parser.execute(input)).toBe(first.length);
    expect(kinds({ events: recorder.events } as ParseResult)).toEqual(['head', 'body', 'complete']);
    expect(parser.bytesConsumed).toBe(first.length);
    // Without reset the rest stays unparsed.
    expect(parser.execute(input.subarray(first.length))).toBe(0);
    expect(recorder.events).toHaveLength(3);
  });

  it('parses pipelined responses when the caller resets and feeds the rest', () => {
    const recorder = new Recorder();
    const parser = new ResponseParser(recorder);
    parser.reset('GET');
    let input = Buffer.from(first + '\r\n' + second);
    const consumed = parser.execute(input);
    parser.reset('GET');
    input = input.subarray(consumed);
    expect(parser.execute(input)).toBe(input.length);
    expect(merged(recorder.events).map((e) => e[0])).toEqual(['head', 'body', 'complete', 'head', 'body', 'complete']);
    expect(parser.bytesConsumed).toBe(input.length);
  });

  it('lets the handler reset() inside onComplete, and returns right after onComplete', () => {
    const events: string[] = [];
    const parser: ResponseParser = new ResponseParser({
      onInformational: () => events.push('info'),
      onHead: (h) => events.push(`head ${h.code}`),
      onBody: (b) => events.push(`body ${b.toString()}`),
      onTrailers: () => events.push('trailers'),
      onComplete: () => {
        events.push('complete');
        parser.reset('GET');
      },
    });
    parser.reset('GET');
    const input = Buffer.from(first + second);
    const consumed = parser.execute(input);
    expect(consumed).toBe(first.length);
    expect(events).toEqual(['head 200', 'body abc', 'complete']);
    expect(parser.bytesConsumed).toBe(0); // a fresh message
    expect(parser.execute(input.subarray(consumed))).toBe(second.length);
    expect(events).toEqual(['head 200', 'body abc', 'complete', 'head 201', 'body hi', 'complete']);
  });

  it('stops the running execute when the handler resets inside onHead', () => {
    const seen: string[] = [];
    const parser: ResponseParser = new ResponseParser({
      onInformational: () => seen.push('info'),
      onHead: () => {
        seen.push('head');
        parser.reset('GET');
      },
      onBody: () => seen.push('body'),
      onTrailers: () => seen.push('trailers'),
      onComplete: () => seen.push('complete'),
    });
    parser.reset('GET');
    const consumed = parser.execute(Buffer.from(first));
    expect(consumed).toBe(first.length - 3);
    expect(seen).toEqual(['head']);
  });

  it('requires reset() before the first execute', () => {
    expect(() => new ResponseParser(new Recorder()).execute(Buffer.from('HTTP/1.1'))).toThrow(/reset/);
  });

  it('stays dead after a ParseError until reset()', () => {
    const recorder = new Recorder();
    const parser = new ResponseParser(recorder);
    parser.reset('GET');
    let thrown: unknown;
    try {
      parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nBad Name: 1\r\n'));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ParseError);
    expect(() => parser.execute(Buffer.from('\r\n'))).toThrow(ParseError);
    parser.reset('GET');
    expect(parser.execute(Buffer.from(first))).toBe(first.length);
    expect(kinds({ events: recorder.events } as ParseResult)).toEqual(['head', 'body', 'complete']);
  });

  it('lets handler exceptions propagate and then stays dead until reset()', () => {
    const boom = new Error('handler failed');
    let fail = true;
    const parser = new ResponseParser({
      onInformational: () => undefined,
      onHead: () => {
        if (fail) throw boom;
      },
      onBody: () => undefined,
      onTrailers: () => undefined,
      onComplete: () => undefined,
    });
    parser.reset('GET');
    expect(() => parser.execute(Buffer.from(first))).toThrow(boom);
    expect(() => parser.execute(Buffer.from('x'))).toThrow(boom);
    fail = false;
    parser.reset('GET');
    expect(parser.execute(Buffer.from(first))).toBe(first.length);
  });

  it('counts bytesConsumed and error offsets from the last reset()', () => {
    const parser = new ResponseParser(new Recorder());
    parser.reset('GET');
    parser.execute(Buffer.from(first));
    parser.reset('GET');
    parser.execute(Buffer.from('HTTP/1.1 200 OK\r\n'));
    expect(parser.bytesConsumed).toBe(17);
    try {
      parser.execute(Buffer.from('X: \x01'));
      throw new Error('expected a ParseError');
    } catch (error) {
      expect(error).toBeInstanceOf(ParseError);
      expect((error as ParseError).offset).toBe(20);
      expect((error as ParseError).kind).toBe('INVALID_HEADER');
    }
  });

  it('handles a head fed one byte at a time, with trailing body bytes in the last chunk', () => {
    const input = Buffer.from(head(['Content-Type: text/plain; charset=utf-8', 'Content-Length: 5', 'Cache-Control: no-cache']) + 'hello');
    const recorder = new Recorder();
    const parser = new ResponseParser(recorder);
    parser.reset('GET');
    for (let i = 0; i < input.length; i++) expect(parser.execute(input.subarray(i, i + 1))).toBe(1);
    expect(recorder.events[0]).toEqual([
      'head',
      expect.objectContaining({ rawHeaders: ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', '5', 'Cache-Control', 'no-cache'] }),
    ]);
    expect(merged(recorder.events).slice(1)).toEqual([['body', 'hello'], ['complete']]);
  });
});
