/**
 * The option types of the client API.
 *
 * @packageDocumentation
 */

import type { Readable } from 'node:stream';
import type { Agent, BodyProducer, HTTPConnectionPool, HeadersInit, RequestOptions } from '@strand/core';
import type { CookieJar } from 'tough-cookie';

/** A value of a query or form field; numbers, booleans and bigints are sent as their string form. */
export type FieldValue = string | number | boolean | bigint;

/**
 * Query parameters, merged after the URL's own query: an object (an array value repeats the
 * key; `null`/`undefined` values are left out), a `URLSearchParams`, or `[key, value]` pairs.
 */
export type ParamsInit =
  | URLSearchParams
  | Readonly<Record<string, FieldValue | readonly FieldValue[] | null | undefined>>
  | Iterable<readonly [string, FieldValue]>;

/**
 * A form, sent as `application/x-www-form-urlencoded` (or as the text fields of a multipart
 * body): an object (an array value repeats the key), a `URLSearchParams`, or any iterable of
 * `[key, value]` pairs — an array of pairs, a `Map`, a generator. Read as `params` are.
 */
export type FormInit = URLSearchParams | Readonly<Record<string, FieldValue | readonly FieldValue[]>> | Iterable<readonly [string, FieldValue]>;

/** A stream of bytes: a Node `Readable`, a WHATWG `ReadableStream`, or any async iterable of chunks. */
export type StreamLike = Readable | ReadableStream<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

/**
 * A request body: a string (UTF-8), bytes, a form ({@link FormInit}: an object, `URLSearchParams`,
 * `Map` or other iterable of pairs, urlencoded), a `Blob` or `File` (its size as
 * `Content-Length`, its `type` as `Content-Type`; sent again on a 307/308 redirect or a retry),
 * a `FormData` (`multipart/form-data`, streamed; `File` entries with their name and type), a
 * `BodyProducer`, or a stream ({@link StreamLike}: a Node `Readable`, a WHATWG `ReadableStream`,
 * an async iterable of chunks; sent chunked, as a stream's length is unknown — wrap it in a
 * `FileBodyProducer` with a `length` to send `Content-Length`).
 */
export type DataInit = string | Uint8Array | ArrayBuffer | FormInit | Blob | FormData | BodyProducer | StreamLike;

/** One file of a multipart upload, spelled out. Give exactly one of `path` and `content`. */
export interface FileField {
  /** A file to stream from disk; its size is known, so it does not force a chunked body. */
  path?: string;
  /** The content: bytes, a string (UTF-8), a `Blob`/`File`, a stream or a producer. */
  content?: Uint8Array | string | Blob | StreamLike | BodyProducer;
  /** The `filename` parameter; defaults to the base name of `path` (or the name of a `File`). `null` sends none. */
  filename?: string | null;
  /** The part's `Content-Type`; defaults to a `Blob`'s `type`, else a guess from the file name (`mime-types`), else `application/octet-stream`. */
  contentType?: string;
  /** The content's length in bytes, for a stream whose size you know. */
  length?: number;
}

/**
 * A file to upload: a path (a string is always a path here), bytes, a `Blob` or `File` (its
 * name and type; a `Blob` is named after the field), a stream, a producer, or a {@link FileField}.
 */
export type FileInit = string | Uint8Array | Blob | StreamLike | BodyProducer | FileField;

/** Files for a `multipart/form-data` body, keyed by field name (an array sends several parts under one name), or `[field, file]` pairs. */
export type FilesInit = Readonly<Record<string, FileInit | readonly FileInit[]>> | Iterable<readonly [string, FileInit]>;

/** Credentials: `[user, password]` for Basic, or an object that may ask for Digest (RFC 7616). */
export type AuthInit = readonly [username: string, password: string] | { readonly type?: 'basic' | 'digest'; readonly username: string; readonly password: string };

/** Cookies for one request: an object (sent only to the request URL's origin), or a tough-cookie jar used instead of the client's. */
export type CookiesInit = Readonly<Record<string, string>> | CookieJar;

/**
 * Per-phase timeouts in milliseconds (the shape of `@strand/core`'s `TimeoutOptions`).
 * `queue`: waiting for a free slot (the client's `maxConcurrentRequests`, and the pool's cap);
 * `connect`; `sendIdle`: no progress sending the request body for so long (the server stopped
 * reading it, or the body source stalled); `headers`: the request sent, waiting for the head;
 * `bodyIdle`: no body byte for so long; `total`: the whole call, redirects and reading the body
 * included.
 */
export interface TimeoutPhases {
  queue?: number;
  connect?: number;
  sendIdle?: number;
  headers?: number;
  bodyIdle?: number;
  total?: number;
}

/** A timeout: a number of milliseconds for the whole call (`total`), or named phases. */
export type TimeoutInit = number | TimeoutPhases;

