import type { Duplex } from 'node:stream';
import { type BodyConsumer, type BodyProducer, UNKNOWN_LENGTH } from '../body.js';
import type { BodySource } from '../body-pipe.js';
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
} from '../errors.js';
import { Headers } from '../headers.js';
import { Response } from '../response.js';
import { type ParserLimits, type ResponseHead, type ResponseParserHandler, ResponseParser } from './parser.js';
import { CHUNKED_TERMINATOR, type PreparedRequest, chunkHeader, serializeHead } from './serializer.js';

/** An interim (1xx) response, reported through {@link ExchangeOptions.onInformational}. */
export interface InformationalResponse {
  readonly code: number;
  readonly phrase: string;
  readonly headers: Headers;
}

/** Per-exchange options of {@link HTTP11Connection.request}. */
export interface ExchangeOptions {
  signal?: AbortSignal | undefined;
  onInformational?: ((info: InformationalResponse) => void) | undefined;
  /** Ask the server to close after this exchange (`Connection: close`); the connection is not reused. */
  connectionClose?: boolean | undefined;
  /** Override the request target (absolute-form for proxies). */
  target?: string | undefined;
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
export class HTTP11Connection implements ResponseParserHandler, BodyConsumer, BodySource {
  /** Where the connection is; see {@link ConnectionState}. */
  state: ConnectionState = 'idle';
  /** How many exchanges this connection has started (a value above 1 means it was reused). */
  exchanges = 0;
  /** The pool key this connection belongs to. */
  readonly key: string;
  /** When the connection last became idle (ms since the epoch), for pool housekeeping. */
  idleSince = 0;

  private readonly socket: Duplex;
  private readonly parser: ResponseParser;
  private readonly owner: ConnectionOwner;

  // The current exchange.
  private uri = '';
  private requestHeaders: Headers | null = null;
  private method = '';
  private resolveHead: ((response: Response) => void) | null = null;
  private rejectHead: ((error: unknown) => void) | null = null;
  private response: Response | null = null;
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
  private readPaused = false;
  private socketError: Error | null = null;

  constructor(socket: Duplex, key: string, owner: ConnectionOwner, limits?: ParserLimits) {
    this.socket = socket;
    this.key = key;
    this.owner = owner;
    this.parser = new ResponseParser(this, limits);
    socket.on('data', this.onData);
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
    this.response = null;
    this.producer = null;
    this.producerPaused = false;
    this.bodyChunked = req.framing === 'chunked';
    this.bodyExpected = req.contentLength;
    this.bodyWritten = 0;
    this.requestDone = false;
    this.closeAfter = options.connectionClose === true;
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

    const head = serializeHead(req, { connectionClose: this.closeAfter, ...(options.target === undefined ? {} : { target: options.target }) });
    const socket = this.socket;
    const body = req.body;
    if (body === null) {
      socket.write(head, 'latin1');
      this.requestWritten();
      return promise;
    }
    this.producer = body;
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
    this.response = response;
    this.state = 'receiving';
    const resolve = this.resolveHead;
    this.resolveHead = null;
    this.rejectHead = null;
    if (resolve !== null) resolve(response);
  }

  onBody(chunk: Buffer): void {
    (this.response as Response)._pipe.push(chunk);
  }

  onTrailers(rawTrailers: string[]): void {
    (this.response as Response).trailers = Headers.fromRaw(rawTrailers);
  }

  onComplete(): void {
    this.messageComplete = true;
  }

  // ---- BodySource: the response's body pipe controls reading ----

  pauseBody(): void {
    if (this.readPaused || this.state !== 'receiving') return;
    this.readPaused = true;
    this.socket.pause();
  }

  resumeBody(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    if (this.state !== 'closed') this.socket.resume();
  }

  stopBody(reason: StrandError): void {
    if (this.state === 'receiving') this.fail(reason);
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
        let consumed: number;
        try {
          consumed = this.parser.execute(chunk);
        } catch (error) {
          this.fail(this.parseFailure(error));
          return;
        }
        if (this.messageComplete) this.completeExchange(consumed === chunk.length);
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
    const response = this.response as Response;
    const reusable = clean && this.keepAlive && !this.closeDelimited && !this.closeAfter && this.requestDone;
    if (!this.requestDone) {
      // The server answered before the request body was written: stop sending; the connection's
      // framing is unknown now, so it is closed below.
      this.stopProducer();
    }
    this.detachSignal();
    this.response = null;
    if (reusable) {
      this.state = 'idle';
      this.idleSince = Date.now();
      if (this.readPaused) {
        this.readPaused = false;
        this.socket.resume();
      }
    } else {
      this.teardown();
    }
    response._pipe.end(this.closeDelimited ? new PotentialDataLoss() : new ResponseDone());
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
    this.detachSignal();
    const response = this.response;
    const reject = this.rejectHead;
    this.response = null;
    this.resolveHead = null;
    this.rejectHead = null;
    this.teardown();
    if (reject !== null) reject(reason);
    if (response !== null) response._pipe.end(reason);
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

  private detachSignal(): void {
    const signal = this.signal;
    if (signal === null) return;
    this.signal = null;
    signal.removeEventListener('abort', this.onAbort);
  }

  private teardown(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.socket.destroy();
    this.owner.connectionClosed(this);
  }
}
