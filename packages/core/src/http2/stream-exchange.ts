/**
 * One request and its response on one HTTP/2 stream: the body written from its producer with
 * back-pressure, the response head made into a core `Response`, the body fed to its pipe with
 * flow control (pausing the body stops reading the stream, so the peer's window closes), the
 * phase timeouts, cancellation as `RST_STREAM(CANCEL)`, and a typed error for every failure.
 *
 * @packageDocumentation
 */

import * as http2 from 'node:http2';
import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { RequestOptions } from '../agent.js';
import {
  CancelledError,
  ParseError,
  RequestGenerationFailedError,
  RequestNotSentError,
  RequestTransmissionFailedError,
  ResponseDone,
  ResponseFailedError,
  ResponseNeverReceivedError,
  type StrandError,
  TimeoutError,
} from '../errors.js';
import type { BodySink, BodySource } from '../message/body-pipe.js';
import type { ExchangeTimings } from '../message/exchange.js';
import type { BodyConsumer, BodyProducer } from '../message/producers.js';
import { UNKNOWN_LENGTH } from '../message/producers.js';
import { Response } from '../message/response.js';
import type { Headers } from '../message/headers.js';
import type { PreparedRequest } from '../http1/serializer.js';
import { DEFAULT_EXPECT_CONTINUE_TIMEOUT, wantsContinue } from '../http1/connection.js';
import type { Clock } from '../time/clock.js';
import { type ResolvedTimeouts, type TimedExchange, sweeperFor } from '../time/timeouts.js';
import { type DiagnosticsRequest, diagnostics, reported } from '../diagnostics.js';
import { brand } from '../brand.js';
import { fieldsFromObject, fieldsFromRaw } from './fields.js';
import type { H2Session } from './session.js';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** RFC 9113 §7 error codes by value, for messages. */
const ERROR_NAMES: readonly string[] = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

/** The name of an HTTP/2 error code, e.g. `INTERNAL_ERROR (0x2)`. */
export function h2ErrorName(code: number): string {
  return `${ERROR_NAMES[code] ?? 'UNKNOWN'} (0x${code.toString(16)})`;
}

/**
 * The peer certainly did not process the request (REFUSED_STREAM, or a stream above a GOAWAY's
 * last stream id, or never sent): the agent sends it again on another session, whatever its
 * method. Reported to the caller only when it cannot be sent again.
 */
export class UnprocessedRequestError extends RequestNotSentError {
  /** True when the request's body had started: it can be sent again only if replayable. */
  readonly bodyStarted: boolean;

  constructor(message: string, bodyStarted: boolean, options?: { url?: string; cause?: unknown }) {
    super(message, options, 'STRAND_H2_UNPROCESSED');
    this.bodyStarted = bodyStarted;
  }
}

/** What one exchange is given by the agent. */
export interface H2ExchangeInit {
  readonly prepared: PreparedRequest;
  readonly fields: OutgoingHttpHeaders;
  readonly options: RequestOptions;
  readonly timeouts: ResolvedTimeouts;
  readonly timings: ExchangeTimings;
  readonly diag: DiagnosticsRequest | null;
  readonly clock: Clock;
  /** Largest response head (and trailer section) accepted, in bytes as RFC 9113 §6.5.2 counts them. */
  readonly maxHeaderBytes: number;
}

/** The response `length`: 0 when there is no body, the `content-length` when valid, else unknown. */
function lengthOf(method: string, code: number, headers: Headers, endStream: boolean): number | typeof UNKNOWN_LENGTH {
  if (endStream || method === 'HEAD' || code === 204 || code === 304) return 0;
  const value = headers.get('content-length');
  if (value !== undefined && /^\d{1,15}$/.test(value)) return Number(value);
  return UNKNOWN_LENGTH;
}

/**
 * One exchange on one stream.
 *
 * States: `sending` (stream open, request body being written — or held until the server's 100
 * with `Expect: 100-continue` — no head yet) -> `waiting`
 * (request complete, no head yet) -> `receiving` (head arrived; the request body may still be
 * going out) -> `done` (the body ended complete) | `failed` (any failure; the stream is reset
 * with CANCEL if it is still open). `sending` -> `receiving` directly when the server answers
 * before the request body is complete.
 */
