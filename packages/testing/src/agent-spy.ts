/**
 * An agent spy: an `Agent` that records each request and lets the test answer it by hand, with a
 * real core `Response` and a body it controls. The tool for testing wrapper agents.
 *
 * @packageDocumentation
 */

import { STATUS_CODES } from 'node:http';
import {
  type Agent,
  type BodyEndReason,
  type BodyProducer,
  type BodySink,
  type BodySource,
  CancelledError,
  Headers,
  type HeadersInit,
  InvalidArgumentError,
  InvalidRequestError,
  PotentialDataLoss,
  type RequestOptions,
  Response,
  ResponseDone,
  StrandError,
  UNKNOWN_LENGTH,
} from '@strand/core';
import { PendingRequestsError } from './errors.js';
import { type ReplyLike, normalizeReply } from './server/reply.js';
import { checkFunction, checkOneOf, describeValue } from './validation.js';

/** How a spied call ended so far. */
export type SpyCallState = 'pending' | 'responded' | 'failed' | 'cancelled';

/**
 * The body of a response given with {@link SpyCall.respondStreaming}: write it piece by piece,
 * then end or fail it. Shows what the consumer did (paused, abandoned).
 */
export class SpyBody implements BodySource {
  /** The response the body belongs to. */
  readonly response: Response;
  private consumerPaused = false;
  private abandonedWith: StrandError | null = null;
  private ended = false;
  private wake: (() => void) | null = null;
  private sink: BodySink | null = null;

  /** @internal */
  constructor(factory: (source: BodySource) => Response) {
    this.response = factory(this);
  }

  /** @internal BodySource */
  bind(sink: BodySink): void {
    this.sink = sink;
  }

  /** True while the consumer has asked for no more data. Writing anyway queues it. */
  get paused(): boolean {
    return this.consumerPaused;
  }

  /** The reason the consumer abandoned the body (`stopProducing`, a limit...), or null. */
  get abandoned(): StrandError | null {
    return this.abandonedWith;
  }

  /** True once {@link end} or {@link fail} was called (or the consumer abandoned it). */
  get finished(): boolean {
    return this.ended;
  }

