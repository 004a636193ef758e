/**
 * Redirect-following agents: {@link RedirectAgent} (RFC 9110, strict) and
 * {@link BrowserLikeRedirectAgent} (what browsers do with POST).
 *
 * @packageDocumentation
 */

import { type Agent, type RequestOptions, WrapperAgent } from '../agent.js';
import type { BodyProducer } from '../message/producers.js';
import { CancelledError, InvalidArgumentError, StrandError, type StrandErrorOptions } from '../errors.js';
import type { Headers, HeadersInit } from '../message/headers.js';
import type { Response } from '../message/response.js';
import { BODY_HEADERS, DEFAULT_SENSITIVE_HEADERS, removeHeaders, sameOrigin, withoutCredentials } from './sensitive-headers.js';
import { DEFAULT_DISCARD_BYTES, ResendableBody, copyHeaders, discardBody } from './shared.js';
import { brand } from '../brand.js';

/**
 * A redirect was not followed. `response` is the redirect (3xx) response that could not be
 * followed; its body has already been discarded so its connection could be reused.
 *
 * Codes: `STRAND_REDIRECT_UNSUPPORTED_SCHEME` (a `Location` that is not http or https),
 * `STRAND_REDIRECT_INVALID_LOCATION` (a `Location` that is not a URL, or several different ones),
 * `STRAND_REDIRECT_BODY_NOT_REPLAYABLE` (the redirect needs the request body again and the
 * producer cannot replay it), `STRAND_REDIRECT_METHOD_NOT_FOLLOWED` (the strict
 * `RedirectAgent` follows 301/302/307/308 only for GET and HEAD), and
 * {@link TooManyRedirectsError}'s code.
 */
export class RedirectError extends StrandError {
  /** The 3xx response that was not followed (body discarded). */
  readonly response: Response;

  constructor(code: string, message: string, response: Response, options?: StrandErrorOptions) {
    super(code, message, options);
    this.response = response;
  }
}

/** The redirect limit was reached. `response` is the last redirect response (body discarded). */
export class TooManyRedirectsError extends RedirectError {
  /** The number of redirects that were allowed. */
  readonly limit: number;

  constructor(limit: number, response: Response, options?: StrandErrorOptions) {
    super('STRAND_TOO_MANY_REDIRECTS', `more than ${limit} redirects`, response, options);
    this.limit = limit;
  }
}

/** Options of {@link RedirectAgent} and {@link BrowserLikeRedirectAgent}. */
export interface RedirectAgentOptions {
  /** Redirects followed before a {@link TooManyRedirectsError}. Default 20; 0 refuses every redirect. */
  maxRedirects?: number;
  /**
   * More header names to drop when a redirect leaves the origin, besides `Authorization`,
   * `Cookie` and `Proxy-Authorization` (e.g. `X-Api-Key`). Case-insensitive.
   */
  sensitiveHeaders?: Iterable<string>;
  /**
   * Bytes of each redirect response's body read and thrown away so its connection can be
   * reused; a longer body is abandoned (its connection closed) instead. Default 64 KiB.
   */
  maxDiscardBytes?: number;
}

/**
 * What the next hop of a redirect does with the method and the body, or `null`: this redirect
 * is not followed for this method (a {@link RedirectError} `STRAND_REDIRECT_METHOD_NOT_FOLLOWED`).
 */
export type RedirectMethod = {
  /** The method of the next request. */
  method: string;
  /** True: the next request has no body (and no body headers). False: the same body is sent again. */
  dropBody: boolean;
} | null;

/** What a redirect to another origin drops when no `sensitiveHeaders` are added: the credentials and a caller-given `Host`. */
const DEFAULT_DROPPED_ACROSS_ORIGINS: readonly string[] = Object.freeze([...DEFAULT_SENSITIVE_HEADERS, 'Host']);

/** The status codes that redirect when they come with a `Location`. */
/** One request of a redirect chain. */
interface Hop {
  readonly method: string;
  /** As the caller gave it for the first hop; the parsed URL for later ones. */
  readonly uri: string | URL;
  /** The parsed URL; null for the first hop until it is needed. */
  readonly url: URL | null;
  readonly headers: Headers;
  readonly body: ResendableBody | null;
}

