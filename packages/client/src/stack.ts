/**
 * The per-request agent stack, composed from core's wrappers and the client's own:
 *
 * ```
 * ContentDecoderAgent (core; decompress)                 outermost: decodes the final body
 *   DownloadProgressAgent (client; onDownloadProgress)   the final body's bytes on the wire
 *     RedirectAgent / BrowserLikeRedirectAgent (core; allowRedirects)
 *       RedirectHookAgent (client; hooks.beforeRedirect)  runs the hooks before each hop
 *         RetryAgent (core, behind MethodRetryAgent; retry)  per hop: sends a hop again
 *           RetryHookGate (client; hooks.beforeRetry)    a retry waits for the hooks
 *             AuthAgent (client; auth, netrc)            per hop: credentials only for their origin
 *               CookieAgent (client; always)             per hop: the jar's cookies for that URL
 *                 the base agent: `agent`, or on the pool (client.ts picks it) HttpAgent direct,
 *                 ProxyAgent (core; an http(s) proxy), HttpAgent on a SocksEndpointFactory (a
 *                 socks proxy), or EnvironmentProxyAgent (trustEnv: one of those per hop)
 * ```
 *
 * The client adds no HTTP of its own: redirects, retries, proxies and decoding are core's agents.
 * The client agents for hooks and progress are there only for a request that uses them.
 */

import type { Agent, Response } from '@strand/core';
import type { CookieJar } from 'tough-cookie';
import { AuthAgent, type DigestCache } from './auth.js';
import { CookieAgent } from './cookies.js';
import type { NormalizedRequest, StackSettings } from './options.js';
import { wrapWithCoreContentDecoder, wrapWithCoreRedirectAgent } from './core-wrappers.js';
import { RedirectHookAgent, RetryHookGate } from './hooks.js';
import { DownloadProgressAgent } from './progress.js';
import { ClientResponse, emptyTimings } from './response.js';
import { MethodRetryAgent } from './retry.js';

/** The agent to send one request through, and its cookie agent (whose jar the response reports). */
export interface RequestStack {
  readonly agent: Agent;
  readonly cookies: CookieAgent;
  /** The cookie agent's jar, as a function (what a `ClientResponse` is given). */
  readonly jar: () => CookieJar | null;
}

/** Composes the stack for `request` over `base`. `jar` is the jar to use, or a maker for a lazily created one. */
export function buildStack(base: Agent, request: NormalizedRequest, jar: CookieJar | (() => CookieJar), digestCache: DigestCache): RequestStack {
  const scoped = request.cookies.length > 0 ? { origin: request.url.origin, pairs: request.cookies } : null;
  const cookies = new CookieAgent(base, request.jar ?? jar, scoped);
  let agent: Agent = cookies;
  const jarOf = (): CookieJar | null => cookies.jar;
  const hooks = request.hooks;
  const settings = request.stack;
  // The head of a redirect or retried response, as hooks see it (its body is discarded).
  const headOnly = (response: Response): ClientResponse =>
    new ClientResponse({ original: response, body: { kind: 'discarded' }, timings: emptyTimings(), jar: jarOf, followedRedirects: settings.allowRedirects, maxBodySize: settings.maxBodySize });
  if (request.auth !== null) agent = new AuthAgent(agent, request.auth, request.url.origin, digestCache);
  const retry = settings.retry;
  if (retry !== null) {
    if (hooks !== null && hooks.beforeRetry.length > 0) {
      const gate = new RetryHookGate(agent, hooks.beforeRetry, headOnly);
      agent = new MethodRetryAgent(gate, retry, (event) => gate.onRetry(event));
    } else {
      agent = new MethodRetryAgent(agent, retry);
    }
  }
  if (settings.allowRedirects) {
    if (hooks !== null && hooks.beforeRedirect.length > 0) agent = new RedirectHookAgent(agent, hooks.beforeRedirect, headOnly);
    agent = wrapWithCoreRedirectAgent(agent, { browserLike: settings.browserLikeRedirects, maxRedirects: settings.maxRedirects });
  }
  if (request.onDownloadProgress !== null) agent = new DownloadProgressAgent(agent, request.onDownloadProgress);
  if (settings.decompress) agent = wrapWithCoreContentDecoder(agent, settings.maxBodySize);
  return { agent, cookies, jar: jarOf };
}

/** True when the stack of `request` holds per-request state (hook and progress agents), so it cannot be shared. */
function needsOwnStack(request: NormalizedRequest): boolean {
  const hooks = request.hooks;
  return request.onDownloadProgress !== null || (hooks !== null && (hooks.beforeRedirect.length > 0 || hooks.beforeRetry.length > 0));
}

/**
 * The stack of a client's plain requests, built once and reused. Every layer keeps its
 * per-request state in the call, so one stack can serve concurrent requests, as long as nothing
 * of it belongs to one request: a request qualifies when it has the client's own
 * {@link StackSettings} object (it set none of those options), goes to the client's own jar (not
 * a lazily made one, not a `cookies` jar), sends no `cookies` object and no credentials, and has
 * no `beforeRedirect`/`beforeRetry` hooks and no `onDownloadProgress` (their agents hold the
 * request's state). Any other request gets a stack of its own. The shared stack is rebuilt when
 * the base agent differs from the last one (a request's `pool` or `proxy` picks another).
 */
export class SharedStack {
  private base: Agent | null = null;
  private stack: RequestStack | null = null;

  /** @param settings - the client's stack settings: the only ones the shared stack is built with. */
  constructor(private readonly settings: StackSettings) {}

  /** The stack for `request` over `base` with the client's `jar`: the shared one when the request qualifies, else a new one. */
  stackFor(base: Agent, request: NormalizedRequest, jar: CookieJar, digestCache: DigestCache): RequestStack {
    if (request.stack !== this.settings || request.jar !== null || request.cookies.length > 0 || request.auth !== null || needsOwnStack(request)) {
      return buildStack(base, request, jar, digestCache);
    }
    if (this.stack !== null && this.base === base) return this.stack;
    const built = buildStack(base, request, jar, digestCache);
    this.base = base;
    this.stack = built;
    return built;
  }
}
