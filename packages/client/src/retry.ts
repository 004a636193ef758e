/**
 * The `retry` option (got's shape) over core's `RetryAgent`:
 *
 * | option          | core's `RetryAgent`                                          |
 * | --------------- | ------------------------------------------------------------ |
 * | `limit`         | `maxAttempts: limit + 1`                                     |
 * | `methods`       | only these methods go through the retry agent; a listed method that is not idempotent gets `retryNonIdempotent` |
 * | `statusCodes`   | `statuses`                                                   |
 * | `backoff`       | `baseDelay` (`base`), `maxDelay` (`max`); `jitter: false` is core's `jitter: false` |
 * | `maxRetryAfter` | `maxRetryAfter`                                              |
 * | `connectionRefused` | `retryConnectionRefused`                                 |
 */

import {
  type Agent,
  type BodyProducer,
  DEFAULT_RETRY_STATUSES,
  type HeadersInit,
  InvalidArgumentError,
  type RequestOptions,
  type Response,
  RetryAgent,
  type RetryAgentOptions,
  type RetryEvent,
  isToken,
} from '@strand/core';
import { describe, isPlainObject } from './fields.js';

/** The `retry` option, checked. Frozen; requests that take the client's share it. */
export interface NormalizedRetry {
  readonly limit: number;
  /** Upper-case method names. */
  readonly methods: ReadonlySet<string>;
  readonly statusCodes: readonly number[];
  readonly baseDelay: number;
  readonly maxDelay: number;
  readonly jitter: boolean;
  readonly maxRetryAfter: number;
  /** Whether a refused connection is retried (core's `retryConnectionRefused`). */
  readonly connectionRefused: boolean;
}

/** got's default: the idempotent methods. */
export const DEFAULT_RETRY_METHODS: readonly string[] = Object.freeze(['GET', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);
/** Retries when `retry` is an object without `limit` (got's default). */
export const DEFAULT_RETRY_LIMIT = 2;

const RETRY_KEYS: ReadonlySet<string> = new Set(['limit', 'methods', 'statusCodes', 'backoff', 'maxRetryAfter', 'connectionRefused']);
const BACKOFF_KEYS: ReadonlySet<string> = new Set(['base', 'max', 'jitter']);

function milliseconds(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new InvalidArgumentError(`${option} must be a non-negative number of milliseconds, got ${typeof value === 'number' ? value : describe(value)}`);
  return value;
}

function limitOf(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`${option} must be a non-negative integer (retries after the first attempt), got ${typeof value === 'number' ? value : describe(value)}`);
  return value;
}

/**
 * Checks the `retry` option: `false` or `0` is none (null), a number is that many retries with
 * the defaults, an object is read key by key. Every error names the option.
 */