/**
 * Headers of a request or of a client's defaults: any core `HeadersInit`, where the value of an
 * object entry or a `[name, value]` pair may also be
 *
 * - `null`: send no field of that name — not the client's default, not the `User-Agent` Strand
 *   adds, not the `Content-Type` the body implies (`{ 'User-Agent': null }`, as in requests);
 * - `undefined`: left out, as if the name were not there (a client default of that name stays).
 *
 * Headers the agent stack adds per hop come from their own options: `Accept-Encoding` from
 * `decompress`, `Cookie` from the jar and `cookies`, `Authorization` from `auth`.
 */
export type RequestHeadersInit =
  | HeadersInit
  | Readonly<Record<string, string | readonly string[] | null | undefined>>
  | Iterable<readonly [string, string | null | undefined]>;

/**
 * Where requests go when the default agent is used (no `agent`): a proxy URL, or `false` for
 * none. `http://` and `https://` proxies go through core's `ProxyAgent` (plain `http:` requests
 * in absolute form, `https:` ones through a `CONNECT` tunnel); `socks4://`, `socks4a://`,
 * `socks5://` and `socks5h://` through a SOCKS proxy (`socks5`/`socks4` resolve the host name
 * here, `socks5h`/`socks4a` let the proxy resolve it). Credentials go before the host,
 * percent-encoded: `socks5h://user:p%40ss@127.0.0.1:1080`. A value without a scheme is `http://`.
 */
export type ProxyInit = string | URL | false;

/** PEM text or bytes, or several of them. */
export type PemInit = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

/**
 * TLS settings for `https:` origins, mapped onto core's TLS policies: `BrowserLikePolicyForHTTPS`
 * (chain and host name verified) or, with `rejectUnauthorized: false`, `InsecurePolicyForHTTPS`.
 */
export interface TLSOptions {
  /** Trusted roots (PEM) that replace Node's trust store for these requests, as curl's `--cacert`. */
  ca?: PemInit;
  /** A client certificate chain (PEM), sent when the server asks for one. Needs `key`. */
  cert?: PemInit;
  /** The client certificate's private key (PEM). Needs `cert`. */
  key?: PemInit;
  /** The passphrase of `key` or `pfx`. */
  passphrase?: string;
  /** A PKCS#12 bundle holding the client certificate and its key, instead of `cert` and `key`. */
  pfx?: PemInit;
  /**
   * `false` turns certificate and host name verification **off** (core's
   * `InsecurePolicyForHTTPS`, which emits a `STRAND_TLS_INSECURE` process warning the first time).
   * Anyone on the path can then read and change the traffic. Default `true`.
   */
  rejectUnauthorized?: boolean;
}

/**
 * When to send a request again (got's shape) over core's `RetryAgent`. Only what core deems safe
 * is retried: an error before the request reached the server (connection refused, DNS, a
 * connect timeout), an error after it for the `methods` listed (the server may have acted on
 * the request), and a response whose status is in `statusCodes`; a body that cannot be replayed
 * (a one-shot stream) is never sent twice. The back-off is exponential with full jitter; a
 * `Retry-After` up to `maxRetryAfter` is honoured exactly.
 */
export interface RetryOptions {
  /** Retries after the first attempt (default 2, as got): attempts in all are `limit + 1`. 0: none. */
  limit?: number;
  /**
   * Methods that are retried (default got's: GET, PUT, HEAD, DELETE, OPTIONS, TRACE). A method
   * that is not idempotent, such as POST, is retried only when listed here, and then also after
   * a failure that may have reached the server.
   */
  methods?: readonly string[];
  /** Statuses that are retried (default core's: 408, 429, 500, 502, 503, 504). */
  statusCodes?: readonly number[];
  /**
   * The wait before retry n is a random time up to `min(max, base * 2^(n-1))` ms (`jitter:
   * false`: exactly that). Defaults: `base` 100, `max` 10 000, `jitter` true.
   */
  backoff?: { readonly base?: number; readonly max?: number; readonly jitter?: boolean };
  /**
   * The longest `Retry-After` honoured, ms (default 60 000). A response asking for a longer wait
   * is returned instead of being retried.
   */
  maxRetryAfter?: number;
}

/** `retry`: a number of retries with the other settings at their defaults, `RetryOptions`, or `false`/`0` for none. */
export type RetryInit = number | false | RetryOptions;

/**
 * Credentials from a netrc file (curl's `--netrc`): `true` reads `$NETRC` (with `trustEnv`) or
 * else `~/.netrc`; a string is the path of the file to read. `false` (the default): none.
 */
export type NetrcInit = boolean | string;

