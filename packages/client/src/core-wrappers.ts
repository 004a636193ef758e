/**
 * The seam between the client and core's wrapper agents for redirects and content decoding.
 * The client never follows a redirect or decodes a body itself: these functions wrap an agent
 * in core's `RedirectAgent` / `BrowserLikeRedirectAgent` and `ContentDecoderAgent`.
 */

import { type Agent, BrowserLikeRedirectAgent, ContentDecoderAgent, RedirectAgent } from '@strand/core';

/** Redirect settings of one request. */
export interface RedirectSettings {
  readonly browserLike: boolean;
  readonly maxRedirects: number;
}

/** Wraps `agent` in core's redirect agent: browser-like (a 301/302 POST becomes a GET) or strict RFC 9110. */
export function wrapWithCoreRedirectAgent(agent: Agent, settings: RedirectSettings): Agent {
  const options = { maxRedirects: settings.maxRedirects };
  return settings.browserLike ? new BrowserLikeRedirectAgent(agent, options) : new RedirectAgent(agent, options);
}

/** Wraps `agent` in core's content decoder (zstd where Node has it, br, gzip, deflate), bounding the decoded size. */
export function wrapWithCoreContentDecoder(agent: Agent, maxDecodedBytes: number): Agent {
  // No decoder list: core then uses its default decoders, checked once per process rather than per request.
  return new ContentDecoderAgent(agent, undefined, { maxDecodedBytes: maxDecodedBytes === 0 ? 1 : maxDecodedBytes });
}
