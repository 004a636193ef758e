import { Readable } from 'node:stream';
import { type BodyLength } from './producers.js';
import { type BodyProtocol, type BodySource, type BodyTransport, BodyPipe } from './body-pipe.js';
import { type BodyEndReason, BodyTooLargeError, InvalidArgumentError, StrandError } from '../errors.js';
import { Headers } from './headers.js';
import type { ExchangeTimings } from './exchange.js';
import { brand } from '../brand.js';

/** The request a response answers, as it was sent. */
export interface RequestInfo {
  /** The request method as sent. */
  readonly method: string;
  /** The absolute URI, credentials included as given (redact before logging). */
  readonly uri: string;
  /** The request header fields as the agent sent them. */
  readonly headers: Headers;
}

/** What a {@link Response} is made of. Agents (and wrapper agents) construct responses. */
export interface ResponseInit {
  /** HTTP version as `[major, minor]`. */
  version: readonly [number, number];
  /** Status code. */
  code: number;
  /** Reason phrase as sent. */
  phrase: string;
  /** Header fields. */
  headers: Headers;
  /** Body length (Content-Length), `UNKNOWN_LENGTH`, or 0 for none. */
  length: BodyLength;
  /** The request this answers. */
  request: RequestInfo;
  /** The response this one followed (a redirect), if any. */
  previousResponse?: Response | null;
  /** Feeds the body: it is given the body's {@link BodySink} (through `bind`) while the response is made. */
  bodySource: BodySource;
}

/**
 * An HTTP response whose head has arrived. The body is delivered afterwards, streamed, to exactly
 * one consumer: {@link deliverBody} (Twisted's protocol), `for await` / {@link toReadable}, or
 * {@link readBody}. Bytes are read from the connection only once a consumer asks for them.
 *
 * @example
 * ```ts
 * const response = await agent.request('GET', 'http://127.0.0.1:8080/');
 * console.log(response.code, response.headers.get('content-type'));
 * for await (const chunk of response) process.stdout.write(chunk);
 * ```
 */
export class Response implements AsyncIterable<Buffer> {
  /** HTTP version as `[major, minor]`. */
  readonly version: readonly [number, number];
  /** Status code, e.g. 200. */
  readonly code: number;
  /** Reason phrase as sent (may be empty). */
  readonly phrase: string;
  /** Header fields (`get`, `getAll`, `has`, iteration in order). */
  readonly headers: Headers;
  /** Body length from Content-Length, or {@link UNKNOWN_LENGTH} (chunked, close-delimited). 0 when there is no body. */
  readonly length: BodyLength;
  /** The request this answers. */
  readonly request: RequestInfo;
  /** The response this one followed (a redirect), or null. Set by redirect agents. */
  previousResponse: Response | null;
  /** Clock times of the exchange's milestones, filled by the agent (the `end` arrives with the body's end). */
  timings: ExchangeTimings | null = null;
  readonly #pipe: BodyPipe;

  constructor(init: ResponseInit) {
    this.version = init.version;
    this.code = init.code;
    this.phrase = init.phrase;
    this.headers = init.headers;
    this.length = init.length;
    this.request = init.request;
    this.previousResponse = init.previousResponse ?? null;
    this.#pipe = new BodyPipe(init.bodySource);
  }

