/**
 * {@link RetryAgent}: sends a request again after a connection failure or a transient status,
 * when doing so is safe, with exponential back-off.
 *
 * @packageDocumentation
 */

import { type Agent, IDEMPOTENT_METHODS, type RequestOptions, WrapperAgent } from '../agent.js';
import type { BodyProducer } from '../message/producers.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import {
  CancelledError,
  ConnectionRefusedError,
  InvalidArgumentError,
  RequestNotSentError,
  RequestTransmissionFailedError,
  ResponseNeverReceivedError,
  TLSCertificateError,
  TimeoutError,
} from '../errors.js';
import type { HeadersInit } from '../message/headers.js';
import type { Response } from '../message/response.js';
import { DEFAULT_DISCARD_BYTES, ResendableBody, copyHeaders, discardBody } from './shared.js';
import { brand } from '../brand.js';

/** The statuses retried by default: 408, 429, 500, 502, 503, 504. */
export const DEFAULT_RETRY_STATUSES: readonly number[] = Object.freeze([408, 429, 500, 502, 503, 504]);

/** What {@link RetryAgentOptions.onRetry} is told before each new attempt. */
export interface RetryEvent {
  /** The attempt that failed, from 1. */
  attempt: number;
  /** How long the agent waits before the next attempt, ms. */
  delay: number;
  /** The error of the failed attempt, or null when it was answered with a retryable status. */
  error: unknown;
  /** The retryable response (its body being discarded), or null after an error. */
  response: Response | null;
}

/** Options of {@link RetryAgent}. */
export interface RetryAgentOptions {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** Statuses that are retried. Default {@link DEFAULT_RETRY_STATUSES}. */
  statuses?: Iterable<number>;
  /**
   * Retry non-idempotent methods (POST, PATCH...) after they may have reached the server, and on
   * retryable statuses. Default false. A body that cannot be replayed is never sent twice.
   */
  retryNonIdempotent?: boolean;
  /**
   * Retry a refused connection ({@link ConnectionRefusedError}: nothing listens on the port, or
   * a firewall answered with a reset). Default true: nothing was sent, and a server that is
   * restarting refuses for a moment. False makes it final, as curl's `--retry` does unless
   * `--retry-connrefused` is given; other connect failures are still retried.
   */
  retryConnectionRefused?: boolean;
  /** The back-off before the second attempt, ms; it doubles for each later one. Default 100. */
  baseDelay?: number;
  /** The longest back-off, ms. Default 10 000. */
  maxDelay?: number;
  /**
   * The longest `Retry-After` honoured, ms. A server asking for a longer wait gets its response
   * returned instead of a retry (waiting less than it asked would be impolite, waiting more is
   * the caller's decision). Default 60 000.
   */
  maxRetryAfter?: number;
  /**
   * Full jitter (default true): each wait is a random share of the back-off ceiling. False waits
   * the whole ceiling every time (curl's `--retry` timing).
   */
  jitter?: boolean;
  /** Jitter source in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Timers for the back-off. Default: the real clock (whose waits keep the process alive). */
  clock?: Clock;
  /** The current wall-clock time (ms since the epoch), for a `Retry-After` date when the response has no `Date`. Default `Date.now`. */
  now?: () => number;
  /** Called before each new attempt. */
  onRetry?: (event: RetryEvent) => void;
  /** Bytes of a retried response's body read and discarded (so its connection is reused); more closes it. Default 64 KiB. */
  maxDiscardBytes?: number;
}

