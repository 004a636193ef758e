/**
 * {@link ContentDecoderAgent}: asks for compressed responses and decodes `Content-Encoding` as the
 * body streams, bounded and with back-pressure.
 *
 * @packageDocumentation
 */

import type { Duplex } from 'node:stream';
import { type Agent, type RequestOptions, WrapperAgent } from '../agent.js';
import { type BodyProducer, UNKNOWN_LENGTH } from '../message/producers.js';
import type { BodyProtocol, BodySink, BodySource, BodyTransport } from '../message/body-pipe.js';
import { type BodyEndReason, BodyTooLargeError, DecodingError, InvalidArgumentError, StrandError } from '../errors.js';
import { Headers, type HeadersInit } from '../message/headers.js';
import { Response } from '../message/response.js';
import { type ContentDecoder, defaultDecoders } from './decoders.js';
import { abandonBody, copyHeaders } from './shared.js';
import { brand } from '../brand.js';

/** Options of {@link ContentDecoderAgent}. */
export interface ContentDecoderOptions {
  /**
   * Most decoded bytes of one body; past it the body fails with {@link BodyTooLargeError} as soon
   * as the output passes the limit (a "zip bomb" stops there). Default 64 MiB; `Infinity` turns
   * it off.
   */
  maxDecodedBytes?: number;
  /** Most content-codings stacked in one response (`Content-Encoding: gzip, br` is two). Default 3. */
  maxEncodings?: number;
}

/** The default of {@link ContentDecoderOptions.maxDecodedBytes}: 64 MiB. */
export const DEFAULT_MAX_DECODED_BYTES = 64 * 1024 * 1024;

/**
 * Decodes compressed responses for any inner {@link Agent} (Twisted's `ContentDecoderAgent`).
 *
 * - Sends `Accept-Encoding` listing its decoders (`zstd` only where Node has it, `br`, `gzip`,
 *   `deflate`), unless the caller gave an `Accept-Encoding` of their own.
 * - Decodes `Content-Encoding` as the body streams; stacked codings (`gzip, br`) are undone in
 *   reverse order, at most `maxEncodings` (3) of them — more fails the request with a
 *   {@link DecodingError}. `identity` is skipped.
 * - The decoded response has no `Content-Encoding` and no `Content-Length`; its `length` is
 *   {@link UNKNOWN_LENGTH}. Nothing else changes (status, other headers, trailers, history).
 * - Corrupt or truncated data ends the body with a {@link DecodingError}, never with short data
 *   presented as complete. An empty body is an empty body.
 * - The decoded size is bounded by `maxDecodedBytes` (64 MiB); past it: {@link BodyTooLargeError}.
 * - Back-pressure holds end to end: a consumer that pauses pauses the decoder and the socket.
 * - Left as they are: answers to HEAD, 204, 304, bodies without `Content-Encoding`, and bodies
 *   with a coding it has no decoder for (the caller asked for it, the caller decodes it).
 *
 * @example
 * ```ts
 * const agent = new ContentDecoderAgent(new HttpAgent());
 * const response = await agent.request('GET', 'http://127.0.0.1:8080/big.json');
 * const text = (await readBody(response)).toString(); // decoded
 * ```
 */
export class ContentDecoderAgent extends WrapperAgent {
  /** The `Accept-Encoding` value sent when the caller gives none. */
  readonly acceptEncoding: string;
  /** The most decoded bytes a body may grow to (a `BodyTooLargeError` past it). */
  readonly maxDecodedBytes: number;
  /** The most content-codings stacked in one response. */
  readonly maxEncodings: number;
  /** Coding (and alias) -> decoder, lower-case keys. Never changed after construction (the default table is shared). */
  private readonly decoders: ReadonlyMap<string, ContentDecoder>;

  /** The `Accept-Encoding` value an agent with the {@link defaultDecoders} sends. */
  static get defaultAcceptEncoding(): string {
    return defaultDecoderTable().acceptEncoding;
  }

  /**
   * @param agent - the agent to wrap.
   * @param decoders - the codings to accept and decode. Default: {@link defaultDecoders}.
   * @param options - the limits: `maxDecodedBytes` (decoded output) and `maxEncodings` (stacked codings).
   * @throws {@link InvalidArgumentError} for a limit that is not a positive number.
   */
  constructor(agent: Agent, decoders?: Iterable<ContentDecoder>, options: ContentDecoderOptions = {}) {
    super(agent);
    const table = decoders === undefined ? defaultDecoderTable() : decoderTable(decoders);
    this.decoders = table.decoders;
    this.acceptEncoding = table.acceptEncoding;
    this.maxDecodedBytes = options.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
    if (typeof this.maxDecodedBytes !== 'number' || !(this.maxDecodedBytes > 0)) {
      throw new InvalidArgumentError(`maxDecodedBytes must be a positive number (or Infinity), got ${String(options.maxDecodedBytes)}`);
    }
    this.maxEncodings = options.maxEncodings ?? 3;
    if (!Number.isSafeInteger(this.maxEncodings) || this.maxEncodings < 1) {
      throw new InvalidArgumentError(`maxEncodings must be a positive integer, got ${String(options.maxEncodings)}`);
    }
  }

