/**
 * `strandFetch(input, init)`: the WHATWG `fetch` signature on Strand's stack — its pool,
 * timeouts, proxies, retries, decompression — returning the platform's own `Response`.
 * `createFetch(client)` makes one on a client of yours (its defaults, jar and agent apply).
 */

import { BytesProducer, FileBodyProducer, RedirectError, StrandError, isToken } from '@strand/core';
import { HTTPClient } from './client.js';
import { MultipartProducer, formDataParts } from './multipart.js';
import type { ClientResponse } from './response.js';
import { BlobProducer, isBlob, isFormData, webBodyStream } from './web-bodies.js';
import type { DataInit } from './types.js';

/** What `fetch` takes as its first argument. */
export type FetchInput = string | URL | Request;

/** A function with `fetch`'s signature, running on Strand. */
export type StrandFetch = (input: FetchInput, init?: RequestInit) => Promise<Response>;

/** Statuses whose response has no body (fetch's null body statuses; 101 and 103 never reach here). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);
/** fetch's redirect statuses. */
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Methods fetch upper-cases (the others are sent as given). */
const NORMALIZED_METHODS: ReadonlySet<string> = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const FORBIDDEN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK']);
const REDIRECT_MODES: ReadonlySet<string> = new Set(['follow', 'manual', 'error']);

/** fetch's `redirect` modes. */
type RedirectMode = 'follow' | 'manual' | 'error';

/** A request as fetch reads it from `input` and `init`. */
interface FetchRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly body: DataInit | null;
  readonly signal: AbortSignal | null;
  readonly redirect: RedirectMode;
}

function normalizeMethod(value: unknown): string {
  const method = String(value);
  if (!isToken(method)) throw new TypeError(`'${method}' is not a valid HTTP method.`);
  const upper = method.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper)) throw new TypeError(`'${method}' HTTP method is unsupported.`);
  return NORMALIZED_METHODS.has(upper) ? upper : method;
}

function isStream(value: unknown): boolean {
  return value instanceof ReadableStream || (typeof value === 'object' && value !== null && typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function');
}

/**
 * fetch's "extract a body": a producer and the Content-Type the body implies. Strings are UTF-8
 * `text/plain;charset=UTF-8`, `URLSearchParams` urlencoded, bytes are copied (as fetch does),
 * a `Blob` keeps its type, a `FormData` is multipart, a stream is sent chunked.
 */
function extractBody(body: unknown): { producer: DataInit; contentType: string | null } {
  if (typeof body === 'string') return { producer: new BytesProducer(body), contentType: 'text/plain;charset=UTF-8' };
  if (body instanceof URLSearchParams) return { producer: new BytesProducer(body.toString()), contentType: 'application/x-www-form-urlencoded;charset=UTF-8' };
  if (body instanceof ArrayBuffer) return { producer: new BytesProducer(new Uint8Array(body.slice(0))), contentType: null };
  if (ArrayBuffer.isView(body)) return { producer: new BytesProducer(new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength))), contentType: null };
  if (isBlob(body)) return { producer: new BlobProducer(body), contentType: body.type === '' ? null : body.type };
  if (isFormData(body)) {
    const producer = new MultipartProducer(formDataParts(body));
    return { producer, contentType: producer.contentType };
  }
  if (isStream(body)) return { producer: new FileBodyProducer(body as AsyncIterable<Uint8Array>), contentType: null };
  return { producer: new BytesProducer(String(body)), contentType: 'text/plain;charset=UTF-8' };
}

/** Reads `input` and `init` as the `Request` constructor does; a mistake is a `TypeError`, as in fetch. */
function readRequest(input: FetchInput, init: RequestInit): FetchRequest {
  let url: URL;
  let method = 'GET';
  let headers: Headers;
  let body: unknown = null;
  let signal: AbortSignal | null = null;
  let redirect: RedirectMode = 'follow';
  if (input instanceof Request) {
    if (input.bodyUsed) throw new TypeError('Cannot construct a Request with a Request object that has already been used.');
    url = new URL(input.url);
    method = input.method;
    headers = new Headers(input.headers);
    body = input.body;
    signal = input.signal;
    redirect = input.redirect as RedirectMode;
  } else {
    try {
      url = new URL(String(input));
    } catch (cause) {
      throw new TypeError(`Failed to parse URL from ${String(input)}`, { cause });
    }
    headers = new Headers();
  }
  if (url.username !== '' || url.password !== '') throw new TypeError(`Request cannot be constructed from a URL that includes credentials: ${url.protocol}//${url.host}${url.pathname}`);
  if (init.method !== undefined) method = normalizeMethod(init.method);
  if (init.headers !== undefined) headers = new Headers(init.headers);
  if (init.signal !== undefined) signal = init.signal;
  if (signal !== null && !(signal instanceof AbortSignal)) throw new TypeError("Failed to construct 'Request': member signal is not of type AbortSignal.");
  if (init.redirect !== undefined) {
    if (!REDIRECT_MODES.has(init.redirect)) throw new TypeError(`'${String(init.redirect)}' is not a valid redirect mode: use 'follow', 'manual' or 'error'.`);
    redirect = init.redirect as RedirectMode;
  }
  if (init.body !== undefined && init.body !== null) {
    body = init.body;
    if (isStream(body) && (init as { duplex?: unknown }).duplex !== 'half') throw new TypeError('RequestInit: duplex option is required when sending a body.');
  } else if (init.body === null) {
    body = null;
  }
  if (body !== null && (method === 'GET' || method === 'HEAD')) throw new TypeError('Request with GET/HEAD method cannot have body.');
  let data: DataInit | null = null;
  if (body !== null) {
    const extracted = extractBody(body);
    data = extracted.producer;
    if (extracted.contentType !== null && !headers.has('content-type')) headers.set('content-type', extracted.contentType);
  }
  if (!headers.has('accept')) headers.set('accept', '*/*');
  return { method, url, headers, body: data, signal, redirect };
}

