/**
 * `multipart/byteranges` (RFC 9110 §14.6), read as it streams: an async iterator of parts, each
 * with its range and headers and a body that is itself streamed. Nothing is buffered beyond
 * one part's header block (bounded) and a delimiter's length of body bytes.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError, StrandError } from '../errors.js';
import { brand } from '../brand.js';
import { isToken, isValidFieldValue } from '../validate.js';
import { Headers } from './headers.js';
import { type ContentRange, parseContentRange, validBoundary } from './ranges.js';

/** Why a {@link ByteRangesError} was raised. */
export type ByteRangesErrorKind =
  | 'INVALID_BOUNDARY'
  | 'NO_FIRST_BOUNDARY'
  | 'INVALID_DELIMITER'
  | 'HEADERS_TOO_LARGE'
  | 'INVALID_HEADER'
  | 'INVALID_CONTENT_RANGE'
  | 'LENGTH_MISMATCH'
  | 'TOO_MANY_PARTS'
  | 'TRUNCATED';

/**
 * A `multipart/byteranges` body that cannot be read: no boundary where one must be, a part
 * header block that is too large or malformed, a part without a valid `Content-Range`, a part
 * body whose length is not its range's, or a body that ended before its closing delimiter.
 * Code `STRAND_BYTERANGES_INVALID`; `kind` says which.
 */
export class ByteRangesError extends StrandError {
  /** What was wrong, for programs. */
  readonly kind: ByteRangesErrorKind;

  constructor(kind: ByteRangesErrorKind, message: string) {
    super('STRAND_BYTERANGES_INVALID', message);
    this.kind = kind;
  }
}

/** Limits of {@link readByteRanges}. */
export interface ByteRangesOptions {
  /** The largest header block of one part, and the largest preamble before the first boundary, in bytes. Default 8 KiB. */
  maxHeaderBytes?: number;
  /** The most parts read; one more is a `TOO_MANY_PARTS` error. Default 1000. */
  maxParts?: number;
}

/** Default of {@link ByteRangesOptions.maxHeaderBytes}. */
export const DEFAULT_BYTERANGES_MAX_HEADER_BYTES = 8 * 1024;
/** Default of {@link ByteRangesOptions.maxParts}. */
export const DEFAULT_BYTERANGES_MAX_PARTS = 1000;

const HEADER_END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/** Where a part's body bytes come from (the reader). */
interface PartBodyReader {
  /** The next chunk of `part`'s body, or null at its end. */
  readPartBody(part: ByteRangePart): Promise<Buffer | null>;
}

/**
 * One part of a `multipart/byteranges` body: the range it holds, its header fields (the
 * part's `Content-Type` and `Content-Range`), and its bytes, streamed (`for await`, or
 * {@link bytes}). A part's body can be read once, and only before the next part is asked for:
 * moving on skips what is left of it.
 */
export class ByteRangePart implements AsyncIterable<Buffer> {
  /** The first byte's offset in the representation. */
  readonly start: number;
  /** The last byte's offset, inclusive. */
  readonly end: number;
  /** The representation's whole length, when the part said (`/*`: undefined). */
  readonly completeLength: number | undefined;
  /** The part's header fields. */
  readonly headers: Headers;
  readonly #reader: PartBodyReader;
  #taken = false;

  /** @internal Made by the reader. */
  constructor(range: ContentRange, headers: Headers, reader: PartBodyReader) {
    this.start = range.start;
    this.end = range.end;
    this.completeLength = range.completeLength;
    this.headers = headers;
    this.#reader = reader;
  }

  /** The part's length in bytes (`end - start + 1`). */
  get length(): number {
    return this.end - this.start + 1;
  }

  /** The part's body, chunk by chunk. Throws if it was taken already. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.#taken) throw new StrandError('STRAND_BODY_ALREADY_CONSUMED', 'this part body has already been read');
    this.#taken = true;
    const reader = this.#reader;
    return {
      next: async (): Promise<IteratorResult<Buffer>> => {
        const chunk = await reader.readPartBody(this);
        return chunk === null ? { value: undefined, done: true } : { value: chunk, done: false };
      },
      return: (): Promise<IteratorResult<Buffer>> => Promise.resolve({ value: undefined, done: true }),
    };
  }

  /** The whole part body in one Buffer (its length is bounded by its `Content-Range`). */
  async bytes(): Promise<Buffer> {
    const out = Buffer.allocUnsafe(this.length);
    let offset = 0;
    for await (const chunk of this) offset += chunk.copy(out, offset);
    return out.subarray(0, offset);
  }
}