  async request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    const response = await this.agent.request(method, uri, this.withAcceptEncoding(headers, uri), body, options);
    return this.decode(method, response);
  }

  /** The caller's headers with `Accept-Encoding` added; a `Headers` that has one already is passed on as it is (nothing here changes it). */
  private withAcceptEncoding(headers: HeadersInit | null | undefined, uri: string | URL): Headers {
    if (headers instanceof Headers && headers.has('accept-encoding')) return headers;
    const copy = copyHeaders(headers, uri);
    if (!copy.has('accept-encoding')) copy.add('Accept-Encoding', this.acceptEncoding);
    return copy;
  }

  private decode(method: string, response: Response): Response {
    const code = response.code;
    if (method === 'HEAD' || code === 204 || code === 304 || code < 200) return response;
    const header = response.headers.get('content-encoding');
    if (header === undefined) return response;
    const codings: string[] = [];
    for (const part of header.split(',')) {
      const coding = part.trim().toLowerCase();
      if (coding !== '' && coding !== 'identity') codings.push(coding);
    }
    if (codings.length === 0) return response;
    if (codings.length > this.maxEncodings) {
      abandonBody(response);
      throw new DecodingError(header, `the response stacks ${codings.length} content codings; at most ${this.maxEncodings} are decoded`, { url: response.request.uri });
    }
    const chain: ContentDecoder[] = [];
    for (let i = codings.length - 1; i >= 0; i--) {
      const decoder = this.decoders.get(codings[i] as string);
      if (decoder === undefined) return response;
      chain.push(decoder);
    }
    return new DecodedBody(response, chain, this.maxDecodedBytes).response;
  }
}

/** What a list of decoders comes to: the lookup table and the `Accept-Encoding` value. */
interface DecoderTable {
  readonly decoders: ReadonlyMap<string, ContentDecoder>;
  readonly acceptEncoding: string;
}

/** The table of {@link defaultDecoders}, made on first use. */
let defaultTable: DecoderTable | undefined;

/** The default decoders (frozen, fixed for the process) are checked once, not per agent. */
function defaultDecoderTable(): DecoderTable {
  return (defaultTable ??= decoderTable(defaultDecoders()));
}

/** Checks `decoders` and builds their table. */
function decoderTable(decoders: Iterable<ContentDecoder>): DecoderTable {
  const map = new Map<string, ContentDecoder>();
  const names: string[] = [];
  for (const decoder of decoders) {
    if (decoder === null || typeof decoder !== 'object' || typeof decoder.name !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(decoder.name) || typeof decoder.createDecoder !== 'function') {
      throw new InvalidArgumentError('decoders must be { name, createDecoder() } objects whose name is a token');
    }
    const name = decoder.name.toLowerCase();
    if (!map.has(name)) names.push(decoder.name);
    map.set(name, decoder);
    for (const alias of decoder.aliases ?? []) map.set(alias.toLowerCase(), decoder);
  }
  if (names.length === 0) throw new InvalidArgumentError('ContentDecoderAgent needs at least one decoder');
  return { decoders: map, acceptEncoding: names.join(', ') };
}

/**
 * Carries one inner body through a chain of decoder streams into a new response's body pipe.
 * Pausing: the inner body is paused while the consumer is paused or the first decoder's input
 * buffer is full; the last decoder's output is paused while the consumer is.
 */
class DecodedBody implements BodySource, BodyProtocol {
  readonly response: Response;
  private readonly inner: Response;
  private readonly chain: readonly ContentDecoder[];
  private readonly streams: Duplex[] = [];
  private readonly limit: number;
  private sink: BodySink | null = null;
  private innerTransport: BodyTransport | null = null;
  private attached = false;
  private consumerPaused = true;
  private decoderFull = false;
  private innerPaused = false;
  private encodedBytes = 0;
  private decodedBytes = 0;
  private innerEnd: BodyEndReason | null = null;
  private done = false;

  constructor(inner: Response, chain: readonly ContentDecoder[], limit: number) {
    this.inner = inner;
    this.chain = chain;
    this.limit = limit;
    const headers = inner.headers.clone();
    headers.delete('content-encoding');
    headers.delete('content-length');
    this.response = new Response({
      version: inner.version,
      code: inner.code,
      phrase: inner.phrase,
      headers,
      length: UNKNOWN_LENGTH,
      request: inner.request,
      previousResponse: inner.previousResponse,
      bodySource: this,
    });
    this.response.timings = inner.timings;
  }

