import {
  ByteRangesError,
  Headers,
  HttpAgent,
  HTTPConnectionPool,
  InvalidArgumentError,
  RangeMismatchError,
  checkRangeResponse,
  formatRange,
  ifRangeValidator,
  normalizeRanges,
  parseContentRange,
  readBody,
  readByteRanges,
} from '../src/index.js';
import { type Served, type SeenRequest, patterned, rangeHandler } from './support/range-server.js';
import { type TestServer, startHttpServer, startRawServer, onRequestHead } from './support/servers.js';

const head = (code: number, fields: Record<string, string>): { code: number; headers: Headers } => ({ code, headers: new Headers(fields) });

/** Chunks of `text` cut at the given offsets, as an async iterable. */
async function* chunks(data: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const cut of [...cuts, data.length]) {
    if (cut > at) yield data.subarray(at, cut);
    at = Math.max(at, cut);
  }
}

describe('Range values', () => {
  it('formats a closed range, an open range, a suffix and a list', () => {
    expect(formatRange({ start: 0, end: 99 })).toBe('bytes=0-99');
    expect(formatRange({ start: 500 })).toBe('bytes=500-');
    expect(formatRange({ suffix: 200 })).toBe('bytes=-200');
    expect(formatRange([{ start: 0, end: 9 }, { start: 20, end: 29 }, { suffix: 5 }])).toBe('bytes=0-9,20-29,-5');
  });

  it.each([
    [{ start: -1 }, 'range.start must be an integer >= 0'],
    [{ start: 10, end: 9 }, 'end (9) is before start (10)'],
    [{ suffix: 0 }, 'range.suffix must be an integer >= 1'],
    [{ start: 1.5 }, 'range.start must be an integer'],
    [{ start: 0, suffix: 3 }, 'not both'],
    [{ begin: 0 }, 'range.begin is not a range field'],
    [[], 'at least one range'],
    [[{ start: 0 }, { start: 'x' }], 'range[1].start'],
    [null, 'range must be { start, end? } or { suffix }'],
  ])('rejects %j with an InvalidArgumentError naming the option', (init, message) => {
    expect(() => formatRange(init as never)).toThrow(InvalidArgumentError);
    expect(() => formatRange(init as never)).toThrow(message);
  });

  it('bounds the number of ranges in one request', () => {
    const many = Array.from({ length: 65 }, (_, i) => ({ start: i * 10, end: i * 10 + 1 }));
    expect(() => normalizeRanges(many)).toThrow('at most 64');
  });

  it('reads Content-Range values and refuses malformed ones', () => {
    expect(parseContentRange('bytes 0-99/1234')).toEqual({ start: 0, end: 99, completeLength: 1234 });
    expect(parseContentRange('bytes 5-9/*')).toEqual({ start: 5, end: 9, completeLength: undefined });
    expect(parseContentRange('bytes */1234')).toEqual({ completeLength: 1234 });
    for (const bad of ['bytes 9-5/100', 'bytes 0-100/100', 'items 0-1/2', 'bytes 0-1', 'bytes */*', 'bytes 0-99999999999999999/*', 'bytes -1-2/3']) {
      expect(parseContentRange(bad)).toBeUndefined();
    }
  });

  it('uses a strong ETag for If-Range, else Last-Modified, never a weak ETag', () => {
    expect(ifRangeValidator(new Headers({ ETag: '"abc"', 'Last-Modified': 'Tue, 01 Dec 2026 10:00:00 GMT' }))).toBe('"abc"');
    expect(ifRangeValidator(new Headers({ ETag: 'W/"abc"', 'Last-Modified': 'Tue, 01 Dec 2026 10:00:00 GMT' }))).toBe('Tue, 01 Dec 2026 10:00:00 GMT');
    expect(ifRangeValidator(new Headers({ ETag: 'W/"abc"' }))).toBeUndefined();
  });
});

