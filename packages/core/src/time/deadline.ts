/**
 * A deadline over a whole call that may span several exchanges (a redirect chain, retries, a
 * queue wait, the body read): when it passes, the call's signal is aborted, and the error the
 * call then fails with is reported as a `total` {@link TimeoutError}. An agent's own `total`
 * timeout covers one exchange; this covers whatever a caller above the agents does.
 */

import { CancelledError, TimeoutError } from '../errors.js';
import { type Clock, type TimerHandle, systemClock } from './clock.js';

/**
 * The `total` deadline of one call, on a {@link Clock}. Give {@link signal} to every request of
 * the call, call {@link markSent} once the call may have reached a server, pass every error
 * through {@link translate}, and {@link clear} when the call is over (body read or abandoned).
 *
 * Without a deadline (`total` Infinity or undefined) it starts no timer and its signal is the
 * caller's own: it costs nothing.
 *
 * @example
 * ```ts
 * const deadline = new Deadline(5_000, null, url);
 * try {
 *   const response = await agent.request('GET', url, null, null, { signal: deadline.signal });
 *   deadline.markSent();
 *   return await readBody(response);
 * } catch (error) {
 *   throw deadline.translate(error); // a TimeoutError (phase 'total') once the deadline passed
 * } finally {
 *   deadline.clear();
 * }
 * ```
 */
export class Deadline {
  /** The signal for the call's requests: the caller's own, joined with the deadline's (undefined when there is neither). */
  readonly signal: AbortSignal | undefined;
  private readonly controller: AbortController | null;
  private readonly total: number;
  private readonly url: string;
  private readonly clock: Clock;
  private timer: TimerHandle | null = null;
  private readonly userSignal: AbortSignal | null;
  private fired = false;
  private sent = false;
  /** Passes the caller's abort on to the deadline's controller; made only with both a deadline and a caller's signal. */
  private onUserAbort: (() => void) | null = null;

  /**
   * @param total - milliseconds from now; Infinity or undefined for none.
   * @param userSignal - the caller's signal, if any: aborting it aborts the call as before.
   * @param url - the URL errors name.
   * @param clock - whose timer measures the deadline (the pool's, so a `ManualClock` drives it in tests).
   */
  constructor(total: number | undefined, userSignal: AbortSignal | null, url: string, clock: Clock = systemClock) {
    this.total = total ?? Infinity;
    this.url = url;
    this.clock = clock;
    this.userSignal = userSignal;
    if (this.total === Infinity) {
      this.controller = null;
      this.signal = userSignal ?? undefined;
      return;
    }
    const controller = new AbortController();
    this.controller = controller;
    this.signal = controller.signal;
    if (userSignal !== null) {
      if (userSignal.aborted) {
        controller.abort(userSignal.reason);
      } else {
        this.onUserAbort = () => controller.abort(userSignal.reason);
        userSignal.addEventListener('abort', this.onUserAbort, { once: true });
      }
    }
    this.timer = clock.setTimeout(() => this.expire(), this.total);
  }

  /** True once the deadline passed (the signal was aborted by it). */
  get expired(): boolean {
    return this.fired;
  }

  /** The call has left any queue: from now on part of it may have reached a server (the error's `sent`). */
  markSent(): void {
    this.sent = true;
  }

  /** The call is over: stops the timer and lets go of the caller's signal. Safe to call twice. */
  clear(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.onUserAbort !== null) {
      this.userSignal?.removeEventListener('abort', this.onUserAbort);
      this.onUserAbort = null;
    }
  }

  /**
   * The error to report for `error`: once the deadline passed, a cancellation (or a non-Error
   * abort reason) becomes a {@link TimeoutError} of phase `total` with `error` as its cause;
   * any other error, and every error before the deadline, is returned as it is.
   */
  translate(error: unknown): unknown {
    if (!this.fired || error instanceof TimeoutError) return error;
    if (error instanceof CancelledError || !(error instanceof Error)) return this.timeoutError(error);
    return error;
  }

  private timeoutError(cause: unknown): TimeoutError {
    return new TimeoutError('total', this.total, this.sent, { url: this.url, cause });
  }

  private expire(): void {
    this.timer = null;
    this.fired = true;
    this.controller?.abort(this.timeoutError(undefined));
  }
}
