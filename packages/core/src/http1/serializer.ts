/**
 * The HTTP/1.1 request at the edge: {@link prepareRequest} validates a request once (method,
 * URL, headers, body framing) so that {@link serializeHead} and the connection only
 * concatenate trusted strings.
 *
 * @packageDocumentation
 */

import { isBodyProducer, UNKNOWN_LENGTH, type BodyLength, type BodyProducer } from '../message/producers.js';
import { InvalidArgumentError, InvalidHeaderError, InvalidRequestError } from '../errors.js';
import { Headers, headersBackingList, type HeadersInit } from '../message/headers.js';
import { describeChar, escapeForMessage, isToken, isVisibleAscii, describeType } from '../validate.js';

/**
 * How the body is delimited on the wire: `'none'` (no framing header), `'length'`
 * (`Content-Length`), `'chunked'` (`Transfer-Encoding: chunked`).
 */
export type RequestFraming = 'none' | 'length' | 'chunked';

/**
 * A request validated by {@link prepareRequest}: every field is safe to write as is.
 * Treat it (and its `headers`) as immutable: a field added afterwards is written unchecked.
 */
export interface PreparedRequest {
  /** The method, an RFC 9110 token, case kept. */
  readonly method: string;
  /** The parsed absolute `http:`/`https:` URL (a copy; its fragment and credentials are never sent). */
  readonly url: URL;
  /** The origin-form request target: pathname + search, `/` at least; only 0x21–0x7E. */
  readonly target: string;
  /**
   * The `Host` value: the caller's if given, else the URL's host name (an IPv6 literal in
   * brackets) plus `:port` unless the port is the scheme's default.
   */
  readonly hostHeader: string;
  /** The caller's headers, validated and copied, without Host, Content-Length and Transfer-Encoding. */
  readonly headers: Headers;
  /** The body producer, or null. */
  readonly body: BodyProducer | null;
  /** How the body is delimited. `'length'` with a null body means `Content-Length: 0` and no body. */
  readonly framing: RequestFraming;
  /** The Content-Length to send when `framing === 'length'`, else -1. */
  readonly contentLength: number;
}

/** Options of {@link serializeHead}. */
export interface SerializeHeadOptions {
  /** A request target to send instead of `req.target` (e.g. the absolute-form for a proxy); only 0x21–0x7E. */
  target?: string;
  /** Adds `Connection: close`. */
  connectionClose?: boolean;
}

/** Methods whose body-less requests still send `Content-Length: 0` (as curl and undici do). */
const METHODS_EXPECTING_BODY: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
/** `scheme:` + slashes + userinfo up to the last `@` of the authority. */
const USERINFO = /^([A-Za-z][A-Za-z0-9+.-]*:[/\\]*)[^/\\?#]*@/;


/** Index where the path (or query/fragment) of a URL string starts; 0 without a scheme. */
function authorityEnd(s: string): number {
  const scheme = SCHEME.exec(s);
  if (scheme === null) return 0;
  const n = s.length;
  let i = scheme[0].length;
  while (i < n && (s.charCodeAt(i) === 0x2f || s.charCodeAt(i) === 0x5c)) i++;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x2f || c === 0x5c || c === 0x3f || c === 0x23) break;
    i++;
  }
  return i;
}

/**
 * Index of the first character the WHATWG parser would silently strip or rewrite: a C0
 * control, SP or DEL anywhere, or a character above 0xFF after the authority (a host name may
 * be internationalised). -1 when there is none.
 */
function findBadUriChar(s: string): number {
  const pathStart = authorityEnd(s);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || (c > 0xff && i >= pathStart)) return i;
  }
  return -1;
}

