/**
 * The per-request agent stack, composed from core's wrappers and the client's own:
 *
 * ```
 * ContentDecoderAgent (core; decompress)          outermost: decodes the final body
 *   RedirectAgent / BrowserLikeRedirectAgent (core; allowRedirects)
 *     AuthAgent (client; auth)                    per hop: credentials only for their origin
 *       CookieAgent (client; always)              per hop: the jar's cookies for that URL
 *         the base agent (HttpAgent, a proxy, a Unix socket, a fake…)
 * ```
 *
 * The client adds no HTTP of its own: redirects and decoding are core's agents.
 */

import type { Agent } from '@strand/core';
import type { CookieJar } from 'tough-cookie';
import { AuthAgent, type DigestCache } from './auth.js';
import { CookieAgent } from './cookies.js';
import type { NormalizedRequest } from './options.js';
import { wrapWithCoreContentDecoder, wrapWithCoreRedirectAgent } from './core-wrappers.js';

/** The agent to send one request through, and its cookie agent (whose jar the response reports). */
export interface RequestStack {
  readonly agent: Agent;
  readonly cookies: CookieAgent;
}

/** Composes the stack for `request` over `base`. `jar` is the jar to use, or a maker for a lazily created one. */
export function buildStack(base: Agent, request: NormalizedRequest, jar: CookieJar | (() => CookieJar), digestCache: DigestCache): RequestStack {
  const scoped = request.cookies.length > 0 ? { origin: request.url.origin, pairs: request.cookies } : null;
  const cookies = new CookieAgent(base, request.jar ?? jar, scoped);
  let agent: Agent = cookies;
  if (request.auth !== null) agent = new AuthAgent(agent, request.auth, request.url.origin, digestCache);
  if (request.allowRedirects) agent = wrapWithCoreRedirectAgent(agent, { browserLike: request.browserLikeRedirects, maxRedirects: request.maxRedirects });
  if (request.decompress) agent = wrapWithCoreContentDecoder(agent, request.maxBodySize);
  return { agent, cookies };
}
