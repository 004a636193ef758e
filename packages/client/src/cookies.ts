/**
 * Cookies (RFC 6265, through tough-cookie): a wrapper {@link Agent} that sends the jar's cookies
 * with each request and stores what each response sets. The client puts it *inside* the
 * redirect agent, so every hop of a redirect chain gets the cookies for its own URL.
 */

import { type Agent, type BodyProducer, Headers, type HeadersInit, type RequestOptions, type Response } from '@strand/core';
import { type Cookie, CookieJar, type ErrorCallback, MemoryCookieStore } from 'tough-cookie';

/**
 * tough-cookie's in-memory store, remembering whether a cookie was ever put into it (by the jar,
 * by the caller through `jar.setCookie`, or straight into `jar.store`). While it never held one,
 * a lookup cannot find anything, so {@link CookieAgent} skips tough-cookie's `getCookies` (URL
 * parsing, public-suffix and domain permutations on every request) for it.
 */
class TrackedMemoryCookieStore extends MemoryCookieStore {
  /** True once any cookie was stored (it stays true after cookies are removed). */
  everStored = false;

  override putCookie(cookie: Cookie): Promise<void>;
  override putCookie(cookie: Cookie, callback: ErrorCallback): void;
  override putCookie(cookie: Cookie, callback?: ErrorCallback): Promise<void> | undefined {
    this.everStored = true;
    if (callback === undefined) return super.putCookie(cookie);
    super.putCookie(cookie, callback);
    return undefined;
  }

  override updateCookie(oldCookie: Cookie, newCookie: Cookie): Promise<void>;
  override updateCookie(oldCookie: Cookie, newCookie: Cookie, callback: ErrorCallback): void;
  override updateCookie(oldCookie: Cookie, newCookie: Cookie, callback?: ErrorCallback): Promise<void> | undefined {
    this.everStored = true;
    if (callback === undefined) return super.updateCookie(oldCookie, newCookie);
    super.updateCookie(oldCookie, newCookie, callback);
    return undefined;
  }
}

/**
 * A new jar with Strand's defaults: `Secure` cookies are stored and sent over `https:` only
 * (loopback `http:` is not treated as secure), public suffixes are refused. Its store is
 * tough-cookie's in-memory store.
 */
export function createCookieJar(): CookieJar {
  return new CookieJar(new TrackedMemoryCookieStore(), { allowSecureOnLocal: false, rejectPublicSuffixes: true });
}

/**
 * False only when `jar` certainly holds no cookie: a jar from {@link createCookieJar} whose store
 * never held one. Any other jar (another store, a jar the caller made) is always consulted.
 */
export function jarMayHoldCookies(jar: CookieJar): boolean {
  const store = jar.store;
  return !(store instanceof TrackedMemoryCookieStore) || store.everStored;
}

/** Cookies given for one origin only (the `cookies` option as an object). */
export interface ScopedCookies {
  /** The origin (`scheme://host:port`) they may be sent to. */
  readonly origin: string;
  /** The `name=value` pairs, sent in this order. */
  readonly pairs: ReadonlyArray<readonly [string, string]>;
}

/**
 * Adds a `Cookie` header from `jar` (and from `scoped` when the request goes to its origin) and
 * stores every `Set-Cookie` of the response in `jar`. A request that already has a `Cookie`
 * header is sent as it is (the caller chose its cookies), but what the response sets is stored.
 *
 * `jar` may be a function that makes a jar: it is called the first time a response sets a
 * cookie (a client that keeps no jar between requests makes one per request, lazily).
 */
export class CookieAgent implements Agent {
  private readonly inner: Agent;
  private jarInstance: CookieJar | null;
  private readonly makeJar: (() => CookieJar) | null;
  private readonly scoped: ScopedCookies | null;

  constructor(inner: Agent, jar: CookieJar | (() => CookieJar), scoped: ScopedCookies | null = null) {
    this.inner = inner;
    this.jarInstance = typeof jar === 'function' ? null : jar;
    this.makeJar = typeof jar === 'function' ? jar : null;
    this.scoped = scoped;
  }

  /** The jar in use; null while a lazily made jar has not been needed yet. */
  get jar(): CookieJar | null {
    return this.jarInstance;
  }

  async request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    const url = typeof uri === 'string' ? uri : uri.href;
    let outgoing: HeadersInit | null | undefined = headers;
    const given = headers instanceof Headers ? headers : new Headers(headers ?? null);
    if (this.hasCookiesToSend() && !given.has('cookie')) {
      const value = await this.cookieHeader(url);
      if (value !== '') {
        const copy = given.clone();
        copy.set('Cookie', value);
        outgoing = copy;
      }
    }
    const response = await this.inner.request(method, uri, outgoing, body, options);
    if (response.headers.has('set-cookie')) {
      const setCookies = response.headers.getAll('set-cookie');
      let jar = this.jarInstance;
      if (jar === null) jar = this.jarInstance = (this.makeJar as () => CookieJar)();
      for (const line of setCookies) {
        // A malformed or out-of-scope cookie is ignored, as browsers do; it is never an error of the request.
        await jar.setCookie(line, url, { ignoreError: true });
      }
    }
    return response;
  }

  /** False when there is certainly nothing to send: no `cookies` option and no jar that may hold a cookie. */
  private hasCookiesToSend(): boolean {
    if (this.scoped !== null && this.scoped.pairs.length > 0) return true;
    const jar = this.jarInstance;
    return jar !== null && jarMayHoldCookies(jar);
  }

  private async cookieHeader(url: string): Promise<string> {
    // The jar's cookies come most specific path first (RFC 6265 5.4); a cookie of the `cookies`
    // option replaces the jar's cookies of the same name.
    let pairs: Array<readonly [string, string]> = [];
    const jar = this.jarInstance;
    if (jar !== null && jarMayHoldCookies(jar)) for (const cookie of await jar.getCookies(url)) pairs.push([cookie.key, cookie.value]);
    const scoped = this.scoped;
    if (scoped !== null && scoped.pairs.length > 0 && new URL(url).origin === scoped.origin) {
      const names = new Set(scoped.pairs.map(([name]) => name));
      pairs = pairs.filter(([name]) => !names.has(name));
      pairs.push(...scoped.pairs);
    }
    return pairs.map(([name, value]) => `${name}=${value}`).join('; ');
  }
}