/** What an aborted fetch rejects with: the signal's reason (a `DOMException` named `AbortError` unless `abort(reason)` gave one). */
function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function aborted(signal: AbortSignal | null): signal is AbortSignal {
  return signal !== null && signal.aborted;
}

/** A network error, as fetch reports it: a `TypeError` whose `cause` is what failed (a `StrandError`). */
function networkError(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

/** The platform `Response` of a client response: its head, its body as a stream (with back-pressure), `url` and `redirected`. */
function toWebResponse(response: ClientResponse, request: FetchRequest): Response {
  const signal = request.signal;
  let body: ReadableStream<Uint8Array> | null = null;
  if (request.method === 'HEAD' || NULL_BODY_STATUSES.has(response.code)) {
    void response.dump();
  } else {
    body = webBodyStream(
      (protocol) => response.deliverBody(protocol),
      (reason) => (signal?.aborted === true ? abortReason(signal) : new TypeError('terminated', { cause: reason })),
    );
  }
  const headers = new Headers();
  for (const [name, value] of response.headers) headers.append(name, value);
  let web: Response;
  try {
    web = new Response(body, { status: response.code, statusText: response.phrase, headers });
  } catch {
    // A reason phrase fetch's Response does not accept (it is only informative): without it.
    web = new Response(body, { status: response.code, headers });
  }
  const url = new URL(response.url);
  url.hash = '';
  Object.defineProperties(web, {
    url: { value: url.href, enumerable: true },
    redirected: { value: response.original.previousResponse !== null, enumerable: true },
    type: { value: 'basic', enumerable: true },
  });
  return web;
}

/** One fetch on `client`. */
async function fetchOn(client: HTTPClient, input: FetchInput, init: RequestInit | undefined): Promise<Response> {
  const request = readRequest(input, init ?? {});
  const signal = request.signal;
  if (signal?.aborted === true) throw abortReason(signal);
  let response: ClientResponse;
  try {
    response = await client.request(request.method, request.url, {
      headers: [...request.headers],
      ...(request.body === null ? {} : { data: request.body }),
      ...(signal === null ? {} : { signal }),
      unbuffered: true,
      allowRedirects: request.redirect === 'follow',
      browserLikeRedirects: true,
      throwForStatus: false,
    });
  } catch (error) {
    // (A function call: TypeScript would keep `aborted` narrowed to false from the check above.)
    if (aborted(signal)) throw abortReason(signal);
    throw networkError(error);
  }
  if (response.code < 200 || response.code > 599) {
    await response.dump();
    throw networkError(new StrandError('STRAND_FETCH_STATUS', `fetch cannot represent a final status of ${response.code}`, { url: response.url }));
  }
  if (request.redirect === 'error' && REDIRECT_STATUSES.has(response.code)) {
    await response.dump();
    throw networkError(new RedirectError('STRAND_REDIRECT_NOT_ALLOWED', `the server answered ${response.code} and the request's redirect mode is "error"`, response.original, { url: response.url }));
  }
  return toWebResponse(response, request);
}

/**
 * A `fetch` on `client`: each call is a request on the client (its pool or agent, proxies,
 * TLS, timeouts, retries, decompression, cookie jar and hooks), `unbuffered`, with fetch's
 * redirect modes, and the answer is the platform's `Response` (see {@link strandFetch}).
 *
 * @example
 * ```ts
 * const fetchWithRetries = createFetch(new HTTPClient({ retry: 2, timeout: 10_000 }));
 * const items = await (await fetchWithRetries('http://127.0.0.1:8080/items')).json();
 * ```
 */
export function createFetch(client: HTTPClient): StrandFetch {
  if (!(client instanceof HTTPClient)) throw new TypeError('createFetch: client must be an HTTPClient');
  return (input, init) => fetchOn(client, input, init);
}

let shared: StrandFetch | null = null;

/**
 * `fetch(input, init)` on Strand: the global pool, Strand's timeouts, the environment's proxies
 * (`HTTP_PROXY`…), decompression; no cookies kept between calls (as Node's `fetch`). Resolves
 * with the platform's `Response` once the head arrived; its `body` streams with back-pressure.
 *
 * As `fetch` does: `method` (the six standard ones upper-cased), `headers` (`Headers`, a record
 * or pairs), `body` (a string, bytes, `Blob`, `FormData`, `URLSearchParams`, or a
 * `ReadableStream` with `duplex: 'half'`), `signal` (an abort rejects with the signal's reason —
 * a `DOMException` named `AbortError` — before the head, and errors the body stream after),
 * `redirect` (`'follow'`; `'manual'` returns the 3xx; `'error'` rejects), `response.url` (the
 * final URL) and `response.redirected`. A network error rejects with a `TypeError` whose `cause`
 * is Strand's typed error (`error.cause.code`), as undici's does; a body cut short errors its
 * stream with a `TypeError` whose `cause` is Strand's error.
 *
 * @example
 * ```ts
 * const response = await strandFetch('http://127.0.0.1:8080/items', { headers: { accept: 'application/json' } });
 * console.log(response.status, await response.json());
 * ```
 */
export function strandFetch(input: FetchInput, init?: RequestInit): Promise<Response> {
  shared ??= createFetch(new HTTPClient({ cookieJar: null }));
  return shared(input, init);
}
