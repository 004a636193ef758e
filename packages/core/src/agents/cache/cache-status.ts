/**
 * The `Cache-Status` response field (RFC 9211): what the cache did with a request, as one List
 * member named after the cache, appended after the members of caches nearer the origin.
 *
 * @packageDocumentation
 */

import type { Headers } from '../../message/headers.js';

/** Why a request went to the origin (RFC 9211 §2.2 `fwd`). */
export type ForwardReason = 'bypass' | 'method' | 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale';

/** One cache's account of a request: the parameters of its `Cache-Status` member. */
export interface CacheOutcome {
  /** Served from storage without going to the origin (`hit`). */
  hit?: boolean;
  /** Why the request was forwarded (`fwd`). */
  fwd?: ForwardReason;
  /** The status the origin answered a forwarded request with (`fwd-status`). */
  fwdStatus?: number;
  /** Seconds of freshness left in the response served (`ttl`; negative when stale). */
  ttl?: number;
  /** The response was stored (`stored`). */
  stored?: boolean;
  /** The request waited for another one to the same resource (`collapsed`). */
  collapsed?: boolean;
  /** More detail (`detail`): which rule served a stale response, or why none was served. */
  detail?: 'stale-while-revalidate' | 'stale-if-error' | 'only-if-cached';
}

/**
 * The `Cache-Status` member text of `outcome` for a cache called `name`, e.g. `Strand;hit;ttl=42`
 * (RFC 9651 List member: a Token with parameters; `name` and the token values are tokens).
 */
export function cacheStatusMember(name: string, outcome: CacheOutcome): string {
  let text = name;
  if (outcome.hit === true) text += ';hit';
  if (outcome.fwd !== undefined) text += `;fwd=${outcome.fwd}`;
  if (outcome.fwdStatus !== undefined) text += `;fwd-status=${outcome.fwdStatus}`;
  if (outcome.ttl !== undefined) text += `;ttl=${Math.trunc(Math.max(-999_999_999_999_999, Math.min(999_999_999_999_999, outcome.ttl)))}`;
  if (outcome.stored === true) text += ';stored';
  if (outcome.collapsed === true) text += ';collapsed';
  if (outcome.detail !== undefined) text += `;detail=${outcome.detail}`;
  return text;
}

/** Appends this cache's member to `headers`' `Cache-Status` (RFC 9211 §2: the cache nearest the user comes last). */
export function addCacheStatus(headers: Headers, name: string, outcome: CacheOutcome): void {
  headers.add('Cache-Status', cacheStatusMember(name, outcome));
}
