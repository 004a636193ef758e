/**
 * Jest matchers over recorded requests, as a plain object for `expect.extend(strandMatchers)`.
 * Nothing here imports jest: the types are structural, so the package works with any runner
 * whose `expect.extend` takes jest-style matchers (jest, vitest...).
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from '@strand/core';
import { type RequestPattern, checkPattern, comparePattern, describePattern, formatMismatches } from './server/pattern.js';
import { RecordedRequest } from './server/recorded-request.js';
import { checkInteger } from './validation.js';

const NO_EXTRA_KEYS: ReadonlySet<string> = new Set();

/** The part of jest's matcher context these matchers use. */
export interface MatcherContextLike {
  /** True under `.not`. */
  readonly isNot?: boolean | undefined;
}

/** What a matcher returns, as jest expects it. */
export interface MatcherResultLike {
  /** Whether the expectation held. */
  pass: boolean;
  /** The failure message (jest calls it only when shown). */
  message(): string;
}

/**
 * The matchers' signatures, for declaration merging into your runner's types. With jest's
 * global `expect` (`@types/jest`), add a `.d.ts` file to your tests:
 *
 * ```ts
 * import type { StrandMatchers } from '@strand/testing';
 * declare global {
 *   namespace jest {
 *     // eslint-disable-next-line @typescript-eslint/no-empty-object-type
 *     interface Matchers<R, T = {}> extends StrandMatchers<R> {}
 *   }
 * }
 * ```
 *
 * `received` may be a `FakeAgent`, a `StubServer` (anything with `requests`), an array of
 * recorded requests, or (for `toMatchRequest`) one recorded request.
 */
export interface StrandMatchers<R = unknown> {
  /** At least one recorded request matches `pattern`. */
  toHaveReceivedRequest(pattern: RequestPattern): R;
  /** Exactly `times` recorded requests match `pattern`. */
  toHaveReceivedRequestTimes(pattern: RequestPattern, times: number): R;
  /** The `n`th recorded request (1-based, like `toHaveBeenNthCalledWith`) matches `pattern`. */
  toHaveReceivedNthRequest(n: number, pattern: RequestPattern): R;
  /** This recorded request matches `pattern`. */
  toMatchRequest(pattern: RequestPattern): R;
}

function requestsOf(received: unknown, matcher: string): readonly RecordedRequest[] {
  if (Array.isArray(received) && received.every((r) => r instanceof RecordedRequest)) return received as RecordedRequest[];
  if (received !== null && typeof received === 'object' && 'requests' in received) {
    const requests = (received as { requests: unknown }).requests;
    if (Array.isArray(requests)) return requests as RecordedRequest[];
  }
  throw new TypeError(`${matcher}: expected a FakeAgent, a StubServer, or an array of recorded requests`);
}

function listRequests(requests: readonly RecordedRequest[]): string {
  if (requests.length === 0) return 'no requests were received';
  const shown = requests.slice(0, 20).map((r, i) => `  ${i + 1}. ${r.method} ${r.url.href}`);
  if (requests.length > 20) shown.push(`  … and ${requests.length - 20} more`);
  return `received ${requests.length} request(s):\n${shown.join('\n')}`;
}

function explainClosest(pattern: RequestPattern, requests: readonly RecordedRequest[]): string {
  let best: { request: RecordedRequest; count: number; text: string } | undefined;
  for (const request of requests) {
    const result = comparePattern(pattern, request);
    if (best === undefined || result.mismatches.length < best.count) best = { request, count: result.mismatches.length, text: formatMismatches(result.mismatches) };
  }
  if (best === undefined) return '';
  return `\nthe closest, #${best.request.index + 1} ${best.request.method} ${best.request.url.href}, differs in:\n${best.text}`;
}

/**
 * The matchers, for `expect.extend(strandMatchers)`.
 *
 * @example
 * ```ts
 * expect.extend(strandMatchers);
 * expect(fake).toHaveReceivedRequest({ method: 'POST', path: '/users', json: { name: 'ada' } });
 * expect(fake.requests[0]).toMatchRequest({ headers: { authorization: /^Bearer / } });
 * ```
 */
