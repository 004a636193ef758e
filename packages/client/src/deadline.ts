/**
 * The `total` timeout of one client call: from the call (queue included) through redirects to
 * the end of the body, enforced by aborting the request's signal. Core enforces the other
 * phases (and its own `total` per exchange); this one spans the whole call.
 */

import { CancelledError, TimeoutError } from '@strand/core';

export class Deadline {
  /** The signal to give the request: the caller's, joined with the deadline's. */
  readonly signal: AbortSignal | undefined;
  private readonly controller: AbortController | null;
  private readonly total: number;
  private readonly url: string;
  private timer: NodeJS.Timeout | undefined;
  private readonly userSignal: AbortSignal | null;
  private fired = false;
  private sent = false;
  /** Passes the caller's abort on to the deadline's controller; only made when there is a deadline and a caller's signal. */
  private onUserAbort: (() => void) | null = null;

  constructor(total: number | undefined, userSignal: AbortSignal | null, url: string) {
    this.total = total ?? Infinity;
    this.url = url;
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
    this.timer = setTimeout(() => this.onTimeout(), this.total);
    this.timer.unref();
  }

  /** The request has left the queue: from now on part of it may reach the server. */
  markSent(): void {
    this.sent = true;
  }

  /** Stops the timer (the call is over). */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.onUserAbort !== null) this.userSignal?.removeEventListener('abort', this.onUserAbort);
  }

  /** The error to report: a `TimeoutError` (phase `total`) when the deadline fired, else `error` itself. */
  translate(error: unknown): unknown {
    if (!this.fired || error instanceof TimeoutError) return error;
    if (error instanceof CancelledError || !(error instanceof Error)) return this.timeoutError(error);
    return error;
  }

  private timeoutError(cause: unknown): TimeoutError {
    return new TimeoutError('total', this.total, this.sent, { url: this.url, cause });
  }

  private onTimeout(): void {
    this.timer = undefined;
    this.fired = true;
    this.controller?.abort(this.timeoutError(undefined));
  }
}
