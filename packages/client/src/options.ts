/**
 * The one place where options are read. Everything a caller passes is checked here, once,
 * before any I/O, and turned into one internal shape; every error names the option.
 */

import {
  type Agent,
  type BodyProducer,
  type ByteRangeSpec,
  type CacheMode,
  ContentDecoderAgent,
  HTTPConnectionPool,
  Headers,
  type HeadersInit,
  InvalidArgumentError,
  InvalidHeaderError,
  isToken,
  type RequestOptions,
  checkTimeoutOptions,
  type TLSPolicy,
  checkRequestLine,
  closestName,
} from '@strand/core';
import type { CookieJar } from 'tough-cookie';
import { type NormalizedExpectContinue, addExpectContinue, normalizeExpectContinue } from './expect.js';
import { addRangeHeaders, normalizeIfRange, normalizeRangeOption } from './ranges.js';
import { type DataToBodyProducer, type PreparedBody, dataBody, jsonBody, multipartBody } from './body.js';
import { cacheModeOption, ifModifiedSinceValue } from './cache.js';
import { appendParams, describe, isObjectLiteral, isPlainObject, readFields } from './fields.js';
import { type NormalizedHooks, normalizeHooks } from './hooks.js';
import { type NormalizedNetrc, normalizeNetrc } from './netrc.js';
import { type ProxyRoute, normalizeProxy } from './proxies.js';
import { type NormalizedRetry, normalizeRetry } from './retry.js';
import { normalizeTls } from './tls-options.js';
import type { AuthInit, ClientRequestOptions, DefaultRequestOptions, ProgressCallback, RequestHeadersInit, TimeoutInit, TimeoutPhases } from './types.js';
import { DEFAULT_USER_AGENT } from './version.js';

/** Credentials, checked. */
export interface NormalizedAuth {
  readonly type: 'basic' | 'digest';
  readonly username: string;
  readonly password: string;
}

/** A client's defaults, checked. */
export interface NormalizedDefaults {
  readonly headers: Headers;
  /** Names (lower-case) the client's headers remove with `null`: they are not added by the client (User-Agent, the body's Content-Type) unless a request sets them. */
  readonly removedHeaders: ReadonlySet<string>;
  /** `headers` plus the default User-Agent when they have none: what a request without headers of its own sends. Never changed; copy it. */
  readonly requestHeaders: Headers;
  /** `requestHeaders` plus the decoder's `Accept-Encoding` when they have none: the same, for a request that decompresses. Never changed; copy it. */
  readonly decodingRequestHeaders: Headers;
  readonly params: ReadonlyArray<readonly [string, string]>;
  readonly auth: NormalizedAuth | null;
  /** Frozen: requests that set none of its options share it (and the client's stack with it). */
  readonly stack: StackSettings;
  /** Frozen: requests without a `timeout` of their own share it. */
  readonly timeout: Readonly<TimeoutPhases>;
  /** True when `timeout` sets at least one phase. */
  readonly hasTimeout: boolean;
  readonly unbuffered: boolean;
  readonly throwForStatus: boolean;
  /** The `proxy` option: a proxy, `false` (none, whatever the environment says), or null when not given (the environment decides, with `trustEnv`). */
  readonly proxy: ProxyRoute | false | null;
  readonly trustEnv: boolean;
  /** The policy of the `tls` option, or null for core's default. */
  readonly tlsPolicy: TLSPolicy | null;
  /** null: no netrc. */
  readonly netrc: NormalizedNetrc | null;
  /** null: no hooks. */
  readonly hooks: NormalizedHooks | null;
  /** When a body gets `Expect: 100-continue`. */
  readonly expectContinue: NormalizedExpectContinue;
}

/**
 * What a request's agent stack is made of, besides the base agent, the jar, credentials, hooks
 * and progress callbacks (see `stack.ts`): frozen, and one object for every request that takes
 * all of it from the client's defaults, so the client can keep one built stack for them and
 * tell a request that may use it by identity (`request.stack === defaults.stack`).
 */