/** Options that an {@link HTTPClient} can hold as defaults for all its requests. */
export interface DefaultRequestOptions {
  /** Headers; a request's own headers replace defaults of the same name, and a `null` value removes one (see {@link RequestHeadersInit}). */
  headers?: RequestHeadersInit;
  /** Query parameters; a request's own are added after the defaults. */
  params?: ParamsInit;
  /** Credentials, sent only to the origin of the URL they were given for. */
  auth?: AuthInit;
  /** Follow redirects (default true), with core's `RedirectAgent`. */
  allowRedirects?: boolean;
  /**
   * Follow redirects the way browsers, requests, curl `-L` and got do, with core's
   * `BrowserLikeRedirectAgent` (a 301/302/303 of a POST becomes a GET without the body; 307/308
   * send the method and a replayable body again). Default true. `false` gives the strict
   * `RedirectAgent` (treq's default): 301/302/307/308 followed only for GET and HEAD, otherwise a
   * `RedirectError` (`STRAND_REDIRECT_METHOD_NOT_FOLLOWED`) carrying the response.
   */
  browserLikeRedirects?: boolean;
  /** At most this many redirects (default 20). */
  maxRedirects?: number;
  /** See {@link TimeoutInit}; a request's phases override the client's, phase by phase. */
  timeout?: TimeoutInit;
  /** Return as soon as the head arrived and stream the body (default false: the body is read before the promise resolves). */
  unbuffered?: boolean;
  /** The largest body a buffered response may have, in bytes (default 64 MiB); larger is a `BodyTooLargeError`. */
  maxBodySize?: number;
  /** Ask for and decode gzip/deflate/br bodies with core's `ContentDecoderAgent` (default true). */
  decompress?: boolean;
  /** Reject with an {@link HTTPStatusError} when the final status is not a success (see `raiseForStatus`). Default false. */
  throwForStatus?: boolean;
  /**
   * The proxy for the default agent (see {@link ProxyInit}); `false` sends requests direct even
   * when the environment names a proxy. Default: the environment's, with `trustEnv`. Not with
   * `agent` (give that agent its proxy).
   */
  proxy?: ProxyInit;
  /**
   * Read proxy settings from the environment, as curl and requests do (default `true`):
   * `http_proxy`/`HTTP_PROXY` for `http:` URLs, `https_proxy`/`HTTPS_PROXY` for `https:`, then
   * `all_proxy`/`ALL_PROXY` for both (the lower-case name first; an empty value counts as unset),
   * and `no_proxy`/`NO_PROXY` for hosts that go direct. Under CGI (`REQUEST_METHOD` set),
   * `HTTP_PROXY` is ignored: a request's `Proxy:` header can set it (httpoxy). The variables are
   * read once, when the client is created (for the module functions: on their first call). Also
   * lets `netrc: true` read `$NETRC`. Only the default agent uses a proxy; with `agent` the
   * environment is not read for proxies.
   */
  trustEnv?: boolean;
  /** TLS settings for `https:` origins reached by the default agent; a request's `tls` replaces the client's. See {@link TLSOptions}. */
  tls?: TLSOptions;
  /** Retry transient failures; see {@link RetryOptions}. Default: no retries. */
  retry?: RetryInit;
  /**
   * Basic credentials from a netrc file for the request URL's host (see {@link NetrcInit}), sent
   * to that origin only, never across a redirect to another origin. `auth` and credentials in
   * the URL win. Default `false`. The file is read once per client.
   */
  netrc?: NetrcInit;
}

/** Options of one request (treq's keyword arguments). */
export interface ClientRequestOptions extends DefaultRequestOptions {
  /** A body; see {@link DataInit}. Not with `json`. */
  data?: DataInit;
  /**
   * A value sent as JSON (`Content-Type: application/json` unless you set one), serialised with
   * `JSON.stringify` before anything is sent. A value JSON cannot carry is an
   * `InvalidArgumentError` naming its path — `NaN`, `Infinity` or `-Infinity` anywhere (which
   * `JSON.stringify` would quietly send as `null`), a BigInt anywhere, `undefined`, a function or
   * a symbol at the top — e.g. `json.items[2].price is NaN`. Not with `data` or `files`.
   */
  json?: unknown;
  /** Files, sent as `multipart/form-data` together with `data`'s form fields. */
  files?: FilesInit;
  /** Cookies for this request; see {@link CookiesInit}. */
  cookies?: CookiesInit;
  /** Cancels the request, in any phase, body included. */
  signal?: AbortSignal;
  /** The agent for this request, instead of the client's. */
  agent?: Agent;
  /** A connection pool for this request (only for clients without an agent of their own, such as the module functions). */
  pool?: HTTPConnectionPool;
  /** `false`: use a new non-persistent pool for this request (treq's `persistent=False`). */
  persistent?: boolean;
  /** Called for each interim 1xx response. */
  onInformational?: RequestOptions['onInformational'];
}