export class H2Exchange implements BodySource, BodyConsumer, TimedExchange {
  private state: 'sending' | 'waiting' | 'receiving' | 'done' | 'failed' = 'sending';
  private readonly init: H2ExchangeInit;
  private readonly url: string;
  private readonly clock: Clock;
  private readonly session: H2Session;
  private stream: ClientHttp2Stream | null = null;
  private resolveHead: ((response: Response) => void) | null = null;
  private rejectHead: ((error: unknown) => void) | null = null;
  private sink: BodySink | null = null;
  private readonly timed: boolean;
  // Request body.
  private producer: BodyProducer | null;
  private requestDone = false;
  private bodyStarted = false;
  private written = 0;
  private drains = 0;
  private producerPaused = false;
  private sendProgress = -1;
  private sendProgressAt = -1;
  /** `Expect: 100-continue`: how long the body waits for the server's 100 (Infinity: it does not wait). */
  private readonly continueWait: number;
  /** While the body waits for a 100: when it is sent anyway, clock ms; -1 otherwise. */
  private continueDeadline = -1;
  // Response.
  private headersDeadline = Infinity;
  private readonly totalDeadline: number;
  private reading = false;
  private readPaused = false;
  private lastActivity: number;
  private bytesReceived = 0;
  private streamError: Error | null = null;
  private watched = false;
  /** Settles when the body producer's run has settled (at once without a body): a replay may start then. */
  bodySettled: Promise<void> = Promise.resolve();

  constructor(session: H2Session, init: H2ExchangeInit) {
    this.session = session;
    this.init = init;
    this.clock = init.clock;
    this.url = init.prepared.url.href;
    this.producer = init.prepared.body;
    const t = init.timeouts;
    this.totalDeadline = t.total === Infinity ? Infinity : init.timings.start + t.total;
    this.continueWait = init.prepared.body !== null && wantsContinue(init.prepared.headers) ? (init.options.expectContinueTimeout ?? DEFAULT_EXPECT_CONTINUE_TIMEOUT) : Infinity;
    this.timed = Math.min(t.sendIdle, t.headers, t.bodyIdle, t.total, this.continueWait) !== Infinity;
    this.lastActivity = this.clock.now();
  }