/** A rejected URL string made safe for a message: credentials removed, controls percent-escaped. */
function urlForMessage(s: string): string {
  const redacted = s.replace(USERINFO, '$1');
  let out = '';
  for (let i = 0; i < redacted.length; i++) {
    const c = redacted.charCodeAt(i);
    if (c > 0x20 && c < 0x7f) out += redacted.charAt(i);
    else if (c <= 0xff) out += `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return out;
}

function parseUri(uri: unknown): URL {
  let url: URL;
  if (uri instanceof URL) {
    url = new URL(uri.href);
  } else if (typeof uri === 'string') {
    const bad = findBadUriChar(uri);
    if (bad !== -1) {
      throw new InvalidRequestError(`invalid URL: it contains ${describeChar(uri.charCodeAt(bad))} at index ${bad}; percent-encode it`, { url: urlForMessage(uri) });
    }
    try {
      url = new URL(uri);
    } catch (cause) {
      throw new InvalidRequestError('invalid URL: it is not an absolute URL', { url: uri, cause });
    }
  } else {
    throw new InvalidRequestError(`invalid URL: expected a string or a URL, got ${describeType(uri)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'http+unix:') {
    throw new InvalidRequestError(`unsupported URL scheme "${escapeForMessage(url.protocol.slice(0, -1))}": only http, https and http+unix are supported`, { url });
  }
  if (url.hostname === '') throw new InvalidRequestError('invalid URL: it has no host', { url });
  return url;
}

interface ParsedUri {
  readonly url: URL;
  readonly target: string;
}

/**
 * Recently validated URL strings. A client sends to the same few URLs again and again; parsing
 * and checking each string once saves the URL parser's cost per request. The URL objects are
 * shared between requests, so nothing downstream may modify a request's `url` (endpoint
 * factories receive it and must treat it as read-only).
 */
const uriCache = new Map<string, ParsedUri>();
const URI_CACHE_SIZE = 128;

function parseUriCached(uri: string): ParsedUri {
  const hit = uriCache.get(uri);
  if (hit !== undefined) return hit;
  const url = parseUri(uri);
  const target = url.pathname + url.search;
  if (!isVisibleAscii(target)) {
    throw new InvalidRequestError('invalid request target: it may only contain visible ASCII (0x21-0x7E)', { url });
  }
  // Credentials are kept out of the cache: such URLs are parsed each time.
  const parsed: ParsedUri = { url, target };
  if (url.username === '' && url.password === '') {
    if (uriCache.size >= URI_CACHE_SIZE) uriCache.clear();
    uriCache.set(uri, parsed);
  }
  return parsed;
}

function isDigits(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function copyHeaders(init: HeadersInit | null | undefined, url: URL): Headers {
  try {
    return new Headers(init);
  } catch (err) {
    if (err instanceof InvalidHeaderError) {
      throw new InvalidHeaderError(err.headerName, err.message, { url, cause: err });
    }
    throw err;
  }
}

/** The method and URL checks of {@link prepareRequest}: the parsed URL and the request target. */
function checkLine(method: string, uri: string | URL): ParsedUri {
  const parsed = typeof uri === 'string' ? parseUriCached(uri) : null;
  const url = parsed === null ? parseUri(uri) : parsed.url;
  if (typeof method !== 'string' || !isToken(method)) {
    const shown = typeof method === 'string' ? `"${escapeForMessage(method)}"` : `of type ${describeType(method)}`;
    throw new InvalidRequestError(`invalid method ${shown}: it must be a non-empty RFC 9110 token`, { url });
  }
  if (parsed !== null) return parsed;
  const target = url.pathname + url.search;
  if (!isVisibleAscii(target)) {
    throw new InvalidRequestError('invalid request target: it may only contain visible ASCII (0x21-0x7E)', { url });
  }
  return { url, target };
}

/**
 * Checks the method and URL of a request exactly as {@link prepareRequest} does (same rules,
 * same errors) and returns the parsed URL, for a layer above an agent (a client) that needs
 * the URL before the agent sees the request. The agent's own check then costs a cache lookup.
 *
 * The URL of a string seen recently is the same object each time, shared with the agents:
 * treat it as read-only, and copy it (`new URL(url.href)`) before changing it.
 *
 * @throws {@link InvalidRequestError} for a bad method or URL.
 */
export function checkRequestLine(method: string, uri: string | URL): URL {
  return checkLine(method, uri).url;
}

/**
 * Validates a request once, at the edge, and computes everything the serializer writes.
 *
 * - `method`: a non-empty RFC 9110 token; case is kept.
 * - `uri`: a `URL`, or a string without whitespace, controls or DEL anywhere and without
 *   characters above 0xFF after the authority (the WHATWG parser would silently strip or
 *   re-encode them: `'http://h/a\nb'` is rejected, it does not become `/ab`). It must be an
 *   absolute `http:`/`https:` URL with a host. The fragment is never sent; credentials in it
 *   are not sent either (turning them into `Authorization` is the caller's business).
 * - `headers`: copied and validated into a new {@link Headers}. `Host`, `Content-Length` and
 *   `Transfer-Encoding` are checked and removed from the copy (the serializer writes them):
 *   each may appear once; `Host` (visible ASCII) replaces the URL's host; `Content-Length`
 *   must be decimal digits equal to the body's length, or 0 without a body, and is refused
 *   with a body of unknown length; `Transfer-Encoding` is accepted only as `chunked` with a
 *   body of unknown length.
 * - Framing: a body with a numeric length is sent with `Content-Length` (even 0), a body of
 *   {@link UNKNOWN_LENGTH} chunked. Without a body nothing is sent, except that POST, PUT and
 *   PATCH (and a request whose caller gave `Content-Length: 0`) send `Content-Length: 0`, as
 *   curl and undici do, since some servers answer 411 otherwise. A body on GET or HEAD is allowed.
 *
 * @throws {@link InvalidRequestError} for a bad method, URL, body, or a header that conflicts
 *   with the body. Messages carry the URL with credentials removed.
 * @throws {@link InvalidHeaderError} for a bad header name or value, a duplicated
 *   Host/Content-Length/Transfer-Encoding, or a malformed value of one of them.
 */
export function prepareRequest(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null): PreparedRequest {
  const { url, target } = checkLine(method, uri);
  const producer = checkBody(body ?? null, url);
  const bodyLength: BodyLength | null = producer === null ? null : producer.length;
  const copy = copyHeaders(headers, url);
  const fields = framingFields(copy, url);
  // An http+unix URL's host is the percent-encoded socket path, not a name the server knows.
  let hostHeader = url.protocol === 'http+unix:' ? 'localhost' : url.host;
  if (fields.host !== undefined) {
    hostHeader = checkHost(fields.host, url);
    copy.delete('host');
  }
  if (fields.contentLength !== undefined) {
    checkContentLength(fields.contentLength, bodyLength, url);
    copy.delete('content-length');
  }
  if (fields.transferEncoding !== undefined) {
    checkTransferEncoding(fields.transferEncoding, bodyLength, url);
    copy.delete('transfer-encoding');
  }
  const { framing, length } = framingOf(method, bodyLength, fields.contentLength !== undefined);
  return { method, url, target, hostHeader, headers: copy, body: producer, framing, contentLength: length };
}

/** `body` when it is a body producer with a valid length (or null). */
function checkBody(producer: BodyProducer | null, url: URL): BodyProducer | null {
  if (producer === null) return null;
  if (!isBodyProducer(producer)) {
    throw new InvalidRequestError(`invalid body: expected a BodyProducer or null, got ${describeType(producer)}`, { url });
  }
  const length = producer.length;
  if (typeof length === 'number' && !(Number.isSafeInteger(length) && length >= 0)) {
    throw new InvalidRequestError(`invalid body: its length must be a non-negative safe integer or UNKNOWN_LENGTH, got ${length}`, { url });
  }
  return producer;
}

/** The caller's values of the fields the serializer writes itself; each may be given once. */
interface FramingFields {
  host: string | undefined;
  contentLength: string | undefined;
  transferEncoding: string | undefined;
}

/** Finds `Host`, `Content-Length` and `Transfer-Encoding` in `headers` (one pass; names of other lengths are skipped unread). */
function framingFields(headers: Headers, url: URL): FramingFields {
  const list = headersBackingList(headers);
  const found: FramingFields = { host: undefined, contentLength: undefined, transferEncoding: undefined };
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i] as string;
    const len = name.length;
    if (len !== 4 && len !== 14 && len !== 17) continue;
    const lower = name.toLowerCase();
    const key = lower === 'host' ? 'host' : lower === 'content-length' ? 'contentLength' : lower === 'transfer-encoding' ? 'transferEncoding' : null;
    if (key === null) continue;
    if (found[key] !== undefined) throw new InvalidHeaderError(name, `the ${FIELD_NAMES[key]} header is given more than once`, { url });
    found[key] = list[i + 1] as string;
  }
  return found;
}