describe('checkRangeResponse', () => {
  const one = normalizeRanges({ start: 100, end: 199 });

  it('accepts a 206 with the range asked, or one that stops short of it', () => {
    expect(checkRangeResponse(head(206, { 'Content-Range': 'bytes 100-199/1000' }), one)).toEqual({ kind: 'partial', start: 100, end: 199, completeLength: 1000 });
    expect(checkRangeResponse(head(206, { 'Content-Range': 'bytes 100-149/150' }), one)).toEqual({ kind: 'partial', start: 100, end: 149, completeLength: 150 });
    expect(checkRangeResponse(head(206, { 'Content-Range': 'bytes 990-999/1000' }), normalizeRanges({ suffix: 10 }))).toMatchObject({ kind: 'partial', start: 990 });
  });

  it('reports a 200 as the whole representation and a 416 with its length', () => {
    expect(checkRangeResponse(head(200, {}), one)).toEqual({ kind: 'full' });
    expect(checkRangeResponse(head(416, { 'Content-Range': 'bytes */50' }), one)).toEqual({ kind: 'unsatisfiable', completeLength: 50 });
    expect(checkRangeResponse(head(404, {}), one)).toEqual({ kind: 'other' });
  });

  it.each([
    [{ 'Content-Range': 'bytes 0-99/1000' }, 'WRONG_RANGE'],
    [{ 'Content-Range': 'bytes 100-299/1000' }, 'WRONG_RANGE'],
    [{}, 'MISSING_CONTENT_RANGE'],
    [{ 'Content-Range': 'bytes 100-99/1000' }, 'INVALID_CONTENT_RANGE'],
    [{ 'Content-Type': 'multipart/byteranges; boundary=x' }, 'UNEXPECTED_MULTIPART'],
  ])('refuses a 206 with %j (%s) with a RangeMismatchError', (fields, kind) => {
    let caught: unknown;
    try {
      checkRangeResponse(head(206, fields), one, 'http://u:p@127.0.0.1/x');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RangeMismatchError);
    expect(caught).toMatchObject({ code: 'STRAND_RANGE_MISMATCH', kind, requested: 'bytes=100-199' });
    expect((caught as Error).message).not.toContain('u:p');
  });

  it('accepts coalesced ranges for a multi-range request but not bytes outside them', () => {
    const two = normalizeRanges([{ start: 0, end: 9 }, { start: 12, end: 19 }]);
    expect(checkRangeResponse(head(206, { 'Content-Range': 'bytes 0-19/100' }), two)).toMatchObject({ kind: 'partial', start: 0, end: 19 });
    expect(() => checkRangeResponse(head(206, { 'Content-Range': 'bytes 0-29/100' }), two)).toThrow(RangeMismatchError);
    expect(checkRangeResponse(head(206, { 'Content-Type': 'multipart/byteranges; boundary="a b"' }), two)).toEqual({ kind: 'multipart', boundary: 'a b' });
  });
});

