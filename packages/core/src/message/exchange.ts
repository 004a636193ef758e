/**
 * What an exchange reports besides its response: interim (1xx) responses and the clock times of
 * its milestones. Plain data, shared by the connection, the pool, the endpoints and the agents.
 *
 * @packageDocumentation
 */

import type { Headers } from './headers.js';

/** An interim (1xx) response, reported through `onInformational` (request option). */
export interface InformationalResponse {
  /** The interim status code (100..199, never 101). */
  readonly code: number;
  /** The reason phrase as sent. */
  readonly phrase: string;
  /** The interim response's header fields (e.g. the `Link` fields of a 103 Early Hints). */
  readonly headers: Headers;
}

/**
 * A final (non-1xx) response head, reported through `onHead` (request option) as soon as the
 * connection has parsed it: before the request's promise resolves, before any body byte is read.
 * The body, its length on the wire and the trailers are not known yet.
 */
export interface ResponseHeadInfo {
  /** HTTP version as `[major, minor]`. */
  readonly version: readonly [number, number];
  /** The status code (200..599). */
  readonly code: number;
  /** The reason phrase as sent. */
  readonly phrase: string;
  /** The header fields, as the response will carry them (read them; do not change them). */
  readonly headers: Headers;
  /** The URL of the request this head answers (credentials as given: redact before logging). */
  readonly url: string;
}

/**
 * Clock times an endpoint records while connecting, when the caller asks for them (the
 * agent does, for `response.timings`). A phase that does not happen is left unset: no DNS
 * for an IP literal, no TLS for `http:`.
 */
export interface ConnectMilestones {
  /** The host name was resolved. */
  dnsEnd?: number;
  /** The TCP (or Unix socket) connection was established. */
  tcpEnd?: number;
  /** The TLS handshake finished. */
  tlsEnd?: number;
}

/**
 * Clock times (`Clock.now()`, milliseconds) of an exchange's milestones. Fields are set as they
 * happen; the agent adds the ones before the connection (queue, connect).
 */
export interface ExchangeTimings extends ConnectMilestones {
  /** The agent was asked for the request. */
  start: number;
  /** A connection was in hand (after any queueing and connecting). */
  acquired?: number;
  /** A new connection started opening (absent when an idle one was reused). */
  connectStart?: number;
  /** The new connection was ready (TCP connected, TLS handshaken); `dnsEnd`, `tcpEnd` and `tlsEnd` split it when the endpoint reports them. */
  connectEnd?: number;
  /** The request, body included, was fully handed to the socket. */
  sent?: number;
  /** The response head was parsed. */
  head?: number;
  /** The response body ended (complete, or failed). */
  end?: number;
}