const REDIRECT_CODES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * Follows redirects strictly, as Twisted's `RedirectAgent` does, for any inner {@link Agent}.
 *
 * - 301, 302, 303, 307 and 308 with a `Location` are candidates; the `Location` is resolved
 *   against the current URL (and inherits its fragment when it has none).
 * - 301, 302, 307 and 308 are followed only for GET and HEAD (same method, no body). For any
 *   other method the chain stops with a {@link RedirectError}
 *   (`STRAND_REDIRECT_METHOD_NOT_FOLLOWED`) carrying the redirect response: a POST and its body
 *   are never sent to a URL the caller did not name, and never silently turned into a GET. Use
 *   {@link BrowserLikeRedirectAgent} to follow them as browsers do.
 * - 303 (See Other) turns any request into a GET without a body (a HEAD stays a HEAD).
 * - A 3xx without `Location` (and 300, 304, 305, 306) is not a redirect to follow: it is
 *   returned as-is, body and all, for the caller to handle.
 * - Only `http:` and `https:` targets are followed; anything else (`file:`, `data:`, `unix:`...)
 *   is a {@link RedirectError} (`STRAND_REDIRECT_UNSUPPORTED_SCHEME`).
 * - More than `maxRedirects` (default 20) redirects is a {@link TooManyRedirectsError}.
 * - When a hop changes the origin (scheme, host or port; https -> http included), the
 *   `Authorization`, `Cookie` and `Proxy-Authorization` headers, any `sensitiveHeaders`, a
 *   caller-given `Host` and the URL's `user:password@` are dropped, for every later hop too —
 *   coming back to the first origin does not restore them. On the same origin they stay (URL
 *   credentials too, even when the `Location` is absolute).
 * - Each redirect response's body is read and discarded (up to `maxDiscardBytes`) before the
 *   next request, so its connection returns to the pool. The final response keeps the chain in
 *   `previousResponse`, back to the first response; their bodies are gone.
 *
 * Errors thrown for a redirect carry the 3xx response (`error.response`), its body discarded.
 *
 * @example
 * ```ts
 * const agent = new RedirectAgent(new HttpAgent(), { maxRedirects: 5 });
 * const response = await agent.request('GET', 'http://127.0.0.1:8080/old');
 * for (let r: Response | null = response; r !== null; r = r.previousResponse) console.log(r.code, r.request.uri);
 * ```
 */
export class RedirectAgent extends WrapperAgent {
  /** Redirects followed before {@link TooManyRedirectsError}. */
  readonly maxRedirects: number;
  private readonly sensitive: readonly string[];
  private readonly maxDiscardBytes: number;

  constructor(agent: Agent, options: RedirectAgentOptions = {}) {
    super(agent);
    this.maxRedirects = checkCount(options.maxRedirects, 20, 'maxRedirects');
    this.maxDiscardBytes = checkCount(options.maxDiscardBytes, DEFAULT_DISCARD_BYTES, 'maxDiscardBytes');
    if (options.sensitiveHeaders === undefined) {
      this.sensitive = DEFAULT_DROPPED_ACROSS_ORIGINS;
    } else {
      const sensitive = [...DEFAULT_DROPPED_ACROSS_ORIGINS];
      for (const name of options.sensitiveHeaders) {
        if (typeof name !== 'string' || name === '') throw new InvalidArgumentError(`sensitiveHeaders must contain header names, got ${String(name)}`);
        sensitive.push(name);
      }
      this.sensitive = sensitive;
    }
  }

  /**
   * What the next request of a redirect does with the method and body. Strict: 303 becomes GET
   * (HEAD stays HEAD) without a body; 301, 302, 307 and 308 are followed for GET and HEAD only.
   */
  protected redirectMethod(code: number, method: string): RedirectMethod {
    if (code === 303) return seeOther(method);
    return method === 'GET' || method === 'HEAD' ? { method, dropBody: false } : null;
  }

