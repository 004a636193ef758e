/**
 * Replies: what a fake server sends back, as data, and how it is written on Node's
 * `ServerResponse` (so framing, chunking and trailers are Node's own, independent of Strand).
 *
 * @packageDocumentation
 */

import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { type Clock, InvalidArgumentError, type TimerHandle } from '@strand/core';
import { type Fault, type NormalizedFault, normalizeFault } from '../transport/faults.js';
import type { ServerSocket } from '../transport/memory-socket.js';
import type { RecordedRequest } from './recorded-request.js';
import { describeValue, isFieldValue, isRecord, isToken } from '../validation.js';

/** A reply body: text (sent as UTF-8), bytes, or a stream / async iterable of chunks (sent chunked). */
export type ReplyBody = string | Uint8Array | AsyncIterable<Uint8Array | string>;

/** Reply header fields: an object (an array value sends the field once per element) or `[name, value]` pairs. */
export type ReplyHeaders = Readonly<Record<string, string | number | readonly string[]>> | ReadonlyArray<readonly [string, string]>;

/**
 * A reply. Everything is optional: `{}` is `200 OK` with an empty body.
 *
 * @example
 * ```ts
 * { status: 201, headers: { location: '/users/7' }, json: { id: 7 } }
 * { body: Readable.from(['a', 'b']), trailers: { 'x-checksum': 'abc' } }
 * { delay: 5000, json: { slow: true } }        // after 5 s on the fake's clock
 * { fault: { type: 'reset', afterBytes: 40 } }  // the connection resets 40 bytes in
 * ```
 */
export interface Reply {
  /** Status code. Default 200. */
  status?: number;
  /** Reason phrase. Default: the standard one for the status. */
  statusText?: string;
  /** Header fields to send (an object, or `[name, value]` pairs for repeated fields). */
  headers?: ReplyHeaders;
  /** The body. Exclusive with `json`. A string or bytes is sent with `Content-Length` (unless `chunked` or `trailers`). */
  body?: ReplyBody;
  /** A value sent as JSON, with `Content-Type: application/json` unless the headers give one. */
  json?: unknown;
  /** Send the body with `Transfer-Encoding: chunked` even when its length is known. */
  chunked?: boolean;
  /** Trailer fields, sent after a chunked body (implies `chunked`). */
  trailers?: Readonly<Record<string, string>>;
  /** Milliseconds to wait, on the fake's clock, before the head is sent. */
  delay?: number;
  /** A transport fault for this response (see {@link Fault}; `'refuse'` is a connection fault only). */
  fault?: Fault;
  /**
   * The whole response as bytes, sent exactly as given: interim (1xx) responses, the status
   * line, header fields in their order and spelling, and the body with its framing (a chunked
   * body's chunk sizes and trailers included). Exclusive with `status`, `statusText`, `headers`,
   * `body`, `json`, `chunked` and `trailers`; `delay` and `fault` still apply. Replayed
   * recordings are sent this way; it is also the way to test a client with bytes no server
   * library would write.
   */
  raw?: Uint8Array;
  /**
   * Close the connection once the reply is sent. A `raw` reply whose body is delimited by the
   * close needs it; another reply gets `Connection: close`. Default false.
   */
  close?: boolean;
}

/** A reply, or a shorthand: a number is that status with an empty body; a string a `200` text/plain body. */
export type ReplyLike = Reply | number | string;

/** A request handler: returns (or resolves to) the reply. Throwing makes the client get a 500 and records a failure. */
export type Handler = (request: RecordedRequest) => ReplyLike | Promise<ReplyLike>;

/** A reply checked and with its body turned into bytes (or a stream). */
export interface NormalizedReply {
  status: number;
  statusText: string | undefined;
  headers: Array<[string, string]>;
  body: Buffer | AsyncIterable<Uint8Array | string> | null;
  chunked: boolean;
  trailers: Array<[string, string]>;
  delay: number;
  fault: NormalizedFault | null;
  raw: Buffer | null;
  close: boolean;
}

const REPLY_KEYS: ReadonlySet<string> = new Set(['status', 'statusText', 'headers', 'body', 'json', 'chunked', 'trailers', 'delay', 'fault', 'raw', 'close']);
const NOT_WITH_RAW = ['status', 'statusText', 'headers', 'body', 'json', 'chunked', 'trailers'] as const;

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array | string> {
  return value !== null && typeof value === 'object' && typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';
}