const FIELD_NAMES: Record<keyof FramingFields, string> = { host: 'Host', contentLength: 'Content-Length', transferEncoding: 'Transfer-Encoding' };

/** A caller's `Host` value, checked. */
function checkHost(host: string, url: URL): string {
  if (!isVisibleAscii(host)) {
    throw new InvalidHeaderError('Host', 'invalid Host header: it must be a non-empty host[:port] of visible ASCII', { url });
  }
  return host;
}

/** A caller's `Content-Length`: decimal digits that agree with the body (0 without one; never with a body of unknown length). */
function checkContentLength(contentLength: string, bodyLength: BodyLength | null, url: URL): void {
  if (!isDigits(contentLength)) {
    throw new InvalidHeaderError('Content-Length', 'invalid Content-Length header: it must be a non-negative decimal integer', { url });
  }
  const declared = Number(contentLength);
  if (bodyLength === UNKNOWN_LENGTH) {
    throw new InvalidRequestError('a Content-Length header was given with a body of unknown length; give the producer a length instead', { url });
  }
  if (bodyLength === null && declared !== 0) {
    throw new InvalidRequestError(`the Content-Length header says ${contentLength} bytes but the request has no body`, { url });
  }
  if (bodyLength !== null && declared !== bodyLength) {
    throw new InvalidRequestError(`the Content-Length header says ${contentLength} bytes but the body has ${bodyLength}`, { url });
  }
}