  async request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    // A hop may send the body again while the previous hop's run is still winding down.
    let hop: Hop = { method, uri, url: null, headers: copyHeaders(headers, uri), body: body == null ? null : new ResendableBody(body) };
    let previous: Response | null = null;
    for (let redirects = 0; ; redirects++) {
      const response = await this.agent.request(hop.method, hop.uri, hop.headers, hop.body, options);
      if (previous !== null) chainTo(response, previous);
      if (!REDIRECT_CODES.has(response.code)) return response;
      const locations = response.headers.getAll('location');
      if (locations.length === 0) return response;
      const next = await this.nextHop(response, locations, hop, redirects);
      await discardBody(response, this.maxDiscardBytes);
      if (options?.signal?.aborted === true) throw new CancelledError('request cancelled while following a redirect', { url: next.uri, cause: options.signal.reason });
      previous = response;
      hop = next;
    }
  }

  /**
   * The request that follows `response` (a redirect of `hop` to `locations`), or the
   * {@link RedirectError} that stops the chain (body discarded first): too many redirects, a
   * method this agent does not follow, a body that cannot be sent again. Across origins the
   * sensitive headers and the URL's credentials are dropped for good.
   */
  private async nextHop(response: Response, locations: string[], hop: Hop, redirects: number): Promise<Hop> {
    const current = hop.url ?? new URL(typeof hop.uri === 'string' ? hop.uri : hop.uri.href);
    const next = await this.target(response, locations, current);
    if (redirects >= this.maxRedirects) return this.refuse(response, new TooManyRedirectsError(this.maxRedirects, response, { url: current }));
    const how = this.redirectMethod(response.code, hop.method);
    if (how === null) {
      const message = `not following the ${response.code} redirect of a ${hop.method} request (only GET and HEAD are followed; use BrowserLikeRedirectAgent, or handle error.response)`;
      return this.refuse(response, new RedirectError('STRAND_REDIRECT_METHOD_NOT_FOLLOWED', message, response, { url: current }));
    }
    if (!how.dropBody && hop.body !== null && !hop.body.replayable) {
      const message = `cannot follow the ${response.code} redirect: it needs the ${hop.method} request body again and the body producer cannot replay it`;
      return this.refuse(response, new RedirectError('STRAND_REDIRECT_BODY_NOT_REPLAYABLE', message, response, { url: current }));
    }
    let headers = hop.headers;
    if (how.dropBody) {
      headers = headers.clone();
      removeHeaders(headers, BODY_HEADERS);
    }
    let nextUrl = next;
    if (!sameOrigin(current, next)) {
      // Dropped for good: the headers object of every later hop is built from this one.
      if (headers === hop.headers) headers = headers.clone();
      removeHeaders(headers, this.sensitive);
      nextUrl = withoutCredentials(next);
    } else if (next.username === '' && next.password === '' && (current.username !== '' || current.password !== '')) {
      // Same origin, absolute Location: the caller's URL credentials stay, as its headers do.
      next.username = current.username;
      next.password = current.password;
    }
    return { method: how.method, uri: nextUrl, url: nextUrl, headers, body: how.dropBody ? null : hop.body };
  }

  /** Discards the redirect's body, then fails with `error`. */
  private async refuse(response: Response, error: Error): Promise<never> {
    await discardBody(response, this.maxDiscardBytes);
    throw error;
  }

  /** The URL a redirect response points at, or a {@link RedirectError} (body discarded first). */
  private async target(response: Response, locations: string[], current: URL): Promise<URL> {
    const fail = async (code: string, message: string): Promise<never> => {
      await discardBody(response, this.maxDiscardBytes);
      throw new RedirectError(code, message, response, { url: current });
    };
    const first = locations[0] as string;
    if (locations.some((l) => l !== first)) return fail('STRAND_REDIRECT_INVALID_LOCATION', `the ${response.code} response has ${locations.length} different Location headers`);
    let next: URL;
    try {
      next = new URL(decodeLocation(first), current);
    } catch (cause) {
      await discardBody(response, this.maxDiscardBytes);
      throw new RedirectError('STRAND_REDIRECT_INVALID_LOCATION', `the ${response.code} response's Location is not a valid URL`, response, { url: current, cause });
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      return fail('STRAND_REDIRECT_UNSUPPORTED_SCHEME', `refusing to follow a redirect to a ${next.protocol.slice(0, -1)}: URL; only http and https are followed`);
    }
    // RFC 9110 §10.2.2: a Location without a fragment inherits the current one.
    if (next.hash === '' && current.hash !== '') next.hash = current.hash;
    return next;
  }
}

/**
 * Follows redirects as browsers do, and as Twisted's `BrowserLikeRedirectAgent`: a 301, 302 or
 * 303 answering anything but GET or HEAD becomes a GET without a body (and without
 * `Content-Type` and the other body headers); 301 and 302 of a GET or HEAD keep the method; 307
 * and 308 keep the method and send the body again when the producer can replay it (a one-shot
 * body stops the chain with a {@link RedirectError} `STRAND_REDIRECT_BODY_NOT_REPLAYABLE`
 * carrying the response). Everything else is as in {@link RedirectAgent}.
 *
 * @example
 * ```ts
 * const agent = new BrowserLikeRedirectAgent(new HttpAgent());
 * const response = await agent.request('POST', 'http://127.0.0.1:8080/login', form.headers, form.body);
 * // a 302 to /home is followed with a GET /home
 * ```
 */
export class BrowserLikeRedirectAgent extends RedirectAgent {
  protected override redirectMethod(code: number, method: string): RedirectMethod {
    if (code === 301 || code === 302 || code === 303) return method === 'GET' || method === 'HEAD' ? { method, dropBody: code === 303 } : seeOther(method);
    return { method, dropBody: false };
  }
}

/** A 303: a GET without a body (a HEAD stays a HEAD). */
function seeOther(method: string): RedirectMethod {
  return { method: method === 'HEAD' ? 'HEAD' : 'GET', dropBody: true };
}

/** Appends `previous` at the end of `response`'s history (an inner agent may have started one). */
function chainTo(response: Response, previous: Response): void {
  let last = response;
  while (last.previousResponse !== null) {
    if (last === previous) return;
    last = last.previousResponse;
  }
  if (last !== previous) last.previousResponse = previous;
}

/**
 * A `Location` value as the parser delivered it (one char per byte). Servers sometimes send raw
 * UTF-8; browsers decode it as UTF-8 and percent-encode it, and so do we. Not valid UTF-8: kept.
 */
function decodeLocation(value: string): string {
  let ascii = true;
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return value;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

function checkCount(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${option} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

brand(RedirectError, 'core.RedirectError');
brand(TooManyRedirectsError, 'core.TooManyRedirectsError');
brand(RedirectAgent, 'core.RedirectAgent');
brand(BrowserLikeRedirectAgent, 'core.BrowserLikeRedirectAgent');