  /** Delivers a piece of the body (a string is sent as UTF-8). Ignored after the end. */
  write(chunk: Uint8Array | string): void {
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) throw new InvalidArgumentError(`SpyBody.write: chunk must be a string or a Uint8Array, got ${describeValue(chunk)}`);
    if (this.ended) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (bytes.length > 0) (this.sink as BodySink).push(bytes);
  }

  /**
   * Ends the body: complete by its framing (default), or `'potential-data-loss'` as a
   * close-delimited body does. `trailers`, if given, become `response.trailers` first.
   */
  end(how: 'done' | 'potential-data-loss' = 'done', trailers?: HeadersInit): void {
    checkOneOf(how, ['done', 'potential-data-loss'], 'SpyBody.end: how');
    if (this.ended) return;
    if (trailers !== undefined) (this.sink as BodySink).trailers = new Headers(trailers);
    this.finish(how === 'done' ? new ResponseDone() : new PotentialDataLoss());
  }

  /** Fails the body with `error` (a `ResponseFailedError`, say), as a broken connection would. */
  fail(error: StrandError): void {
    if (!(error instanceof StrandError)) throw new InvalidArgumentError('SpyBody.fail: the error must be a StrandError, as agents only ever report those');
    this.finish(error);
  }

  /** Resolves when the consumer is not paused (at once if it is not). */
  whenFlowing(): Promise<void> {
    if (!this.consumerPaused || this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.wake;
      this.wake = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** @internal BodySource */
  pauseBody(): void {
    this.consumerPaused = true;
  }

  /** @internal BodySource */
  resumeBody(): void {
    this.consumerPaused = false;
    this.release();
  }

  /** @internal BodySource */
  stopBody(reason: StrandError): void {
    this.abandonedWith = reason;
    this.ended = true;
    this.release();
  }

  private finish(reason: BodyEndReason): void {
    if (this.ended) return;
    this.ended = true;
    (this.sink as BodySink).end(reason);
    this.release();
  }

  private release(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** One request made to an {@link AgentSpy}, waiting for the test to answer it. */
export class SpyCall {
  /** Position among the spy's calls, from 0. */
  readonly index: number;
  /** The method, as given. */
  readonly method: string;
  /** The URL as given, parsed. */
  readonly url: URL;
  /** The headers as given (validated, copied). */
  readonly headers: Headers;
  /** The body producer as given, or null. */
  readonly body: BodyProducer | null;
  /** The request options as given (signal, onInformational...). */
  readonly options: RequestOptions;
  /** Settles when the test answers (or the signal aborts). */
  readonly promise: Promise<Response>;
  private status: SpyCallState = 'pending';
  private resolvePromise!: (response: Response) => void;
  private rejectPromise!: (error: unknown) => void;
  private bodyRead: Promise<Buffer> | null = null;

  /** @internal */
  constructor(index: number, method: string, url: URL, headers: Headers, body: BodyProducer | null, options: RequestOptions) {
    this.index = index;
    this.method = method;
    this.url = url;
    this.headers = headers;
    this.body = body;
    this.options = options;
    this.promise = new Promise<Response>((resolve, reject) => {
      this.resolvePromise = resolve;
      this.rejectPromise = reject;
    });
    const signal = options.signal;
    if (signal !== undefined) {
      const onAbort = (): void => {
        if (this.status !== 'pending') return;
        this.status = 'cancelled';
        this.rejectPromise(new CancelledError('request cancelled', { url: this.url, cause: signal.reason }));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  }

  /** `'pending'` until answered; `'cancelled'` when the request's signal aborted first. */
  get state(): SpyCallState {
    return this.status;
  }

  /** True once answered, failed or cancelled. */
  get settled(): boolean {
    return this.status !== 'pending';
  }

  /**
   * Answers with a response whose body is delivered in full (an empty one by default): a reply
   * like a fake server's (`status`, `statusText`, `headers`, `body`, `json`, `trailers`) or a
   * shorthand (a status number, a text body). Returns the response.
   */
  respond(reply: ReplyLike = {}): Response {
    const normalized = normalizeReply(reply);
    const spyBody = this.open(reply, normalized);
    const body = normalized.body;
    if (body === null || Buffer.isBuffer(body)) {
      if (body !== null) spyBody.write(body);
      spyBody.end('done', normalized.trailers.length > 0 ? normalized.trailers : undefined);
    } else {
      void this.pump(spyBody, body, normalized.trailers);
    }
    return spyBody.response;
  }

  /**
   * Answers with the head only; the body is written by hand through the returned {@link SpyBody}
   * (`write`, `end`, `fail`). `reply` may not have a body.
   */
  respondStreaming(reply: ReplyLike = {}): SpyBody {
    const normalized = normalizeReply(reply);
    if (normalized.body !== null) throw new InvalidArgumentError('respondStreaming: write the body through the returned SpyBody, not in the reply');
    return this.open(reply, normalized, true);
  }

  /** Fails the request with `error`, as an agent would (it should be a `StrandError`). */
  fail(error: unknown): void {
    this.settle('failed');
    this.rejectPromise(error);
  }

  /**
   * Reads the request body by running its producer into memory (once; later calls return the
   * same bytes). Empty when there is no body.
   */
  readBody(): Promise<Buffer> {
    if (this.bodyRead !== null) return this.bodyRead;
    const producer = this.body;
    if (producer === null) return (this.bodyRead = Promise.resolve(Buffer.alloc(0)));
    const chunks: Buffer[] = [];
    this.bodyRead = producer.startProducing({ write: (chunk) => void chunks.push(Buffer.from(chunk)) }).then(() => Buffer.concat(chunks));
    return this.bodyRead;
  }

  /** The request body as UTF-8 text (see {@link readBody}). */
  async readText(): Promise<string> {
    return (await this.readBody()).toString('utf8');
  }

  /** `METHOD url`, for messages. */
  toString(): string {
    return `${this.method} ${this.url.href}`;
  }

  private open(reply: ReplyLike, normalized: ReturnType<typeof normalizeReply>, streaming = false): SpyBody {
    if (typeof reply === 'object' && (reply.delay !== undefined || reply.fault !== undefined)) {
      throw new InvalidArgumentError('SpyCall: delay and fault belong to fake servers; with a spy, answer when you want and fail() by hand');
    }
    if (typeof reply === 'object' && (reply.raw !== undefined || reply.close !== undefined)) {
      throw new InvalidArgumentError('SpyCall: raw and close are about the bytes on a connection, which a spy does not have; answer with status, headers and body');
    }
    this.settle('responded');
    const headers = new Headers(normalized.headers);
    const body = normalized.body;
    const bytes = Buffer.isBuffer(body) ? body.length : null;
    const noBody = this.method.toUpperCase() === 'HEAD' || normalized.status === 204 || normalized.status === 304 || (normalized.status >= 100 && normalized.status < 200);
    if (!streaming && bytes !== null && !normalized.chunked && !headers.has('content-length') && !noBody) headers.set('Content-Length', String(bytes));
    const declared = headers.get('content-length');
    const length = noBody ? 0 : declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : streaming || bytes === null || normalized.chunked ? UNKNOWN_LENGTH : bytes;
    const spyBody = new SpyBody(
      (source) =>
        new Response({
          version: [1, 1],
          code: normalized.status,
          phrase: normalized.statusText ?? STATUS_CODES[normalized.status] ?? '',
          headers,
          length,
          request: { method: this.method, uri: this.url.href, headers: this.headers },
          bodySource: source,
        }),
    );
    const signal = this.options.signal;
    if (signal !== undefined) {
      const onAbort = (): void => spyBody.fail(new CancelledError('request cancelled while reading the body', { url: this.url, cause: signal.reason }));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    this.resolvePromise(spyBody.response);
    return spyBody;
  }

  private async pump(spyBody: SpyBody, body: AsyncIterable<Uint8Array | string>, trailers: Array<[string, string]>): Promise<void> {
    const iterator = body[Symbol.asyncIterator]();
    try {
      while (!spyBody.finished) {
        await spyBody.whenFlowing();
        if (spyBody.finished) break;
        const step = await iterator.next();
        if (step.done === true) {
          spyBody.end('done', trailers.length > 0 ? trailers : undefined);
          return;
        }
        spyBody.write(step.value);
      }
      await iterator.return?.();
    } catch (error) {
      spyBody.fail(error instanceof StrandError ? error : new StrandError('STRAND_RESPONSE_FAILED', 'the spy response body stream failed', { cause: error, url: this.url }));
    }
  }

  private settle(to: SpyCallState): void {
    if (this.status !== 'pending') throw new InvalidArgumentError(`${this.toString()} was already ${this.status}; a call is answered once`);
    this.status = to;
  }
}

/**
 * An `Agent` that records every request as a {@link SpyCall} and answers only when the test
 * says so: `call.respond(...)`, `call.respondStreaming(...)`, `call.fail(error)`. A request
 * whose signal aborts first is rejected with `CancelledError`, as a real agent does.
 *
 * @example
 * ```ts
 * const spy = new AgentSpy();
 * const wrapper = new MyRetryAgent(spy);
 * const pending = wrapper.request('GET', 'http://api.test/');
 * (await spy.nextCall()).fail(new ResponseNeverReceivedError('reset', 0));
 * (await spy.nextCall()).respond({ json: { ok: true } });
 * expect((await pending).code).toBe(200);
 * ```
 */
export class AgentSpy implements Agent {
  /** Every call, in order. */
  readonly calls: SpyCall[] = [];
  private taken = 0;
  private waiters: Array<(call: SpyCall) => void> = [];

  /** @param onCall - called with each new call (to answer some automatically, say). */
  constructor(private readonly onCall?: (call: SpyCall) => void) {
    checkFunction(onCall, 'AgentSpy: onCall');
  }

  /** The calls not answered yet. */
  get pending(): SpyCall[] {
    return this.calls.filter((c) => !c.settled);
  }

  /** The most recent call. */
  get lastCall(): SpyCall | undefined {
    return this.calls[this.calls.length - 1];
  }

  request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options: RequestOptions = {}): Promise<Response> {
    let url: URL;
    let copied: Headers;
    try {
      url = new URL(typeof uri === 'string' ? uri : uri.href);
      copied = new Headers(headers ?? null);
    } catch (error) {
      return Promise.reject(error instanceof StrandError ? error : new InvalidRequestError(`invalid URI ${JSON.stringify(String(uri))}`, { cause: error }));
    }
    const call = new SpyCall(this.calls.length, method, url, copied, body ?? null, options);
    this.calls.push(call);
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.taken++;
      waiter(call);
    }
    this.onCall?.(call);
    return call.promise;
  }

  /** Resolves with the next call not yet returned by `nextCall()`, waiting for it if needed. */
  nextCall(): Promise<SpyCall> {
    const call = this.calls[this.taken];
    if (call !== undefined) {
      this.taken++;
      return Promise.resolve(call);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Throws `PendingRequestsError` listing the calls nobody answered. */
  assertNoPending(): void {
    const pending = this.pending;
    if (pending.length > 0) throw new PendingRequestsError(`${pending.length} spied request(s) were never answered:\n${pending.map((c) => `  #${c.index + 1} ${c.toString()}`).join('\n')}`);
  }
}