function headerValue(value: unknown, field: string, name: string): string {
  const text = typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
  if (text === null) throw new InvalidArgumentError(`reply: ${field} ${JSON.stringify(name)} must be a string or a number (or an array of them), got ${describeValue(value)}`);
  if (!isFieldValue(text)) throw new InvalidArgumentError(`reply: ${field} ${JSON.stringify(name)} has a value with CR, LF, NUL or another control character`);
  return text;
}

function headerName(name: unknown, field: string): string {
  if (typeof name !== 'string' || !isToken(name)) throw new InvalidArgumentError(`reply: ${field} name must be a token (letters, digits, !#$%&'*+-.^_\`|~), got ${describeValue(name)}`);
  return name;
}

/** Checks reply header (or trailer) fields, given as `field`, and flattens them to pairs. */
function headerPairs(headers: unknown, field: 'headers' | 'trailers'): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (headers === undefined) return pairs;
  if (Array.isArray(headers)) {
    for (const entry of headers as readonly unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2) throw new InvalidArgumentError(`reply: ${field} given as an array must be [name, value] pairs, got ${describeValue(entry)} in it`);
      const name = headerName(entry[0], field);
      pairs.push([name, headerValue(entry[1], field, name)]);
    }
    return pairs;
  }
  if (!isRecord(headers)) throw new InvalidArgumentError(`reply: ${field} must be an object or an array of [name, value] pairs, got ${describeValue(headers)}`);
  for (const [key, value] of Object.entries(headers)) {
    const name = headerName(key, field);
    if (Array.isArray(value)) for (const v of value as readonly unknown[]) pairs.push([name, headerValue(v, field, name)]);
    else pairs.push([name, headerValue(value, field, name)]);
  }
  return pairs;
}

function hasHeader(pairs: ReadonlyArray<[string, string]>, name: string): boolean {
  return pairs.some(([n]) => n.toLowerCase() === name);
}

/** Checks a reply (or shorthand) and fills in the defaults. Throws `InvalidArgumentError` naming the bad field. */
export function normalizeReply(reply: ReplyLike): NormalizedReply {
  if (typeof reply === 'number') reply = { status: reply };
  else if (typeof reply === 'string') reply = { body: reply };
  if (reply === null || typeof reply !== 'object' || Array.isArray(reply)) {
    throw new InvalidArgumentError(`reply: expected an object, a status number or a body string, got ${describeValue(reply)}`);
  }
  for (const key of Object.keys(reply)) {
    if (!REPLY_KEYS.has(key)) throw new InvalidArgumentError(`reply: unknown field "${key}" (known: ${[...REPLY_KEYS].join(', ')})`);
  }
  const status = reply.status ?? 200;
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new InvalidArgumentError(`reply: status must be an integer from 100 to 999, got ${describeValue(reply.status)}`);
  const statusText: unknown = reply.statusText;
  if (statusText !== undefined && (typeof statusText !== 'string' || !isFieldValue(statusText))) {
    throw new InvalidArgumentError(`reply: statusText must be a string without CR, LF or other control characters, got ${describeValue(statusText)}`);
  }
  const delay: unknown = reply.delay ?? 0;
  if (typeof delay !== 'number' || !(delay >= 0) || !Number.isFinite(delay)) throw new InvalidArgumentError(`reply: delay must be a finite number of milliseconds >= 0, got ${describeValue(reply.delay)}`);
  const close: unknown = reply.close;
  if (close !== undefined && typeof close !== 'boolean') throw new InvalidArgumentError(`reply: close must be a boolean, got ${describeValue(close)}`);
  const fault = reply.fault === undefined ? null : normalizeFault(reply.fault);
  if (fault?.type === 'refuse') throw new InvalidArgumentError("reply: the 'refuse' fault happens before any request; inject it as a connection fault instead");
  if (reply.raw !== undefined) {
    const raw: unknown = reply.raw;
    if (!(raw instanceof Uint8Array)) throw new InvalidArgumentError(`reply: raw must be a Uint8Array of response bytes, got ${describeValue(raw)}`);
    const clash = NOT_WITH_RAW.find((key) => reply[key] !== undefined);
    if (clash !== undefined) throw new InvalidArgumentError(`reply: raw is the whole response; give ${clash} inside its bytes, not beside it`);
    const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    return { status: 0, statusText: undefined, headers: [], body: null, chunked: false, trailers: [], delay, fault, raw: bytes, close: close === true };
  }
  const chunked: unknown = reply.chunked;
  if (chunked !== undefined && typeof chunked !== 'boolean') throw new InvalidArgumentError(`reply: chunked must be a boolean, got ${describeValue(chunked)}`);
  const headers = headerPairs(reply.headers, 'headers');
  let body: NormalizedReply['body'] = null;
  if ('json' in reply) {
    if (reply.body !== undefined) throw new InvalidArgumentError('reply: give either body or json, not both');
    const text = JSON.stringify(reply.json);
    if (text === undefined) throw new InvalidArgumentError('reply: json must be a value JSON can represent');
    body = Buffer.from(text, 'utf8');
    if (!hasHeader(headers, 'content-type')) headers.push(['Content-Type', 'application/json']);
  } else if (typeof reply.body === 'string') {
    body = Buffer.from(reply.body, 'utf8');
    if (!hasHeader(headers, 'content-type')) headers.push(['Content-Type', 'text/plain; charset=utf-8']);
  } else if (reply.body instanceof Uint8Array) {
    body = Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength);
  } else if (isAsyncIterable(reply.body)) {
    body = reply.body;
  } else if (reply.body !== undefined) {
    throw new InvalidArgumentError(`reply: body must be a string, a Uint8Array, a Readable or an async iterable, got ${describeValue(reply.body)}`);
  }
  const trailers = headerPairs(reply.trailers, 'trailers');
  return { status, statusText, headers, body, chunked: chunked === true || trailers.length > 0, trailers, delay, fault, raw: null, close: close === true };
}