describe('readByteRanges', () => {
  const body = Buffer.from(
    'preamble to skip\r\n--BND\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-4/20\r\n\r\nhello\r\n--BND \t\r\nContent-Range: bytes 14-19/20\r\n\r\n\r\n--B!\r\n--BND--\r\nepilogue',
  );

  it('reads every part with its range, headers and bytes, whatever the chunking', async () => {
    // Every single cut point, and byte-by-byte: delimiters split across reads are found.
    const cutsList: number[][] = [[], Array.from({ length: body.length }, (_, i) => i)];
    for (let i = 1; i < body.length; i++) cutsList.push([i]);
    for (const cuts of cutsList) {
      const parts: Array<[number, number, string, string | undefined]> = [];
      for await (const part of readByteRanges(chunks(body, cuts), 'BND')) parts.push([part.start, part.end, (await part.bytes()).toString('latin1'), part.headers.get('content-type')]);
      expect(parts).toEqual([
        [0, 4, 'hello', 'text/plain'],
        [14, 19, '\r\n--B!', undefined],
      ]);
    }
  });

  it('streams a part body in pieces without holding it whole', async () => {
    const big = patterned(1 << 20);
    const framed = Buffer.concat([Buffer.from(`--b\r\nContent-Range: bytes 0-${big.length - 1}/${big.length}\r\n\r\n`), big, Buffer.from('\r\n--b--')]);
    const cuts = Array.from({ length: 64 }, (_, i) => (i + 1) * 16384);
    let pieces = 0;
    let largest = 0;
    const received: Buffer[] = [];
    for await (const part of readByteRanges(chunks(framed, cuts), 'b')) {
      for await (const chunk of part) {
        pieces++;
        largest = Math.max(largest, chunk.length);
        received.push(chunk);
      }
    }
    expect(pieces).toBeGreaterThan(60);
    expect(largest).toBeLessThanOrEqual(16384);
    expect(Buffer.concat(received).equals(big)).toBe(true);
  });

  it('skips what the caller did not read of a part when it asks for the next', async () => {
    const starts: number[] = [];
    for await (const part of readByteRanges(chunks(body, [30, 60]), 'BND')) starts.push(part.start);
    expect(starts).toEqual([0, 14]);
  });

  it.each([
    ['no boundary at all', 'just text', 'NO_FIRST_BOUNDARY'],
    ['a part without Content-Range', '--BND\r\nContent-Type: a/b\r\n\r\nx\r\n--BND--', 'INVALID_CONTENT_RANGE'],
    ['a part longer than its range', '--BND\r\nContent-Range: bytes 0-1/9\r\n\r\nxyz\r\n--BND--', 'LENGTH_MISMATCH'],
    ['a part shorter than its range', '--BND\r\nContent-Range: bytes 0-5/9\r\n\r\nxyz\r\n--BND--', 'LENGTH_MISMATCH'],
    ['a header line without a colon', '--BND\r\nContent-Range bytes 0-1/9\r\n\r\nxy\r\n--BND--', 'INVALID_HEADER'],
    ['a body cut inside a part', '--BND\r\nContent-Range: bytes 0-5/9\r\n\r\nxyz', 'TRUNCATED'],
    ['a body without the closing delimiter', '--BND\r\nContent-Range: bytes 0-1/9\r\n\r\nxy\r\n--BND', 'TRUNCATED'],
    ['garbage after a boundary', '--BNDx\r\n', 'INVALID_DELIMITER'],
  ])('fails on %s with a ByteRangesError', async (_name, text, kind) => {
    const parts = readByteRanges(chunks(Buffer.from(text), []), 'BND');
    let caught: unknown;
    try {
      for await (const part of parts) await part.bytes();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ByteRangesError);
    expect(caught).toMatchObject({ code: 'STRAND_BYTERANGES_INVALID', kind });
    // Failed for good: asking again gives the same error.
    await expect(parts.next()).rejects.toBe(caught);
  });

  it('bounds a part header block and the number of parts', async () => {
    const huge = Buffer.from(`--BND\r\nX-Pad: ${'a'.repeat(9000)}\r\nContent-Range: bytes 0-0/1\r\n\r\nx\r\n--BND--`);
    await expect(readByteRanges(chunks(huge, [100]), 'BND').next()).rejects.toMatchObject({ kind: 'HEADERS_TOO_LARGE' });
    const three = Buffer.from('--B\r\nContent-Range: bytes 0-0/9\r\n\r\na\r\n--B\r\nContent-Range: bytes 1-1/9\r\n\r\nb\r\n--B\r\nContent-Range: bytes 2-2/9\r\n\r\nc\r\n--B--');
    const reader = readByteRanges(chunks(three, []), 'B', { maxParts: 2 });
    await reader.next();
    await reader.next();
    await expect(reader.next()).rejects.toMatchObject({ kind: 'TOO_MANY_PARTS' });
  });

  it('refuses to read a part body and the next part at the same time', async () => {
    async function* slow(): AsyncGenerator<Buffer> {
      yield Buffer.from('--BND\r\nContent-Range: bytes 0-19/20\r\n\r\nabcdefghijklmno');
      await new Promise((resolve) => setTimeout(resolve, 10));
      yield Buffer.from('pqrst\r\n--BND--');
    }
    const reader = readByteRanges(slow(), 'BND');
    const part = (await reader.next()).value as { [Symbol.asyncIterator](): AsyncIterator<Buffer> };
    const body = part[Symbol.asyncIterator]();
    expect((await body.next()).value.toString()).toBe('abcdefghi'); // the last 6 bytes may start a delimiter
    const pending = body.next();
    await expect(reader.next()).rejects.toMatchObject({ code: 'STRAND_INVALID_STATE' });
    await pending.catch(() => {});
  });

  it('refuses a boundary that RFC 2046 does not allow', () => {
    expect(() => readByteRanges(chunks(body, []), 'x'.repeat(71))).toThrow(ByteRangesError);
    expect(() => readByteRanges(chunks(body, []), 'bad\r\n')).toThrow('not a valid multipart boundary');
  });
});

