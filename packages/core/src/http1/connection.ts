import type { Duplex } from 'node:stream';
import { UNKNOWN_LENGTH } from '../message/producers.js';
import type { BodySink, BodySource } from '../message/body-pipe.js';
import { type Clock, systemClock } from '../time/clock.js';
import {
  CancelledError,
  ParseError,
  type RequestGenerationFailedError,
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
import type { ExchangeTimings, InformationalResponse, ResponseHeadInfo } from '../message/exchange.js';
import { type ReadSink, directReadsOf } from '../net/direct-reads.js';
import { ConnectionReadBuffers } from '../net/read-buffers.js';
import { type DiagnosticsRequest, diagnostics, reported } from '../diagnostics.js';
import { Response } from '../message/response.js';
import { DEFAULT_TIMEOUTS, type ResolvedTimeouts, type TimedExchange, sweeperFor } from '../time/timeouts.js';
import { type ParserLimits, type ResponseHead, type ResponseParserHandler, ResponseParser } from './parser.js';
import { RequestWriter, type RequestWriterOwner } from './request-writer.js';
import { type PreparedRequest, serializeHead } from './serializer.js';
import { writeInTurn } from './write-turn.js';

/** Per-exchange options of {@link HTTP11Connection.request}. */
export interface ExchangeOptions {
  /** Cancels the exchange in any phase. */
  signal?: AbortSignal | undefined;
  /** Called for each interim (1xx) response before the final one. */
  onInformational?: ((info: InformationalResponse) => void) | undefined;
  /** Called with the final response head once it is parsed, before the response is handed out. */
  onHead?: ((head: ResponseHeadInfo) => void) | undefined;
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
  /** The request object of this request's diagnostics events (null: nobody listens). */
  diagnostics?: DiagnosticsRequest | null | undefined;
  /**
   * With `Expect: 100-continue` in the request headers and a body: how long to wait for the
   * `100` (or a final answer) before sending the body anyway, in ms (curl's 1 s by default).
   */
  expectContinueTimeout?: number | undefined;
  /** Told whether the body was sent: the connection sets `bodyStarted` once the body producer starts. */
  bodyState?: {
    /** Set to true once the body producer starts (false: no byte of the body was sent). */
    bodyStarted: boolean;
  } | undefined;
}

/** How long a request with `Expect: 100-continue` waits for the `100` before sending its body anyway. */
export const DEFAULT_EXPECT_CONTINUE_TIMEOUT = 1000;

/** Told about a connection's life; the pool is the usual owner. */
export interface ConnectionOwner {
  /** The exchange finished cleanly and the connection may carry another request. */
  connectionIdle(connection: HTTP11Connection): void;
  /**
   * Optional: the current request was written in full, or a pipelined exchange became the
   * current one; a pipelining owner may now start more requests on it (see
   * {@link HTTP11Connection.reserve}).
   */
  connectionSent?(connection: HTTP11Connection): void;
  /** The connection is gone (closed by either side, or failed). Called once. */
  connectionClosed(connection: HTTP11Connection): void;
}

/**
 * The states of one HTTP/1.1 connection:
 *
 * - `idle`: connected, no exchange; reading only to notice a close or stray bytes (either closes it).
 * - `sending`: a request is being written (by its `RequestWriter`); no response head yet.
 *   Timed by `sendIdle` (no progress) and `total`.
 * - `waiting`: the request is written; waiting for the response head. Timed by `headers`, `total`.
 * - `receiving`: the head arrived and the response was handed out; the body is being read (the
 *   request body may still be being written if the server answered early). Timed by `bodyIdle`
 *   while the consumer reads, and `total`.
 * - `closed`: the socket is destroyed. Final.
 *
 * The three middle states have an exchange record (`Exchange`) holding everything of that one
 * request; `idle` and `closed` have none. Each socket event is handled by a `switch` on the
 * state; an exchange in a state that cannot have one is an error.
 *
 * `request()` is legal in `idle`, and in `waiting`/`receiving` for a request that may be
 * pipelined ({@link HTTP11Connection.canPipeline}): its head is written at once and its exchange
 * queued; when the current response ends cleanly the next queued exchange becomes the current
 * one (`waiting`) instead of the connection going idle. Any failure moves to `closed` and reports
 * an error that says where the exchange was: transmission, response never received, or response
 * failed; queued exchanges then fail with a `ResponseNeverReceivedError` that received nothing,
 * which an agent may safely send again.
 */
export type ConnectionState = 'idle' | 'sending' | 'waiting' | 'receiving' | 'closed';

/**
 * One request and its response on a connection, from `request()` until the body ends. Everything
 * that belongs to one exchange lives here, so a new exchange starts from a fresh record.
 */
class Exchange {
  readonly number: number;
  readonly uri: string;
  readonly method: string;
  readonly requestHeaders: Headers;
  /** The request asks the server to close (`Connection: close`): never reused. */
  readonly closeAfter: boolean;
  readonly signal: AbortSignal | null;
  readonly onInformational: ((info: InformationalResponse) => void) | null;
  readonly onHead: ((head: ResponseHeadInfo) => void) | null;
  readonly timeouts: ResolvedTimeouts;
  /** Registered with the timeout sweeper (some phase has a finite timeout, or the body waits for a 100). */
  readonly timed: boolean;
  /** With `Expect: 100-continue`: how long the body waits for the 100, else Infinity. */
  readonly continueTimeout: number;
  readonly totalDeadline: number;
  readonly timings: ExchangeTimings | null;
  /** The request object of its diagnostics events, or null when nobody listened at its start. */
  readonly diag: DiagnosticsRequest | null;
  resolveHead: ((response: Response) => void) | null = null;
  rejectHead: ((error: unknown) => void) | null = null;

  // Sending.
  /** Writes the request body; null for a request without one. */
  writer: RequestWriter | null = null;
  /** The whole request was handed to the socket. */
  sent = false;
  headersDeadline = Infinity;
  /** Send progress (bytes written + drains) as the sweeper last saw it, and when it last moved (-1: not yet). */
  sendProgress = 0;
  sendProgressAt = -1;
  /** `Expect: 100-continue`: the head is sent, the body waits for a `100` until this clock time (-1: not waiting). */
  continueDeadline = -1;
  readonly bodyState: { bodyStarted: boolean } | null;

  // Receiving.
  bytesReceived = 0;
  /** The response's body, from `bind` while the response is made. */
  body: BodySink | null = null;
  /** The response just handed out, held only until the end of the socket read that produced it. */
  response: Response | null = null;
  keepAlive = false;
  closeDelimited = false;
  /** The parser saw the end of the message. */
  complete = false;
  /** Registered for the response being dropped unread. */
  watched = false;

  // Pipelining.
  /** Written behind another exchange's request, its response due after that one's. */
  pipelined = false;
  /** A pipelined exchange given up while queued (timed out or cancelled): its promise was rejected. */
  abandoned = false;
  /** A pipelined exchange's abort listener, while it is queued. */
  onQueuedAbort: (() => void) | null = null;

  constructor(number: number, req: PreparedRequest, options: ExchangeOptions, startedAt: number) {
    this.continueTimeout = req.body !== null && wantsContinue(req.headers) ? (options.expectContinueTimeout ?? DEFAULT_EXPECT_CONTINUE_TIMEOUT) : Infinity;
    this.number = number;
    this.uri = req.url.href;
    this.method = req.method;
    this.requestHeaders = req.headers;
    this.closeAfter = options.connectionClose === true || wantsClose(req.headers);
    this.signal = options.signal ?? null;
    this.onInformational = options.onInformational ?? null;
    this.onHead = options.onHead ?? null;
    const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
    this.timeouts = timeouts;
    this.timed = this.shortestTimeout() !== Infinity;
    this.totalDeadline = startedAt + timeouts.total;
    this.timings = options.timings ?? null;
    this.diag = options.diagnostics ?? null;
    this.bodyState = options.bodyState ?? null;
  }

  /** The shortest of the exchange's finite timeouts (the sweeper's tick follows it), or Infinity. */
  shortestTimeout(): number {
    const t = this.timeouts;
    return Math.min(t.sendIdle, t.headers, t.bodyIdle, t.total, this.continueTimeout);
  }
}

/** One HTTP/1.1 connection over any connected Duplex: writes a request, reads its response. */
export class HTTP11Connection implements ResponseParserHandler, BodySource, TimedExchange, ReadSink, RequestWriterOwner {
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
  private readonly buffers = new ConnectionReadBuffers();
  /** The exchange in progress: non-null exactly in `sending`, `waiting` and `receiving`. */
  private ex: Exchange | null = null;
  /** Pipelined exchanges, their requests written, their responses due after the current one's, in order. */
  private readonly queue: Exchange[] = [];
  /** No more pipelining, and close once the current response ended (a queued exchange was given up). */
  private closeAfterCurrent = false;
  /**
   * True once the connection closed with pipelined requests unanswered (or gave one up): the
   * pool stops pipelining to this origin.
   */
  pipelineBroken = false;
  /** Requests promised to this busy connection by its owner and not started yet ({@link reserve}). */
  private reservations = 0;

  // Reading, across exchanges.
  /** The body consumer asked for no more bytes for now. */
  private readPaused = false;
  /** The socket itself is paused (done at the end of a read, so a body that completes in the same read never pauses it). */
  private socketPaused = false;
  /** Inside onData. */
  private reading = false;
  /** Clock time of the last read (or resume), for the bodyIdle timeout and the timings. */
  private lastActivity = 0;
  private socketError: Error | null = null;

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

  /** Exchanges on the connection now: the current one and the pipelined ones queued behind it. */
  get pipelineDepth(): number {
    return (this.ex === null ? 0 : 1) + this.queue.length + this.reservations;
  }

  /**
   * Promises this busy connection one more pipelined request, to be started with
   * {@link request} before any I/O can happen (in a microtask): it counts in
   * {@link pipelineDepth} until then, so the owner does not hand out more room than there is.
   */
  reserve(): void {
    this.reservations++;
  }

  /**
   * True when `req` may be written now behind the exchange in progress (HTTP/1.1 pipelining): it
   * is idempotent and has no body, no `Expect` and no `Connection: close`; the current request
   * was written in full; and neither the current response (once its head is known) nor any
   * request in the pipeline ends the connection.
   */
  canPipeline(req: PreparedRequest): boolean {
    const ex = this.ex;
    if (ex === null || !ex.sent || ex.closeAfter || this.closeAfterCurrent || this.socket.destroyed || !this.socket.writable) return false;
    if (this.state === 'receiving') {
      if (!ex.keepAlive || ex.closeDelimited) return false;
    } else if (this.state !== 'waiting') {
      return false;
    }
    return req.body === null && PIPELINE_METHODS.has(req.method) && !wantsClose(req.headers) && !req.headers.has('expect');
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
    const reserved = this.reservations > 0;
    if (reserved) this.reservations--;
    if (this.state !== 'idle') {
      if (this.canPipeline(req)) return this.pipeline(req, options);
      // A request promised to this connection that it can no longer take (it closed, or its
      // pipeline broke, in the meantime): nothing was written, so it may be sent elsewhere.
      if (reserved) return Promise.reject(new RequestTransmissionFailedError(`the connection was ${this.state === 'closed' ? 'closed' : 'no longer open to pipelining'} before the request could be written`, { url: req.url.href }));
      return Promise.reject(new StrandError('STRAND_INVALID_STATE', `cannot start a request on a connection that is ${this.state}`));
    }
    const signal = options.signal;
    if (signal != null && signal.aborted) {
      // Nothing was written: the connection is as good as it was.
      this.owner.connectionIdle(this);
      return Promise.reject(new CancelledError('request cancelled before it was sent', { url: req.url.href, cause: signal.reason }));
    }
    const ex = new Exchange(++this.exchanges, req, options, options.startedAt ?? this.clock.now());
    this.ex = ex;
    this.state = 'sending';
    this.parser.reset(req.method);
    const promise = new Promise<Response>((resolve, reject) => {
      ex.resolveHead = resolve;
      ex.rejectHead = reject;
    });
    if (ex.signal !== null) ex.signal.addEventListener('abort', this.onAbort);
    if (ex.timed) sweeperFor(this.clock).add(this, ex.shortestTimeout());

    const head = serializeHead(req, { connectionClose: ex.closeAfter, ...(options.target === undefined ? {} : { target: options.target }) });
    if (ex.diag !== null && diagnostics.sendHeaders.hasSubscribers) diagnostics.sendHeaders.publish({ request: ex.diag, headers: head });
    const body = req.body;
    if (body === null) {
      writeInTurn(this.socket, head);
      this.sent(ex);
      return promise;
    }
    const writer = new RequestWriter(this.socket, body, req.framing === 'chunked', req.contentLength, this, ex.uri);
    ex.writer = writer;
    if (ex.continueTimeout !== Infinity) {
      // The body waits for the server's 100 (or its final answer, or the timeout).
      writer.writeHead(head);
      ex.continueDeadline = this.clock.now() + ex.continueTimeout;
      return promise;
    }
    this.markBodyStarted(ex);
    writer.start(head);
    return promise;
  }

  /** Writes a pipelined request's head now and queues its exchange behind the current one. */
  private pipeline(req: PreparedRequest, options: ExchangeOptions): Promise<Response> {
    const signal = options.signal;
    if (signal != null && signal.aborted) return Promise.reject(new CancelledError('request cancelled before it was sent', { url: req.url.href, cause: signal.reason }));
    const ex = new Exchange(++this.exchanges, req, options, options.startedAt ?? this.clock.now());
    ex.pipelined = true;
    const promise = new Promise<Response>((resolve, reject) => {
      ex.resolveHead = resolve;
      ex.rejectHead = reject;
    });
    if (ex.signal !== null) {
      const reason = ex.signal;
      ex.onQueuedAbort = () => this.abandonQueued(ex, new CancelledError('request cancelled while pipelined', { url: ex.uri, cause: reason.reason }));
      ex.signal.addEventListener('abort', ex.onQueuedAbort);
    }
    this.queue.push(ex);
    if (ex.timed) sweeperFor(this.clock).add(this, ex.shortestTimeout());
    const head = serializeHead(req, { connectionClose: false, ...(options.target === undefined ? {} : { target: options.target }) });
    if (ex.diag !== null && diagnostics.sendHeaders.hasSubscribers) diagnostics.sendHeaders.publish({ request: ex.diag, headers: head });
    writeInTurn(this.socket, head);
    ex.sent = true;
    if (ex.diag !== null && diagnostics.bodySent.hasSubscribers) diagnostics.bodySent.publish({ request: ex.diag });
    if (ex.timings !== null) ex.timings.sent = this.clock.now();
    return promise;
  }

  /**
   * A queued pipelined exchange is given up (its total timeout, or its signal): its promise
   * rejects now; its response will still come, so nothing more is pipelined here and the
   * connection closes after the current response (the other queued requests are then refused
   * with an error that lets them be sent again elsewhere).
   */
  private abandonQueued(ex: Exchange, reason: StrandError): void {
    if (ex.abandoned || this.queue.indexOf(ex) === -1) return;
    ex.abandoned = true;
    this.closeAfterCurrent = true;
    this.pipelineBroken = true;
    this.releaseQueued(ex);
    const reject = ex.rejectHead;
    ex.resolveHead = null;
    ex.rejectHead = null;
    if (reject !== null) reject(reason);
  }

  /** Lets go of what a queued exchange held (its abort listener). */
  private releaseQueued(ex: Exchange): void {
    if (ex.onQueuedAbort !== null && ex.signal !== null) ex.signal.removeEventListener('abort', ex.onQueuedAbort);
    ex.onQueuedAbort = null;
  }

  /** The current exchange ended cleanly and another is queued: it becomes the current one. */
  private startQueued(next: Exchange, now: number): void {
    this.releaseQueued(next);
    this.ex = next;
    this.state = 'waiting';
    this.parser.reset(next.method);
    next.headersDeadline = now + next.timeouts.headers;
    if (next.signal !== null) next.signal.addEventListener('abort', this.onAbort);
    // The sweeper also checks the total timeouts of the exchanges still queued.
    if (next.timed || this.queue.some((queued) => queued.timed)) sweeperFor(this.clock).add(this, Math.min(next.shortestTimeout(), ...this.queue.map((queued) => queued.shortestTimeout())));
  }

  /** The connection is closing: every queued exchange not given up fails, having received nothing (safe to send again). */
  private failQueued(): void {
    if (this.queue.length === 0) return;
    const queued = this.queue.splice(0);
    for (const ex of queued) {
      if (ex.abandoned) continue;
      this.pipelineBroken = true;
      this.releaseQueued(ex);
      const reject = ex.rejectHead;
      ex.resolveHead = null;
      ex.rejectHead = null;
      const error = new ResponseNeverReceivedError('the connection closed before the pipelined request was answered', 0, { url: ex.uri, cause: this.socketError ?? undefined });
      if (ex.diag !== null && diagnostics.error.hasSubscribers) {
        diagnostics.error.publish({ request: ex.diag, error });
        reported.add(error);
      }
      if (reject !== null) reject(error);
    }
  }

  /** Closes the connection now. An exchange in progress fails with `reason` (default: cancelled). */
  close(reason?: StrandError): void {
    this.shutDown(reason ?? 'cancelled');
  }

  /**
   * Closes now, whatever the state: nothing to do when closed, a teardown when idle, else the
   * exchange fails with `reason` (`'cancelled'`: a CancelledError; null: the connection was lost).
   */
  private shutDown(reason: StrandError | 'cancelled' | null): void {
    switch (this.state) {
      case 'closed':
        return;
      case 'idle':
        this.teardown();
        return;
      default:
        this.fail(reason === 'cancelled' ? new CancelledError('connection closed', { url: (this.ex as Exchange).uri }) : reason);
    }
  }

  // ---- RequestWriterOwner: how writing the request body ended ----

  requestSent(writer: RequestWriter): void {
    const ex = this.ex;
    if (ex === null || ex.writer !== writer) return;
    this.sent(ex);
  }

  requestFailed(writer: RequestWriter, error: RequestGenerationFailedError): void {
    const ex = this.ex;
    if (ex === null || ex.writer !== writer) return;
    this.fail(error);
  }

  // ---- ResponseParserHandler ----

  onInformational(head: ResponseHead): void {
    const ex = this.ex as Exchange;
    if (head.code === 100 && ex.continueDeadline >= 0) this.sendHeldBody(ex);
    const callback = ex.onInformational;
    if (callback !== null) callback({ code: head.code, phrase: head.phrase, headers: Headers.fromRaw(head.rawHeaders) });
  }

  onHead(head: ResponseHead): void {
    const ex = this.ex as Exchange;
    // A final answer to an `Expect: 100-continue` request: its body is never sent, and the
    // connection (whose framing then has a hole) closes after this response.
    ex.continueDeadline = -1;
    ex.keepAlive = head.keepAlive;
    if (head.keepAlive) this.keepAliveHint = keepAliveTimeout(head.rawHeaders);
    ex.closeDelimited = head.framing === 'close';
    // The response's body sink arrives through bind() while the response is made.
    const response = new Response({
      version: [head.versionMajor, head.versionMinor],
      code: head.code,
      phrase: head.phrase,
      headers: Headers.fromRaw(head.rawHeaders),
      length: head.framing === 'length' ? head.contentLength : head.framing === 'none' ? 0 : UNKNOWN_LENGTH,
      request: { method: ex.method, uri: ex.uri, headers: ex.requestHeaders },
      bodySource: this,
    });
    response.timings = ex.timings;
    this.state = 'receiving';
    // A head is only ever parsed inside onData, which has just read the clock.
    if (ex.timings !== null) ex.timings.head = this.lastActivity;
    ex.response = response;
    if (ex.diag !== null && diagnostics.headers.hasSubscribers) diagnostics.headers.publish({ request: ex.diag, response });
    // Inside the parser's call: a callback that throws fails the exchange (its promise rejects).
    if (ex.onHead !== null) ex.onHead({ version: response.version, code: response.code, phrase: response.phrase, headers: response.headers, url: ex.uri });
    const resolve = ex.resolveHead;
    ex.resolveHead = null;
    ex.rejectHead = null;
    if (resolve !== null) resolve(response);
  }

  onBody(chunk: Buffer): void {
    const body = (this.ex as Exchange).body as BodySink;
    const buffers = this.buffers;
    if (buffers.borrowed !== null) {
      // Bytes in a borrowed read: copied into the consumer's own buffer when it offers one
      // (readBody would copy them there anyway), else next to the read's other body bytes.
      const window = body.receiveBuffer();
      if (window !== null && window.length >= chunk.length) {
        chunk.copy(window, 0);
        body.push(window.length === chunk.length ? window : window.subarray(0, chunk.length));
        return;
      }
      chunk = buffers.keep(chunk);
    }
    body.push(chunk);
  }

  onTrailers(rawTrailers: string[]): void {
    ((this.ex as Exchange).body as BodySink).trailers = Headers.fromRaw(rawTrailers);
  }

  onComplete(): void {
    (this.ex as Exchange).complete = true;
  }

  // ---- BodySource: the response's body pipe controls reading ----

  bind(sink: BodySink): void {
    // Called while onHead makes the response: this exchange's body goes there.
    (this.ex as Exchange).body = sink;
  }

  /** The body consumer paused: stop reading the socket (at the end of the current read). */
  pauseBody(): void {
    if (this.readPaused || this.state !== 'receiving') return;
    this.readPaused = true;
    // Inside a read the pause waits for its end: the message may complete in this very read.
    if (!this.reading) this.pauseSocket();
  }

  /** The body consumer wants bytes again: read the socket again. */
  resumeBody(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.lastActivity = this.clock.now();
    this.resumeSocket();
  }

  stopBody(reason: StrandError): void {
    if (this.state === 'receiving') this.fail(reason);
  }

  bodyAttached(): void {
    // The body has a reader now: whether the caller keeps the Response no longer matters.
    const ex = this.ex;
    if (ex === null) return;
    ex.response = null;
    this.unwatchAbandonment(ex);
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

  // ---- TimedExchange: the sweeper checks the deadlines of the phase the exchange is in ----

  checkTimeouts(now: number): void {
    for (const queued of this.queue) {
      if (!queued.abandoned && now >= queued.totalDeadline) this.abandonQueued(queued, new TimeoutError('total', queued.timeouts.total, true, { url: queued.uri }));
    }
    const ex = this.ex;
    if (ex === null) return;
    const t = ex.timeouts;
    switch (this.state) {
      case 'sending': {
        if (ex.continueDeadline >= 0) {
          // No 100 in time: send the body anyway (the server may not know the expectation).
          if (now >= ex.continueDeadline) this.sendHeldBody(ex);
          break;
        }
        // Progress is a byte handed to the socket or the socket draining: a server that stopped
        // reading the body stops both (the producer is paused), and so does a stalled body source.
        const writer = ex.writer as RequestWriter;
        const progress = writer.written + writer.drains;
        if (ex.sendProgressAt < 0 || progress !== ex.sendProgress) {
          ex.sendProgress = progress;
          ex.sendProgressAt = now;
        } else if (now - ex.sendProgressAt >= t.sendIdle) {
          this.fail(new TimeoutError('sendIdle', t.sendIdle, true, { url: ex.uri }));
          return;
        }
        break;
      }
      case 'waiting':
        if (now >= ex.headersDeadline) {
          this.fail(new TimeoutError('headers', t.headers, true, { url: ex.uri }));
          return;
        }
        break;
      case 'receiving':
        if (!this.readPaused && now - this.lastActivity >= t.bodyIdle) {
          this.fail(new TimeoutError('bodyIdle', t.bodyIdle, true, { url: ex.uri }));
          return;
        }
        break;
      default:
        throw new Error(`HTTP11Connection: an exchange in state ${this.state}`);
    }
    if (now >= ex.totalDeadline) this.fail(new TimeoutError('total', t.total, true, { url: ex.uri }));
  }

  // ---- ReadSink: a direct-read socket delivers here instead of 'data' events ----

  socketRead(chunk: Buffer, owned: boolean): void {
    const buffers = this.buffers;
    if (buffers.owns(chunk, owned)) {
      this.onData(chunk);
      return;
    }
    buffers.borrow(chunk);
    this.onData(chunk);
    buffers.release(chunk);
  }

  /**
   * While a body flows to its consumer, the next read goes straight to where the bytes will be
   * kept: into the consumer's own buffer when it offers one (readBody of a known length; never
   * past the body's end), else into a fresh buffer that the consumer then gets with the bytes
   * (Node's own way, without the copy out of the shared buffer).
   */
  readWindow(): Buffer | null {
    if (this.state !== 'receiving') return null;
    const body = (this.ex as Exchange).body as BodySink;
    if (!body.flowing) return null;
    const remaining = this.parser.lengthRemaining; // 0 unless a Content-Length body is in progress
    if (remaining !== 0 && remaining < MIN_READ_WINDOW) return null;
    const own = body.receiveBuffer();
    const window = own !== null && own.length > 0 ? own : this.buffers.spareWindow();
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
        this.lastActivity = this.clock.now();
        // One read may end one response and hold (the start of) the next pipelined one.
        let bytes = chunk;
        for (;;) {
          const ex = this.ex as Exchange;
          ex.bytesReceived += bytes.length;
          let consumed: number;
          this.reading = true;
          try {
            consumed = this.parser.execute(bytes);
          } catch (error) {
            this.reading = false;
            this.fail(this.parseFailure(error));
            return;
          }
          this.reading = false;
          if (ex.complete) {
            ex.response = null;
            const rest = bytes.length - consumed;
            // Bytes after a response are stray, unless a pipelined response is due next.
            this.completeExchange(ex, rest === 0 || this.queue.length > 0);
            if (rest === 0 || this.state !== 'waiting') return;
            bytes = bytes.subarray(consumed);
            continue;
          }
          if (this.state !== 'receiving') return;
          if (this.readPaused) this.pauseSocket();
          if (!ex.watched && ex.response !== null) this.watchAbandonment(ex);
          return;
        }
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
      case 'receiving': {
        const ex = this.ex as Exchange;
        this.lastActivity = this.clock.now();
        try {
          this.parser.finish();
        } catch (error) {
          this.fail(error instanceof ParseError && error.kind === 'UNEXPECTED_EOF' ? null : this.parseFailure(error));
          return;
        }
        if (ex.complete) this.completeExchange(ex, false);
        else this.fail(null);
        return;
      }
      case 'closed':
        return;
    }
  };

  private readonly onError = (error: Error): void => {
    if (this.socketError === null) this.socketError = error;
  };

  private readonly onClose = (): void => {
    this.shutDown(null);
  };

  private readonly onDrain = (): void => {
    this.ex?.writer?.drained();
  };

  private readonly onAbort = (): void => {
    const ex = this.ex;
    if (ex === null) return;
    this.fail(new CancelledError(this.state === 'receiving' ? 'request cancelled while reading the body' : 'request cancelled', { url: ex.uri, cause: ex.signal?.reason }));
  };

  // ---- exchange bookkeeping ----

  /** Starts sending a body held back for `Expect: 100-continue`. */
  private sendHeldBody(ex: Exchange): void {
    ex.continueDeadline = -1;
    this.markBodyStarted(ex);
    (ex.writer as RequestWriter).produce();
  }

  private markBodyStarted(ex: Exchange): void {
    if (ex.bodyState !== null) ex.bodyState.bodyStarted = true;
  }

  /** The whole request was handed to the socket: `sending` -> `waiting` (or still `receiving` after an early answer). */
  private sent(ex: Exchange): void {
    ex.sent = true;
    const nowWaiting = this.state === 'sending';
    if (nowWaiting) this.state = 'waiting';
    if (ex.diag !== null && diagnostics.bodySent.hasSubscribers) diagnostics.bodySent.publish({ request: ex.diag });
    if (ex.timed || ex.timings !== null) {
      const now = this.clock.now();
      ex.headersDeadline = now + ex.timeouts.headers;
      if (ex.timings !== null) ex.timings.sent = now;
    }
    if (nowWaiting) this.owner.connectionSent?.(this);
  }

  private parseFailure(error: unknown): StrandError {
    const url = (this.ex as Exchange).uri;
    if (error instanceof ParseError) return new ParseError(error.kind, error.message, { url, cause: error, ...(error.offset === undefined ? {} : { offset: error.offset }) });
    if (error instanceof StrandError) return error;
    return new ResponseFailedError('the response handler threw', { url, cause: error });
  }

  /** The response message is complete; `clean` is false when stray bytes followed it. */
  private completeExchange(ex: Exchange, clean: boolean): void {
    const body = ex.body as BodySink;
    const reusable = clean && ex.keepAlive && !ex.closeDelimited && !ex.closeAfter && ex.sent && !this.closeAfterCurrent;
    // The server answered before the request body was written: stop sending; the connection's
    // framing is unknown now, so it is closed below.
    if (!ex.sent) ex.writer?.stop();
    // Only a read or the end of the stream completes an exchange, and both have just read the clock.
    this.endExchange(ex, this.lastActivity);
    const next = reusable ? this.queue.shift() : undefined;
    if (next !== undefined) {
      this.startQueued(next, this.lastActivity);
      this.readPaused = false;
      this.resumeSocket();
    } else if (reusable) {
      this.state = 'idle';
      this.idleSince = this.lastActivity;
      this.readPaused = false;
      this.resumeSocket();
    } else {
      this.teardown();
    }
    if (ex.diag !== null && diagnostics.trailers.hasSubscribers) diagnostics.trailers.publish({ request: ex.diag, trailers: body.trailers });
    body.end(ex.closeDelimited ? new PotentialDataLoss() : new ResponseDone());
    if (next === undefined) {
      // A request the owner promised to this connection ({@link reserve}) starts on it in a
      // moment: it is not idle for the owner to hand out (or to stop holding the process for).
      if (reusable && this.state === 'idle' && this.reservations === 0) this.owner.connectionIdle(this);
    } else if (this.state === 'waiting') {
      // The pipeline moved up: there may be room behind it now.
      this.owner.connectionSent?.(this);
    }
  }

  /**
   * Fails the exchange in progress and closes the connection. `error` null means the connection
   * was lost; the error is then chosen by how far the exchange got.
   */
  private fail(error: StrandError | null): void {
    const ex = this.ex;
    if (ex === null) {
      this.teardown();
      return;
    }
    const reason = error ?? this.lostReason(ex);
    ex.writer?.stop();
    this.endExchange(ex);
    const reject = ex.rejectHead;
    ex.resolveHead = null;
    ex.rejectHead = null;
    this.teardown();
    if (ex.diag !== null && diagnostics.error.hasSubscribers) {
      diagnostics.error.publish({ request: ex.diag, error: reason });
      reported.add(reason);
    }
    if (reject !== null) reject(reason);
    if (ex.body !== null) ex.body.end(reason);
  }

  /** Why the exchange failed when the connection was lost, by how far it got. */
  private lostReason(ex: Exchange): StrandError {
    const state = this.state;
    const cause = this.socketError ?? undefined;
    if (state !== 'receiving' && ex.bytesReceived === 0 && isTLSFailure(this.socketError)) {
      // TLS 1.3 servers reject a missing client certificate only after the handshake: the
      // alert arrives as the first thing we read.
      return tlsError(this.socketError, ex.uri);
    }
    switch (state) {
      case 'sending':
        return new RequestTransmissionFailedError('the connection was lost while sending the request', { url: ex.uri, cause });
      case 'waiting':
        return new ResponseNeverReceivedError(
          ex.bytesReceived === 0 ? 'the connection closed before any response was received' : 'the connection closed in the middle of the response head',
          ex.bytesReceived,
          { url: ex.uri, cause },
        );
      default:
        return new ResponseFailedError('the connection was lost before the response body was complete', { url: ex.uri, cause });
    }
  }

  /** Releases what the exchange held: the abort listener, the timeout registration, the GC watch, the spare read buffer. */
  private endExchange(ex: Exchange, now?: number): void {
    this.ex = null;
    this.buffers.dropSpare();
    if (ex.signal !== null) ex.signal.removeEventListener('abort', this.onAbort);
    if (ex.timed) sweeperFor(this.clock).delete(this);
    this.unwatchAbandonment(ex);
    if (ex.timings !== null) ex.timings.end = now ?? this.clock.now();
  }

  /**
   * The response was handed out with its body still on the socket and nobody reading it. If the
   * caller drops the response without reading, close the connection when the response is
   * garbage-collected rather than pinning the socket for ever.
   */
  private watchAbandonment(ex: Exchange): void {
    ex.watched = true;
    // The registry holds the response weakly; the connection only holds the body sink.
    abandonedBodies.register(ex.response as Response, { connection: this, exchange: ex.number }, this);
    ex.response = null;
  }

  private unwatchAbandonment(ex: Exchange): void {
    if (!ex.watched) return;
    ex.watched = false;
    abandonedBodies.unregister(this);
  }

  /** @internal Called when the response of exchange `number` was garbage-collected unread. */
  abandoned(number: number): void {
    const ex = this.ex;
    // A body with a consumer is never cancelled behind its back (the watch ends when one attaches).
    if (ex === null || ex.number !== number || this.state !== 'receiving' || !ex.watched) return;
    ex.watched = false;
    this.fail(new CancelledError('the response was dropped without reading its body', { url: ex.uri }));
  }

  private teardown(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.socket.destroy();
    this.failQueued();
    this.owner.connectionClosed(this);
  }
}

/** Methods whose requests may be pipelined: idempotent (RFC 9110 §9.2.2), so one a server never answered can be sent again. */
const PIPELINE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** A body this close to its end is not worth a read of its own into the consumer's buffer. */
const MIN_READ_WINDOW = 4096;

const abandonedBodies = new FinalizationRegistry<{ connection: HTTP11Connection; exchange: number }>((held) => {
  held.connection.abandoned(held.exchange);
});

/** Whether the request asks the server to confirm before the body is sent (`Expect: 100-continue`). */
export function wantsContinue(headers: Headers): boolean {
  const value = headers.get('expect');
  return value !== undefined && /(?:^|,)\s*100-continue\s*(?:,|$)/i.test(value);
}

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
  const code: unknown = error === null ? undefined : (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_SSL_');
}
