/**
 * Byte ranges (RFC 9110 §14): the `Range` a client asks for, the `If-Range` that makes it
 * conditional, and the checks on the answer: a `206` whose `Content-Range` must be what was
 * asked, a `200` that is the whole representation, a `416` that says how long the
 * representation is. `multipart/byteranges` bodies are read by `byteranges.ts`.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError, StrandError, type StrandErrorOptions } from '../errors.js';
import { brand } from '../brand.js';
import type { Headers } from './headers.js';

/**
 * One range of bytes to ask for: `{ start, end }` (offsets from 0, `end` inclusive as in the
 * `Range` field; no `end`: to the end of the representation) or `{ suffix }` (the last
 * `suffix` bytes).
 */
export type ByteRangeSpec =
  | {
      /** The first byte's offset (0 is the first byte). */
      readonly start: number;
      /** The last byte's offset, inclusive; omitted: up to the last byte. */
      readonly end?: number | undefined;
    }
  | {
      /** How many bytes at the end of the representation (at least 1). */
      readonly suffix: number;
    };

/** A `range` option: one range, or several (sent in one `Range` field, answered with `multipart/byteranges`). */
export type RangeInit = ByteRangeSpec | readonly ByteRangeSpec[];

/** The most ranges one request may ask for (servers limit them too: nginx's `max_ranges`). */
export const MAX_RANGES = 64;

/** A range the server says it sent (`Content-Range: bytes start-end/complete`). */
export interface ContentRange {
  /** The first byte's offset. */
  readonly start: number;
  /** The last byte's offset, inclusive. */
  readonly end: number;
  /** The length of the whole representation, or undefined when the server did not know it (`/*`). */
  readonly completeLength: number | undefined;
}

/** What a `416` says (`Content-Range: bytes * /complete`): how long the representation is. */
export interface UnsatisfiedRange {
  /** The length of the whole representation. */
  readonly completeLength: number;
}

/**
 * What a response to a range request is, once checked against what was asked
 * ({@link checkRangeResponse}):
 *
 * - `partial`: a `206` with the one range that was asked for (`end` may stop short of the end
 *   asked when the server sent less, never past it);
 * - `multipart`: a `206` with `multipart/byteranges` (several ranges asked): read the parts with
 *   `readByteRanges(response, outcome.boundary)`;
 * - `full`: a `200`: the server ignored the range (or `If-Range` did not match) and sent the
 *   whole representation: the body is all of it, from byte 0;
 * - `unsatisfiable`: a `416`: no asked range overlaps the representation (its length when the
 *   server said, else undefined);
 * - `other`: any other status (a redirect, an error), which says nothing about ranges.
 */
export type RangeOutcome = PartialRange | MultipartRanges | WholeOrOther | UnsatisfiableRange;

/** A `200`, the whole representation, or a status that says nothing about ranges ({@link RangeOutcome}). */
export interface WholeOrOther {
  /** `full` for a 200, `other` for any other status (a redirect, an error). */
  readonly kind: 'full' | 'other';
}

/** A `206` with the one range asked ({@link RangeOutcome}). */
export interface PartialRange {
  /** Always `partial`. */
  readonly kind: 'partial';
  /** The first byte's offset. */
  readonly start: number;
  /** The last byte's offset, inclusive. */
  readonly end: number;
  /** The whole representation's length, or undefined when the server did not say (`/*`). */
  readonly completeLength: number | undefined;
}

/** A `206` with `multipart/byteranges` ({@link RangeOutcome}): read it with `readByteRanges`. */
export interface MultipartRanges {
  /** Always `multipart`. */
  readonly kind: 'multipart';
  /** The `boundary` parameter of its `Content-Type`. */
  readonly boundary: string;
}

/** A `416` ({@link RangeOutcome}). */
export interface UnsatisfiableRange {
  /** Always `unsatisfiable`. */
  readonly kind: 'unsatisfiable';
  /** The representation's length, when the server said (`Content-Range: bytes * /length`). */
  readonly completeLength: number | undefined;
}

