/**
 * The client's own errors. Everything else a request can fail with is one of `@strand/core`'s
 * typed errors (`ConnectError`, `ResponseFailedError`, `TimeoutError`, `InvalidArgumentError`…).
 *
 * @packageDocumentation
 */

import { StrandError, type StrandErrorOptions } from '@strand/core';
import type { ClientResponse } from './response.js';

/**
 * A response had an unsuccessful status: raised by {@link ClientResponse.raiseForStatus}, or by
 * a request made with `throwForStatus: true`. The response (its body already read, unless the
 * request was `unbuffered`) is on the error.
 */
export class HTTPStatusError extends StrandError {
  /** The status code, e.g. 404. */
  readonly status: number;
  /** The response that failed. */
  readonly response: ClientResponse;

  constructor(response: ClientResponse, options?: StrandErrorOptions) {
    const phrase = response.phrase === '' ? '' : ` ${response.phrase}`;
    super('STRAND_HTTP_STATUS', `HTTP ${response.code}${phrase}`, { url: response.url, ...options });
    this.status = response.code;
    this.response = response;
  }
}

/** A response body could not be decoded as asked: invalid JSON, or an unknown text encoding. */
export class ResponseDecodeError extends StrandError {
  constructor(message: string, options?: StrandErrorOptions) {
    super('STRAND_RESPONSE_DECODE', message, options);
  }
}
