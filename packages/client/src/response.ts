/**
 * The client's response: the core response's head plus treq's conveniences (`json()`,
 * `text()`, `content()`, `collect()`, `history()`, `cookies()`) and per-phase timings.
 */

import { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import {
  type BodyProtocol,
  type BodyTransport,
  type Headers,
  InvalidArgumentError,
  type Link,
  type RequestInfo,
  type Response,
  ResponseDone,
  StrandError,
  readBody,
  brand,
  linksByRel,
  parseLinks,
  parseMediaType,
  type ByteRangePart,
  type ByteRangesOptions,
  readByteRanges,
} from '@strand/core';
import type { CookieJar } from 'tough-cookie';
import { HTTPStatusError, JSONDecodeError } from './errors.js';
import type { ResponseRange } from './ranges.js';
import { locateJsonError } from './json-decode.js';
import { bufferedBodyStream, webBodyStream } from './web-bodies.js';

/**
 * How long each phase of a request took, in milliseconds. A phase that did not happen, or that
 * the layer underneath does not report, is `undefined`.
 *
 * - `queue`: waiting for a slot under the client's `maxConcurrentRequests` (0 when there was no
 *   wait), plus the pool's own queue when core reports it.
 * - `dns`, `connect`, `tls`: opening the connection of the final request: the host-name lookup
 *   (undefined for an IP literal), the TCP connect, the TLS handshake (undefined for `http:`).
 *   All undefined for a reused connection.
 * - `firstByte`: from sending the request (after the queue) to the final response head,
 *   redirects and authentication round trips included.
 * - `body`: from the final head to the end of the body (set once the body has been read).
 * - `total`: from the call to the end of the body.
 */
export interface Timings {
  /** Waiting for a concurrency slot and a connection, ms. */
  queue: number | undefined;
  /** Resolving the host name, ms (undefined on a reused connection or an IP literal). */
  dns: number | undefined;
  /** The TCP connection, ms (undefined on a reused connection). */
  connect: number | undefined;
  /** The TLS handshake, ms (undefined for http: or a reused connection). */
  tls: number | undefined;
  /** From the request to the first byte of the response head, ms. */
  firstByte: number | undefined;
  /** Reading the body, ms (undefined until it ended). */
  body: number | undefined;
  /** The whole call, redirects and body included, ms (undefined until the body ended). */
  total: number | undefined;
}

/** Where a response's body is. */
type BodyState =
  | { readonly kind: 'buffered'; readonly bytes: Buffer }
  | { readonly kind: 'streaming'; readonly response: Response }
  /** A response of the redirect history: its body was discarded by the redirect agent. */
  | { readonly kind: 'discarded' };

/** What the client hands a {@link ClientResponse}. @internal */
export interface ClientResponseInit {
  /** The response from the agent stack (redirects and decoding done). */
  readonly original: Response;
  readonly body: BodyState;
  readonly timings: Timings;
  /** The jar of the request (null when none was made). */
  readonly jar: () => CookieJar | null;
  /** Whether redirects were followed (a 3xx is then a failure for {@link ClientResponse.raiseForStatus}). */
  readonly followedRedirects: boolean;
  readonly maxBodySize: number;
  /** What the response is for the request's `range` option (null without one). */
  readonly range?: ResponseRange | null;
}

/** The charset treq's `text()` falls back to is ISO-8859-1; Strand's is UTF-8, what nearly every text on the web now is. */
export const DEFAULT_TEXT_ENCODING = 'utf-8';

/** The `charset` parameter of a Content-Type value, or null. */
export function charsetOf(contentType: string | undefined): string | null {
  if (contentType === undefined) return null;
  return parseMediaType(contentType)?.charset ?? null;
}

/**
 * One UTF-8 decoder for every `text()` in UTF-8 (most of them): a `TextDecoder` used without
 * `{ stream: true }` keeps no state between calls, and making one per call is not free.
 */
const UTF8_DECODER = new TextDecoder(DEFAULT_TEXT_ENCODING);

function decoderFor(label: string): TextDecoder | null {
  if (isUtf8Label(label)) return UTF8_DECODER;
  try {
    return new TextDecoder(label);
  } catch {
    return null;
  }
}

/** True for the usual spellings of UTF-8 (`utf-8`, `utf8`, any case); other labels go through `new TextDecoder`. */
function isUtf8Label(label: string): boolean {
  if (label === 'utf-8' || label === 'UTF-8') return true;
  const lower = label.toLowerCase();
  return lower === 'utf-8' || lower === 'utf8';
}

/**
 * A response as the client returns it. Buffered by default: the body has been read (up to
 * `maxBodySize`) before the promise resolved, and every body method can be called any number of
 * times. With `unbuffered: true` the body is streamed and can be read once, by one of
 * `content()`/`text()`/`json()`/`collect()`/`deliverBody()`/`for await`/`toReadable()`/`dump()`
 * (`content()` keeps what it read, so `text()` and `json()` after it work too).
 * An unbuffered body must be read or dumped: until it ends, the request holds its connection
 * and its slot under the client's concurrency limit.
 */
export class ClientResponse implements AsyncIterable<Buffer> {
  /** Status code, e.g. 200. */
  readonly code: number;
  /** Reason phrase as sent. */
  readonly phrase: string;
  /** Header fields of the final response (`get`, `getAll`, `has`, iteration). */
  readonly headers: Headers;
  /** HTTP version as `[major, minor]`. */
  readonly version: readonly [number, number];
  /** The core response underneath (after redirects and decoding); read the body through this object rather than it. */
  readonly original: Response;
  /** Per-phase durations; `body` and `total` are filled in when the body ends. */
  readonly timings: Timings;
  /**
   * For a request with the `range` option, what came back (null otherwise): `partial: true` and
   * the range for a 206 (`kind: 'partial'`, or `'multipart'`: read the parts with
   * {@link byteRanges}), `partial: false` for a 200 (`kind: 'full'`: the body is the whole
   * representation, from byte 0), `kind: 'unsatisfiable'` for a 416 (with the length when the
   * server said). A 206 with another range than asked never gets here: the request fails with
   * core's `RangeMismatchError`.
   */
  readonly range: ResponseRange | null;
  readonly #body: BodyState;
  readonly #jar: () => CookieJar | null;
  readonly #followedRedirects: boolean;
  readonly #maxBodySize: number;
  #content: Promise<Buffer> | null = null;
  #stream: ReadableStream<Uint8Array> | null = null;

  /** @internal Made by the client. */
  constructor(init: ClientResponseInit) {
    const original = init.original;
    this.original = original;
    this.code = original.code;
    this.phrase = original.phrase;
    this.headers = original.headers;
    this.version = original.version;
    this.timings = init.timings;
    this.range = init.range ?? null;
    this.#body = init.body;
    this.#jar = init.jar;
    this.#followedRedirects = init.followedRedirects;
    this.#maxBodySize = init.maxBodySize;
  }

  /** The URL this response came from: the last one of a redirect chain. */
  get url(): string {
    return this.original.request.uri;
  }

  /** The request this response answers (the last hop's). */
  get request(): RequestInfo {
    return this.original.request;
  }

  /** Trailer fields of a chunked body; empty until the body has ended. */
  get trailers(): Headers {
    return this.original.trailers;
  }

  /**
   * The trailer fields once the body has ended (core's `Response.waitForTrailers`): at once for
   * a buffered response; for an `unbuffered` one when its body has been read (or dumped) to the
   * end, rejecting with the body's error if it failed.
   */
  waitForTrailers(): Promise<Headers> {
    return this.original.waitForTrailers();
  }

  /** True once the body is in memory (always, unless the request was `unbuffered`). */
  get buffered(): boolean {
    return this.#body.kind === 'buffered';
  }

  /** The whole body. Unbuffered: read now (up to the request's `maxBodySize`) and kept. */
  content(): Promise<Buffer> {
    if (this.#content !== null) return this.#content;
    const body = this.#body;
    if (body.kind === 'discarded') return Promise.reject(discardedError(this.url));
    if (body.kind === 'buffered') this.#content = Promise.resolve(body.bytes);
    else this.#content = readBody(body.response, { maxBytes: this.#maxBodySize });
    return this.#content;
  }

  /**
   * The body as text, decoded with `encoding` if given, else the `charset` of `Content-Type`,
   * else UTF-8 ({@link DEFAULT_TEXT_ENCODING}). A BOM is removed. An unknown charset from the
   * server falls back to UTF-8; an unknown `encoding` argument is an `InvalidArgumentError`.
   */
  async text(encoding?: string): Promise<string> {
    let decoder: TextDecoder | null;
    if (encoding !== undefined) {
      decoder = typeof encoding === 'string' ? decoderFor(encoding) : null;
      if (decoder === null) throw new InvalidArgumentError(`text: unknown encoding ${JSON.stringify(encoding)}`);
    } else {
      decoder = this.#serverDecoder();
    }
    const body = this.#body;
    return decoder.decode(body.kind === 'buffered' ? body.bytes : await this.content());
  }

  /** The decoder of the `charset` of Content-Type, else UTF-8. */
  #serverDecoder(): TextDecoder {
    const charset = charsetOf(this.headers.get('content-type'));
    return (charset === null ? null : decoderFor(charset)) ?? UTF8_DECODER;
  }

  /**
   * The body parsed as JSON (decoded as {@link text} does). Invalid JSON is a
   * {@link JSONDecodeError} (a {@link ResponseDecodeError}, code `STRAND_RESPONSE_DECODE`) that
   * says where and why, with the Content-Type and the body's length, without quoting the body.
   */
  async json<T = unknown>(): Promise<T> {
    const body = this.#body;
    const bytes = body.kind === 'buffered' ? body.bytes : await this.content();
    const text = this.#serverDecoder().decode(bytes);
    try {
      return JSON.parse(text) as T;
    } catch {
      // Not V8's message, nor its error as the cause: both quote the body. Our own scanner says where and why.
      const where = locateJsonError(text) ?? { position: 0, line: 1, column: 1, reason: 'JSON.parse refused it' };
      throw new JSONDecodeError(where, this.headers.get('content-type'), bytes.length, { url: this.url });
    }
  }

  /**
   * The `Link` header fields (RFC 8288) keyed as requests' `response.links` is: by relation type
   * (lower-cased; a link with `rel="next prev"` is under both), or by URL for a link without
   * `rel`; the first link of a key counts. Each is `{ url, rel, ...params }` with `url` resolved
   * against {@link url}. Several fields and several links per field are read; what cannot be
   * parsed is skipped. `{}` when there is none. For every link in order, use {@link parseLinks}.
   *
   * @example
   * ```ts
   * const next = response.links()['next']?.url; // pagination
   * ```
   */
  links(): Record<string, Link> {
    return linksByRel(parseLinks(this.headers.getAll('link'), this.url));
  }

  /**
   * Calls `collector` with each piece of the body as it arrives (treq's `collect`); a collector
   * that returns a promise pauses the body until it settles. Resolves when the body ended;
   * rejects with the body's error, or with what the collector threw (the rest of the body is
   * then abandoned). A buffered body is given in one piece.
   */
  collect(collector: (chunk: Buffer) => void | Promise<void>): Promise<void> {
    if (typeof collector !== 'function') return Promise.reject(new InvalidArgumentError('collect: collector must be a function'));
    const body = this.#body;
    if (body.kind === 'discarded') return Promise.reject(discardedError(this.url));
    if (body.kind === 'buffered') {
      return (async () => {
        if (body.bytes.length > 0) await collector(body.bytes);
      })();
    }
    return new Promise((resolve, reject) => {
      let transport: BodyTransport | null = null;
      let failed = false;
      const fail = (error: unknown): void => {
        if (failed) return;
        failed = true;
        reject(error);
        transport?.stopProducing();
      };
      body.response.deliverBody({
        makeConnection(t) {
          transport = t;
        },
        dataReceived(chunk) {
          if (failed) return;
          let result: void | Promise<void>;
          try {
            result = collector(chunk);
          } catch (error) {
            fail(error);
            return;
          }
          if (result instanceof Promise) {
            transport?.pauseProducing();
            result.then(() => {
              if (!failed) transport?.resumeProducing();
            }, fail);
          }
        },
        connectionLost(reason) {
          if (failed) return;
          if (reason instanceof StrandError) fail(reason);
          else resolve();
        },
      });
    });
  }

  /** Delivers the body to a core body protocol (Twisted's `deliverBody`). A buffered body is delivered from memory. */
  deliverBody(protocol: BodyProtocol): void {
    const body = this.#body;
    if (body.kind === 'streaming') {
      body.response.deliverBody(protocol);
      return;
    }
    if (body.kind === 'discarded') {
      protocol.makeConnection?.(NOOP_TRANSPORT);
      protocol.connectionLost(discardedError(this.url));
      return;
    }
    protocol.makeConnection?.(NOOP_TRANSPORT);
    if (body.bytes.length > 0) protocol.dataReceived(body.bytes);
    protocol.connectionLost(new ResponseDone());
  }

  /** The body as an async iterator of Buffers. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    const body = this.#body;
    if (body.kind === 'streaming') return body.response[Symbol.asyncIterator]();
    return this.toReadable()[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /**
   * The body as a WHATWG `ReadableStream` of bytes (what `fetch`'s `response.body` is), made on
   * first access and the same stream afterwards. A buffered body is streamed from memory (and
   * can still be read by the other methods); an unbuffered one is taken by the stream, read
   * with back-pressure as the stream is read (64 KiB ahead at most), and abandoned (its
   * connection closed) when the stream is cancelled. A body that fails errors the stream with
   * its `StrandError`; a response of the redirect history has no body to stream.
   *
   * @example
   * ```ts
   * for await (const chunk of response.body) console.log(chunk.byteLength);
   * ```
   */
  get body(): ReadableStream<Uint8Array> {
    if (this.#stream !== null) return this.#stream;
    const body = this.#body;
    if (body.kind === 'buffered') this.#stream = bufferedBodyStream(body.bytes);
    else if (body.kind === 'discarded') this.#stream = bufferedBodyStream(null, discardedError(this.url));
    else this.#stream = webBodyStream((protocol) => body.response.deliverBody(protocol));
    return this.#stream;
  }

  /** The body as a Node `Readable`. */
  toReadable(): Readable {
    const body = this.#body;
    if (body.kind === 'streaming') return body.response.toReadable();
    if (body.kind === 'discarded') {
      const readable = new Readable({ read() {} });
      readable.destroy(discardedError(this.url));
      return readable;
    }
    return Readable.from(body.bytes.length > 0 ? [body.bytes] : []);
  }

  /** Discards the body (an unbuffered response's connection and slot are then released). */
  dump(): Promise<void> {
    const body = this.#body;
    if (body.kind === 'streaming' && !body.response.bodyUsed) return body.response.dump();
    return Promise.resolve();
  }

  /** The responses that led here, oldest first: each redirect of the chain. Their bodies are not kept. */
  history(): ClientResponse[] {
    const chain: ClientResponse[] = [];
    let previous = this.original.previousResponse;
    while (previous !== null) {
      chain.unshift(
        new ClientResponse({
          original: previous,
          body: { kind: 'discarded' },
          timings: emptyTimings(),
          jar: this.#jar,
          followedRedirects: this.#followedRedirects,
          maxBodySize: this.#maxBodySize,
        }),
      );
      previous = previous.previousResponse;
    }
    return chain;
  }

  /**
   * The cookies the request's jar now holds for this response's URL (what a next request there
   * would send), as `{ name: value }`. Needs a synchronous cookie store (tough-cookie's default).
   */
  cookies(): Record<string, string> {
    const out = Object.create(null) as Record<string, string>;
    const jar = this.#jar();
    if (jar === null) return out;
    for (const cookie of jar.getCookiesSync(this.url)) out[cookie.key] = cookie.value;
    return out;
  }

  /** The cookie jar of the request (the client's, or the one given as `cookies`); null when none was needed. */
  get jar(): CookieJar | null {
    return this.#jar();
  }

  /**
   * True for a successful final status: 2xx, 304, and 3xx when redirects were not followed
   * (got's rule; a 3xx after following redirects means the chain was cut short).
   */
  get ok(): boolean {
    const code = this.code;
    return (code >= 200 && code <= 299) || code === 304 || (!this.#followedRedirects && code >= 300 && code <= 399);
  }

  /**
   * The parts of a `multipart/byteranges` answer to a request with several ranges
   * (`range.kind === 'multipart'`), in the order sent, each with its range, headers and body
   * (streamed when the response is `unbuffered`); see core's `readByteRanges` for the limits and
   * errors. Throws an `InvalidArgumentError` for any other response: a single 206's body is the
   * range itself, a 200's the whole representation.
   *
   * @example
   * ```ts
   * for await (const part of response.byteRanges()) console.log(part.start, part.end, (await part.bytes()).length);
   * ```
   */
  byteRanges(options?: ByteRangesOptions): AsyncIterableIterator<ByteRangePart> {
    const range = this.range;
    if (range === null || range.kind !== 'multipart') {
      throw new InvalidArgumentError(`byteRanges() reads a multipart/byteranges answer to several ranges; this response is ${range === null ? 'not one to a range request' : `kind "${range.kind}"`}`);
    }
    const body = this.#body;
    return readByteRanges(body.kind === 'buffered' ? bufferSource(body.bytes) : this, range.boundary, options);
  }

  /** Throws an {@link HTTPStatusError} unless {@link ok}; returns this response otherwise. */
  raiseForStatus(): this {
    if (!this.ok) throw new HTTPStatusError(this);
    return this;
  }
}

const NOOP_TRANSPORT: BodyTransport = {
  pauseProducing() {},
  resumeProducing() {},
  stopProducing() {},
};

function discardedError(url: string): StrandError {
  return new StrandError('STRAND_BODY_UNAVAILABLE', 'the body of a response in the redirect history is not kept', { url });
}

/** One buffer as an async iterable (a buffered body read by `readByteRanges`). */
function bufferSource(bytes: Buffer): AsyncIterable<Buffer> {
  return Readable.from(bytes.length > 0 ? [bytes] : []) as AsyncIterable<Buffer>;
}

/** Timings with nothing measured yet. */
export function emptyTimings(): Timings {
  return { queue: undefined, dns: undefined, connect: undefined, tls: undefined, firstByte: undefined, body: undefined, total: undefined };
}

brand(ClientResponse, 'client.ClientResponse');