/** Why a {@link RangeMismatchError} was raised. */
export type RangeMismatchKind = 'MISSING_CONTENT_RANGE' | 'INVALID_CONTENT_RANGE' | 'WRONG_RANGE' | 'UNEXPECTED_MULTIPART' | 'NO_BOUNDARY';

/**
 * A `206 Partial Content` that is not an answer to the range that was asked: no or an invalid
 * `Content-Range`, a range other than the one asked, or a multipart body for a single range.
 * Its bytes cannot be put where the caller wanted them. Code `STRAND_RANGE_MISMATCH`.
 */
export class RangeMismatchError extends StrandError {
  /** What was wrong, for programs. */
  readonly kind: RangeMismatchKind;
  /** The `Range` value that was sent. */
  readonly requested: string;
  /** The `Content-Range` the server answered with, if any. */
  readonly contentRange: string | undefined;

  constructor(kind: RangeMismatchKind, message: string, requested: string, contentRange: string | undefined, options?: StrandErrorOptions) {
    super('STRAND_RANGE_MISMATCH', message, options);
    this.kind = kind;
    this.requested = requested;
    this.contentRange = contentRange;
  }
}

/** Checks one range; returns a frozen copy. */
function checkSpec(spec: unknown, option: string): ByteRangeSpec {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new InvalidArgumentError(`${option} must be { start, end? } or { suffix }, got ${spec === null ? 'null' : typeof spec}`);
  }
  const record = spec as Record<string, unknown>;
  const offset = (value: unknown, name: string, min: number): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new InvalidArgumentError(`${option}.${name} must be an integer >= ${min}, got ${typeof value === 'number' ? value : typeof value}`);
    }
    return value;
  };
  for (const key of Object.keys(record)) {
    if (key !== 'start' && key !== 'end' && key !== 'suffix') throw new InvalidArgumentError(`${option}.${key} is not a range field; use start and end, or suffix`);
  }
  if (record['suffix'] !== undefined) {
    if (record['start'] !== undefined || record['end'] !== undefined) throw new InvalidArgumentError(`${option}: give either { start, end? } or { suffix }, not both`);
    return Object.freeze({ suffix: offset(record['suffix'], 'suffix', 1) });
  }
  const start = offset(record['start'], 'start', 0);
  if (record['end'] === undefined) return Object.freeze({ start });
  const end = offset(record['end'], 'end', 0);
  if (end < start) throw new InvalidArgumentError(`${option}: end (${end}) is before start (${start}); end is the offset of the last byte, inclusive`);
  return Object.freeze({ start, end });
}

/**
 * Checks a `range` option and returns its ranges (frozen copies), in order. Throws an
 * `InvalidArgumentError` naming `option` for a range that is not `{ start, end? }` with
 * `0 <= start <= end` or `{ suffix }` with `suffix >= 1`, an empty list, or more than
 * {@link MAX_RANGES} ranges.
 */
export function normalizeRanges(init: RangeInit, option = 'range'): readonly ByteRangeSpec[] {
  if (!Array.isArray(init)) return Object.freeze([checkSpec(init, option)]);
  const list = init as readonly unknown[];
  if (list.length === 0) throw new InvalidArgumentError(`${option} must hold at least one range`);
  if (list.length > MAX_RANGES) throw new InvalidArgumentError(`${option} holds ${list.length} ranges; at most ${MAX_RANGES} may be asked at once`);
  return Object.freeze(list.map((spec, i) => checkSpec(spec, `${option}[${i}]`)));
}

/**
 * The `Range` field value for `init`: `bytes=0-99`, `bytes=500-`, `bytes=-200`, or a list
 * `bytes=0-99,200-299`. Checked as {@link normalizeRanges} does.
 *
 * @example
 * ```ts
 * formatRange({ start: 0, end: 1023 });            // 'bytes=0-1023'
 * formatRange([{ start: 0, end: 9 }, { suffix: 10 }]); // 'bytes=0-9,-10'
 * ```
 */
