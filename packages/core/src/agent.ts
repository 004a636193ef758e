import type { BodyProducer } from './message/producers.js';
import type { HeadersInit } from './message/headers.js';
import type { ExchangeTimings, InformationalResponse } from './message/exchange.js';
import type { Response } from './message/response.js';
import type { TimeoutOptions } from './time/timeouts.js';

/** Per-request options every {@link Agent} accepts. Wrappers pass them through. */
export interface RequestOptions {
  /** Cancels the request in any phase, including while its body is read. */
  signal?: AbortSignal | undefined;
  /** Called for each interim 1xx response (100 Continue, 103 Early Hints...) before the final one. */
  onInformational?: ((info: InformationalResponse) => void) | undefined;
  /**
   * Timeouts for this request: a number is the `total` in ms; an object sets named phases
   * (`queue`, `connect`, `sendIdle`, `headers`, `bodyIdle`, `total`) over the agent's defaults.
   */
  timeout?: number | TimeoutOptions | undefined;
  /**
   * An object the agent fills with the clock times of the exchange's milestones (`start` must be
   * set by the caller). Wrappers pass it down so the timings cover the final request.
   */
  timings?: ExchangeTimings | undefined;
}

/**
 * The one way a request is made (Twisted's `IAgent`). `HttpAgent` talks to the network; every
 * feature (redirects, decoding, retries, proxies) is another Agent that wraps one.
 *
 * The promise resolves when the response head has arrived; the body follows, streamed.
 */
export interface Agent {
  request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response>;
}

/** Methods whose repetition has the same effect as one request (RFC 9110 §9.2.2): safe to retry. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