/** A real clock whose timers keep the process alive: a pending retry must not be dropped at exit. */
const retryClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Retries requests, for any inner {@link Agent}, when it is safe:
 *
 * - After an error, by how far the request got (see `errors.ts`):
 *   - {@link RequestNotSentError} and its family (connection refused, DNS, connect failures) and
 *     a queue/connect {@link TimeoutError}: always — nothing reached the server — as long as the
 *     body can be sent again (replayable, or never started). Not a rejected TLS certificate, and
 *     not a refused connection with `retryConnectionRefused: false`.
 *   - {@link RequestTransmissionFailedError}, {@link ResponseNeverReceivedError} and a headers
 *     {@link TimeoutError}: the server may have acted on the request, so only for idempotent
 *     methods (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) with a replayable body, or with
 *     `retryNonIdempotent`.
 *   - Nothing else: cancellation, parse errors, proxy refusals, invalid requests... A body that
 *     fails after the response was handed out ({@link ResponseFailedError}) is never retried:
 *     the caller already has the response.
 * - After a response whose status is in `statuses` (408, 429, 500, 502, 503, 504), for idempotent
 *   methods (or with `retryNonIdempotent`) with a replayable body. Its body is discarded.
 * - At most `maxAttempts` attempts (3); then the last response is returned, or the last error
 *   thrown.
 * - The wait before attempt n+1 is "full jitter" exponential back-off, `random() * min(maxDelay,
 *   baseDelay * 2^(n-1))`, unless the response has a `Retry-After` (seconds, or an HTTP-date
 *   measured against the response's `Date`): that is honoured exactly up to `maxRetryAfter`;
 *   a longer one returns the response instead.
 * - The request's `AbortSignal` cancels the wait ({@link CancelledError}).
 *
 * @example
 * ```ts
 * const agent = new RetryAgent(new HttpAgent(), { maxAttempts: 4, baseDelay: 200 });
 * const response = await agent.request('GET', 'http://127.0.0.1:8080/flaky');
 * ```
 */
export class RetryAgent extends WrapperAgent {
  /** The most attempts per request, the first included. */
  readonly maxAttempts: number;
  private readonly statuses: ReadonlySet<number>;
  private readonly retryNonIdempotent: boolean;
  private readonly retryConnectionRefused: boolean;
  private readonly baseDelay: number;
  private readonly maxDelay: number;
  private readonly maxRetryAfter: number;
  private readonly random: () => number;
  private readonly jitter: boolean;
  private readonly clock: Clock;
  private readonly now: () => number;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;
  private readonly maxDiscardBytes: number;

  constructor(agent: Agent, options: RetryAgentOptions = {}) {
    super(agent);
    this.maxAttempts = checkNumber(options.maxAttempts, 3, 'maxAttempts', 1, true);
    const statuses = new Set<number>();
    for (const code of options.statuses ?? DEFAULT_RETRY_STATUSES) {
      if (!Number.isInteger(code) || code < 100 || code > 999) throw new InvalidArgumentError(`statuses must be HTTP status codes, got ${String(code)}`);
      statuses.add(code);
    }
    this.statuses = statuses;
    this.retryNonIdempotent = options.retryNonIdempotent === true;
    if (options.retryConnectionRefused !== undefined && typeof options.retryConnectionRefused !== 'boolean') {
      throw new InvalidArgumentError(`retryConnectionRefused must be a boolean, got ${String(options.retryConnectionRefused)}`);
    }
    this.retryConnectionRefused = options.retryConnectionRefused ?? true;
    this.baseDelay = checkNumber(options.baseDelay, 100, 'baseDelay', 0, false);
    this.maxDelay = checkNumber(options.maxDelay, 10_000, 'maxDelay', 0, false);
    this.maxRetryAfter = checkNumber(options.maxRetryAfter, 60_000, 'maxRetryAfter', 0, false);
    this.maxDiscardBytes = checkNumber(options.maxDiscardBytes, DEFAULT_DISCARD_BYTES, 'maxDiscardBytes', 0, false);
    this.random = options.random ?? Math.random;
    if (options.jitter !== undefined && typeof options.jitter !== 'boolean') throw new InvalidArgumentError(`jitter must be a boolean, got ${String(options.jitter)}`);
    this.jitter = options.jitter ?? true;
    this.clock = options.clock ?? retryClock;
    this.now = options.now ?? Date.now;
    this.onRetry = options.onRetry;
  }

  async request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    const copy = copyHeaders(headers, uri);
    const tracked = body == null ? null : new ResendableBody(body);
    const unsafeAllowed = IDEMPOTENT_METHODS.has(method) || this.retryNonIdempotent;
    const replayable = tracked === null || tracked.replayable;
    const signal = options?.signal;
    const url = String(uri);
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await this.agent.request(method, uri, copy, tracked, options);
      } catch (error) {
        if (attempt >= this.maxAttempts || signal?.aborted === true || !this.retryableError(error, unsafeAllowed, replayable || tracked?.started === false)) throw error;
        const delay = this.backoff(attempt);
        this.onRetry?.({ attempt, delay, error, response: null });
        await this.wait(delay, signal, url);
        continue;
      }
      if (attempt >= this.maxAttempts || !this.statuses.has(response.code) || !unsafeAllowed || !replayable) return response;
      const retryAfter = response.headers.retryAfter(this.now());
      if (retryAfter !== undefined && retryAfter > this.maxRetryAfter) return response;
      const delay = retryAfter ?? this.backoff(attempt);
      this.onRetry?.({ attempt, delay, error: null, response });
      await discardBody(response, this.maxDiscardBytes);
      await this.wait(delay, signal, url);
    }
  }

  /** Whether an attempt's error may be retried; `resendable`: the body can be sent (again). */
  private retryableError(error: unknown, unsafeAllowed: boolean, resendable: boolean): boolean {
    // A certificate the client rejects will be rejected again.
    if (!resendable || error instanceof CancelledError || error instanceof TLSCertificateError) return false;
    if (error instanceof ConnectionRefusedError) return this.retryConnectionRefused;
    if (error instanceof RequestNotSentError) return true;
    if (error instanceof TimeoutError) {
      if (!error.sent) return true;
      return error.phase === 'headers' && unsafeAllowed;
    }
    if (error instanceof RequestTransmissionFailedError || error instanceof ResponseNeverReceivedError) return unsafeAllowed;
    return false;
  }

  /** Full-jitter exponential back-off before attempt `attempt + 1`. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.maxDelay, this.baseDelay * 2 ** (attempt - 1));
    if (!this.jitter) return ceiling;
    const r = this.random();
    return Math.floor(ceiling * (r >= 0 && r < 1 ? r : 0.5));
  }

  /** Waits `ms` on the clock; an abort of `signal` rejects with {@link CancelledError}. */
  private wait(ms: number, signal: AbortSignal | undefined, url: string): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(new CancelledError('request cancelled while waiting to retry', { url, cause: signal.reason }));
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let handle: TimerHandle | null = null;
      const onAbort = (): void => {
        if (handle !== null) this.clock.clearTimeout(handle);
        reject(new CancelledError('request cancelled while waiting to retry', { url, cause: signal?.reason }));
      };
      handle = this.clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function checkNumber(value: number | undefined, fallback: number, option: string, min: number, integer: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || (integer && !Number.isSafeInteger(value))) {
    throw new InvalidArgumentError(`${option} must be ${integer ? 'an integer' : 'a number'} of at least ${min}, got ${String(value)}`);
  }
  return value;
}

brand(RetryAgent, 'core.RetryAgent');