export interface StackSettings {
  readonly allowRedirects: boolean;
  readonly browserLikeRedirects: boolean;
  readonly maxRedirects: number;
  /** The largest buffered (and decoded) body. */
  readonly maxBodySize: number;
  readonly decompress: boolean;
  /** null: no retries. */
  readonly retry: NormalizedRetry | null;
}

/** The options that make up {@link StackSettings}. */
const STACK_KEYS = ['allowRedirects', 'browserLikeRedirects', 'maxRedirects', 'maxBodySize', 'decompress', 'retry'] as const;

/** The per-request behaviours a request takes from the client's defaults unless it sets its own. */
type RequestBehaviour = Pick<NormalizedDefaults, 'stack' | 'timeout' | 'hasTimeout' | 'unbuffered' | 'throwForStatus' | 'proxy' | 'trustEnv' | 'tlsPolicy' | 'netrc' | 'hooks'>;

/** One request, checked and resolved against the client's defaults (`timeout` may be shared with them: never change it). */
export interface NormalizedRequest extends RequestBehaviour {
  readonly method: string;
  /** The URL with `params` merged and credentials removed. May be shared with other requests (core's `checkRequestLine` keeps recent URLs): never change it. */
  readonly url: URL;
  /** Headers to send: defaults, the request's own, User-Agent and the body's Content-Type. */
  readonly headers: Headers;
  readonly body: BodyProducer | null;
  readonly auth: NormalizedAuth | null;
  /** Cookies of the `cookies` option (an object), for the request URL's origin only. */
  readonly cookies: ReadonlyArray<readonly [string, string]>;
  /** A jar given as the `cookies` option, used instead of the client's. */
  readonly jar: CookieJar | null;
  readonly signal: AbortSignal | null;
  readonly agent: Agent | null;
  readonly pool: HTTPConnectionPool | null;
  readonly persistent: boolean | null;
  readonly onInformational: RequestOptions['onInformational'] | null;
  readonly onHead: RequestOptions['onHead'] | null;
  /** The `range` option's ranges (null: none); `Range` (and `If-Range`) are in `headers` already. */
  readonly range: readonly ByteRangeSpec[] | null;
  readonly onUploadProgress: ProgressCallback | null;
  readonly onDownloadProgress: ProgressCallback | null;
  /** True when the request itself gave `proxy` or `tls`, which configure the default agent (an error with `agent`). */
  readonly routeOptions: boolean;
  /** The Fetch cache mode for a client's cache, or null for the default. */
  readonly cacheMode: CacheMode | null;
}

const NONE: ReadonlySet<string> = new Set();

/** The defaults of a client that sets none. */
export const DEFAULT_MAX_REDIRECTS = 20;
/** 64 MiB: the largest body a buffered response may have unless `maxBodySize` says otherwise. */
export const DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024;

const DEFAULT_KEYS = [
  'headers',
  'params',
  'auth',
  'allowRedirects',
  'browserLikeRedirects',
  'maxRedirects',
  'timeout',
  'unbuffered',
  'maxBodySize',
  'decompress',
  'throwForStatus',
  'proxy',
  'trustEnv',
  'tls',
  'retry',
  'netrc',
  'hooks',
  'expectContinue',
] as const;
const REQUEST_KEYS: ReadonlySet<string> = new Set<string>([
  ...DEFAULT_KEYS,
  'data',
  'json',
  'files',
  'cookies',
  'signal',
  'agent',
  'pool',
  'persistent',
  'onInformational',
  'onHead',
  'range',
  'ifRange',
  'onUploadProgress',
  'onDownloadProgress',
  'cacheMode',
  'ifModifiedSince',
]);

