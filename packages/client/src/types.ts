/**
 * The option types of the client API.
 *
 * @packageDocumentation
 */

import type { Readable } from 'node:stream';
import type { Agent, BodyProducer, CacheMode, HTTPConnectionPool, Headers, HeadersInit, RangeInit, RequestOptions, TimeoutOptions } from '@strand/core';
import type { CookieJar } from 'tough-cookie';
import type { ClientResponse } from './response.js';

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
export type AuthInit =
  | readonly [username: string, password: string]
  | {
      /** `basic` (default) sends the credentials at once; `digest` answers the server's Digest challenge. */
      readonly type?: 'basic' | 'digest';
      /** The user name. */
      readonly username: string;
      /** The password. */
      readonly password: string;
    };

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
export type TimeoutPhases = TimeoutOptions;

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
  backoff?: {
    /** The first wait's ceiling, ms (doubled per attempt). */
    readonly base?: number;
    /** The largest wait, ms. */
    readonly max?: number;
    /** Full jitter (default true); false waits the whole ceiling. */
    readonly jitter?: boolean;
  };
  /**
   * The longest `Retry-After` honoured, ms (default 60 000). A response asking for a longer wait
   * is returned instead of being retried.
   */
  maxRetryAfter?: number;
  /**
   * Retry a refused connection (nothing listens on the port: a server restarting, say). Default
   * true, as got. `false` makes it final, as curl's `--retry` without `--retry-connrefused`;
   * other failures before anything was sent are still retried. Core's `retryConnectionRefused`.
   */
  connectionRefused?: boolean;
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
  /**
   * Send `Expect: 100-continue` with a body, so a server that will refuse it (401, 413…) can say
   * so before the body is sent (core holds the body until the `100`, a final answer, or 1 s):
   * by default for bodies of known length larger than 1 MiB (curl's rule); a number of bytes
   * for another threshold (bodies larger than it); `true` for every body, streams of unknown
   * length included; `false` never. An `Expect` header of the caller's is sent as it is.
   */
  expectContinue?: boolean | number;
  /** Reject with an {@link @strand/client!HTTPStatusError} when the final status is not a success (see `raiseForStatus`). Default false. */
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
  /**
   * Functions called at fixed points of each request (got's and ky's names): `beforeRequest`,
   * `afterResponse`, `beforeRedirect`, `beforeRetry`, `beforeError`; see {@link Hooks} for what
   * each may do and the order they run in. A request's hooks run after the client's.
   */
  hooks?: Hooks;
}