/**
 * @internal Checks what a route or expectation answers with: a handler function, or a reply
 * (checked now with {@link normalizeReply}, so a bad one fails where it is written). Error
 * messages start with `what`.
 */
export function checkReplyOrHandler(reply: unknown, what: string): void {
  if (typeof reply === 'function') return;
  if (reply !== null && typeof reply === 'object' && typeof (reply as { handle?: unknown }).handle === 'function') {
    throw new InvalidArgumentError(`${what}: reply must be a reply or a handler function, got a handler object; write reply: (request) => handler.handle(request)`);
  }
  try {
    normalizeReply(reply as ReplyLike);
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`${what}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Where a reply is written: Node's HTTP/1.1 response, or its HTTP/2 compatibility response (the fake server's `http2` option). */
export type ReplyResponse = ServerResponse | Http2ServerResponse;

/** True for an HTTP/2 response. */
export function isHttp2Response(res: ReplyResponse): res is Http2ServerResponse {
  return 'stream' in res;
}

/** True once the response can take nothing more (the client went away, or it was destroyed). */
export function responseGone(res: ReplyResponse): boolean {
  return isHttp2Response(res) ? res.stream.destroyed : res.destroyed;
}

/** The body writes and trailers, on either response. */
interface BodyWriter {
  write(chunk: string | Uint8Array): boolean;
  end(chunk?: Uint8Array): unknown;
  /** Trailer fields in order (HTTP/1.1 keeps repeats; HTTP/2's response takes them as an object). */
  addTrailers(trailers: ReadonlyArray<readonly [string, string]>): void;
}

function bodyWriter(res: ReplyResponse): BodyWriter {
  if (isHttp2Response(res)) {
    return {
      write: (chunk) => res.write(chunk),
      end: (chunk) => (chunk === undefined ? res.end() : res.end(chunk)),
      addTrailers: (trailers) => res.addTrailers(Object.fromEntries(trailers)),
    };
  }
  return {
    write: (chunk) => res.write(chunk),
    end: (chunk) => (chunk === undefined ? res.end() : res.end(chunk)),
    addTrailers: (trailers) => res.addTrailers(trailers as [string, string][]),
  };
}

/** Connection-specific fields (RFC 9113 §8.2.2): an HTTP/2 server does not send them, and Node's refuses to. */
const CONNECTION_FIELDS: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/**
 * Writes `reply` on `res`: the head after `reply.delay` on `clock`, then the body with
 * back-pressure. Stops quietly when the client goes away. Resolves when done (or abandoned).
 */
export function writeReply(res: ReplyResponse, reply: NormalizedReply, clock: Clock): Promise<void> {
  if (reply.delay === 0) return send(res, reply);
  return new Promise<void>((resolve, reject) => {
    let timer: TimerHandle | null = null;
    const onClose = (): void => {
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      resolve();
    };
    res.once('close', onClose);
    timer = clock.setTimeout(() => {
      timer = null;
      res.removeListener('close', onClose);
      send(res, reply).then(resolve, reject);
    }, reply.delay);
  });
}

/** Sends raw response bytes on the server end, and lets Node's server finish its response unseen (its bytes are dropped). */
function sendRaw(res: ServerResponse, raw: Buffer, close: boolean): void {
  const socket = res.socket as unknown as Partial<ServerSocket> | null;
  if (socket === null || typeof socket.sendRawResponse !== 'function') throw new InvalidArgumentError('reply: raw replies need a connection of the fake agent or the stub server');
  const end = socket as ServerSocket;
  end.sendRawResponse(raw);
  if (close) res.shouldKeepAlive = false;
  res.once('finish', () => end.endRawResponse());
  res.once('close', () => end.endRawResponse());
  res.end();
}

async function send(res: ReplyResponse, reply: NormalizedReply): Promise<void> {
  if (responseGone(res)) return;
  if (isHttp2Response(res)) {
    if (reply.raw !== null) throw new InvalidArgumentError('reply: raw is HTTP/1.1 bytes; this fake server speaks HTTP/2 (its http2 option): give status, headers and body instead');
    // "Close the connection" over HTTP/2: the session ends gracefully (GOAWAY) once this response is sent.
    if (reply.close) res.once('finish', () => res.stream.session?.close());
  } else {
    if (reply.raw !== null) {
      sendRaw(res, reply.raw, reply.close);
      return;
    }
    if (reply.close) res.shouldKeepAlive = false;
    // (HTTP/2 has no reason phrase: statusText is sent only here.)
    if (reply.statusText !== undefined) res.statusMessage = reply.statusText;
  }
  const http2 = isHttp2Response(res);
  res.statusCode = reply.status;
  const grouped = new Map<string, { name: string; values: string[] }>();
  for (const [name, value] of reply.headers) {
    const key = name.toLowerCase();
    if (http2 && CONNECTION_FIELDS.has(key)) continue;
    const entry = grouped.get(key);
    if (entry === undefined) grouped.set(key, { name, values: [value] });
    else entry.values.push(value);
  }
  if (reply.trailers.length > 0 && !grouped.has('trailer')) grouped.set('trailer', { name: 'Trailer', values: [[...new Set(reply.trailers.map(([n]) => n))].join(', ')] });
  for (const { name, values } of grouped.values()) res.setHeader(name, values.length === 1 ? (values[0] as string) : values);
  const out = bodyWriter(res);
  const body = reply.body;
  if (body === null || Buffer.isBuffer(body)) {
    if (!reply.chunked) {
      // Said explicitly, as real servers do, so a HEAD reply carries the length of the GET one.
      const bodyless = reply.status < 200 || reply.status === 204 || reply.status === 304;
      if (body !== null && !bodyless && !grouped.has('content-length') && !grouped.has('transfer-encoding')) res.setHeader('Content-Length', body.length);
      out.end(body ?? undefined);
      return;
    }
    // HTTP/2 frames every body itself: "chunked" there is a body sent without a length.
    if (!http2 && reply.trailers.length === 0 && !grouped.has('transfer-encoding')) res.setHeader('Transfer-Encoding', 'chunked');
    if (body !== null && body.length > 0) out.write(body);
    if (reply.trailers.length > 0) out.addTrailers(reply.trailers);
    out.end();
    return;
  }
  await pump(res, out, body);
  if (responseGone(res)) return;
  if (reply.trailers.length > 0) out.addTrailers(reply.trailers);
  out.end();
}

async function pump(res: ReplyResponse, out: BodyWriter, body: AsyncIterable<Uint8Array | string>): Promise<void> {
  const iterator = body[Symbol.asyncIterator]();
  let closed = false;
  let wake: (() => void) | null = null;
  const onGone = (): void => {
    closed = true;
    wake?.();
  };
  const onDrain = (): void => wake?.();
  res.on('close', onGone);
  res.on('drain', onDrain);
  try {
    while (!closed) {
      const step = await iterator.next();
      if (step.done === true || closed) break;
      const chunk = step.value;
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) throw new InvalidArgumentError('reply: a body stream yielded something that is not a string or Uint8Array');
      if ((typeof chunk === 'string' ? chunk.length : chunk.byteLength) === 0) continue;
      if (!out.write(chunk) && !closed) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
    }
  } catch (error) {
    // The stream failed: the server aborts the response, as a real one would (a reset).
    res.destroy(error instanceof Error ? error : new Error(String(error)));
    if (error instanceof InvalidArgumentError) throw error;
  } finally {
    res.removeListener('close', onGone);
    res.removeListener('drain', onDrain);
    if (closed) await iterator.return?.();
  }
}