export function normalizeRetry(value: unknown, option = 'retry'): NormalizedRetry | null {
  if (value === undefined || value === false) return null;
  let spec: Record<string, unknown>;
  if (typeof value === 'number') spec = { limit: limitOf(value, option) };
  else if (isPlainObject(value)) spec = value;
  else throw new InvalidArgumentError(`${option} must be a number of retries, false, or an object { limit, methods, statusCodes, backoff, maxRetryAfter, connectionRefused }, got ${describe(value)}`);
  for (const key of Object.keys(spec)) {
    if (!RETRY_KEYS.has(key)) throw new InvalidArgumentError(`${option}.${key} is not a retry option; use limit, methods, statusCodes, backoff, maxRetryAfter or connectionRefused`);
  }
  const limit = spec['limit'] === undefined ? DEFAULT_RETRY_LIMIT : limitOf(spec['limit'], `${option}.limit`);

  let methods: ReadonlySet<string> = new Set(DEFAULT_RETRY_METHODS);
  if (spec['methods'] !== undefined) {
    const given = spec['methods'];
    if (!Array.isArray(given)) throw new InvalidArgumentError(`${option}.methods must be an array of method names, got ${describe(given)}`);
    methods = new Set(
      given.map((m: unknown) => {
        if (typeof m !== 'string' || !isToken(m)) throw new InvalidArgumentError(`${option}.methods: ${typeof m === 'string' ? JSON.stringify(m) : describe(m)} is not a method name`);
        return m.toUpperCase();
      }),
    );
  }

  let statusCodes = DEFAULT_RETRY_STATUSES;
  if (spec['statusCodes'] !== undefined) {
    const given = spec['statusCodes'];
    if (!Array.isArray(given)) throw new InvalidArgumentError(`${option}.statusCodes must be an array of status codes, got ${describe(given)}`);
    for (const code of given as unknown[]) {
      if (typeof code !== 'number' || !Number.isInteger(code) || code < 100 || code > 599) {
        throw new InvalidArgumentError(`${option}.statusCodes: ${typeof code === 'number' ? code : describe(code)} is not an HTTP status code (100-599)`);
      }
    }
    statusCodes = Object.freeze([...(given as number[])]);
  }

  let baseDelay = 100;
  let maxDelay = 10_000;
  let jitter = true;
  const backoff = spec['backoff'];
  if (backoff !== undefined) {
    if (!isPlainObject(backoff)) throw new InvalidArgumentError(`${option}.backoff must be an object { base, max, jitter }, got ${describe(backoff)}`);
    for (const key of Object.keys(backoff)) {
      if (!BACKOFF_KEYS.has(key)) throw new InvalidArgumentError(`${option}.backoff.${key} is not a back-off option; use base, max or jitter`);
    }
    baseDelay = milliseconds(backoff['base'], `${option}.backoff.base`, baseDelay);
    maxDelay = milliseconds(backoff['max'], `${option}.backoff.max`, maxDelay);
    if (backoff['jitter'] !== undefined && typeof backoff['jitter'] !== 'boolean') throw new InvalidArgumentError(`${option}.backoff.jitter must be a boolean, got ${describe(backoff['jitter'])}`);
    jitter = backoff['jitter'] !== false;
  }
  const maxRetryAfter = milliseconds(spec['maxRetryAfter'], `${option}.maxRetryAfter`, 60_000);
  const refused = spec['connectionRefused'];
  if (refused !== undefined && typeof refused !== 'boolean') throw new InvalidArgumentError(`${option}.connectionRefused must be a boolean, got ${describe(refused)}`);
  const connectionRefused = refused !== false;
  if (limit === 0 || methods.size === 0) return null;
  return Object.freeze({ limit, methods, statusCodes, baseDelay, maxDelay, jitter, maxRetryAfter, connectionRefused });
}


/**
 * Sends requests whose method `retry.methods` lists through core's `RetryAgent`, and others
 * straight to `inner`. Listed methods are retried as core allows for idempotent ones (a POST
 * listed is retried after failures that may have reached the server, as got does).
 */
export class MethodRetryAgent implements Agent {
  private readonly retrying: RetryAgent;

  /** @param onRetry - told before each retry (the `beforeRetry` hooks), as core's `onRetry`. */
  constructor(
    private readonly inner: Agent,
    private readonly retry: NormalizedRetry,
    onRetry?: (event: RetryEvent) => void,
  ) {
    const options: RetryAgentOptions = {
      maxAttempts: retry.limit + 1,
      statuses: retry.statusCodes,
      retryNonIdempotent: true,
      baseDelay: retry.baseDelay,
      maxDelay: retry.maxDelay,
      maxRetryAfter: retry.maxRetryAfter,
      retryConnectionRefused: retry.connectionRefused,
    };
    if (!retry.jitter) options.jitter = false;
    if (onRetry !== undefined) options.onRetry = onRetry;
    this.retrying = new RetryAgent(inner, options);
  }

  request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    return (this.retry.methods.has(method) ? this.retrying : this.inner).request(method, uri, headers, body, options);
  }
}
