/**
 * The failures a test double reports. They are {@link StrandError}s with stable codes, recorded
 * where they happen (the client got a 599 or 500 reply) and thrown again from the
 * `assert...()` methods, so a test fails loudly even when the code under test swallowed the reply.
 *
 * @packageDocumentation
 */

import { StrandError, brand } from '@strand/core';
import type { RecordedRequest } from './server/recorded-request.js';

/** A request no route or expectation accepted. The message holds a readable diff. */
export class UnexpectedRequestError extends StrandError {
  /** The request that was not expected. */
  readonly request: RecordedRequest;

  constructor(request: RecordedRequest, message: string) {
    super('STRAND_UNEXPECTED_REQUEST', message);
    this.request = request;
  }
}

/** Some expected requests never arrived (`assertAllConsumed()`). */
export class ExpectationsNotMetError extends StrandError {
  constructor(message: string) {
    super('STRAND_EXPECTATIONS_NOT_MET', message);
  }
}

/** Requests are still being answered (`assertNoPending()`). */
export class PendingRequestsError extends StrandError {
  constructor(message: string) {
    super('STRAND_PENDING_REQUESTS', message);
  }
}

/** A request handler threw, or returned something that is not a reply. The client got a 500. */
export class StubHandlerError extends StrandError {
  /** The request being handled. */
  readonly request: RecordedRequest;

  constructor(request: RecordedRequest, message: string, cause: unknown) {
    super('STRAND_STUB_HANDLER_FAILED', message, { cause });
    this.request = request;
  }
}

/** Several failures were recorded; `failures` has them all, in order. */
export class TestDoubleFailuresError extends StrandError {
  /** Every failure recorded, in order. */
  readonly failures: readonly Error[];

  constructor(failures: readonly Error[]) {
    super('STRAND_TEST_DOUBLE_FAILURES', `${failures.length} failures were recorded:\n\n${failures.map((f, i) => `${i + 1}) ${f.message}`).join('\n\n')}`);
    this.failures = failures;
  }
}

/**
 * A cassette cannot be used: its file is not a HAR log, an entry cannot be replayed (a header
 * with CR or LF, a status out of range), or it could not be written. The message names the file
 * and the entry.
 */
export class CassetteError extends StrandError {
  /** The cassette's file, or null for one made in memory. */
  readonly path: string | null;

  constructor(message: string, path: string | null, options: { cause?: unknown } = {}) {
    super('STRAND_CASSETTE_INVALID', message, options);
    this.path = path;
  }
}

/** @internal Throws the recorded failures, if any: one as itself, several together. */
export function throwFailures(failures: readonly Error[]): void {
  if (failures.length === 0) return;
  if (failures.length === 1) throw failures[0] as Error;
  throw new TestDoubleFailuresError(failures);
}

brand(UnexpectedRequestError, 'testing.UnexpectedRequestError');
brand(ExpectationsNotMetError, 'testing.ExpectationsNotMetError');
brand(PendingRequestsError, 'testing.PendingRequestsError');
brand(StubHandlerError, 'testing.StubHandlerError');
brand(TestDoubleFailuresError, 'testing.TestDoubleFailuresError');
brand(CassetteError, 'testing.CassetteError');
