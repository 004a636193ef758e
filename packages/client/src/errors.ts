/**
 * The client's own errors. Everything else a request can fail with is one of `@strand/core`'s
 * typed errors (`ConnectError`, `ResponseFailedError`, `TimeoutError`, `InvalidArgumentError`…).
 *
 * @packageDocumentation
 */

import { ProxyError, StrandError, type StrandErrorOptions, brand } from '@strand/core';
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

/**
 * A response body is not valid JSON: raised by `response.json()`. The message says where
 * (line, column and position in the decoded text) and why, with the body's Content-Type and
 * length, and never any of the body's text: bodies carry tokens and personal data into logs.
 * (For that reason `JSON.parse`'s own `SyntaxError`, whose message quotes the body, is neither
 * the message nor the `cause`.) The code is `ResponseDecodeError`'s, `STRAND_RESPONSE_DECODE`.
 *
 * @example
 * `the response body is not valid JSON: unexpected "<", expected a value at line 1, column 1 (position 0); Content-Type text/html, 1024 bytes (https://api.example/items)`
 */
export class JSONDecodeError extends ResponseDecodeError {
  /** Index in the decoded text (UTF-16 code units) of the first character that cannot be JSON; the text's length when the body ends too early. */
  readonly position: number;
  /** 1-based line of `position`. */
  readonly line: number;
  /** 1-based column of `position` in its line. */
  readonly column: number;
  /** Why it is not JSON, e.g. `expected ',' or '}' after a property value`; never quotes the body. */
  readonly reason: string;
  /** The response's Content-Type, undefined when it had none. */
  readonly contentType: string | undefined;
  /** The body's length in bytes (after content decoding). */
  readonly bodyLength: number;

  constructor(
    where: { readonly position: number; readonly line: number; readonly column: number; readonly reason: string },
    contentType: string | undefined,
    bodyLength: number,
    options?: StrandErrorOptions,
  ) {
    const type = contentType === undefined ? 'no Content-Type' : `Content-Type ${contentType.length > 200 ? `${contentType.slice(0, 200)}…` : contentType}`;
    super(`the response body is not valid JSON: ${where.reason} at line ${where.line}, column ${where.column} (position ${where.position}); ${type}, ${bodyLength} bytes`, options);
    this.position = where.position;
    this.line = where.line;
    this.column = where.column;
    this.reason = where.reason;
    this.contentType = contentType;
    this.bodyLength = bodyLength;
  }
}

/**
 * A SOCKS proxy did not open the tunnel (a {@link ProxyError}, as an HTTP proxy's refused
 * `CONNECT` is, with `statusCode` 0 and no headers). Nothing was sent to the origin. The code
 * says why:
 *
 * - `STRAND_PROXY_AUTH_REQUIRED`: the proxy rejected the username and password, or accepts none
 *   of the methods offered (it wants credentials and the URL has none);
 * - `STRAND_PROXY_TUNNEL_FAILED`: the proxy refused the CONNECT — `reply` is its reply code
 *   (SOCKS5, RFC 1928: 1 general failure, 2 not allowed, 3 network unreachable, 4 host
 *   unreachable, 5 connection refused, 6 TTL expired, 7 command not supported, 8 address type
 *   not supported; SOCKS4: 91-93) — or it does not speak SOCKS (`reply` null).
 *
 * A proxy that cannot be reached at all is a `ConnectError` instead (retryable: nothing was sent).
 */
export class SocksProxyError extends ProxyError {
  /** The proxy's reply code, or null when it sent none (authentication, protocol errors). */
  readonly reply: number | null;

  constructor(message: string, kind: 'auth' | 'refused' | 'protocol', reply: number | null, options?: StrandErrorOptions) {
    // ProxyError derives its code from an HTTP status, which SOCKS has not: it is given here.
    super(message, 0, null, { ...options, code: kind === 'auth' ? 'STRAND_PROXY_AUTH_REQUIRED' : 'STRAND_PROXY_TUNNEL_FAILED' });
    this.reply = reply;
  }
}

brand(HTTPStatusError, 'client.HTTPStatusError');
brand(ResponseDecodeError, 'client.ResponseDecodeError');
brand(JSONDecodeError, 'client.JSONDecodeError');
brand(SocksProxyError, 'client.SocksProxyError');
