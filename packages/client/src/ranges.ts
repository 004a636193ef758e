/**
 * The `range` request option: the ranges asked (checked by core's `normalizeRanges`), the
 * request headers they imply, and what the answer is (`response.range`), checked against them
 * with core's `checkRangeResponse` before the body is read.
 *
 * @packageDocumentation
 */

import { type ByteRangeSpec, type Headers, type RangeInit, type RangeOutcome, type Response, checkRangeResponse, formatRange, normalizeRanges } from '@strand/core';

/**
 * What a response to a request with `range` is (`response.range`; null without `range`):
 * core's `RangeOutcome` (`kind`: `partial`, `multipart`, `full`, `unsatisfiable`, `other`,
 * with the range or boundary it carries) plus the ranges asked and whether the body is a part
 * of the representation (`partial: true`: a 206) or, for a `200`, the whole of it.
 */
export type ResponseRange = RangeOutcome & {
  /** The ranges asked, as sent in `Range`. */
  readonly requested: readonly ByteRangeSpec[];
  /** True for a 206 (the body holds the ranges), false otherwise (a 200 is the whole representation, from byte 0). */
  readonly partial: boolean;
};

/** Checks the `range` option: null when absent. */
export function normalizeRangeOption(value: RangeInit | undefined): readonly ByteRangeSpec[] | null {
  return value === undefined ? null : normalizeRanges(value, 'range');
}

/**
 * Adds the headers of `ranges` to a request's: `Range` (replacing one of the caller's), and
 * `Accept-Encoding: identity` unless the caller named an encoding (`callerEncoding`): a range
 * of compressed bytes cannot be decoded on its own, and a server that compresses ignores the
 * range and sends the whole body.
 */
export function addRangeHeaders(headers: Headers, ranges: readonly ByteRangeSpec[], callerEncoding: boolean): void {
  headers.set('Range', formatRange(ranges));
  if (!callerEncoding) headers.set('Accept-Encoding', 'identity');
}

/**
 * What `response` is for `ranges` (see {@link ResponseRange}). Throws core's
 * `RangeMismatchError` (`STRAND_RANGE_MISMATCH`) for a 206 that does not carry what was asked.
 */
export function rangeOf(response: Response, ranges: readonly ByteRangeSpec[]): ResponseRange {
  const outcome = checkRangeResponse(response, ranges, response.request.uri);
  return { ...outcome, requested: ranges, partial: outcome.kind === 'partial' || outcome.kind === 'multipart' };
}