export function formatRange(init: RangeInit, option = 'range'): string {
  return rangeValue(normalizeRanges(init, option));
}

/** The `Range` value of ranges already checked. */
function rangeValue(ranges: readonly ByteRangeSpec[]): string {
  return `bytes=${ranges.map((r) => ('suffix' in r ? `-${r.suffix}` : `${r.start}-${r.end ?? ''}`)).join(',')}`;
}

const DIGITS = /^\d{1,16}$/;

/** A decimal of at most 16 digits as a safe integer, else undefined. */
function decimal(text: string): number | undefined {
  if (!DIGITS.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Reads a `Content-Range` value (RFC 9110 §14.4): `bytes 0-99/1234`, `bytes 0-99/*`, or (in a
 * `416`) `bytes * /1234`, returned as an {@link UnsatisfiedRange}. Undefined for anything else:
 * another unit, `end < start`, an `end` at or past the complete length, a number too large.
 */
export function parseContentRange(value: string): ContentRange | UnsatisfiedRange | undefined {
  const match = /^[ \t]*bytes[ \t]+(?:(\d+)-(\d+)|(\*))\/(\d+|\*)[ \t]*$/i.exec(value);
  if (match === null) return undefined;
  const [, startText, endText, star, lengthText] = match as unknown as [string, string | undefined, string | undefined, string | undefined, string];
  const completeLength = lengthText === '*' ? undefined : decimal(lengthText);
  if (lengthText !== '*' && completeLength === undefined) return undefined;
  if (star !== undefined) return completeLength === undefined ? undefined : { completeLength };
  const start = decimal(startText as string);
  const end = decimal(endText as string);
  if (start === undefined || end === undefined || end < start) return undefined;
  if (completeLength !== undefined && end >= completeLength) return undefined;
  return { start, end, completeLength };
}

/**
 * The validator to send in `If-Range` for a representation whose response had `headers`: its
 * `ETag` when it is strong (a weak one may not be used there, RFC 9110 §13.1.5), else its
 * `Last-Modified`, else undefined (then resume without `If-Range` only if you can tell a
 * changed representation some other way).
 */
export function ifRangeValidator(headers: Headers): string | undefined {
  const etag = headers.get('etag')?.trim();
  if (etag !== undefined && etag.startsWith('"') && etag.endsWith('"') && etag.length >= 2) return etag;
  const lastModified = headers.get('last-modified')?.trim();
  return lastModified === undefined || lastModified === '' ? undefined : lastModified;
}

/** The range `spec` resolves to in a representation of `length` bytes, or null when it does not overlap it. */
function resolve(spec: ByteRangeSpec, length: number): { start: number; end: number } | null {
  if ('suffix' in spec) return length === 0 ? null : { start: Math.max(0, length - spec.suffix), end: length - 1 };
  if (spec.start >= length) return null;
  return { start: spec.start, end: Math.min(spec.end ?? length - 1, length - 1) };
}

/** Whether a single range `got` is an answer to `asked`: it starts where asked and ends no later. */
function answersSingle(asked: ByteRangeSpec, got: ContentRange): boolean {
  if (got.completeLength !== undefined) {
    const expected = resolve(asked, got.completeLength);
    return expected !== null && got.start === expected.start && got.end <= expected.end;
  }
  if ('suffix' in asked) return got.end - got.start + 1 <= asked.suffix;
  return got.start === asked.start && (asked.end === undefined || got.end <= asked.end);
}

/**
 * Whether `got` (one part of a multipart answer) is made of asked bytes: it overlaps an asked
 * range and lies inside the span of them (a server may coalesce ranges that overlap or are
 * separated by a small gap, RFC 9110 §14.2, so the gap's bytes may come too).
 */
export function partAnswersRanges(asked: readonly ByteRangeSpec[], got: ContentRange): boolean {
  let overlaps = false;
  let low = Infinity;
  let high = -1;
  for (const spec of asked) {
    let range: { start: number; end: number } | null;
    if (got.completeLength !== undefined) range = resolve(spec, got.completeLength);
    else if ('suffix' in spec) return true; // where a suffix starts cannot be known without the length
    else range = { start: spec.start, end: spec.end ?? Number.MAX_SAFE_INTEGER };
    if (range === null) continue;
    if (range.start <= got.end && got.start <= range.end) overlaps = true;
    low = Math.min(low, range.start);
    high = Math.max(high, range.end);
  }
  return overlaps && got.start >= low && got.end <= high;
}

/** The status, headers and URL of a response, as {@link checkRangeResponse} reads them. */
export interface RangeResponseHead {
  /** The status code. */
  readonly code: number;
  /** The response's header fields. */
  readonly headers: Headers;
}

/**
 * Checks the answer to a request that asked for `ranges` and says what its body is (see
 * {@link RangeOutcome}). A `206` that does not answer what was asked throws a
 * {@link RangeMismatchError} (code `STRAND_RANGE_MISMATCH`, `kind` says why); the caller should
 * then drop the body. `url` goes into the error message.
 *
 * @example
 * ```ts
 * const asked = normalizeRanges({ start: 100 });
 * const response = await agent.request('GET', url, { Range: formatRange(asked), 'Accept-Encoding': 'identity' });
 * const outcome = checkRangeResponse(response, asked);
 * if (outcome.kind === 'full') console.log('the server sent the whole file');
 * ```
 */
export function checkRangeResponse(response: RangeResponseHead, ranges: readonly ByteRangeSpec[], url?: string): RangeOutcome {
  const code = response.code;
  if (code === 200) return { kind: 'full' };
  const contentRange = response.headers.get('content-range');
  if (code === 416) {
    const parsed = contentRange === undefined ? undefined : parseContentRange(contentRange);
    return { kind: 'unsatisfiable', completeLength: parsed !== undefined && !('start' in parsed) ? parsed.completeLength : undefined };
  }
  if (code !== 206) return { kind: 'other' };
  const requested = rangeValue(ranges);
  const fail = (kind: RangeMismatchKind, message: string): RangeMismatchError => new RangeMismatchError(kind, message, requested, contentRange, url === undefined ? undefined : { url });
  const mediaType = response.headers.contentType();
  if (mediaType !== undefined && mediaType.essence === 'multipart/byteranges') {
    if (ranges.length < 2) throw fail('UNEXPECTED_MULTIPART', `asked for one range (${requested}) but the server sent multipart/byteranges, which answers several`);
    const boundary = mediaType.parameters.get('boundary');
    if (boundary === undefined || !validBoundary(boundary)) throw fail('NO_BOUNDARY', 'the multipart/byteranges response has no valid boundary parameter');
    return { kind: 'multipart', boundary };
  }
  if (contentRange === undefined) throw fail('MISSING_CONTENT_RANGE', `206 Partial Content without a Content-Range (asked ${requested})`);
  const parsed = parseContentRange(contentRange);
  if (parsed === undefined || !('start' in parsed)) throw fail('INVALID_CONTENT_RANGE', `206 Partial Content with an invalid Content-Range "${contentRange}" (asked ${requested})`);
  // One range back for several asked: a server may coalesce them into one (RFC 9110 §14.2).
  const answers = ranges.length === 1 ? answersSingle(ranges[0] as ByteRangeSpec, parsed) : partAnswersRanges(ranges, parsed);
  if (!answers) throw fail('WRONG_RANGE', `asked for ${requested} but the server sent Content-Range ${contentRange}`);
  return { kind: 'partial', start: parsed.start, end: parsed.end, completeLength: parsed.completeLength };
}

/** An RFC 2046 boundary: 1 to 70 characters of its set, not ending in a space. */
export function validBoundary(boundary: string): boolean {
  return /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/.test(boundary);
}

brand(RangeMismatchError, 'core.RangeMismatchError');