/** A caller's `Transfer-Encoding`: only `chunked`, and only with a body of unknown length. */
function checkTransferEncoding(transferEncoding: string, bodyLength: BodyLength | null, url: URL): void {
  if (transferEncoding.toLowerCase() !== 'chunked') {
    throw new InvalidHeaderError('Transfer-Encoding', 'invalid Transfer-Encoding header: only "chunked" may be given (and only with a body of unknown length)', { url });
  }
  if (bodyLength !== UNKNOWN_LENGTH) {
    throw new InvalidRequestError('Transfer-Encoding: chunked was given but the body is absent or has a known length', { url });
  }
}

/**
 * How the body is framed: `Content-Length` for a body of known length (even 0), chunked for one
 * of unknown length; without a body, `Content-Length: 0` for POST/PUT/PATCH or when the caller
 * gave it, else nothing.
 */
function framingOf(method: string, bodyLength: BodyLength | null, gaveContentLength: boolean): { framing: RequestFraming; length: number } {
  if (bodyLength === null) return gaveContentLength || METHODS_EXPECTING_BODY.has(method) ? { framing: 'length', length: 0 } : { framing: 'none', length: -1 };
  if (bodyLength === UNKNOWN_LENGTH) return { framing: 'chunked', length: -1 };
  return { framing: 'length', length: bodyLength };
}

/**
 * The request head, ready to write with `latin1` encoding:
 * `METHOD target HTTP/1.1`, `Host`, the caller's headers in order, the framing header
 * (`Content-Length` or `Transfer-Encoding: chunked`), `Connection: close` when asked, and the
 * empty line. Pure concatenation of what {@link prepareRequest} validated.
 *
 * @throws {@link InvalidRequestError} when `options.target` is given and is not visible ASCII.
 */
export function serializeHead(req: PreparedRequest, options?: SerializeHeadOptions): string {
  let target = req.target;
  const override = options?.target;
  if (override !== undefined) {
    if (typeof override !== 'string' || !isVisibleAscii(override)) {
      throw new InvalidRequestError('invalid request target override: it may only contain visible ASCII (0x21-0x7E)', { url: req.url });
    }
    target = override;
  }
  let head = `${req.method} ${target} HTTP/1.1\r\nHost: ${req.hostHeader}\r\n`;
  const list = headersBackingList(req.headers);
  for (let i = 0; i + 1 < list.length; i += 2) {
    head += `${list[i] as string}: ${list[i + 1] as string}\r\n`;
  }
  switch (req.framing) {
    case 'length':
      head += `Content-Length: ${req.contentLength}\r\n`;
      break;
    case 'chunked':
      head += 'Transfer-Encoding: chunked\r\n';
      break;
    case 'none':
      break;
  }
  if (options?.connectionClose === true) head += 'Connection: close\r\n';
  return `${head}\r\n`;
}

/**
 * The line that starts a chunk of `length` bytes: the size in lower-case hex and CRLF, e.g.
 * `chunkHeader(26) === '1a\r\n'`. The chunk data must be followed by CRLF. `length` must be
 * positive: a zero-size chunk would end the body (that is {@link CHUNKED_TERMINATOR}).
 *
 * @throws {@link InvalidArgumentError} when `length` is not a positive safe integer.
 */
export function chunkHeader(length: number): string {
  if (!Number.isSafeInteger(length) || length <= 0) {
    throw new InvalidArgumentError(`chunkHeader: length must be a positive safe integer, got ${String(length)}`);
  }
  return `${length.toString(16)}\r\n`;
}

/** The last chunk and the empty trailer section that end a chunked body: `0\r\n\r\n`. Do not modify. */
export const CHUNKED_TERMINATOR: Buffer = Buffer.from('0\r\n\r\n', 'latin1');
