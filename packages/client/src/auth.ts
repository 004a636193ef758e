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

/** The last Digest challenge per origin, so later requests answer it without a 401 first. Shared by a client's requests. */
export class DigestCache {
  private readonly entries = new Map<string, { challenge: DigestChallenge; nc: number }>();

  /** The cached challenge for `origin` with its next nonce count, or undefined. */
  next(origin: string): { challenge: DigestChallenge; nc: number } | undefined {
    const entry = this.entries.get(origin);
    if (entry === undefined) return undefined;
    entry.nc++;
    return { challenge: entry.challenge, nc: entry.nc };
  }

  /** Remembers a fresh challenge; its first use has nonce count 1. */
  store(origin: string, challenge: DigestChallenge): number {
    this.entries.set(origin, { challenge, nc: 1 });
    return 1;
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
    const cached = this.digestCache.next(this.origin);
    const first = cached === undefined ? given : withAuth.set('Authorization', digestAuthorization(cached.challenge, { method, uri: target, username, password, nc: cached.nc }));
    const response = await this.inner.request(method, uri, first, body, options);
    if (response.code !== 401) return response;
    const challenge = pickDigestChallenge(response.headers.getAll('www-authenticate'));
    if (challenge === null || (body != null && !body.replayable)) return response;
    await response.dump();
    const nc = this.digestCache.store(this.origin, challenge);
    const answer = withAuth.clone().set('Authorization', digestAuthorization(challenge, { method, uri: target, username, password, nc }));
    return this.inner.request(method, uri, answer, body, options);
  }
}