/**
 * The states of a reader:
 *
 * - `start`: before the first boundary (a preamble of at most `maxHeaderBytes` is skipped);
 * - `delimiter`: a boundary was read; next is `--` (the end) or the line end before a part's headers;
 * - `headers`: reading a part's header block (at most `maxHeaderBytes`);
 * - `body`: the current part's body is being read up to the next delimiter;
 * - `done`: the closing delimiter was read (the epilogue, if any, is read and dropped);
 * - `failed`: an error was raised; every later call raises it again.
 */
type ReaderState = 'start' | 'delimiter' | 'headers' | 'body' | 'done' | 'failed';

/** A positive integer limit, or its default. */
function limit(value: number | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`readByteRanges: ${option} must be a positive integer, got ${String(value)}`);
  return value;
}

/** Reads `multipart/byteranges` from a source of chunks; see {@link readByteRanges}. */
class ByteRangesReader implements AsyncIterableIterator<ByteRangePart> {
  private state: ReaderState = 'start';
  private buffer: Buffer = EMPTY;
  private ended = false;
  /** A read of the source is in progress (a second one at the same time would be lost). */
  private filling = false;
  private error: StrandError | null = null;
  private part: ByteRangePart | null = null;
  /** Body bytes of the current part delivered so far. */
  private partRead = 0;
  private parts = 0;
  private readonly source: AsyncIterator<Buffer>;
  private readonly dashBoundary: Buffer;
  private readonly delimiter: Buffer;
  private readonly maxHeaderBytes: number;
  private readonly maxParts: number;

  constructor(source: AsyncIterable<Buffer>, boundary: string, options: ByteRangesOptions) {
    if (!validBoundary(boundary)) throw new ByteRangesError('INVALID_BOUNDARY', `"${boundary}" is not a valid multipart boundary (1 to 70 characters of RFC 2046's set)`);
    this.source = source[Symbol.asyncIterator]();
    this.dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.maxHeaderBytes = limit(options.maxHeaderBytes, 'maxHeaderBytes', DEFAULT_BYTERANGES_MAX_HEADER_BYTES);
    this.maxParts = limit(options.maxParts, 'maxParts', DEFAULT_BYTERANGES_MAX_PARTS);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ByteRangePart> {
    return this;
  }

  async next(): Promise<IteratorResult<ByteRangePart>> {
    try {
      for (;;) {
        switch (this.state) {
          case 'start':
            await this.readFirstBoundary();
            break;
          case 'body':
            // Skip what the caller left of the current part.
            while ((await this.readPartBody(this.part as ByteRangePart)) !== null);
            break;
          case 'delimiter':
            await this.readAfterDelimiter();
            break;
          case 'headers': {
            const part = await this.readHeaders();
            return { value: part, done: false };
          }
          case 'done':
            return { value: undefined, done: true };
          case 'failed':
            throw this.error as StrandError;
        }
      }
    } catch (error) {
      throw this.failWith(error);
    }
  }

  /** Stops reading: the rest of the source is abandoned. */
  async return(): Promise<IteratorResult<ByteRangePart>> {
    if (this.state !== 'done' && this.state !== 'failed') {
      this.state = 'done';
      await this.source.return?.();
    }
    return { value: undefined, done: true };
  }

  /** @internal The next chunk of `part`'s body, or null at its end. */
  async readPartBody(part: ByteRangePart): Promise<Buffer | null> {
    if (this.part !== part || this.state !== 'body') {
      if (this.state === 'failed') throw this.error as StrandError;
      return null; // the reader has moved past this part
    }
    try {
      const delimiter = this.delimiter;
      for (;;) {
        const buffer = this.buffer;
        const at = buffer.indexOf(delimiter);
        if (at >= 0) {
          this.buffer = buffer.subarray(at + delimiter.length);
          this.state = 'delimiter';
          this.count(part, at, true);
          return at === 0 ? null : buffer.subarray(0, at);
        }
        // The last bytes may be the start of a delimiter split across reads: keep them.
        const emit = buffer.length - Math.min(buffer.length, delimiter.length - 1);
        if (emit > 0) {
          this.buffer = buffer.subarray(emit);
          this.count(part, emit, false);
          return buffer.subarray(0, emit);
        }
        if (!(await this.fill())) throw new ByteRangesError('TRUNCATED', `the body ended inside the part for bytes ${part.start}-${part.end}`);
      }
    } catch (error) {
      throw this.failWith(error);
    }
  }

  /** Counts `n` more body bytes of `part`; at its end (`last`) the total must be the range's length. */
  private count(part: ByteRangePart, n: number, last: boolean): void {
    this.partRead += n;
    if (this.partRead > part.length) {
      throw new ByteRangesError('LENGTH_MISMATCH', `the part for bytes ${part.start}-${part.end} holds more than its ${part.length} bytes`);
    }
    if (last && this.partRead !== part.length) {
      throw new ByteRangesError('LENGTH_MISMATCH', `the part for bytes ${part.start}-${part.end} holds ${this.partRead} bytes, not ${part.length}`);
    }
  }

  /** Reads one more chunk of the source into the buffer; false at its end. */
  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    if (this.filling) {
      throw new StrandError('STRAND_INVALID_STATE', 'readByteRanges: the next part was asked for while a part body was being read; read one at a time');
    }
    this.filling = true;
    let result: IteratorResult<Buffer>;
    try {
      result = await this.source.next();
    } finally {
      this.filling = false;
    }
    if (result.done === true) {
      this.ended = true;
      return false;
    }
    const chunk = result.value;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    return true;
  }