/** Options of one request (treq's keyword arguments). */
export interface ClientRequestOptions extends DefaultRequestOptions {
  /**
   * The Fetch cache mode of this request, for a client with a `cache`: `default`, `no-store`
   * (the cache is not used), `reload` (fetch, then store), `no-cache` (validate even a fresh
   * response), `force-cache` (any stored response, however stale), `only-if-cached` (a stored
   * response or a `504`, never a request). Ignored without a cache.
   */
  cacheMode?: CacheMode;
  /** Sends `If-Modified-Since` with this time (a `Date` or ms since the epoch) as an HTTP-date: tornado's `if_modified_since`. */
  ifModifiedSince?: Date | number;
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
  /**
   * Called with each final response head as soon as it is parsed, before the request's promise
   * resolves and before its body is read (a buffered request resolves only once the body is
   * in): `version`, `code`, `phrase`, `headers`, `url`. Every hop of a redirect chain (and a
   * retried attempt) reports its head; the last is the response's. A callback that throws
   * fails the request.
   */
  onHead?: RequestOptions['onHead'];
  /**
   * Ask for part of the representation (RFC 9110 §14): `{ start, end }` (offsets from 0, `end`
   * inclusive; no `end`: to the end), `{ suffix }` (the last bytes), or a list of them (the
   * answer is then `multipart/byteranges`: `response.byteRanges()`). Sends `Range` and, unless
   * the headers name one, `Accept-Encoding: identity`. A 206 is checked against what was asked
   * before the body is read (a mismatch is core's `RangeMismatchError`); `response.range` says
   * what came back, `partial: false` for a 200 that is the whole representation.
   */
  range?: RangeInit;
  /**
   * With `range`: send it as `If-Range`, so the range comes only if the representation is still
   * this one (a changed one comes whole, as a 200). A strong ETag (`"abc"`; a weak `W/` one is
   * refused, RFC 9110 §13.1.5) or an HTTP-date, or an earlier response whose validator is used
   * (its strong `ETag`, else its `Last-Modified`).
   */
  ifRange?:
    | string
    | {
        /** The header fields of the earlier response (its `ETag`, `Last-Modified`). */
        readonly headers: Headers;
      };
  /**
   * Called as the request body is handed to the connection: a first event at 0, then at most one
   * every 100 ms, then a last one when the whole body was written. Each sending of the body (a
   * 307/308 redirect, a retry) reports from 0 again. Not called for a request without a body.
   */
  onUploadProgress?: ProgressCallback;
  /**
   * Called as the final response's body arrives, counting the bytes on the wire (before
   * decompression, so `total` is the `Content-Length` when there is one): a first event when
   * the head arrived, at most one every 100 ms, and a last one when the body was read
   * completely (none if it failed). For an `unbuffered` response, as you read the body.
   */
  onDownloadProgress?: ProgressCallback;
}

/** What a hook may return: a value or a promise of it. */
export type Awaitable<T> = T | Promise<T>;

/**
 * A request as `beforeRequest` hooks see it, and may change it: the method (a token; it is
 * upper-cased), the URL (a `URL` of the hooks' own, so `url.searchParams.set(...)` works; it
 * must stay `http:`/`https:`), the headers (core `Headers`; set, add, delete) and the body (any
 * `data` value; what the request's options made of it is a `BodyProducer`). A replaced body's
 * implied `Content-Type` (a `Blob`'s type, a form's, a `FormData`'s boundary) is added when the
 * headers have none. The other hooks get it as it was sent.
 */
export interface HookRequest {
  /** The method (upper case). */
  method: string;
  /** The URL to send to (a URL the hook may replace or change). */
  url: URL;
  /** The header fields; change them in place. */
  headers: Headers;
  /** The body, as `data` takes it (null: none). */
  body: DataInit | null;
  /** The request's `signal`, or null. */
  readonly signal: AbortSignal | null;
  /** 0, or 1 for the request sent again by an `afterResponse` hook's `retry()`. */
  readonly retryCount: number;
  /** An object the hooks of one call share (got's `context`); a `retry()` keeps it. */
  readonly context: Record<string, unknown>;
}

/** The second argument of an `afterResponse` hook. */
export interface AfterResponseState {
  /** The request as it was sent (after the `beforeRequest` hooks). */
  readonly request: HookRequest;
  /** 0, or 1 in the request sent again by `retry()`. */
  readonly retryCount: number;
  /**
   * Sends the request again, once (ky's `ky.retry()`, got's `retryWithMergedOptions`), with
   * `options` merged over the call's own (a `headers` object is merged name by name, e.g. a new
   * `Authorization` after refreshing a token), and resolves with the new response, which has
   * been through every hook (`beforeRequest` included) already: return it. The current
   * response's body is discarded first. The body is sent again unless `options` gives a new one;
   * a one-shot stream cannot be, and then `retry()` rejects with an `InvalidArgumentError`, as
   * it does when called a second time or from the retried request's own hooks.
   */
  retry(options?: ClientRequestOptions): Promise<ClientResponse>;
}