  /** Opens the stream (on the slot reserved for it) and sends the request; resolves with the response once its head arrived. */
  start(): Promise<Response> {
    const { options, diag } = this.init;
    const signal = options.signal;
    if (signal?.aborted === true) {
      this.session.unreserve();
      return Promise.reject(new CancelledError('request cancelled', { url: this.url, cause: signal.reason }));
    }
    const producer = this.producer;
    let stream: ClientHttp2Stream;
    try {
      stream = this.session.open(this.init.fields, producer === null);
    } catch (error) {
      // The session stopped taking streams between the pick and now: nothing was sent.
      return Promise.reject(new UnprocessedRequestError('the HTTP/2 session took no new stream', false, { url: this.url, cause: error }));
    }
    this.stream = stream;
    const promise = new Promise<Response>((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    stream.on('response', this.onResponse);
    stream.on('headers', this.onInformational);
    stream.on('trailers', this.onTrailers);
    stream.on('end', this.onEnd);
    stream.on('error', this.onError);
    stream.on('close', this.onClose);
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (this.timed) sweeperFor(this.clock).add(this, Math.min(this.init.timeouts.sendIdle, this.init.timeouts.headers, this.init.timeouts.bodyIdle, this.init.timeouts.total, this.continueWait));
    if (diag !== null && diagnostics.sendHeaders.hasSubscribers) diagnostics.sendHeaders.publish({ request: diag, headers: headBlockText(this.init.fields) });
    if (producer === null) {
      this.requestSent();
    } else {
      stream.on('drain', this.onDrain);
      if (this.continueWait === Infinity) {
        this.startBody(producer);
      } else {
        // Expect: 100-continue: the body waits for the server's 100, or its timeout; a final answer first means it is never sent.
        this.continueDeadline = this.clock.now() + this.continueWait;
        stream.once('continue', this.sendHeldBody);
      }
    }
    return promise;
  }

  /** True once the request body started (a 417 answer to a request whose body started can be sent again only with a replayable body). */
  get started(): boolean {
    return this.bodyStarted;
  }

  private startBody(producer: BodyProducer): void {
    this.bodyStarted = true;
    let started: Promise<void>;
    try {
      started = producer.startProducing(this);
    } catch (error) {
      started = Promise.reject(error);
    }
    started.then(this.produced, this.produceFailed);
    this.bodySettled = started.then(noop, noop);
  }

  /** The server's 100 arrived, or the wait for it ran out: the held body goes. */
  private readonly sendHeldBody = (): void => {
    if (this.continueDeadline < 0) return;
    this.continueDeadline = -1;
    const producer = this.producer;
    if (producer !== null && (this.state === 'sending' || this.state === 'receiving')) this.startBody(producer);
  };

  // ---- BodyConsumer: the request body ----

  write(chunk: Uint8Array): void {
    const stream = this.stream;
    if (stream === null || this.state === 'failed' || this.state === 'done' || this.requestDone) {
      throw new RequestGenerationFailedError('the request is over: the body producer wrote after it ended', { url: this.url });
    }
    if (chunk.byteLength === 0) return;
    const expected = this.init.prepared.framing === 'length' ? this.init.prepared.contentLength : -1;
    this.written += chunk.byteLength;
    if (expected >= 0 && this.written > expected) {
      const error = new RequestGenerationFailedError(`the body producer wrote more than its length of ${expected} bytes`, { url: this.url });
      this.fail(error);
      throw error;
    }
    if (stream.destroyed || stream.writableEnded) return;
    if (!stream.write(chunk) && !this.producerPaused) {
      this.producerPaused = true;
      this.producer?.pauseProducing();
    }
  }

  private readonly onDrain = (): void => {
    this.drains++;
    if (!this.producerPaused) return;
    this.producerPaused = false;
    this.producer?.resumeProducing();
  };

  private readonly produced = (): void => {
    if (this.requestDone || this.state === 'failed' || this.state === 'done') return;
    const expected = this.init.prepared.framing === 'length' ? this.init.prepared.contentLength : -1;
    if (expected >= 0 && this.written !== expected) {
      this.fail(new RequestGenerationFailedError(`the body producer wrote ${this.written} bytes but its length is ${expected}`, { url: this.url }));
      return;
    }
    const stream = this.stream as ClientHttp2Stream;
    if (!stream.destroyed && !stream.writableEnded) stream.end();
    this.requestSent();
  };

  private readonly produceFailed = (cause: unknown): void => {
    if (this.state === 'failed' || this.state === 'done') return;
    this.fail(cause instanceof RequestGenerationFailedError ? cause : new RequestGenerationFailedError('the body producer failed', { url: this.url, cause }));
  };

  /** The whole request was handed to the stream. */
  private requestSent(): void {
    this.requestDone = true;
    this.producer = null;
    const now = this.clock.now();
    const { timings, diag, timeouts } = this.init;
    timings.sent = now;
    if (diag !== null && diagnostics.bodySent.hasSubscribers) diagnostics.bodySent.publish({ request: diag });
    if (this.state === 'sending') {
      this.state = 'waiting';
      this.headersDeadline = timeouts.headers === Infinity ? Infinity : now + timeouts.headers;
    }
  }

  // ---- The response ----

  private readonly onInformational = (headers: IncomingHttpHeaders, _flags: number, raw?: string[]): void => {
    const code = Number(headers[':status']);
    const callback = this.init.options.onInformational;
    if (callback === undefined || !(code >= 100 && code < 200) || code === 101) return;
    try {
      callback({ code, phrase: '', headers: raw === undefined ? fieldsFromObject(headers) : fieldsFromRaw(raw) });
    } catch (cause) {
      this.fail(new ResponseFailedError('the onInformational callback threw', { url: this.url, cause }));
    }
  };

  private readonly onResponse = (headers: IncomingHttpHeaders, flags: number, raw?: string[]): void => {
    if (this.state !== 'sending' && this.state !== 'waiting') return;
    const now = this.clock.now();
    this.lastActivity = now;
    const { prepared, timings, diag, options } = this.init;
    const code = Number(headers[':status']);
    const fields = raw === undefined ? fieldsFromObject(headers) : fieldsFromRaw(raw);
    if (fieldSectionSize(fields) > this.init.maxHeaderBytes) {
      this.fail(new ParseError('HEADERS_TOO_LARGE', `the response head is larger than ${this.init.maxHeaderBytes} bytes (maxHeaderBytes)`, { url: this.url }));
      return;
    }
    const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    if (this.continueDeadline >= 0) {
      // A final answer while the body waited for a 100: the body is never sent (the stream is cancelled once the response ends).
      this.continueDeadline = -1;
      this.producer = null;
    }
    this.state = 'receiving';
    const response = new Response({
      version: [2, 0],
      code,
      phrase: '',
      headers: fields,
      length: lengthOf(prepared.method, code, fields, endStream),
      request: { method: prepared.method, uri: this.url, headers: prepared.headers },
      bodySource: this,
    });
    response.timings = timings;
    timings.head = now;
    if (diag !== null && diagnostics.headers.hasSubscribers) diagnostics.headers.publish({ request: diag, response });
    if (options.onHead !== undefined) {
      try {
        options.onHead({ version: response.version, code, phrase: '', headers: fields, url: this.url });
      } catch (cause) {
        this.fail(new ResponseFailedError('the onHead callback threw', { url: this.url, cause }));
        return;
      }
    }
    const resolve = this.resolveHead;
    this.resolveHead = null;
    this.rejectHead = null;
    if (endStream) {
      // No body: it is complete now; let the stream finish on its own.
      (this.stream as ClientHttp2Stream).resume();
      this.complete();
    } else {
      this.watched = true;
      abandonedBodies.register(response, this, this);
    }
    resolve?.(response);
  };

  private readonly onData = (chunk: Buffer): void => {
    this.bytesReceived += chunk.length;
    this.lastActivity = this.clock.now();
    this.sink?.push(chunk);
  };

  private readonly onTrailers = (headers: IncomingHttpHeaders): void => {
    const sink = this.sink;
    if (sink === null || this.state !== 'receiving') return;
    const trailers = fieldsFromObject(headers);
    if (fieldSectionSize(trailers) > this.init.maxHeaderBytes) {
      this.fail(new ParseError('HEADERS_TOO_LARGE', `the trailer section is larger than ${this.init.maxHeaderBytes} bytes (maxHeaderBytes)`, { url: this.url }));
      return;
    }
    sink.trailers = trailers;
  };

  private readonly onEnd = (): void => {
    if (this.state !== 'receiving') return;
    // Node ends the readable side of a reset stream too: a reset is a loss, not an end.
    const rst = (this.stream as ClientHttp2Stream).rstCode;
    if (rst !== undefined && rst !== 0) this.fail(this.lostReason());
    else this.complete();
  };

  /** The body ended complete. */
  private complete(): void {
    this.state = 'done';
    const { diag } = this.init;
    const sink = this.sink as BodySink;
    const stream = this.stream as ClientHttp2Stream;
    // The server answered before the request body was complete: stop sending it.
    if (!this.requestDone && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
    this.release();
    if (diag !== null && diagnostics.trailers.hasSubscribers) diagnostics.trailers.publish({ request: diag, trailers: sink.trailers });
    sink.end(new ResponseDone());
  }

  private readonly onError = (error: Error): void => {
    this.streamError ??= error;
  };

  private readonly onClose = (): void => {
    const state = this.state;
    if (state === 'done' || state === 'failed') return;
    // A stream that closes cleanly after its response ended gives 'end' first; anything else is a loss.
    this.fail(this.lostReason());
  };

  private readonly onAbort = (): void => {
    const signal = this.init.options.signal;
    this.fail(new CancelledError(this.state === 'receiving' ? 'request cancelled while its body was read' : 'request cancelled', { url: this.url, cause: signal?.reason }));
  };

  /** Why the stream was lost, by how far the exchange got and what the peer said. */
  private lostReason(): StrandError {
    const stream = this.stream as ClientHttp2Stream;
    const cause = this.streamError ?? undefined;
    const rst = stream.rstCode;
    if (this.state !== 'receiving' && (rst === NGHTTP2_REFUSED_STREAM || this.session.unprocessed(stream))) {
      const why = rst === NGHTTP2_REFUSED_STREAM ? 'the server refused the stream (REFUSED_STREAM)' : 'the server closed the session (GOAWAY) before it processed this stream';
      return new UnprocessedRequestError(why, this.bodyStarted, { url: this.url, cause });
    }
    const said = rst !== undefined && rst !== 0 ? `the stream was reset with ${h2ErrorName(rst)}` : 'the HTTP/2 stream closed';
    switch (this.state) {
      case 'sending':
        return new RequestTransmissionFailedError(`${said} while the request was sent`, { url: this.url, cause });
      case 'waiting':
        return new ResponseNeverReceivedError(`${said} before the response head arrived`, 0, { url: this.url, cause });
      default:
        return new ResponseFailedError(`${said} before the response body was complete`, { url: this.url, cause });
    }
  }

  // ---- BodySource: the response's body pipe ----

  bind(sink: BodySink): void {
    this.sink = sink;
  }

  pauseBody(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    if (this.reading) this.stream?.pause();
  }

  resumeBody(): void {
    const stream = this.stream;
    if (stream === null || this.state !== 'receiving') return;
    this.readPaused = false;
    this.lastActivity = this.clock.now();
    if (!this.reading) {
      this.reading = true;
      stream.on('data', this.onData);
    }
    stream.resume();
  }

  stopBody(reason: StrandError): void {
    if (this.state === 'receiving') this.fail(reason);
  }

  bodyAttached(): void {
    this.unwatch();
  }

  /** @internal The response was garbage-collected with its body unread. */
  abandoned(): void {
    if (!this.watched || this.state !== 'receiving') return;
    this.watched = false;
    this.fail(new CancelledError('the response was dropped without reading its body', { url: this.url }));
  }

  // ---- Timeouts ----

  checkTimeouts(now: number): void {
    const t = this.init.timeouts;
    switch (this.state) {
      case 'sending': {
        if (this.continueDeadline >= 0) {
          // No 100 in time: send the body anyway (the server may not know the expectation).
          if (now >= this.continueDeadline) this.sendHeldBody();
          break;
        }
        const progress = this.written + this.drains;
        if (this.sendProgressAt < 0 || progress !== this.sendProgress) {
          this.sendProgress = progress;
          this.sendProgressAt = now;
        } else if (now - this.sendProgressAt >= t.sendIdle) {
          this.fail(new TimeoutError('sendIdle', t.sendIdle, true, { url: this.url }));
          return;
        }
        break;
      }
      case 'waiting':
        if (now >= this.headersDeadline) {
          this.fail(new TimeoutError('headers', t.headers, true, { url: this.url }));
          return;
        }
        break;
      case 'receiving':
        if (this.reading && !this.readPaused && now - this.lastActivity >= t.bodyIdle) {
          this.fail(new TimeoutError('bodyIdle', t.bodyIdle, true, { url: this.url }));
          return;
        }
        break;
      default:
        return;
    }
    if (now >= this.totalDeadline) this.fail(new TimeoutError('total', t.total, true, { url: this.url }));
  }

  // ---- Ending ----

  /** Fails the exchange: the stream is reset (CANCEL) if open, the producer stopped, the caller told once. */
  private fail(reason: StrandError): void {
    const state = this.state;
    if (state === 'done' || state === 'failed') return;
    this.state = 'failed';
    this.release();
    const stream = this.stream;
    if (stream !== null && !stream.destroyed) {
      stream.close(NGHTTP2_CANCEL);
      // Node holds a closed stream open until its unread data is read: drop it now.
      stream.destroy();
    }
    const { diag } = this.init;
    if (diag !== null && diagnostics.error.hasSubscribers && !(reason instanceof UnprocessedRequestError)) {
      diagnostics.error.publish({ request: diag, error: reason });
      reported.add(reason);
    }
    const reject = this.rejectHead;
    this.resolveHead = null;
    this.rejectHead = null;
    if (reject !== null) reject(reason);
    else this.sink?.end(reason);
  }

  /** Releases what the exchange holds: the producer, the abort listener, the timeout registration, the GC watch. */
  private release(): void {
    const producer = this.producer;
    this.producer = null;
    if (producer !== null && !this.requestDone) producer.stopProducing();
    this.init.options.signal?.removeEventListener('abort', this.onAbort);
    if (this.timed) sweeperFor(this.clock).delete(this);
    this.unwatch();
    this.init.timings.end = this.clock.now();
  }

  private unwatch(): void {
    if (!this.watched) return;
    this.watched = false;
    abandonedBodies.unregister(this);
  }
}

function noop(): void {}

/** A field section's size as RFC 9113 §6.5.2 counts it: each field's name and value, plus 32. */
function fieldSectionSize(fields: Headers): number {
  let size = 0;
  for (const [name, value] of fields) size += name.length + value.length + 32;
  return size;
}

brand(UnprocessedRequestError, 'core.UnprocessedRequestError');

/** An unread response dropped by its caller frees its stream when it is garbage-collected. */
const abandonedBodies = new FinalizationRegistry<H2Exchange>((exchange) => exchange.abandoned());

/** The request's header block as text, for the `strand:client:sendHeaders` event. */
function headBlockText(fields: OutgoingHttpHeaders): string {
  let text = '';
  for (const name of Object.keys(fields)) {
    const value = fields[name];
    if (Array.isArray(value)) for (const v of value) text += `${name}: ${v}\r\n`;
    else if (value !== undefined) text += `${name}: ${String(value)}\r\n`;
  }
  return `${text}\r\n`;
}
