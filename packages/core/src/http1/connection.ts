import type { Duplex } from 'node:stream';
import { type BodyConsumer, type BodyProducer, UNKNOWN_LENGTH } from '../message/producers.js';
import type { BodySink, BodySource } from '../message/body-pipe.js';
import { type Clock, systemClock } from '../time/clock.js';
import {
  CancelledError,
  ParseError,
  RequestGenerationFailedError,
  RequestTransmissionFailedError,
  ResponseDone,
  ResponseFailedError,
  ResponseNeverReceivedError,
  PotentialDataLoss,
  StrandError,
  TimeoutError,
} from '../errors.js';
import { Headers } from '../message/headers.js';
import { tlsError } from '../net/endpoints.js';
import type { ExchangeTimings, InformationalResponse } from '../message/exchange.js';
import { type ReadSink, directReadsOf } from '../net/direct-reads.js';
import { Response } from '../message/response.js';
import { DEFAULT_TIMEOUTS, type ResolvedTimeouts, type TimedExchange, sweeperFor } from '../time/timeouts.js';
import { type ParserLimits, type ResponseHead, type ResponseParserHandler, ResponseParser } from './parser.js';
import { CHUNKED_TERMINATOR, type PreparedRequest, chunkHeader, serializeHead } from './serializer.js';

/** Per-exchange options of {@link HTTP11Connection.request}. */
export interface ExchangeOptions {
  signal?: AbortSignal | undefined;
  onInformational?: ((info: InformationalResponse) => void) | undefined;
  /** Ask the server to close after this exchange (`Connection: close`); the connection is not reused. */
  connectionClose?: boolean | undefined;
  /** Override the request target (absolute-form for proxies). */
  target?: string | undefined;
  /** Phase timeouts; `sendIdle`, `headers`, `bodyIdle` and `total` are enforced here. */
  timeouts?: ResolvedTimeouts | undefined;
  /** When the exchange started (clock time), for the `total` timeout. Default: now. */
  startedAt?: number | undefined;
  /** Filled in as the exchange progresses. */
  timings?: ExchangeTimings | undefined;
}

/** Told about a connection's life; the pool is the usual owner. */
export interface ConnectionOwner {
  /** The exchange finished cleanly and the connection may carry another request. */
  connectionIdle(connection: HTTP11Connection): void;
  /** The connection is gone (closed by either side, or failed). Called once. */
  connectionClosed(connection: HTTP11Connection): void;
}

/**
 * The states of one HTTP/1.1 connection:
 *
 * - `idle`: connected, no exchange; reading only to notice a close or stray bytes (either closes it).
 * - `sending`: a request is being written; no response head yet.
 * - `waiting`: the request is written; waiting for the response head.
 * - `receiving`: the head arrived and the response was handed out; the body is being read (the
 *   request body may still be being written if the server answered early).
 * - `closed`: the socket is destroyed. Final.
 *
 * `request()` is only legal in `idle`. Any failure moves to `closed` and reports an error that
 * says where the exchange was: transmission, response never received, or response failed.
 */
export type ConnectionState = 'idle' | 'sending' | 'waiting' | 'receiving' | 'closed';

const CRLF = Buffer.from('\r\n', 'latin1');

/** One HTTP/1.1 connection over any connected Duplex: writes a request, reads its response. */
export class HTTP11Connection implements ResponseParserHandler, BodyConsumer, BodySource, TimedExchange, ReadSink {
  /** Where the connection is; see {@link ConnectionState}. */
  state: ConnectionState = 'idle';
  /** How many exchanges this connection has started (a value above 1 means it was reused). */
  exchanges = 0;
  /** The pool key this connection belongs to. */
  readonly key: string;
  /** When the connection last became idle (clock time), for pool housekeeping. */
  idleSince = 0;
  /** How long the server said it keeps an idle connection (`Keep-Alive: timeout=N`), in ms; Infinity if it did not say. */
  keepAliveHint = Infinity;