  // ---- BodySource: the decoded response's consumer ----

  bind(sink: BodySink): void {
    this.sink = sink;
  }

  pauseBody(): void {
    this.consumerPaused = true;
    this.streams[this.streams.length - 1]?.pause();
    this.updateInner();
  }

  resumeBody(): void {
    if (this.done) return;
    if (!this.attached) {
      this.attached = true;
      this.startDecoders();
      if (this.done) return;
      this.consumerPaused = false;
      this.inner.deliverBody(this);
      return;
    }
    this.consumerPaused = false;
    this.streams[this.streams.length - 1]?.resume();
    this.updateInner();
  }

  stopBody(reason: StrandError): void {
    if (this.done) return;
    this.finish(reason);
  }

  // ---- BodyProtocol: the inner (encoded) body ----

  makeConnection(transport: BodyTransport): void {
    this.innerTransport = transport;
  }

  dataReceived(chunk: Buffer): void {
    if (this.done) return;
    this.encodedBytes += chunk.length;
    if (!(this.streams[0] as Duplex).write(chunk) && !this.decoderFull) {
      this.decoderFull = true;
      this.updateInner();
    }
  }

  connectionLost(reason: BodyEndReason): void {
    if (this.done) return;
    if (reason instanceof StrandError) {
      this.innerTransport = null;
      this.finish(reason);
      return;
    }
    this.innerEnd = reason;
    if (this.encodedBytes === 0) {
      // An empty body with a Content-Encoding (common on redirects and errors) is just empty.
      this.finish(reason);
      return;
    }
    (this.streams[0] as Duplex).end();
  }

  // ---- internals ----

  private startDecoders(): void {
    const streams = this.streams;
    for (const decoder of this.chain) {
      let stream: Duplex;
      try {
        stream = decoder.createDecoder();
      } catch (cause) {
        this.finish(new DecodingError(decoder.name, `could not create the ${decoder.name} decoder`, { url: this.inner.request.uri, cause }));
        abandonBody(this.inner);
        return;
      }
      stream.on('error', (error: Error) => this.decoderFailed(decoder.name, error));
      const previous = streams[streams.length - 1];
      if (previous !== undefined) previous.pipe(stream);
      streams.push(stream);
    }
    const first = streams[0] as Duplex;
    const last = streams[streams.length - 1] as Duplex;
    first.on('drain', this.onDrain);
    last.on('data', this.onDecoded);
    last.on('end', this.onDecodedEnd);
  }

  private readonly onDrain = (): void => {
    if (!this.decoderFull) return;
    this.decoderFull = false;
    this.updateInner();
  };

  private readonly onDecoded = (chunk: Buffer): void => {
    if (this.done) return;
    this.decodedBytes += chunk.length;
    if (this.decodedBytes > this.limit) {
      this.finish(new BodyTooLargeError(this.limit, { url: this.inner.request.uri }));
      return;
    }
    (this.sink as BodySink).push(chunk);
  };

  private readonly onDecodedEnd = (): void => {
    if (this.done || this.innerEnd === null) return;
    this.finish(this.innerEnd);
  };

  private decoderFailed(name: string, error: Error): void {
    if (this.done) return;
    const truncated = (error as NodeJS.ErrnoException).code === 'Z_BUF_ERROR';
    const message = truncated ? `the ${name} body is truncated` : `the ${name} body is corrupt: ${error.message}`;
    this.finish(new DecodingError(name, message, { url: this.inner.request.uri, cause: error }));
  }

  private updateInner(): void {
    const transport = this.innerTransport;
    if (transport === null || this.done) return;
    const pause = this.consumerPaused || this.decoderFull;
    if (pause === this.innerPaused) return;
    this.innerPaused = pause;
    if (pause) transport.pauseProducing();
    else transport.resumeProducing();
  }

  /** Ends the decoded body once: releases the decoders, abandons an unfinished inner body. */
  private finish(reason: BodyEndReason): void {
    if (this.done) return;
    this.done = true;
    for (const stream of this.streams) stream.destroy();
    if (!(reason instanceof StrandError)) {
      (this.sink as BodySink).trailers = this.inner.trailers;
    } else if (this.innerEnd === null) {
      const transport = this.innerTransport;
      this.innerTransport = null;
      if (transport !== null) transport.stopProducing();
      else if (!this.inner.bodyUsed) abandonBody(this.inner);
    }
    (this.sink as BodySink).end(reason);
  }
}

brand(ContentDecoderAgent, 'core.ContentDecoderAgent');