  /** Trailer fields of a chunked body; empty until the body has ended. */
  get trailers(): Headers {
    let trailers = this.#pipe.trailers;
    if (trailers === null) {
      trailers = Headers.fromRaw([]);
      if (this.#pipe.done) this.#pipe.trailers = trailers;
    }
    return trailers;
  }

  /**
   * The trailer fields, when the body has ended: resolves once the body's consumer has been told
   * it is complete (or close-delimited) with the trailers (an empty `Headers` when none came),
   * and rejects with the body's error if it failed or was abandoned. It does not read the body:
   * it settles when whoever reads it (or `dump()`) gets to its end. Trailers come with chunked
   * bodies only (HTTP/1.1); {@link trailers} gives the same fields synchronously once the body
   * has ended.
   *
   * @example
   * ```ts
   * const trailers = response.waitForTrailers();
   * for await (const chunk of response) hash.update(chunk);
   * console.log((await trailers).get('digest'));
   * ```
   */
  waitForTrailers(): Promise<Headers> {
    return new Promise((resolve, reject) => {
      this.#pipe.whenDone((reason) => (reason instanceof StrandError ? reject(reason) : resolve(this.trailers)));
    });
  }

  /** True once a consumer has taken the body. The body can be consumed only once. */
  get bodyUsed(): boolean {
    return this.#pipe.attached;
  }

  /**
   * Delivers the body to `protocol`: `makeConnection(transport)`, then `dataReceived(chunk)` for
   * each piece, then `connectionLost(reason)` exactly once with {@link ResponseDone},
   * {@link PotentialDataLoss} or an error. The transport pauses, resumes or abandons the body.
   * Throws if the body was already consumed.
   */
  deliverBody(protocol: BodyProtocol): void {
    this.#pipe.attach(protocol);
  }

  /**
   * Reads and discards the body so the connection can go back to the pool. A body longer than
   * `maxBytes` (default 1 MiB) is not worth reading: the connection is closed instead. Resolves
   * when the body has ended, whatever the reason; a failing body is not an error here.
   */
  dump(maxBytes = 1 << 20): Promise<void> {
    return new Promise((resolve) => {
      let seen = 0;
      let transport: BodyTransport | null = null;
      this.deliverBody({
        makeConnection: (t) => {
          transport = t;
        },
        dataReceived: (chunk) => {
          seen += chunk.length;
          if (seen > maxBytes) transport?.stopProducing();
        },
        connectionLost: () => resolve(),
      });
    });
  }

  /** The body as an async iterator of Buffers. A close-delimited end is a normal end. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    const iterator = new BodyIterator();
    this.deliverBody(iterator);
    return iterator;
  }

  /** The body as a Node `Readable` with back-pressure. */
  toReadable(): Readable {
    const receiver = new ReadableReceiver();
    this.deliverBody(receiver);
    return receiver.readable;
  }
}


/** Async-iterator view of a body: keeps at most the chunks read while nobody was waiting. */
class BodyIterator implements BodyProtocol, AsyncIterator<Buffer> {
  private transport: BodyTransport | null = null;
  private readonly chunks: Buffer[] = [];
  private end: BodyEndReason | null = null;
  private waiting: { resolve: (r: IteratorResult<Buffer>) => void; reject: (e: unknown) => void } | null = null;

  makeConnection(transport: BodyTransport): void {
    this.transport = transport;
  }

  dataReceived(chunk: Buffer): void {
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      waiting.resolve({ value: chunk, done: false });
      return;
    }
    this.chunks.push(chunk);
    this.transport?.pauseProducing();
  }

  connectionLost(reason: BodyEndReason): void {
    this.end = reason;
    const waiting = this.waiting;
    if (waiting === null) return;
    this.waiting = null;
    if (reason instanceof StrandError) waiting.reject(reason);
    else waiting.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<Buffer>> {
    const chunk = this.chunks.shift();
    if (chunk !== undefined) {
      if (this.chunks.length === 0) this.transport?.resumeProducing();
      return Promise.resolve({ value: chunk, done: false });
    }
    const end = this.end;
    if (end !== null) {
      return end instanceof StrandError ? Promise.reject(end) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.transport?.resumeProducing();
    });
  }

  /** `break` out of a `for await`: abandon the rest of the body. */
  return(): Promise<IteratorResult<Buffer>> {
    if (this.end === null) this.transport?.stopProducing();
    this.chunks.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }
}

/** Bridges a body into a Node Readable, pausing the body when the Readable's buffer is full. */
class ReadableReceiver implements BodyProtocol {
  readonly readable: Readable;
  private transport: BodyTransport | null = null;

  constructor() {
    this.readable = new Readable({
      read: () => this.transport?.resumeProducing(),
      destroy: (error, callback) => {
        this.transport?.stopProducing();
        callback(error);
      },
    });
  }

  makeConnection(transport: BodyTransport): void {
    this.transport = transport;
    transport.pauseProducing();
  }

  dataReceived(chunk: Buffer): void {
    if (!this.readable.push(chunk)) this.transport?.pauseProducing();
  }

  connectionLost(reason: BodyEndReason): void {
    this.transport = null;
    if (reason instanceof StrandError) {
      if (reason.code !== 'STRAND_CANCELLED' || !this.readable.destroyed) this.readable.destroy(reason);
    } else {
      this.readable.push(null);
    }
  }
}

/** Options of {@link readBody}. */
export interface ReadBodyOptions {
  /** Fail with {@link BodyTooLargeError} (and abandon the body) once more than this many bytes arrived. Default: no limit. */
  maxBytes?: number;
  /** Reject a close-delimited body ({@link PotentialDataLoss}) instead of accepting it. Default false. */
  requireFraming?: boolean;
}