function bool(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${option} must be a boolean, got ${describe(value)}`);
  return value;
}

function count(value: unknown, option: string, fallback: number, allowInfinity: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !((Number.isSafeInteger(value) && value >= 0) || (allowInfinity && value === Infinity))) {
    throw new InvalidArgumentError(`${option} must be a non-negative integer${allowInfinity ? ' or Infinity' : ''}, got ${typeof value === 'number' ? value : describe(value)}`);
  }
  return value;
}

/** Checks a timeout option; a number is the `total` (core's `checkTimeoutOptions`). */
export function normalizeTimeout(value: TimeoutInit | undefined, option = 'timeout'): TimeoutPhases {
  return checkTimeoutOptions(value, option);
}

/** Checks the `auth` option. */
export function normalizeAuth(value: AuthInit | undefined, option = 'auth'): NormalizedAuth | null {
  if (value === undefined) return null;
  let type: unknown = 'basic';
  let username: unknown;
  let password: unknown;
  if (Array.isArray(value)) {
    if (value.length !== 2) throw new InvalidArgumentError(`${option} must be [username, password] or { username, password, type? }`);
    [username, password] = value as unknown[];
  } else if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      if (key !== 'type' && key !== 'username' && key !== 'password') throw new InvalidArgumentError(`${option}.${key} is not an auth option; use username, password and type`);
    }
    ({ username, password } = value);
    if (value['type'] !== undefined) type = value['type'];
  } else {
    throw new InvalidArgumentError(`${option} must be [username, password] or { username, password, type? }, got ${describe(value)}`);
  }
  if (type !== 'basic' && type !== 'digest') throw new InvalidArgumentError(`${option}.type must be "basic" or "digest", got ${JSON.stringify(type)}`);
  if (typeof username !== 'string') throw new InvalidArgumentError(`${option} username must be a string, got ${describe(username)}`);
  if (typeof password !== 'string') throw new InvalidArgumentError(`${option} password must be a string, got ${describe(password)}`);
  if (type === 'basic' && username.includes(':')) throw new InvalidArgumentError(`${option}: a Basic username cannot contain ":" (RFC 7617)`);
  if (hasControl(username) || hasControl(password)) throw new InvalidArgumentError(`${option}: the username and password must not contain control characters`);
  return { type, username, password };
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Headers as given: the fields to send, and the names (lower-case) a `null` value removes (null: none). */
interface HeaderSpec {
  readonly headers: Headers;
  readonly removed: ReadonlySet<string> | null;
}

/**
 * Splits the `null` and `undefined` values out of `init` (see `RequestHeadersInit`): a `null`
 * name goes into `removed`, an `undefined` one is dropped. `init` itself is returned when it
 * has neither, which is the usual case and costs one look at each value.
 */
function splitRemovals(init: RequestHeadersInit): { init: HeadersInit; removed: Set<string> | null } {
  let pairs: Array<readonly [unknown, unknown]>;
  if (init instanceof Headers) return { init, removed: null };
  if (isPlainObject(init)) {
    const record = init as Record<string, unknown>;
    let nullish = false;
    for (const name in record) {
      if (record[name] == null) {
        nullish = true;
        break;
      }
    }
    if (!nullish) return { init: init as HeadersInit, removed: null };
    pairs = Object.keys(record).map((name) => [name, record[name]] as const);
  } else if (init !== null && typeof init === 'object' && typeof (init as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function') {
    const entries = Array.isArray(init) ? (init as unknown[]) : [...(init as Iterable<unknown>)];
    if (!entries.some((entry) => Array.isArray(entry) && entry.length === 2 && entry[1] == null)) return { init: entries as HeadersInit, removed: null };
    pairs = entries as Array<readonly [unknown, unknown]>;
  } else {
    return { init: init as HeadersInit, removed: null }; // core's Headers says what is wrong with it
  }
  const kept: Array<readonly [unknown, unknown]> = [];
  const removed = new Set<string>();
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2 || pair[1] != null) {
      kept.push(pair);
      continue;
    }
    const name: unknown = pair[0];
    if (typeof name !== 'string' || !isToken(name)) {
      throw new InvalidHeaderError(String(name), `invalid header name ${JSON.stringify(String(name))}: it must be an RFC 9110 token`);
    }
    if (pair[1] === null) removed.add(name.toLowerCase());
  }
  // Object values may be arrays (one field each): a record keeps that shape, pairs stay pairs.
  const rebuilt: HeadersInit = isPlainObject(init) ? (Object.fromEntries(kept) as Record<string, string | string[]>) : (kept as Array<[string, string]>);
  return { init: rebuilt, removed: removed.size > 0 ? removed : null };
}

function headersFrom(given: RequestHeadersInit | undefined, option: string): HeaderSpec {
  try {
    if (given === undefined) return { headers: new Headers(null), removed: null };
    const { init, removed } = splitRemovals(given);
    return { headers: new Headers(init), removed };
  } catch (error) {
    if (error instanceof InvalidHeaderError) throw new InvalidHeaderError(error.headerName, `${option}: ${error.message}`, { cause: error });
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`${option}: ${error.message}`, { cause: error });
    throw error;
  }
}

/**
 * Copies `extra` over `base`: each name in `extra` replaces the fields of that name in `base`.
 * `extra` must be a new object of the caller's: with no defaults to merge into and no name
 * given twice (so nothing would be regrouped), it is the result itself.
 */
function mergeHeaders(base: Headers, extra: Headers): Headers {
  if (base.size === 0 && namesDistinct(extra)) return extra;
  const merged = base.clone();
  const seen = new Set<string>();
  for (const [name] of extra) {
    const lower = name.toLowerCase();
    if (seen.has(lower)) continue;
    seen.add(lower);
    merged.set(name, extra.getAll(name));
  }
  return merged;
}

/** True when no header name occurs twice in `headers` (case-insensitively). */
function namesDistinct(headers: Headers): boolean {
  const size = headers.size;
  if (size < 2) return true;
  const seen: string[] = [];
  for (const [name] of headers) {
    const lower = name.toLowerCase();
    if (seen.includes(lower)) return false;
    seen.push(lower);
  }
  return true;
}

function checkKnown(options: object, known: ReadonlySet<string>, what: string): void {
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw unknownOption(key, known, what);
  }
}

/**
 * What the options of other clients (fetch, got, ky, axios, requests) are called here, for the
 * message of an unknown option a newcomer brings along.
 */
const OTHER_CLIENTS_NAMES: Readonly<Record<string, string>> = {
  body: 'give the body as data (bytes, text, a form, a stream) or json',
  form: 'give a form as data (an object is sent as application/x-www-form-urlencoded)',
  searchParams: 'use params',
  query: 'use params',
  qs: 'use params',
  method: 'the method is the first argument of request(method, url), or use get/post/put…',
  prefixUrl: 'use baseUrl on an HTTPClient',
  baseURL: 'use baseUrl on an HTTPClient',
  redirect: 'use allowRedirects (false: return the 3xx) and maxRedirects',
  followRedirect: 'use allowRedirects',
  followRedirects: 'use allowRedirects',
  maxRedirections: 'use maxRedirects',
  throwHttpErrors: 'use throwForStatus',
  validateStatus: 'use throwForStatus (true: a failed status rejects with HTTPStatusError)',
  responseType: 'read the body as you need it: response.json(), .text(), .content()',
  username: 'use auth: [username, password]',
  password: 'use auth: [username, password]',
  proxies: 'use proxy (one proxy URL, or false)',
  verify: 'use tls: { rejectUnauthorized: false } (or ca)',
  dispatcher: 'use agent',
  retries: 'use retry',
};

/** An unknown option's error: what it is called here (when it is another client's name), or the closest known name. */
export function unknownOption(key: string, known: Iterable<string>, what: string): InvalidArgumentError {
  const other = Object.hasOwn(OTHER_CLIENTS_NAMES, key) ? OTHER_CLIENTS_NAMES[key] : undefined;
  if (other !== undefined) return new InvalidArgumentError(`unknown ${what} option "${key}": ${other}`);
  const near = closestName(key, [...known]);
  return new InvalidArgumentError(`unknown ${what} option "${key}"${near === null ? '' : `; did you mean "${near}"?`}`);
}

/** Checks a client's defaults. */
export function normalizeDefaults(options: DefaultRequestOptions): NormalizedDefaults {
  const { headers, removed } = headersFrom(options.headers, 'headers');
  const removedHeaders: ReadonlySet<string> = removed ?? NONE;
  const requestHeaders = headers.clone();
  if (!requestHeaders.has('user-agent') && !removedHeaders.has('user-agent')) requestHeaders.set('User-Agent', DEFAULT_USER_AGENT);
  const decodingRequestHeaders = requestHeaders.clone();
  // The value core's decoder (wrapWithCoreContentDecoder: default decoders) would add, so it need not copy the headers.
  if (!decodingRequestHeaders.has('accept-encoding')) decodingRequestHeaders.set('Accept-Encoding', ContentDecoderAgent.defaultAcceptEncoding);
  const defaults = {
    headers,
    removedHeaders,
    requestHeaders,
    decodingRequestHeaders,
    params: options.params === undefined ? [] : readFields(options.params, 'params', true),
    auth: normalizeAuth(options.auth),
    stack: stackSettings(options, CLIENT_STACK),
    timeout: Object.freeze(normalizeTimeout(options.timeout)),
    unbuffered: bool(options.unbuffered, 'unbuffered', false),
    throwForStatus: bool(options.throwForStatus, 'throwForStatus', false),
    proxy: normalizeProxy(options.proxy),
    trustEnv: bool(options.trustEnv, 'trustEnv', true),
    tlsPolicy: normalizeTls(options.tls),
    netrc: normalizeNetrc(options.netrc),
    hooks: normalizeHooks(options.hooks, null),
    expectContinue: normalizeExpectContinue(options.expectContinue),
  };
  return { ...defaults, hasTimeout: Object.keys(defaults.timeout).length > 0 };
}

/** The stack settings of a client that sets none. */
const CLIENT_STACK: StackSettings = Object.freeze({
  allowRedirects: true,
  browserLikeRedirects: true,
  maxRedirects: DEFAULT_MAX_REDIRECTS,
  maxBodySize: DEFAULT_MAX_BODY_SIZE,
  decompress: true,
  retry: null,
});

/** The stack settings `options` give over `base`: `base` itself when they set none of them. */
function stackSettings(options: DefaultRequestOptions, base: StackSettings): StackSettings {
  if (STACK_KEYS.every((key) => options[key] === undefined)) return base;
  return Object.freeze({
    allowRedirects: bool(options.allowRedirects, 'allowRedirects', base.allowRedirects),
    browserLikeRedirects: bool(options.browserLikeRedirects, 'browserLikeRedirects', base.browserLikeRedirects),
    maxRedirects: count(options.maxRedirects, 'maxRedirects', base.maxRedirects, false),
    maxBodySize: count(options.maxBodySize, 'maxBodySize', base.maxBodySize, true),
    decompress: bool(options.decompress, 'decompress', base.decompress),
    retry: options.retry === undefined ? base.retry : normalizeRetry(options.retry),
  });
}

/** The keys of {@link DefaultRequestOptions}, for clients that take defaults among other options. */
export const DEFAULT_OPTION_KEYS: readonly string[] = DEFAULT_KEYS;

function isJar(value: unknown): value is CookieJar {
  const jar = value as Partial<CookieJar> | null;
  return jar !== null && typeof jar === 'object' && typeof jar.getCookieString === 'function' && typeof jar.setCookie === 'function';
}

function prepareBody(options: ClientRequestOptions, convert: DataToBodyProducer | null): PreparedBody | null {
  const hasJson = options.json !== undefined;
  if (hasJson && options.data !== undefined) throw new InvalidArgumentError('json and data cannot be used together: send one body');
  if (hasJson && options.files !== undefined) throw new InvalidArgumentError('json and files cannot be used together: send one body');
  if (hasJson) return jsonBody(options.json);
  if (options.files !== undefined) return multipartBody(options.files, options.data);
  if (options.data !== undefined) return dataBody(options.data, convert);
  return null;
}

/**
 * Checks and resolves one request. Throws an `InvalidArgumentError` (or a subclass) naming the
 * option; nothing has been sent and no stream has been read when it does.
 */
export function normalizeRequest(
  method: string,
  url: string | URL,
  options: ClientRequestOptions | undefined,
  defaults: NormalizedDefaults,
  convert: DataToBodyProducer | null,
): NormalizedRequest {
  const opts: ClientRequestOptions = options ?? {};
  if (!isObjectLiteral(opts)) throw new InvalidArgumentError(`options must be an object, got ${describe(opts)}`);
  checkKnown(opts, REQUEST_KEYS, 'request');
  if (typeof method !== 'string') throw new InvalidArgumentError(`method must be a string, got ${describe(method)}`);
  const upperMethod = method.toUpperCase();
  // Core's edge validation (a bad method or URL: controls, whitespace, a scheme other than
  // http(s)) fails here, and the agent's own check of this URL string is then a cache hit.
  let target = checkRequestLine(upperMethod, url);
  // Core shares the parsed URL of a string between requests: copy it before changing it.
  if (opts.params !== undefined || defaults.params.length > 0 || target.username !== '' || target.password !== '') target = new URL(target.href);

  const auth = takeCredentials(target, opts.auth === undefined ? defaults.auth : normalizeAuth(opts.auth));
  if (opts.params !== undefined) appendParams(target, [...defaults.params, ...readFields(opts.params, 'params', true)]);
  else appendParams(target, defaults.params);

  const stack = stackSettings(opts, defaults.stack);
  const { headers, removed } = requestHeaders(opts.headers, defaults, stack.decompress);
  const { cookies, jar } = requestCookies(opts.cookies);
  const { signal, agent, pool, persistent, onInformational } = checkCallOptions(opts);
  const range = normalizeRangeOption(opts.range);
  if (range !== null) {
    // Identity unless the caller named an encoding (the decoder's default is not the caller's).
    const callerEncoding = (opts.headers === undefined ? defaults.headers : headers).has('accept-encoding') || removed.has('accept-encoding');
    addRangeHeaders(headers, range, normalizeIfRange(opts.ifRange, range), callerEncoding);
  } else {
    normalizeIfRange(opts.ifRange, null);
  }
  const expectContinue = normalizeExpectContinue(opts.expectContinue, defaults.expectContinue);

  const timeout = opts.timeout === undefined ? defaults.timeout : { ...defaults.timeout, ...normalizeTimeout(opts.timeout) };
  const result = {
    method: upperMethod,
    url: target,
    headers,
    body: null as BodyProducer | null,
    auth,
    cookies,
    jar,
    stack,
    timeout,
    hasTimeout: timeout === defaults.timeout ? defaults.hasTimeout : Object.keys(timeout).length > 0,
    unbuffered: bool(opts.unbuffered, 'unbuffered', defaults.unbuffered),
    throwForStatus: bool(opts.throwForStatus, 'throwForStatus', defaults.throwForStatus),
    proxy: opts.proxy === undefined ? defaults.proxy : normalizeProxy(opts.proxy),
    trustEnv: bool(opts.trustEnv, 'trustEnv', defaults.trustEnv),
    tlsPolicy: opts.tls === undefined ? defaults.tlsPolicy : normalizeTls(opts.tls),
    netrc: opts.netrc === undefined ? defaults.netrc : normalizeNetrc(opts.netrc),
    hooks: opts.hooks === undefined ? defaults.hooks : normalizeHooks(opts.hooks, defaults.hooks),
    onUploadProgress: callback(opts.onUploadProgress, 'onUploadProgress'),
    onDownloadProgress: callback(opts.onDownloadProgress, 'onDownloadProgress'),
    signal,
    agent,
    pool,
    persistent,
    onInformational,
    onHead: callback(opts.onHead, 'onHead'),
    range,
    routeOptions: opts.proxy !== undefined || opts.tls !== undefined,
    cacheMode: cacheModeOption(opts.cacheMode),
  };
  if (opts.ifModifiedSince !== undefined) headers.set('If-Modified-Since', ifModifiedSinceValue(opts.ifModifiedSince));
  // The body last: every other mistake is reported before a stream is wrapped or a file opened.
  const body = prepareBody(opts, convert);
  if (body !== null) {
    result.body = body.producer;
    if (body.contentType !== null && !headers.has('content-type') && !removed.has('content-type')) headers.add('Content-Type', body.contentType);
    addExpectContinue(headers, body.producer, expectContinue, removed);
  }
  return result;
}

/**
 * Takes credentials out of `target` (a copy of the caller's URL): they mean Basic auth (as in
 * curl and requests) unless `auth` says otherwise, and are never sent in the URL.
 */
function takeCredentials(target: URL, auth: NormalizedAuth | null): NormalizedAuth | null {
  if (target.username === '' && target.password === '') return auth;
  const result = auth ?? { type: 'basic' as const, username: decodeURIComponent(target.username), password: decodeURIComponent(target.password) };
  target.username = '';
  target.password = '';
  return result;
}

/**
 * The headers a request sends (before its body's Content-Type), and the names (lower-case) that
 * neither the defaults nor the client may add: a `null` of the request's or of the client's.
 */
function requestHeaders(given: RequestHeadersInit | undefined, defaults: NormalizedDefaults, decompress: boolean): { headers: Headers; removed: ReadonlySet<string> } {
  // A request without headers of its own starts from the defaults' ready-made copy (with the decoder's Accept-Encoding when it decompresses).
  if (given === undefined) return { headers: (decompress ? defaults.decodingRequestHeaders : defaults.requestHeaders).clone(), removed: defaults.removedHeaders };
  let removed = defaults.removedHeaders;
  const own = headersFrom(given, 'headers');
  const headers = mergeHeaders(defaults.headers, own.headers);
  if (own.removed !== null) {
    for (const name of own.removed) headers.delete(name);
    removed = removed.size === 0 ? own.removed : new Set([...removed, ...own.removed]);
  }
  // `add` appends, as `set` does for a name that is absent.
  if (!headers.has('user-agent') && !removed.has('user-agent')) headers.add('User-Agent', DEFAULT_USER_AGENT);
  return { headers, removed };
}

/** The `cookies` option: an object of pairs for the request's origin, or a jar used instead of the client's. */
function requestCookies(given: ClientRequestOptions['cookies']): { cookies: Array<[string, string]>; jar: CookieJar | null } {
  if (given === undefined) return { cookies: [], jar: null };
  if (isJar(given)) return { cookies: [], jar: given };
  if (isPlainObject(given)) return { cookies: cookiePairs(given), jar: null };
  throw new InvalidArgumentError(`cookies must be an object of names to values or a tough-cookie CookieJar, got ${describe(given)}`);
}

/** The options of one call that have no client default: its signal, its own agent or pool, and its 1xx callback. */
function checkCallOptions(opts: ClientRequestOptions): Pick<NormalizedRequest, 'signal' | 'agent' | 'pool' | 'persistent' | 'onInformational'> {
  const signal = opts.signal ?? null;
  if (signal !== null && !(signal instanceof AbortSignal)) throw new InvalidArgumentError(`signal must be an AbortSignal, got ${describe(signal)}`);
  const agent = opts.agent ?? null;
  if (agent !== null && (typeof agent !== 'object' || typeof (agent as Partial<Agent>).request !== 'function')) {
    throw new InvalidArgumentError(`agent must be an Agent (an object with a request method), got ${describe(agent)}`);
  }
  const pool = opts.pool ?? null;
  if (pool !== null && !(pool instanceof HTTPConnectionPool)) throw new InvalidArgumentError(`pool must be an HTTPConnectionPool, got ${describe(pool)}`);
  const persistent = opts.persistent === undefined ? null : bool(opts.persistent, 'persistent', true);
  const onInformational = opts.onInformational ?? null;
  if (onInformational !== null && typeof onInformational !== 'function') throw new InvalidArgumentError(`onInformational must be a function, got ${describe(onInformational)}`);
  return { signal, agent, pool, persistent, onInformational };
}

/** An optional callback option: null when not given. */
function callback<T>(value: T | undefined, option: string): T | null {
  if (value === undefined) return null;
  if (typeof value !== 'function') throw new InvalidArgumentError(`${option} must be a function, got ${describe(value)}`);
  return value;
}

/** Cookie names and values are tokens / cookie-octets (RFC 6265 §4.1.1); anything else cannot be sent safely. */
function cookiePairs(cookies: Record<string, unknown>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const name of Object.keys(cookies)) {
    const value = cookies[name];
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw new InvalidArgumentError(`cookies: "${name}" is not a valid cookie name`);
    if (typeof value !== 'string') throw new InvalidArgumentError(`cookies.${name} must be a string, got ${describe(value)}`);
    if (!/^(?:"?[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*"?)$/.test(value)) throw new InvalidArgumentError(`cookies.${name} contains a character a cookie value cannot hold (space, comma, semicolon, quote, backslash or a control)`);
    out.push([name, value]);
  }
  return out;
}
