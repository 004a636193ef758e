/**
 * The `expectContinue` option: when the client adds `Expect: 100-continue` to a request with a
 * body (core then holds the body back until the server's `100`, its final answer, or the
 * timeout). curl's rule by default: bodies of known length larger than 1 MiB.
 *
 * @packageDocumentation
 */

import { type BodyProducer, type Headers, InvalidArgumentError } from '@strand/core';
import { describe } from './fields.js';

/** Bodies larger than this many bytes (and of known length) get `Expect: 100-continue` by default: curl's 1 MiB. */
export const DEFAULT_EXPECT_CONTINUE_THRESHOLD = 1024 * 1024;

/** The option, checked: bodies of known length larger than `threshold` get the header; `streams` adds bodies of unknown length. */
export interface NormalizedExpectContinue {
  readonly threshold: number;
  readonly streams: boolean;
}

/** The default: larger than 1 MiB, known length only. */
export const DEFAULT_EXPECT_CONTINUE: NormalizedExpectContinue = Object.freeze({ threshold: DEFAULT_EXPECT_CONTINUE_THRESHOLD, streams: false });
const ALWAYS: NormalizedExpectContinue = Object.freeze({ threshold: 0, streams: true });
const NEVER: NormalizedExpectContinue = Object.freeze({ threshold: Infinity, streams: false });

/** Checks `expectContinue`: `true`, `false`, or a non-negative integer of bytes; `fallback` when absent. */
export function normalizeExpectContinue(value: unknown, fallback: NormalizedExpectContinue = DEFAULT_EXPECT_CONTINUE): NormalizedExpectContinue {
  if (value === undefined) return fallback;
  if (value === true) return ALWAYS;
  if (value === false) return NEVER;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value === DEFAULT_EXPECT_CONTINUE_THRESHOLD ? DEFAULT_EXPECT_CONTINUE : Object.freeze({ threshold: value, streams: false });
  throw new InvalidArgumentError(`expectContinue must be true, false or a non-negative integer of bytes, got ${typeof value === 'number' ? value : describe(value)}`);
}

/**
 * Adds `Expect: 100-continue` to `headers` when `body` qualifies under `setting`, unless the
 * headers have an `Expect` already or the caller removed it (`removed` holds `expect`).
 */
export function addExpectContinue(headers: Headers, body: BodyProducer | null, setting: NormalizedExpectContinue, removed: ReadonlySet<string>): void {
  if (body === null || headers.has('expect') || removed.has('expect')) return;
  const length = body.length;
  const qualifies = typeof length === 'number' ? length > setting.threshold : setting.streams;
  if (qualifies) headers.set('Expect', '100-continue');
}