/**
 * Reads a whole body into one Buffer. Rejects with the body's error, with
 * {@link BodyTooLargeError} past `maxBytes`, or (with `requireFraming`) when the body's end
 * could not be verified.
 *
 * @example
 * ```ts
 * const body = await readBody(response, { maxBytes: 1 << 20 });
 * console.log(body.toString('utf8'));
 * ```
 */
export function readBody(response: Response, options: ReadBodyOptions = {}): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? Infinity;
  if (!(maxBytes >= 0)) throw new InvalidArgumentError(`readBody: maxBytes must be a non-negative number, got ${String(options.maxBytes)}`);
  return new Promise((resolve, reject) => {
    const expected = typeof response.length === 'number' ? response.length : -1;
    response.deliverBody(new BufferingReceiver(maxBytes, options.requireFraming === true, expected, response.request.uri, resolve, reject));
  });
}

/**
 * Collects a body. When the length is known the bytes are copied into one buffer of that size as
 * they arrive (so the pieces can be collected at once: peak memory is the body, not twice it);
 * a body that arrives in one piece is returned without a copy.
 */
class BufferingReceiver implements BodyProtocol {
  private transport: BodyTransport | null = null;
  private readonly chunks: Buffer[] = [];
  private target: Buffer | null = null;
  private total = 0;
  private failed = false;

  constructor(
    private readonly maxBytes: number,
    private readonly requireFraming: boolean,
    private readonly expected: number,
    private readonly uri: string,
    private readonly resolve: (body: Buffer) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  makeConnection(transport: BodyTransport): void {
    this.transport = transport;
  }

  dataReceived(chunk: Buffer): void {
    if (this.failed) return;
    const offset = this.total;
    this.total += chunk.length;
    if (this.total > this.maxBytes) {
      this.failed = true;
      this.chunks.length = 0;
      this.target = null;
      this.reject(new BodyTooLargeError(this.maxBytes, { url: this.uri }));
      this.transport?.stopProducing();
      return;
    }
    const target = this.target;
    if (target !== null && this.total <= target.length) {
      // Bytes the connection read straight into our buffer are in place already.
      if (chunk.buffer !== target.buffer || chunk.byteOffset !== target.byteOffset + offset) chunk.copy(target, offset);
      return;
    }
    if (target === null && this.chunks.length === 1 && this.total <= this.expected) {
      // A second piece of a body of known length: from now on, copy into place.
      chunk.copy(this.startTarget(), offset);
      return;
    }
    if (target !== null) {
      // More bytes than announced cannot pass the parser; keep them anyway rather than lose them.
      this.chunks.push(target.subarray(0, offset));
      this.target = null;
    }
    const chunks = this.chunks;
    const last = chunks.length === 0 ? undefined : chunks[chunks.length - 1];
    if (last !== undefined && last.buffer === chunk.buffer && last.byteOffset + last.length === chunk.byteOffset) {
      // Neighbours in one buffer (the pieces of a chunked body read together): one view, no copy.
      chunks[chunks.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + chunk.length);
      return;
    }
    chunks.push(chunk);
  }

  /** Lets a connection read the rest of a body of known length straight into the result. */
  receiveBuffer(): Buffer | null {
    if (this.failed || this.expected <= 0 || this.expected > this.maxBytes) return null;
    const target = this.target ?? (this.chunks.length > 1 ? null : this.startTarget());
    return target !== null && this.total < target.length ? target.subarray(this.total) : null;
  }

  /** A buffer of the announced length, holding the one piece kept so far: later bytes go into place. */
  private startTarget(): Buffer {
    const target = Buffer.allocUnsafe(this.expected);
    if (this.chunks.length === 1) (this.chunks[0] as Buffer).copy(target, 0);
    this.chunks.length = 0;
    this.target = target;
    return target;
  }

  connectionLost(reason: BodyEndReason): void {
    if (this.failed) return;
    if (reason instanceof StrandError) {
      this.reject(reason);
    } else if (this.requireFraming && reason.name === 'PotentialDataLoss') {
      this.reject(new StrandError('STRAND_POTENTIAL_DATA_LOSS', 'the body was close-delimited; its completeness cannot be verified', { url: this.uri }));
    } else if (this.target !== null) {
      this.resolve(this.total === this.target.length ? this.target : this.target.subarray(0, this.total));
    } else {
      this.resolve(this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.total));
    }
  }
}

brand(Response, 'core.Response');