  private async readFirstBoundary(): Promise<void> {
    for (;;) {
      const buffer = this.buffer;
      if (buffer.length >= this.dashBoundary.length && buffer.subarray(0, this.dashBoundary.length).equals(this.dashBoundary)) {
        this.buffer = buffer.subarray(this.dashBoundary.length);
        this.state = 'delimiter';
        return;
      }
      const at = buffer.indexOf(this.delimiter);
      if (at >= 0) {
        this.buffer = buffer.subarray(at + this.delimiter.length);
        this.state = 'delimiter';
        return;
      }
      if (buffer.length > this.maxHeaderBytes + this.delimiter.length) {
        throw new ByteRangesError('NO_FIRST_BOUNDARY', `no boundary in the first ${this.maxHeaderBytes} bytes of the multipart/byteranges body`);
      }
      if (!(await this.fill())) throw new ByteRangesError('NO_FIRST_BOUNDARY', 'the multipart/byteranges body has no boundary');
    }
  }

  /** After a boundary: `--` ends the body; else optional padding (spaces, tabs) and CRLF start a part. */
  private async readAfterDelimiter(): Promise<void> {
    for (;;) {
      const buffer = this.buffer;
      if (buffer.length >= 2 && buffer[0] === 0x2d && buffer[1] === 0x2d) {
        this.buffer = EMPTY;
        this.state = 'done';
        await this.dropEpilogue();
        return;
      }
      let i = 0;
      while (i < buffer.length && (buffer[i] === 0x20 || buffer[i] === 0x09)) i++;
      if (i > 256) throw new ByteRangesError('INVALID_DELIMITER', 'too much padding after a boundary');
      if (buffer.length >= i + 2) {
        if (buffer[i] !== 0x0d || buffer[i + 1] !== 0x0a) throw new ByteRangesError('INVALID_DELIMITER', 'a boundary is not followed by a line end');
        this.buffer = buffer.subarray(i + 2);
        if (this.parts >= this.maxParts) throw new ByteRangesError('TOO_MANY_PARTS', `more than ${this.maxParts} parts (the maxParts option)`);
        this.state = 'headers';
        return;
      }
      if (!(await this.fill())) throw new ByteRangesError('TRUNCATED', 'the body ended after a boundary, without the closing delimiter');
    }
  }

  /** Reads what follows the closing delimiter (an epilogue, which says nothing) to the source's end, so its connection can be reused. */
  private async dropEpilogue(): Promise<void> {
    let seen = 0;
    while (await this.fill()) {
      seen += this.buffer.length;
      this.buffer = EMPTY;
      if (seen > this.maxHeaderBytes) {
        await this.source.return?.();
        return;
      }
    }
  }

