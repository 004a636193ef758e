/**
 * The `range` request option: the ranges asked (checked by core's `normalizeRanges`), the
 * request headers they imply, and what the answer is (`response.range`), checked against them
 * with core's `checkRangeResponse` before the body is read.
 *
 * @packageDocumentation
 */

import {
  type ByteRangeSpec,
  Headers,
  InvalidArgumentError,
  type RangeInit,
  type RangeOutcome,
  type Response,
  checkRangeResponse,
  formatRange,
  ifRangeValidator,
  isValidFieldValue,
  normalizeRanges,
  parseHttpDate,
} from '@strand/core';
import { describe } from './fields.js';
import type { ClientRequestOptions } from './types.js';

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
 * Checks the `ifRange` option (only with `range`): a strong ETag or an HTTP-date as given, or
 * the validator of a response (its strong ETag, else its Last-Modified). Null when absent.
 */
export function normalizeIfRange(value: ClientRequestOptions['ifRange'], ranges: readonly ByteRangeSpec[] | null): string | null {
  if (value === undefined) return null;
  if (ranges === null) throw new InvalidArgumentError('ifRange needs range: it makes a range request conditional');
  if (typeof value === 'string') {
    const text = value.trim();
    const etag = /^"[\x21\x23-\x7e\x80-\xff]*"$/.test(text);
    if (!isValidFieldValue(text) || (!etag && parseHttpDate(text) === undefined)) {
      throw new InvalidArgumentError(`ifRange must be a strong ETag ("abc") or an HTTP-date${text.startsWith('W/') ? ' (a weak ETag cannot be used in If-Range, RFC 9110 §13.1.5)' : ''}, got ${JSON.stringify(value)}`);
    }
    return text;
  }
  if (value !== null && typeof value === 'object' && (value as { headers?: unknown }).headers instanceof Headers) {
    const validator = ifRangeValidator(value.headers);
    if (validator === undefined) throw new InvalidArgumentError('ifRange: that response has no strong ETag and no Last-Modified to send');
    return validator;
  }
  throw new InvalidArgumentError(`ifRange must be a validator string or a response, got ${describe(value)}`);
}

/**
 * Adds the headers of `ranges` to a request's: `Range` (replacing one of the caller's), `If-Range`
 * when given, and
 * `Accept-Encoding: identity` unless the caller named an encoding (`callerEncoding`): a range
 * of compressed bytes cannot be decoded on its own, and a server that compresses ignores the
 * range and sends the whole body.
 */
export function addRangeHeaders(headers: Headers, ranges: readonly ByteRangeSpec[], ifRange: string | null, callerEncoding: boolean): void {
  headers.set('Range', formatRange(ranges));
  if (ifRange !== null) headers.set('If-Range', ifRange);
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