export const strandMatchers = {
  /** Some recorded request matched `pattern`. */
  toHaveReceivedRequest(this: MatcherContextLike, received: unknown, pattern: RequestPattern): MatcherResultLike {
    checkPattern(pattern, NO_EXTRA_KEYS, 'toHaveReceivedRequest');
    const requests = requestsOf(received, 'toHaveReceivedRequest');
    const matching = requests.filter((r) => comparePattern(pattern, r).matched);
    const pass = matching.length > 0;
    return {
      pass,
      message: () =>
        pass
          ? `expected no request matching ${describePattern(pattern)}, but ${matching.length} did:\n${matching.map((r) => `  #${r.index + 1} ${r.method} ${r.url.href}`).join('\n')}`
          : `expected a request matching ${describePattern(pattern)}\n${listRequests(requests)}${explainClosest(pattern, requests)}`,
    };
  },

  /** Exactly `times` recorded requests matched `pattern`. */
  toHaveReceivedRequestTimes(this: MatcherContextLike, received: unknown, pattern: RequestPattern, times: number): MatcherResultLike {
    checkPattern(pattern, NO_EXTRA_KEYS, 'toHaveReceivedRequestTimes');
    checkInteger(times, 'toHaveReceivedRequestTimes: times', 0);
    if (times === undefined) throw new InvalidArgumentError('toHaveReceivedRequestTimes: give the expected number of requests, as (pattern, times)');
    const requests = requestsOf(received, 'toHaveReceivedRequestTimes');
    const count = requests.filter((r) => comparePattern(pattern, r).matched).length;
    const pass = count === times;
    return {
      pass,
      message: () =>
        pass
          ? `expected the number of requests matching ${describePattern(pattern)} not to be ${times}`
          : `expected ${times} request(s) matching ${describePattern(pattern)}, got ${count}\n${listRequests(requests)}${count === 0 ? explainClosest(pattern, requests) : ''}`,
    };
  },

  /** The `n`th recorded request (from 1) matched `pattern`. */
  toHaveReceivedNthRequest(this: MatcherContextLike, received: unknown, n: number, pattern: RequestPattern): MatcherResultLike {
    checkInteger(n, 'toHaveReceivedNthRequest: n (1-based)', 1);
    if (n === undefined) throw new InvalidArgumentError('toHaveReceivedNthRequest: give the position, 1-based, as (n, pattern)');
    checkPattern(pattern, NO_EXTRA_KEYS, 'toHaveReceivedNthRequest');
    const requests = requestsOf(received, 'toHaveReceivedNthRequest');
    const request = requests[n - 1];
    if (request === undefined) {
      return { pass: false, message: () => `expected request #${n} to match ${describePattern(pattern)}, but ${listRequests(requests)}` };
    }
    const result = comparePattern(pattern, request);
    return {
      pass: result.matched,
      message: () =>
        result.matched
          ? `expected request #${n} (${request.method} ${request.url.href}) not to match ${describePattern(pattern)}`
          : `expected request #${n} (${request.method} ${request.url.href}) to match ${describePattern(pattern)}\n${formatMismatches(result.mismatches)}`,
    };
  },

  /** This recorded request matched `pattern`. */
  toMatchRequest(this: MatcherContextLike, received: unknown, pattern: RequestPattern): MatcherResultLike {
    if (!(received instanceof RecordedRequest)) throw new TypeError('toMatchRequest: expected a recorded request (fake.requests[i])');
    checkPattern(pattern, NO_EXTRA_KEYS, 'toMatchRequest');
    const result = comparePattern(pattern, received);
    return {
      pass: result.matched,
      message: () =>
        result.matched
          ? `expected ${received.method} ${received.url.href} not to match ${describePattern(pattern)}`
          : `expected ${received.method} ${received.url.href} to match ${describePattern(pattern)}\n${formatMismatches(result.mismatches)}`,
    };
  },
};
