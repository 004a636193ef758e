/**
 * Credentials as a wrapper {@link Agent}: Basic on every request to the credentials' origin,
 * Digest in answer to a 401 challenge. Placed inside the redirect agent, it decides per hop, so
 * credentials never follow a redirect to another origin.
 */

import { type Agent, type BodyProducer, Headers, type HeadersInit, type RequestOptions, type Response } from '@strand/core';
import { type DigestChallenge, digestAuthorization, pickDigestChallenge } from './digest.js';
import type { NormalizedAuth } from './options.js';

/** `Basic base64(user:password)` (RFC 7617, UTF-8). */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** What a {@link DigestCache} keeps of one protection space. */
interface DigestSpace {
  readonly origin: string;
  challenge: DigestChallenge;
  /** The last nonce count sent with `challenge.nonce`. */
  nc: number;
  /** Absolute URL prefixes the space covers: the challenge's `domain` on this origin, or the whole origin. */
  prefixes: string[];
}

/** What {@link DigestCache.next} gives: the challenge to answer and the nonce count to send. */
export interface DigestAnswer {
  /** The challenge to answer. */
  readonly challenge: DigestChallenge;
  /** The nonce count to send (1 for a nonce not used yet). */
  readonly nc: number;
}

/**
 * Digest state per protection space — realm and origin (RFC 9110 §11.5) — shared by a client's
 * requests, so a later request to the same space is answered at once, without a 401 first. A
 * request is answered only from a space that covers its URL: the URIs of the challenge's `domain`
 * on the same origin (RFC 7616 §3.3), or the whole origin when it named none; never from another
 * origin's or another realm's challenge. The nonce count goes up with each use of a nonce, also
 * when the server challenges again with the same nonce. Bounded: past
 * {@link DigestCache.MAX_SPACES} spaces, the least recently used is forgotten.
 */
export class DigestCache {
  /** Most protection spaces kept. */
  static readonly MAX_SPACES = 100;
  /** By `origin realm`, least recently used first. */
  private readonly spaces = new Map<string, DigestSpace>();

  /**
   * The challenge to answer a request to `url` with, and its next nonce count; undefined when no
   * known space covers `url`. A string is read as a URL (an origin covers its spaces without a
   * `domain`).
   */
  next(url: string | URL): DigestAnswer | undefined {
    const target = typeof url === 'string' ? new URL(url) : url;
    const href = target.href;
    let best: DigestSpace | undefined;
    let bestLength = -1;
    for (const space of this.spaces.values()) {
      if (space.origin !== target.origin) continue;
      for (const prefix of space.prefixes) {
        // The longest prefix wins; between equals, the space used last (later in the map).
        if (prefix.length >= bestLength && href.startsWith(prefix)) {
          best = space;
          bestLength = prefix.length;
        }
      }
    }
    if (best === undefined) return undefined;
    this.touch(best);
    best.nc++;
    return { challenge: best.challenge, nc: best.nc };
  }

  /**
   * Remembers `challenge`, received for a request to `url`, and returns the nonce count to
   * answer it with: 1 for a new nonce, the next count when the space's nonce is the same.
   */
  store(url: string | URL, challenge: DigestChallenge): number {
    const target = typeof url === 'string' ? new URL(url) : url;
    const origin = target.origin;
    const prefixes: string[] = [];
    for (const uri of challenge.domain) {
      let resolved: URL;
      try {
        resolved = new URL(uri, target);
      } catch {
        continue;
      }
      // A domain URI on another origin is not followed: credentials stay with the origin they are for.
      if (resolved.origin === origin) prefixes.push(resolved.href);
    }
    if (prefixes.length === 0) prefixes.push(`${origin}/`);
    const key = `${origin} ${challenge.realm}`;
    const known = this.spaces.get(key);
    const nc = known !== undefined && known.challenge.nonce === challenge.nonce ? known.nc + 1 : 1;
    const space: DigestSpace = { origin, challenge, nc, prefixes };
    this.spaces.delete(key);
    this.spaces.set(key, space);
    if (this.spaces.size > DigestCache.MAX_SPACES) {
      const oldest = this.spaces.keys().next();
      if (oldest.done !== true) this.spaces.delete(oldest.value);
    }
    return nc;
  }

  /** Marks `space` as used last. */
  private touch(space: DigestSpace): void {
    const key = `${space.origin} ${space.challenge.realm}`;
    this.spaces.delete(key);
    this.spaces.set(key, space);
  }
}

/**
 * Adds credentials to requests whose origin is `origin`, and only to those. A request that
 * already has an `Authorization` header is sent as it is.
 *
 * Digest: the first request goes without credentials (or with the cached challenge's answer);
 * a 401 with a Digest challenge is answered once: its body is discarded and the request sent
 * again, which needs a replayable body (bytes, a file path, a form). With a one-shot stream
 * the 401 is returned as it is.
 */
export class AuthAgent implements Agent {
  constructor(
    private readonly inner: Agent,
    private readonly auth: NormalizedAuth,
    private readonly origin: string,
    private readonly digestCache: DigestCache = new DigestCache(),
  ) {}

  async request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    const url = typeof uri === 'string' ? new URL(uri) : uri;
    const given = headers instanceof Headers ? headers : new Headers(headers ?? null);
    if (url.origin !== this.origin || given.has('authorization')) return this.inner.request(method, uri, headers, body, options);
    const { username, password } = this.auth;
    const withAuth = given.clone();
    if (this.auth.type === 'basic') {
      withAuth.set('Authorization', basicAuthorization(username, password));
      return this.inner.request(method, uri, withAuth, body, options);
    }
    const target = url.pathname + url.search;
    const cached = this.digestCache.next(url);
    const first = cached === undefined ? given : withAuth.set('Authorization', digestAuthorization(cached.challenge, { method, uri: target, username, password, nc: cached.nc }));
    const response = await this.inner.request(method, uri, first, body, options);
    if (response.code !== 401) return response;
    const challenge = pickDigestChallenge(response.headers.getAll('www-authenticate'));
    if (challenge === null || (body != null && !body.replayable)) return response;
    await response.dump();
    const nc = this.digestCache.store(url, challenge);
    const answer = withAuth.clone().set('Authorization', digestAuthorization(challenge, { method, uri: target, username, password, nc }));
    return this.inner.request(method, uri, answer, body, options);
  }
}
