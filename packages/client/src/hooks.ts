/**
 * Hooks (got's and ky's names): functions the client calls at fixed points of a request, on a
 * client's defaults and per request (the request's run after the client's). This file holds
 * their types, their normalisation, and the two stack agents that call the hooks of a
 * redirect hop (`beforeRedirect`) and of a retry (`beforeRetry`).
 *
 * The order, for one call:
 *
 * 1. `beforeRequest` — may change the method, URL, headers and body, or throw;
 * 2. the request is sent: before each redirect hop, `beforeRedirect`; before each retry of
 *    the `retry` option, `beforeRetry`;
 * 3. `afterResponse` — each gets the response the previous one returned; may return another,
 *    or `retry()` the request once; then `throwForStatus` is applied;
 * 4. whatever failed in 1–3 (the hooks' own errors too) goes through `beforeError`, which may
 *    replace the error, and the call rejects with it.
 */

import {
  type Agent,
  type BodyProducer,
  CancelledError,
  Headers,
  type HeadersInit,
  InvalidArgumentError,
  type RequestOptions,
  type Response,
  type RetryEvent,
} from '@strand/core';
import { describe, isPlainObject } from './fields.js';
import type { ClientResponse } from './response.js';
import type { AfterResponseHook, Awaitable, BeforeErrorHook, BeforeRedirectHook, BeforeRequestHook, BeforeRetryHook, RedirectRequest, RetryState } from './types.js';

/** The `hooks` option, checked: every list present (maybe empty), frozen. */
export interface NormalizedHooks {
  readonly beforeRequest: readonly BeforeRequestHook[];
  readonly afterResponse: readonly AfterResponseHook[];
  readonly beforeRedirect: readonly BeforeRedirectHook[];
  readonly beforeRetry: readonly BeforeRetryHook[];
  readonly beforeError: readonly BeforeErrorHook[];
}

const HOOK_NAMES = ['beforeRequest', 'afterResponse', 'beforeRedirect', 'beforeRetry', 'beforeError'] as const;
const EMPTY: readonly never[] = Object.freeze([]);

/**
 * Checks a `hooks` option and appends its lists to `base` (the client's). Null when there is
 * no hook at all, so a request without hooks pays nothing.
 */
export function normalizeHooks(value: unknown, base: NormalizedHooks | null): NormalizedHooks | null {
  if (value === undefined) return base;
  if (!isPlainObject(value)) throw new InvalidArgumentError(`hooks must be an object { ${HOOK_NAMES.join(', ')} }, got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (!(HOOK_NAMES as readonly string[]).includes(key)) throw new InvalidArgumentError(`hooks.${key} is not a hook; use ${HOOK_NAMES.join(', ')}`);
  }
  const lists = {} as Record<(typeof HOOK_NAMES)[number], readonly unknown[]>;
  let any = false;
  for (const name of HOOK_NAMES) {
    const given = value[name];
    const own: unknown[] = [];
    if (given !== undefined) {
      if (!Array.isArray(given)) throw new InvalidArgumentError(`hooks.${name} must be an array of functions, got ${describe(given)}`);
      given.forEach((hook: unknown, i) => {
        if (typeof hook !== 'function') throw new InvalidArgumentError(`hooks.${name}[${i}] must be a function, got ${describe(hook)}`);
        own.push(hook);
      });
    }
    const inherited = base === null ? EMPTY : base[name];
    lists[name] = own.length === 0 ? inherited : Object.freeze([...inherited, ...own]);
    if (lists[name].length > 0) any = true;
  }
  return any ? (Object.freeze(lists) as unknown as NormalizedHooks) : null;
}

/**
 * Waits for `value`; an abort of `signal` rejects at once with a `CancelledError` (the hook
 * itself is not stopped: it is given the signal to watch).
 */
export function untilAborted<T>(value: Awaitable<T>, signal: AbortSignal | undefined, url: string): Promise<T> {
  if (!(value instanceof Promise)) return Promise.resolve(value);
  if (signal === undefined) return value;
  if (signal.aborted) return Promise.reject(new CancelledError('request cancelled while a hook ran', { url, cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new CancelledError('request cancelled while a hook ran', { url, cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    value.then(
      (result) => {
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Makes a head-only `ClientResponse` for a redirect or retried response (its body is discarded). */
export type HeadOnly = (response: Response) => ClientResponse;

/**
 * Calls the `beforeRedirect` hooks before each hop of a redirect chain. It sits just inside the
 * redirect agent, which calls it once for the request and once per hop, in turn: every call
 * after the first is a redirect of the previous call's response. One per request.
 */
export class RedirectHookAgent implements Agent {
  private previous: Response | null = null;
  private redirects = 0;

  constructor(
    private readonly inner: Agent,
    private readonly hooks: readonly BeforeRedirectHook[],
    private readonly headOnly: HeadOnly,
  ) {}

  async request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    const previous = this.previous;
    let sent: HeadersInit | null | undefined = headers;
    if (previous !== null) {
      const url = String(uri);
      const hop: RedirectRequest = { method, url: new URL(url), headers: new Headers(headers ?? null), redirectCount: ++this.redirects };
      const response = this.headOnly(previous);
      for (const hook of this.hooks) await untilAborted(hook(hop, response), options?.signal, url);
      sent = hop.headers instanceof Headers ? hop.headers : new Headers(hop.headers);
    }
    const response = await this.inner.request(method, uri, sent, body, options);
    this.previous = response;
    return response;
  }
}

/**
 * Runs the `beforeRetry` hooks when core's `RetryAgent` reports a retry (its `onRetry`, which is
 * synchronous) and makes the next attempt wait for them: it sits just inside the retry agent, so
 * the attempt goes through it. A hook that throws fails the attempt with its error (which is
 * not one the retry agent retries, unless it is a `StrandError` saying nothing was sent). One
 * per request.
 */
export class RetryHookGate implements Agent {
  private pending: Promise<void> | null = null;
  /** The attempt that went through last: the one a retry repeats. */
  private method = '';
  private uri = '';

  constructor(
    private readonly inner: Agent,
    private readonly hooks: readonly BeforeRetryHook[],
    private readonly headOnly: HeadOnly,
  ) {}

  /** For the retry agent's `onRetry`: starts the hooks for the retry of the last attempt. */
  onRetry(event: RetryEvent): void {
    const state: RetryState = {
      request: { method: this.method, url: this.uri },
      retryCount: event.attempt,
      delay: event.delay,
      error: event.error,
      response: event.response === null ? null : this.headOnly(event.response),
    };
    const run = async (): Promise<void> => {
      for (const hook of this.hooks) await hook(state);
    };
    this.pending = run();
    // Awaited by the next attempt; a rejection is reported there, not as an unhandled one.
    this.pending.catch(() => undefined);
  }

  async request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    const pending = this.pending;
    this.method = method;
    this.uri = String(uri);
    if (pending !== null) {
      this.pending = null;
      await untilAborted(pending, options?.signal, this.uri);
    }
    return this.inner.request(method, uri, headers, body, options);
  }
}