/** The next hop of a redirect, as a `beforeRedirect` hook sees it: only its headers can be changed. */
export interface RedirectRequest {
  /** The method of the next request (a 303, or a 301/302 after a POST, turn it into GET). */
  readonly method: string;
  /** Where the next request goes (a copy: changing it changes nothing). */
  readonly url: URL;
  /** The headers of the next request; changes apply to this hop. */
  headers: Headers;
  /** This redirect's number, from 1. */
  readonly redirectCount: number;
}

/** What a `beforeRetry` hook is told before a retry of the `retry` option. */
export interface RetryState {
  /** The method and URL of the request (the hop) being retried. */
  readonly request: {
    /** The method of the request being retried. */
    readonly method: string;
    /** Its URL. */
    readonly url: string;
  };
  /** The retry about to be made, from 1. */
  readonly retryCount: number;
  /** The wait before it, in ms (back-off, or the server's `Retry-After`). */
  readonly delay: number;
  /** The failure being retried, or null when it is a retryable status. */
  readonly error: unknown;
  /** The response with a retryable status (its body is discarded), or null after an error. */
  readonly response: ClientResponse | null;
}

/**
 * Called before the request is sent; may change it (see {@link HookRequest}). Returning a
 * `ClientResponse` answers the call with it (ky's way): the later `beforeRequest` hooks and the
 * request itself are skipped, `afterResponse` hooks and `throwForStatus` still apply. Throwing
 * stops the request (nothing is sent) and the call rejects with the error (through `beforeError`).
 */
export type BeforeRequestHook = (request: HookRequest) => Awaitable<ClientResponse | void>;
/** Called with the response; may return another response (or the one `state.retry()` resolves with). */
export type AfterResponseHook = (response: ClientResponse, state: AfterResponseState) => Awaitable<ClientResponse | void>;
/** Called before each redirect is followed, with the 3xx response (its body discarded); throwing stops the chain. */
export type BeforeRedirectHook = (request: RedirectRequest, response: ClientResponse) => Awaitable<void>;
/** Called before each retry of the `retry` option, and awaited before the request is sent again; throwing stops the retries. */
export type BeforeRetryHook = (state: RetryState) => Awaitable<void>;
/**
 * Called with the error a call is about to reject with (typed `unknown`: a hook may throw
 * anything); returning a value replaces the error, returning nothing keeps it.
 */
export type BeforeErrorHook = (error: unknown, request: HookRequest | null) => Awaitable<unknown>;

/**
 * The `hooks` option: arrays of functions, called in order, a client's before a request's.
 * The order for one call: `beforeRequest`; then, while the request is sent, `beforeRedirect`
 * before each redirect hop and `beforeRetry` before each retry; `afterResponse` (then
 * `throwForStatus`); and `beforeError` for whatever failed on the way.
 */
export interface Hooks {
  /** Run before each call: may change the method, URL, headers and body. */
  beforeRequest?: readonly BeforeRequestHook[];
  /** Run on each response: may return another response, or `retry()` once. */
  afterResponse?: readonly AfterResponseHook[];
  /** Run before each redirect hop: may change its headers. */
  beforeRedirect?: readonly BeforeRedirectHook[];
  /** Run before each retry of the `retry` option; the retry waits for it. */
  beforeRetry?: readonly BeforeRetryHook[];
  /** Run on the error a call fails with: may return another error. */
  beforeError?: readonly BeforeErrorHook[];
}

/**
 * One progress event. `percent` is a fraction from 0 to 1. `total` and `percent` are
 * `undefined` while the size is unknown (a chunked body, a stream without a length); the last
 * event of a transfer always has both, as the size is then known.
 */
export interface Progress {
  /** Bytes transferred so far. */
  readonly transferred: number;
  /** The size of the body in bytes, if known. */
  readonly total: number | undefined;
  /** `transferred / total`, from 0 to 1, if the total is known. */
  readonly percent: number | undefined;
}

/** A progress callback (`onUploadProgress`, `onDownloadProgress`). A callback that throws fails the transfer with its error. */
export type ProgressCallback = (progress: Progress) => void;