describe('ranges against a real server', () => {
  let server: TestServer;
  let served: Served;
  const seen: SeenRequest[] = [];
  let agent: HttpAgent;

  beforeAll(async () => {
    served = { body: patterned(10_000), etag: '"v1"', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT' };
    server = await startHttpServer(rangeHandler(() => served, seen));
  });
  beforeEach(() => {
    agent = new HttpAgent({ pool: new HTTPConnectionPool() });
  });
  afterEach(async () => {
    await agent.pool.destroy();
  });
  afterAll(async () => {
    await server.close();
  });

  it('gets one range as a checked 206 and the connection is reused after it', async () => {
    const asked = normalizeRanges({ start: 9_000 });
    for (let i = 0; i < 2; i++) {
      const response = await agent.request('GET', `${server.url}/f`, { Range: formatRange(asked), 'If-Range': '"v1"' });
      expect(checkRangeResponse(response, asked)).toEqual({ kind: 'partial', start: 9_000, end: 9_999, completeLength: 10_000 });
      expect((await readBody(response)).equals(served.body.subarray(9_000))).toBe(true);
    }
    expect(server.accepted).toBe(1);
  });

  it('gets several ranges as multipart/byteranges parts, streamed', async () => {
    const asked = normalizeRanges([{ start: 0, end: 99 }, { start: 5_000, end: 5_999 }, { suffix: 10 }]);
    const response = await agent.request('GET', `${server.url}/f`, { Range: formatRange(asked) });
    const outcome = checkRangeResponse(response, asked);
    expect(outcome.kind).toBe('multipart');
    const got: Array<[number, number, boolean]> = [];
    for await (const part of readByteRanges(response, (outcome as { boundary: string }).boundary)) {
      got.push([part.start, part.end, (await part.bytes()).equals(served.body.subarray(part.start, part.end + 1))]);
    }
    expect(got).toEqual([
      [0, 99, true],
      [5_000, 5_999, true],
      [9_990, 9_999, true],
    ]);
    // The whole multipart body was read: the connection went back to the pool.
    expect(Object.values(agent.pool.stats())[0]).toMatchObject({ idle: 1, inUse: 0 });
  });

  it('reports a 200 as the whole body when If-Range no longer matches', async () => {
    const asked = normalizeRanges({ start: 10 });
    const response = await agent.request('GET', `${server.url}/f`, { Range: formatRange(asked), 'If-Range': '"old"' });
    expect(checkRangeResponse(response, asked)).toEqual({ kind: 'full' });
    expect((await readBody(response)).length).toBe(10_000);
  });

  it('reports a 416 with the representation length', async () => {
    const asked = normalizeRanges({ start: 10_000 });
    const response = await agent.request('GET', `${server.url}/f`, { Range: formatRange(asked) });
    expect(checkRangeResponse(response, asked)).toEqual({ kind: 'unsatisfiable', completeLength: 10_000 });
    await readBody(response);
  });

  it('fails with RangeMismatchError against a server that sends the wrong range', async () => {
    const raw = await startRawServer((socket) =>
      onRequestHead(socket, () => socket.end('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-3/10\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd')),
    );
    try {
      const asked = normalizeRanges({ start: 4 });
      const response = await agent.request('GET', raw.url, { Range: formatRange(asked) });
      expect(() => checkRangeResponse(response, asked, response.request.uri)).toThrow(RangeMismatchError);
      await response.dump();
    } finally {
      await raw.close();
    }
  });
});