  private async readHeaders(): Promise<ByteRangePart> {
    let block: string;
    for (;;) {
      const buffer = this.buffer;
      if (buffer.length >= 2 && buffer[0] === 0x0d && buffer[1] === 0x0a) {
        this.buffer = buffer.subarray(2);
        block = '';
        break;
      }
      const at = buffer.indexOf(HEADER_END);
      if (at >= 0 && at + HEADER_END.length <= this.maxHeaderBytes) {
        block = buffer.toString('latin1', 0, at);
        this.buffer = buffer.subarray(at + HEADER_END.length);
        break;
      }
      if (buffer.length > this.maxHeaderBytes) throw new ByteRangesError('HEADERS_TOO_LARGE', `a part's header block is larger than ${this.maxHeaderBytes} bytes (the maxHeaderBytes option)`);
      if (!(await this.fill())) throw new ByteRangesError('TRUNCATED', "the body ended inside a part's header block");
    }
    const raw: string[] = [];
    if (block !== '') {
      for (const line of block.split('\r\n')) {
        const colon = line.indexOf(':');
        const name = colon < 0 ? '' : line.slice(0, colon);
        const value = line.slice(colon + 1).trim();
        if (!isToken(name) || !isValidFieldValue(value) || line.includes('\n') || line.includes('\r')) {
          throw new ByteRangesError('INVALID_HEADER', `a part header line is not "name: value": ${JSON.stringify(line.slice(0, 80))}`);
        }
        raw.push(name, value);
      }
    }
    const headers = Headers.fromRaw(raw);
    const contentRange = headers.get('content-range');
    const range = contentRange === undefined ? undefined : parseContentRange(contentRange);
    if (range === undefined || !('start' in range)) {
      throw new ByteRangesError('INVALID_CONTENT_RANGE', contentRange === undefined ? 'a part has no Content-Range' : `a part has an invalid Content-Range "${contentRange}"`);
    }
    const part = new ByteRangePart(range, headers, this);
    this.parts++;
    this.part = part;
    this.partRead = 0;
    this.state = 'body';
    return part;
  }

  /** Enters `failed` with `error` (a source error is kept as it is) and abandons the source. */
  private failWith(error: unknown): unknown {
    if (this.state === 'failed') return this.error;
    this.state = 'failed';
    this.error = error instanceof StrandError ? error : new StrandError('STRAND_BYTERANGES_INVALID', 'reading the multipart/byteranges body failed', { cause: error });
    this.buffer = EMPTY;
    if (!this.ended) void Promise.resolve(this.source.return?.()).catch(() => {});
    return this.error;
  }
}

/**
 * Reads a `multipart/byteranges` body as it streams: an async iterator of {@link ByteRangePart}s
 * in the order the server sent them. Read a part's body before asking for the next part (what
 * is left is skipped). Stopping early (`break`) abandons the rest of the body.
 *
 * Bounded: a part's header block and the preamble are at most `maxHeaderBytes`, the parts at
 * most `maxParts`; each part's body must be exactly its `Content-Range`'s length. Anything else
 * is a {@link ByteRangesError} (code `STRAND_BYTERANGES_INVALID`) and the rest of the body is
 * abandoned.
 *
 * @param source - the body: a core `Response`, a client response, or any async iterable of Buffers.
 * @param boundary - the `boundary` parameter of the response's `Content-Type`
 *   (`checkRangeResponse` gives it as `outcome.boundary`).
 *
 * @example
 * ```ts
 * const asked = normalizeRanges([{ start: 0, end: 99 }, { suffix: 100 }]);
 * const response = await agent.request('GET', url, { Range: formatRange(asked) });
 * const outcome = checkRangeResponse(response, asked);
 * if (outcome.kind === 'multipart') {
 *   for await (const part of readByteRanges(response, outcome.boundary)) {
 *     console.log(part.start, part.end, (await part.bytes()).length);
 *   }
 * }
 * ```
 */
export function readByteRanges(source: AsyncIterable<Buffer>, boundary: string, options: ByteRangesOptions = {}): AsyncIterableIterator<ByteRangePart> {
  return new ByteRangesReader(source, boundary, options);
}

brand(ByteRangesError, 'core.ByteRangesError');
brand(ByteRangePart, 'core.ByteRangePart');