  private readonly socket: Duplex;
  private readonly parser: ResponseParser;
  private readonly owner: ConnectionOwner;
  private readonly clock: Clock;

  // The current exchange.
  private uri = '';
  private requestHeaders: Headers | null = null;
  private method = '';
  private resolveHead: ((response: Response) => void) | null = null;
  private rejectHead: ((error: unknown) => void) | null = null;
  /** The body of the response being received (from `bind`), or null. */
  private pipe: BodySink | null = null;
  /** The response just handed out, held only until the end of the socket read that produced it. */
  private currentResponse: Response | null = null;
  private producer: BodyProducer | null = null;
  private producerPaused = false;
  private bodyChunked = false;
  private bodyExpected = -1;
  private bodyWritten = 0;
  private requestDone = false;
  private closeAfter = false;
  private closeDelimited = false;
  private keepAlive = false;
  private messageComplete = false;
  private bytesReceived = 0;
  private signal: AbortSignal | null = null;
  private informationalCallback: ((info: InformationalResponse) => void) | null = null;
  /** The body consumer asked for no more bytes for now. */
  private readPaused = false;
  /** The socket itself is paused (done at the end of a read, so a body that completes in the same read never pauses it). */
  private socketPaused = false;
  /** Inside onData. */
  private reading = false;
  private socketError: Error | null = null;
  private timeouts: ResolvedTimeouts = DEFAULT_TIMEOUTS;
  private timed = false;
  private totalDeadline = Infinity;
  private headersDeadline = Infinity;
  private lastActivity = 0;
  /**
   * Send progress as the sweeper last saw it: bytes handed to the socket plus drains, and when
   * that count last moved (-1: not seen yet this exchange). Counting costs nothing per write; the
   * sweeper compares.
   */
  private sendProgress = 0;
  private sendProgressAt = -1;
  private drains = 0;
  private timings: ExchangeTimings | null = null;
  private watched = false;
  /**
   * The read being parsed when its bytes are not ours to keep (a view of the shared scratch
   * buffer): body bytes are copied out of it. Null otherwise.
   */
  private borrowedRead: Buffer | null = null;
  /** Where the body bytes of the borrowed read are copied, side by side; `arenaUsed` bytes are taken. */
  private arena: Buffer | null = null;
  private arenaUsed = 0;
  /** A fresh buffer the next body read may go into, handed to the consumer with the bytes. */
  private spare: Buffer | null = null;

  constructor(socket: Duplex, key: string, owner: ConnectionOwner, limits?: ParserLimits, clock: Clock = systemClock) {
    this.socket = socket;
    this.key = key;
    this.owner = owner;
    this.clock = clock;
    this.parser = new ResponseParser(this, limits);
    const reads = directReadsOf(socket);
    if (reads === undefined) socket.on('data', this.onData);
    else reads.attach(this);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
  }

  /** True when the connection can take a request now. */
  get isIdle(): boolean {
    return this.state === 'idle' && !this.socket.destroyed && this.socket.readable && this.socket.writable;
  }

