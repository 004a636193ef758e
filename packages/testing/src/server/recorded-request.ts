import { Headers, InvalidArgumentError } from '@strand/core';

/** What a fake server knows about a request it received, in {@link RecordedRequest}'s constructor. */
export interface RecordedRequestInit {
  index: number;
  method: string;
  url: URL;
  target: string;
  httpVersion: string;
  /** Flat `[name, value, ...]` as received. */
  rawHeaders: string[];
  body: Buffer;
  connectionId: number;
}

/**
 * A request as a fake server received it, from the bytes on the wire: method, URL, headers in
 * their order and spelling, and the whole body. Given to handlers and kept in `requests`.
 *
 * @example
 * ```ts
 * const [request] = fake.requests;
 * expect(request.method).toBe('POST');
 * expect(request.headers.get('content-type')).toBe('application/json');
 * expect(request.json()).toEqual({ name: 'strand' });
 * ```
 */
export class RecordedRequest {
  /** Position in the order of arrival, from 0. */
  readonly index: number;
  /** The method as sent (case kept). */
  readonly method: string;
  /** The absolute URL: the scheme of the connection, the `Host` header, and the request target. */
  readonly url: URL;
  /** The request target exactly as sent (`/path?query`, or an absolute URL to a proxy). */
  readonly target: string;
  /** `'1.1'` or `'1.0'`. */
  readonly httpVersion: string;
  /** The header fields as sent (names' spelling and order kept). */
  readonly headers: Headers;
  /** The body, de-chunked; empty when there was none. */
  readonly body: Buffer;
  /** Which connection carried it: equal ids mean the client reused a connection. */
  readonly connectionId: number;
  /** Path parameters of the route that matched (`/users/:id` gives `{ id }`); empty otherwise. */
  params: Readonly<Record<string, string>> = {};

  constructor(init: RecordedRequestInit) {
    this.index = init.index;
    this.method = init.method;
    this.url = init.url;
    this.target = init.target;
    this.httpVersion = init.httpVersion;
    this.headers = Headers.fromRaw(init.rawHeaders);
    this.body = init.body;
    this.connectionId = init.connectionId;
  }

  /** The URL's path, e.g. `/users/7`. */
  get path(): string {
    return this.url.pathname;
  }

  /** The query parameters. */
  get query(): URLSearchParams {
    return this.url.searchParams;
  }

  /** The body bytes (the same memory as {@link RecordedRequest.body}). */
  bytes(): Uint8Array {
    return this.body;
  }

  /** The body decoded as UTF-8. */
  text(): string {
    return this.body.toString('utf8');
  }

  /** The body parsed as JSON. Throws `InvalidArgumentError` (showing the start of the body) when it is not JSON. */
  json<T = unknown>(): T {
    const text = this.text();
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
      throw new InvalidArgumentError(`the body of ${this.method} ${this.url.href} is not JSON: ${JSON.stringify(shown)}`, { cause: error });
    }
  }

  /** `METHOD url`, for messages. */
  toString(): string {
    return `${this.method} ${this.url.href}`;
  }
}
