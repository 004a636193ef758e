/**
 * `node:diagnostics_channel` events for the request lifecycle and the pool, under `strand:`,
 * in the shape undici uses under `undici:`. Messages are built only when a channel has
 * subscribers, so an application that does not listen pays a few property reads per request.
 *
 * | channel | message | when |
 * | --- | --- | --- |
 * | `strand:request:create` | `{ request }` | an `HttpAgent` or `Http2Agent` accepted a request (each redirect hop and retry through an agent is a request of its own; one an `Http2Agent` sends over HTTP/1.1 is created once) |
 * | `strand:client:sendHeaders` | `{ request, headers }` | the request head was written (`headers` is its text) |
 * | `strand:request:bodySent` | `{ request }` | the whole request, body included, was handed to the socket |
 * | `strand:request:headers` | `{ request, response }` | the response head arrived |
 * | `strand:request:trailers` | `{ request, trailers }` | the response body ended complete |
 * | `strand:request:error` | `{ request, error }` | the request or its body failed |
 * | `strand:client:beforeConnect` | `{ connectParams }` | a connection starts opening |
 * | `strand:client:connected` | `{ connectParams, socket }` | it is ready (TLS done) |
 * | `strand:client:connectError` | `{ connectParams, error }` | it could not be opened |
 * | `strand:pool:queued` | `{ key, url }` | a request waits for a connection (the per-host cap) |
 * | `strand:pool:connectionClosed` | `{ key }` | a pooled connection closed |
 * | `strand:cache:decision` | `{ method, url, key, status, background }` | a `CachingAgent` decided how to answer (`status` is its `Cache-Status` member) |
 *
 * `request` is the same object in every event of one request: `{ method, url, headers }`.
 *
 * @packageDocumentation
 */

import diagnosticsChannel from 'node:diagnostics_channel';
import type { Headers } from './message/headers.js';

/** The request in the `strand:request:*` and `strand:client:sendHeaders` messages. */
export interface DiagnosticsRequest {
  /** The request method. */
  readonly method: string;
  /** The absolute URL as sent (credentials included: redact before exporting it). */
  readonly url: string;
  /** The request header fields as the agent prepared them (`Host` and framing are added on the wire). */
  readonly headers: Headers;
}

/** What a connection is opened to, in the `strand:client:*Connect*` messages. */
export interface DiagnosticsConnectParams {
  /** The pool key of the endpoint, e.g. `http://127.0.0.1:8080`. */
  readonly key: string;
  /** The URL of the request that asked for the connection, when known. */
  readonly url: string | undefined;
}

/** The channels, by event. */
export const diagnostics = {
  /** `strand:request:create`: `{ request }`. */
  create: diagnosticsChannel.channel('strand:request:create'),
  /** `strand:client:sendHeaders`: `{ request, headers }` (the head as text). */
  sendHeaders: diagnosticsChannel.channel('strand:client:sendHeaders'),
  /** `strand:request:bodySent`: `{ request }`. */
  bodySent: diagnosticsChannel.channel('strand:request:bodySent'),
  /** `strand:request:headers`: `{ request, response }`. */
  headers: diagnosticsChannel.channel('strand:request:headers'),
  /** `strand:request:trailers`: `{ request, trailers }`. */
  trailers: diagnosticsChannel.channel('strand:request:trailers'),
  /** `strand:request:error`: `{ request, error }`. */
  error: diagnosticsChannel.channel('strand:request:error'),
  /** `strand:client:beforeConnect`: `{ connectParams }`. */
  beforeConnect: diagnosticsChannel.channel('strand:client:beforeConnect'),
  /** `strand:client:connected`: `{ connectParams, socket }`. */
  connected: diagnosticsChannel.channel('strand:client:connected'),
  /** `strand:client:connectError`: `{ connectParams, error }`. */
  connectError: diagnosticsChannel.channel('strand:client:connectError'),
  /** `strand:pool:queued`: `{ key, url }`. */
  queued: diagnosticsChannel.channel('strand:pool:queued'),
  /** `strand:pool:connectionClosed`: `{ key }`. */
  connectionClosed: diagnosticsChannel.channel('strand:pool:connectionClosed'),
  /** `strand:cache:decision`: `{ method, url, key, status, background }` (see `CachingAgent`). */
  cacheDecision: diagnosticsChannel.channel('strand:cache:decision'),
} as const;

const requestChannels = [diagnostics.create, diagnostics.sendHeaders, diagnostics.bodySent, diagnostics.headers, diagnostics.trailers, diagnostics.error];

/** Errors already published on `strand:request:error` (so a wrapper up the stack does not publish them again). */
export const reported = new WeakSet<object>();

/**
 * Publishes `error` on `strand:request:error` unless the connection already did (the failures
 * an agent meets before any connection has the request: DNS, connect, queue, a closed pool),
 * then rethrows it. For an agent's `.catch` on its request's promise.
 */
export function publishFailure(request: DiagnosticsRequest, error: unknown): never {
  if (diagnostics.error.hasSubscribers && !reported.has(error as object)) {
    diagnostics.error.publish({ request, error });
    // Once: an agent that handed the request to another sees the same failure come back.
    if (typeof error === 'object' && error !== null) reported.add(error);
  }
  throw error;
}

/** Requests an agent passed on to another after publishing their create event, by the options object passed on ({@link handOverRequest}). */
const handedOver = new WeakMap<object, DiagnosticsRequest>();

/**
 * Options for passing a request whose `strand:request:create` was published (as `request`) on to
 * another agent (an `Http2Agent` whose server chose HTTP/1.1): the agent given them goes on with
 * the same request object and does not publish create again. `options` itself when `request` is null.
 */
export function handOverRequest<T extends object>(options: T, request: DiagnosticsRequest | null): T {
  if (request === null) return options;
  const passed = { ...options };
  handedOver.set(passed, request);
  return passed;
}

/**
 * The request object for this request's events when anyone listens to a request channel, else
 * null (and nothing is built). Publishes `strand:request:create`, unless `options` come from
 * {@link handOverRequest} (the request object made then is returned).
 */
export function requestCreated(method: string, url: string, headers: Headers, options?: object): DiagnosticsRequest | null {
  let listened = false;
  for (const channel of requestChannels) {
    if (channel.hasSubscribers) {
      listened = true;
      break;
    }
  }
  if (!listened) return null;
  const earlier = options === undefined ? undefined : handedOver.get(options);
  if (earlier !== undefined) return earlier;
  const request: DiagnosticsRequest = { method, url, headers };
  if (diagnostics.create.hasSubscribers) diagnostics.create.publish({ request });
  return request;
}