  /**
   * Sends one request and resolves with the response once its head has arrived. Rejects with a
   * typed error saying where the exchange failed. Only legal when the connection is idle.
   */
  request(req: PreparedRequest, options: ExchangeOptions = {}): Promise<Response> {
    if (this.state !== 'idle') {
      return Promise.reject(new StrandError('STRAND_INVALID_STATE', `cannot start a request on a connection that is ${this.state}`));
    }
    const signal = options.signal ?? null;
    const uri = req.url.href;
    if (signal !== null && signal.aborted) {
      // Nothing was written: the connection is as good as it was.
      this.owner.connectionIdle(this);
      return Promise.reject(new CancelledError('request cancelled before it was sent', { url: uri, cause: signal.reason }));
    }
    this.exchanges++;
    this.state = 'sending';
    this.uri = uri;
    this.method = req.method;
    this.requestHeaders = req.headers;
    this.pipe = null;
    this.producer = null;
    this.producerPaused = false;
    this.bodyChunked = req.framing === 'chunked';
    this.bodyExpected = req.contentLength;
    this.bodyWritten = 0;
    this.requestDone = false;
    this.closeAfter = options.connectionClose === true || wantsClose(req.headers);
    this.closeDelimited = false;
    this.keepAlive = false;
    this.messageComplete = false;
    this.bytesReceived = 0;
    this.informationalCallback = options.onInformational ?? null;
    this.parser.reset(req.method);

    const promise = new Promise<Response>((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    if (signal !== null) {
      this.signal = signal;
      signal.addEventListener('abort', this.onAbort);
    }
    this.timings = options.timings ?? null;
    const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
    this.timeouts = timeouts;
    this.headersDeadline = Infinity;
    this.totalDeadline = (options.startedAt ?? this.clock.now()) + timeouts.total;
    const shortest = Math.min(timeouts.sendIdle, timeouts.headers, timeouts.bodyIdle, timeouts.total);
    this.timed = shortest !== Infinity;
    if (this.timed) sweeperFor(this.clock).add(this, shortest);

    const head = serializeHead(req, { connectionClose: this.closeAfter, ...(options.target === undefined ? {} : { target: options.target }) });
    const socket = this.socket;
    const body = req.body;
    if (body === null) {
      socket.write(head, 'latin1');
      this.requestWritten();
      return promise;
    }
    this.producer = body;
    this.sendProgressAt = -1;
    socket.cork();
    socket.write(head, 'latin1');
    let production: Promise<void>;
    try {
      production = body.startProducing(this);
    } catch (error) {
      production = Promise.reject(error);
    }
    socket.uncork();
    const exchange = this.exchanges;
    production.then(
      () => this.producerFinished(exchange, body),
      (error: unknown) => this.producerFailed(exchange, body, error),
    );
    return promise;
  }

  /** Closes the connection now. An exchange in progress fails as cancelled. */
  close(): void {
    if (this.state === 'closed') return;
    if (this.state === 'idle') this.teardown();
    else this.fail(new CancelledError('connection closed', { url: this.uri }));
  }

  // ---- BodyConsumer: the request body producer writes here ----

  write(chunk: Uint8Array): void {
    if (this.producer === null || this.state === 'closed' || this.requestDone) {
      throw new StrandError('STRAND_WRITE_AFTER_END', 'the request body can no longer be written');
    }
    const length = chunk.byteLength;
    if (length === 0) return;
    this.bodyWritten += length;
    const socket = this.socket;
    let flushed: boolean;
    if (this.bodyChunked) {
      socket.cork();
      socket.write(chunkHeader(length), 'latin1');
      socket.write(chunk);
      flushed = socket.write(CRLF);
      socket.uncork();
    } else {
      if (this.bodyWritten > this.bodyExpected) {
        this.failGeneration(`the body producer wrote more than its length of ${this.bodyExpected} bytes`, undefined);
        throw new StrandError('STRAND_WRITE_AFTER_END', 'the body producer wrote more than its length');
      }
      flushed = socket.write(chunk);
    }
    if (!flushed && !this.producerPaused) {
      this.producerPaused = true;
      this.producer.pauseProducing();
    }
  }

  // ---- ResponseParserHandler ----

  onInformational(head: ResponseHead): void {
    const callback = this.informationalCallback;
    if (callback !== null) callback({ code: head.code, phrase: head.phrase, headers: Headers.fromRaw(head.rawHeaders) });
  }

  onHead(head: ResponseHead): void {
    this.keepAlive = head.keepAlive;
    if (head.keepAlive) this.keepAliveHint = keepAliveTimeout(head.rawHeaders);
    this.closeDelimited = head.framing === 'close';
    const response = new Response({
      version: [head.versionMajor, head.versionMinor],
      code: head.code,
      phrase: head.phrase,
      headers: Headers.fromRaw(head.rawHeaders),
      length: head.framing === 'length' ? head.contentLength : head.framing === 'none' ? 0 : UNKNOWN_LENGTH,
      request: { method: this.method, uri: this.uri, headers: this.requestHeaders as Headers },
      bodySource: this,
    });
    response.timings = this.timings;
    this.state = 'receiving';
    // A head is only ever parsed inside onData, which has just read the clock.
    if (this.timings !== null) this.timings.head = this.lastActivity;
    this.currentResponse = response;
    const resolve = this.resolveHead;
    this.resolveHead = null;
    this.rejectHead = null;
    if (resolve !== null) resolve(response);
  }

  onBody(chunk: Buffer): void {
    const pipe = this.pipe as BodySink;
    const read = this.borrowedRead;
    if (read !== null) {
      // Bytes in the shared read buffer: copied into the consumer's own buffer when it offers
      // one (readBody would copy them there anyway), else next to the read's other body bytes.
      const window = pipe.receiveBuffer();
      if (window !== null && window.length >= chunk.length) {
        chunk.copy(window, 0);
        pipe.push(window.length === chunk.length ? window : window.subarray(0, chunk.length));
        return;
      }
      chunk = this.copyToArena(read, chunk);
    }
    pipe.push(chunk);
  }

  onTrailers(rawTrailers: string[]): void {
    (this.pipe as BodySink).trailers = Headers.fromRaw(rawTrailers);
  }

  onComplete(): void {
    this.messageComplete = true;
  }

  // ---- BodySource: the response's body pipe controls reading ----

  bind(sink: BodySink): void {
    // Called while onHead makes the response: this exchange's body goes there.
    this.pipe = sink;
  }

  pauseBody(): void {
    if (this.readPaused || this.state !== 'receiving') return;
    this.readPaused = true;
    // Inside a read the pause waits for its end: the message may complete in this very read.
    if (!this.reading) this.pauseSocket();
  }

  resumeBody(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.lastActivity = this.clock.now();
    this.resumeSocket();
  }

  private pauseSocket(): void {
    if (this.socketPaused) return;
    this.socketPaused = true;
    this.socket.pause();
  }

  private resumeSocket(): void {
    if (!this.socketPaused) return;
    this.socketPaused = false;
    if (this.state !== 'closed') this.socket.resume();
  }

  /** Fails the exchange if one of its deadlines has passed (called by the timeout sweeper). */
  checkTimeouts(now: number): void {
    switch (this.state) {
      case 'idle':
      case 'closed':
        return;
      case 'sending': {
        // Progress is a byte handed to the socket or the socket draining: a server that stopped
        // reading the body stops both (the producer is paused), and so does a stalled body source.
        const progress = this.bodyWritten + this.drains;
        if (this.sendProgressAt < 0 || progress !== this.sendProgress) {
          this.sendProgress = progress;
          this.sendProgressAt = now;
        } else if (now - this.sendProgressAt >= this.timeouts.sendIdle) {
          this.fail(new TimeoutError('sendIdle', this.timeouts.sendIdle, true, { url: this.uri }));
          return;
        }
        break;
      }
      case 'waiting':
        if (now >= this.headersDeadline) {
          this.fail(new TimeoutError('headers', this.timeouts.headers, true, { url: this.uri }));
          return;
        }
        break;
      case 'receiving':
        if (!this.readPaused && now - this.lastActivity >= this.timeouts.bodyIdle) {
          this.fail(new TimeoutError('bodyIdle', this.timeouts.bodyIdle, true, { url: this.uri }));
          return;
        }
        break;
    }
    if (now >= this.totalDeadline) this.fail(new TimeoutError('total', this.timeouts.total, true, { url: this.uri }));
  }

  stopBody(reason: StrandError): void {
    if (this.state === 'receiving') this.fail(reason);
  }

  bodyAttached(): void {
    // The body has a reader now: whether the caller keeps the Response no longer matters.
    this.currentResponse = null;
    this.unwatchAbandonment();
  }

  /**
   * A private copy of `piece`, a body piece of the borrowed `read`. The pieces of one read are
   * copied side by side into one buffer, big enough for the rest of the read: one allocation per
   * read rather than per chunk of a chunked body, and a consumer can join neighbours for free.
   */
  private copyToArena(read: Buffer, piece: Buffer): Buffer {
    let arena = this.arena;
    let used = this.arenaUsed;
    if (arena === null || used + piece.length > arena.length) {
      arena = this.arena = Buffer.allocUnsafe(read.byteOffset + read.length - piece.byteOffset);
      used = 0;
    }
    piece.copy(arena, used);
    this.arenaUsed = used + piece.length;
    return arena.subarray(used, used + piece.length);
  }

  // ---- ReadSink: a direct-read socket delivers here instead of 'data' events ----

  socketRead(chunk: Buffer, owned: boolean): void {
    const spare = this.spare;
    if (owned && spare !== null && chunk.buffer === spare.buffer) {
      // A read into the spare buffer: the consumer gets the buffer with the bytes, unless they
      // fill little of it; then they are copied out and the buffer serves the next read.
      if (chunk.length * 2 >= spare.length) this.spare = null;
      else owned = false;
    }
    if (owned) {
      this.onData(chunk);
      return;
    }
    this.borrowedRead = chunk;
    this.onData(chunk);
    this.borrowedRead = null;
    this.arena = null;
  }

  /**
   * While a body flows to its consumer, the next read goes straight to where the bytes will be
   * kept: into the consumer's own buffer when it offers one (readBody of a known length; never
   * past the body's end), else into a fresh buffer that the consumer then gets with the bytes
   * (Node's own way, without the copy out of the shared buffer).
   */
  readWindow(): Buffer | null {
    if (this.state !== 'receiving') return null;
    const pipe = this.pipe as BodySink;
    if (!pipe.flowing) return null;
    const remaining = this.parser.lengthRemaining; // 0 unless a Content-Length body is in progress
    if (remaining !== 0 && remaining < MIN_READ_WINDOW) return null;
    const own = pipe.receiveBuffer();
    const window = own !== null && own.length > 0 ? own : (this.spare ??= Buffer.allocUnsafeSlow(SPARE_READ_BYTES));
    return remaining !== 0 && window.length > remaining ? window.subarray(0, remaining) : window;
  }

  // ---- socket events (bound once per connection) ----

  private readonly onData = (chunk: Buffer): void => {
    switch (this.state) {
      case 'idle':
        // Bytes nobody asked for: the connection's framing can no longer be trusted.
        this.teardown();
        return;
      case 'sending':
      case 'waiting':
      case 'receiving': {
        this.bytesReceived += chunk.length;
        this.lastActivity = this.clock.now();
        let consumed: number;
        this.reading = true;
        try {
          consumed = this.parser.execute(chunk);
        } catch (error) {
          this.reading = false;
          this.fail(this.parseFailure(error));
          return;
        }
        this.reading = false;
        if (this.messageComplete) {
          this.currentResponse = null;
          this.completeExchange(consumed === chunk.length);
          return;
        }
        if (this.state !== 'receiving') return;
        if (this.readPaused) this.pauseSocket();
        if (!this.watched && this.pipe !== null && !this.pipe.attached) this.watchAbandonment();
        return;
      }
      case 'closed':
        return;
    }
  };

  private readonly onEnd = (): void => {
    switch (this.state) {
      case 'idle':
        this.teardown();
        return;
      case 'sending':
      case 'waiting':
      case 'receiving':
        this.lastActivity = this.clock.now();
        try {
          this.parser.finish();
        } catch (error) {
          this.fail(error instanceof ParseError && error.kind === 'UNEXPECTED_EOF' ? null : this.parseFailure(error));
          return;
        }
        if (this.messageComplete) this.completeExchange(false);
        else this.fail(null);
        return;
      case 'closed':
        return;
    }
  };

  private readonly onError = (error: Error): void => {
    if (this.socketError === null) this.socketError = error;
  };

  private readonly onClose = (): void => {
    if (this.state === 'closed') return;
    if (this.state === 'idle') this.teardown();
    else this.fail(null);
  };

  private readonly onDrain = (): void => {
    this.drains++;
    if (!this.producerPaused) return;
    this.producerPaused = false;
    this.producer?.resumeProducing();
  };

  private readonly onAbort = (): void => {
    if (this.state === 'idle' || this.state === 'closed') return;
    const signal = this.signal;
    this.fail(new CancelledError(this.state === 'receiving' ? 'request cancelled while reading the body' : 'request cancelled', { url: this.uri, cause: signal?.reason }));
  };

  // ---- exchange bookkeeping ----

  private requestWritten(): void {
    this.requestDone = true;
    this.producer = null;
    if (this.state === 'sending') this.state = 'waiting';
    if (this.timed || this.timings !== null) {
      const now = this.clock.now();
      this.headersDeadline = now + this.timeouts.headers;
      if (this.timings !== null) this.timings.sent = now;
    }
  }

  private producerFinished(exchange: number, producer: BodyProducer): void {
    if (exchange !== this.exchanges || this.producer !== producer || this.state === 'closed') return;
    if (!this.bodyChunked && this.bodyWritten !== this.bodyExpected) {
      this.failGeneration(`the body producer wrote ${this.bodyWritten} bytes but declared ${this.bodyExpected}`, undefined);
      return;
    }
    if (this.bodyChunked) this.socket.write(CHUNKED_TERMINATOR);
    this.requestWritten();
  }

  private producerFailed(exchange: number, producer: BodyProducer, error: unknown): void {
    if (exchange !== this.exchanges || this.producer !== producer || this.state === 'closed') return;
    this.failGeneration('request generation failed: the body producer failed', error);
  }

  private failGeneration(message: string, cause: unknown): void {
    this.fail(new RequestGenerationFailedError(message, { url: this.uri, cause }));
  }

  private parseFailure(error: unknown): StrandError {
    if (error instanceof ParseError) return new ParseError(error.kind, error.message, { url: this.uri, cause: error, ...(error.offset === undefined ? {} : { offset: error.offset }) });
    if (error instanceof StrandError) return error;
    return new ResponseFailedError('the response handler threw', { url: this.uri, cause: error });
  }

  /** The response message is complete; `clean` is false when stray bytes followed it. */
  private completeExchange(clean: boolean): void {
    const pipe = this.pipe as BodySink;
    const reusable = clean && this.keepAlive && !this.closeDelimited && !this.closeAfter && this.requestDone;
    if (!this.requestDone) {
      // The server answered before the request body was written: stop sending; the connection's
      // framing is unknown now, so it is closed below.
      this.stopProducer();
    }
    // Only a read or the end of the stream completes an exchange, and both have just read the clock.
    this.endExchange(this.lastActivity);
    this.pipe = null;
    if (reusable) {
      this.state = 'idle';
      this.idleSince = this.lastActivity;
      this.readPaused = false;
      this.resumeSocket();
    } else {
      this.teardown();
    }
    pipe.end(this.closeDelimited ? new PotentialDataLoss() : new ResponseDone());
    if (reusable && this.state === 'idle') this.owner.connectionIdle(this);
  }

  /**
   * Fails the exchange in progress and closes the connection. `error` null means the connection
   * was lost; the error is then chosen by how far the exchange got.
   */
  private fail(error: StrandError | null): void {
    if (this.state === 'closed') return;
    const state = this.state;
    const cause = this.socketError ?? undefined;
    let reason: StrandError;
    if (error !== null) {
      reason = error;
    } else if (state !== 'receiving' && this.bytesReceived === 0 && isTLSFailure(this.socketError)) {
      // TLS 1.3 servers reject a missing client certificate only after the handshake: the
      // alert arrives as the first thing we read.
      reason = tlsError(this.socketError, this.uri);
    } else if (state === 'sending') {
      reason = new RequestTransmissionFailedError('the connection was lost while sending the request', { url: this.uri, cause });
    } else if (state === 'waiting') {
      reason = new ResponseNeverReceivedError(
        this.bytesReceived === 0 ? 'the connection closed before any response was received' : 'the connection closed in the middle of the response head',
        this.bytesReceived,
        { url: this.uri, cause },
      );
    } else {
      reason = new ResponseFailedError('the connection was lost before the response body was complete', { url: this.uri, cause });
    }
    this.stopProducer();
    this.endExchange();
    const pipe = this.pipe;
    const reject = this.rejectHead;
    this.pipe = null;
    this.resolveHead = null;
    this.rejectHead = null;
    this.teardown();
    if (reject !== null) reject(reason);
    if (pipe !== null) pipe.end(reason);
  }

  private stopProducer(): void {
    const producer = this.producer;
    this.producer = null;
    if (producer === null) return;
    try {
      producer.stopProducing();
    } catch {
      // A producer failing to stop changes nothing: the exchange is over.
    }
  }

  /** Releases what the exchange held: the abort listener, the timeout registration, the GC watch, the spare read buffer. */
  private endExchange(now?: number): void {
    this.spare = null;
    const signal = this.signal;
    if (signal !== null) {
      this.signal = null;
      signal.removeEventListener('abort', this.onAbort);
    }
    if (this.timed) {
      this.timed = false;
      sweeperFor(this.clock).delete(this);
    }
    this.unwatchAbandonment();
    if (this.timings !== null) {
      this.timings.end = now ?? this.clock.now();
      this.timings = null;
    }
  }

  /**
   * The response was handed out with its body still on the socket and nobody reading it. If the
   * caller drops the response without reading, close the connection when the response is
   * garbage-collected rather than pinning the socket for ever.
   */
  private watchAbandonment(): void {
    this.watched = true;
    // The registry holds the response weakly; the connection only holds the pipe.
    abandonedBodies.register(this.currentResponse as Response, { connection: this, exchange: this.exchanges }, this);
    this.currentResponse = null;
  }

  private unwatchAbandonment(): void {
    if (!this.watched) return;
    this.watched = false;
    abandonedBodies.unregister(this);
  }

  /** @internal Called when the response of `exchange` was garbage-collected unread. */
  abandoned(exchange: number): void {
    // A body with a consumer is never cancelled behind its back (the watch ends when one attaches).
    if (exchange !== this.exchanges || this.state !== 'receiving' || !this.watched) return;
    this.watched = false;
    this.fail(new CancelledError('the response was dropped without reading its body', { url: this.uri }));
  }

  private teardown(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.socket.destroy();
    this.owner.connectionClosed(this);
  }
}

/** A body this close to its end is not worth a read of its own into the consumer's buffer. */
const MIN_READ_WINDOW = 4096;
/** Size of a connection's spare read buffer: one socket read (libuv's usual 64 KiB). */
const SPARE_READ_BYTES = 64 * 1024;

const abandonedBodies = new FinalizationRegistry<{ connection: HTTP11Connection; exchange: number }>((held) => {
  held.connection.abandoned(held.exchange);
});

/** Whether the caller's own headers ask for `Connection: close`. */
function wantsClose(headers: Headers): boolean {
  const value = headers.get('connection');
  return value !== undefined && /(?:^|,)\s*close\s*(?:,|$)/i.test(value);
}

/** The `timeout=N` of a `Keep-Alive` response header, in ms; Infinity when absent or invalid. */
export function keepAliveTimeout(rawHeaders: readonly string[]): number {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length !== 10 || name.toLowerCase() !== 'keep-alive') continue;
    const match = /(?:^|[,;\s])timeout\s*=\s*"?(\d{1,9})"?/i.exec(rawHeaders[i + 1] as string);
    if (match !== null) return Number(match[1]) * 1000;
  }
  return Infinity;
}

function isTLSFailure(error: Error | null): error is Error {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_SSL_');
}
