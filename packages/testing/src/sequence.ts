/**
 * Scripted expectations, in the spirit of treq's `RequestSequence`: the requests a test expects,
 * in order (or not), each with its canned reply. Anything else fails loudly, with a diff.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from '@strand/core';
import { ExpectationsNotMetError, PendingRequestsError, UnexpectedRequestError, throwFailures } from './errors.js';
import { type RequestPattern, checkPattern, closestPattern, comparePattern, describePattern, formatMismatches } from './server/pattern.js';
import type { RecordedRequest } from './server/recorded-request.js';
import { type Handler, type ReplyLike, checkReplyOrHandler } from './server/reply.js';
import type { RequestHandlerObject } from './server/routes.js';
import { checkBoolean, checkOptions, describeValue, isRecord } from './validation.js';

/** An expected request and its reply: a {@link RequestPattern} plus `reply` (a reply, shorthand or handler). */
export interface Expectation extends RequestPattern {
  /** What to answer when the request matches: a reply, or a handler that makes one. */
  reply: ReplyLike | Handler;
}

/** An expectation, or the tuple form `[pattern, reply]`. */
export type ExpectationInit = Expectation | readonly [RequestPattern, ReplyLike | Handler];

/** Options of {@link RequestSequence}. */
export interface RequestSequenceOptions {
  /** Requests must come in the listed order (default). `false`: in any order, each expectation used once. */
  ordered?: boolean;
}

const EXPECTATION_KEYS: ReadonlySet<string> = new Set(['reply']);
const NO_EXTRA_KEYS: ReadonlySet<string> = new Set();

/**
 * The requests a test expects and their replies. Give it to `createFakeAgent` (or
 * `StubServer.start`) as the handler. An unexpected request gets a `599` whose body explains it,
 * and is recorded: {@link assertAllConsumed} and {@link assertNoPending} throw it, with a diff of
 * what was expected, so the test fails even if the code under test swallowed the `599`.
 *
 * @example
 * ```ts
 * const sequence = new RequestSequence([
 *   [{ method: 'POST', url: 'http://api.test/login', json: { user: 'ada' } }, { json: { token: 't1' } }],
 *   [{ method: 'GET', url: 'http://api.test/me', headers: { authorization: 'Bearer t1' } }, { json: { name: 'Ada' } }],
 * ]);
 * const fake = createFakeAgent(sequence);
 * await codeUnderTest(fake);
 * sequence.assertAllConsumed();
 * ```
 */
export class RequestSequence implements RequestHandlerObject {
  /** Whether the expectations must be met in order. */
  readonly ordered: boolean;
  /** Unexpected requests, as recorded failures. */
  readonly failures: UnexpectedRequestError[] = [];
  private readonly expectations: Expectation[] = [];
  private readonly consumed: boolean[] = [];
  private received = 0;
  private inProgress = 0;

  /** @throws `InvalidArgumentError` naming the expectation and the field, for a malformed expectation or option. */
  constructor(expectations: readonly ExpectationInit[] = [], options: RequestSequenceOptions = {}) {
    const checked = checkOptions(options, ['ordered'], 'RequestSequence');
    this.ordered = checkBoolean(checked['ordered'], 'RequestSequence: ordered') ?? true;
    if (!Array.isArray(expectations)) throw new InvalidArgumentError(`RequestSequence: expectations must be an array, got ${describeValue(expectations)}`);
    for (const expectation of expectations) {
      if (Array.isArray(expectation)) {
        const pair = expectation as readonly unknown[];
        if (pair.length !== 2) throw new InvalidArgumentError(`RequestSequence expectation #${this.expectations.length + 1}: a [pattern, reply] pair must have 2 elements, got ${pair.length}`);
        this.expect(pair[0] as RequestPattern, pair[1] as ReplyLike | Handler);
      } else {
        this.add(expectation as Expectation);
      }
    }
  }

  /**
   * Adds an expectation at the end: a request like `pattern`, answered with `reply`.
   *
   * @throws `InvalidArgumentError` for an unknown pattern field, a field of the wrong type or an invalid reply.
   */
  expect(pattern: RequestPattern, reply: ReplyLike | Handler): this {
    checkPattern(pattern, NO_EXTRA_KEYS, `RequestSequence expectation #${this.expectations.length + 1}`);
    return this.add({ ...pattern, reply });
  }

  /** The expectations not met yet, in order. */
  get remaining(): readonly Expectation[] {
    return this.expectations.filter((_, i) => this.consumed[i] !== true);
  }

  /** Answers `request` with the next expectation if it matches; records it as unexpected otherwise. */
  handle(request: RecordedRequest): ReplyLike | Promise<ReplyLike> {
    const number = ++this.received;
    const index = this.ordered ? this.consumed.indexOf(false) : this.findUnordered(request);
    const expectation = index === -1 ? undefined : this.expectations[index];
    if (expectation !== undefined) {
      const result = comparePattern(expectation, request);
      if (result.matched) {
        this.consumed[index] = true;
        request.params = result.params;
        return this.reply(expectation, request);
      }
    }
    const error = new UnexpectedRequestError(request, this.explain(request, number));
    this.failures.push(error);
    throw error;
  }

  /**
   * Throws if an unexpected request arrived (the first one, or all together), then
   * {@link ExpectationsNotMetError} listing the expectations no request met.
   */
  assertAllConsumed(): void {
    throwFailures(this.failures);
    const left = this.expectations.map((e, i) => ({ e, i })).filter(({ i }) => this.consumed[i] !== true);
    if (left.length > 0) {
      throw new ExpectationsNotMetError(
        `${left.length} of ${this.expectations.length} expected request(s) never arrived:\n${left.map(({ e, i }) => `  #${i + 1} ${describePattern(e)}`).join('\n')}`,
      );
    }
  }

  /**
   * Throws if an unexpected request arrived, or if an asynchronous reply handler is still
   * running. Expectations not met yet are fine here (see {@link assertAllConsumed}).
   */
  assertNoPending(): void {
    throwFailures(this.failures);
    if (this.inProgress > 0) throw new PendingRequestsError(`${this.inProgress} reply handler(s) of the sequence are still running`);
  }

  private add(expectation: Expectation): this {
    const what = `RequestSequence expectation #${this.expectations.length + 1}`;
    if (!isRecord(expectation)) throw new InvalidArgumentError(`${what}: expected an object or a [pattern, reply] pair, got ${describeValue(expectation)}`);
    checkPattern(expectation, EXPECTATION_KEYS, what);
    if (!('reply' in expectation)) throw new InvalidArgumentError(`${what} (${describePattern(expectation)}): reply is missing`);
    checkReplyOrHandler(expectation.reply, `${what} (${describePattern(expectation)})`);
    this.expectations.push(expectation);
    this.consumed.push(false);
    return this;
  }

  private findUnordered(request: RecordedRequest): number {
    for (let i = 0; i < this.expectations.length; i++) {
      if (this.consumed[i] !== true && comparePattern(this.expectations[i] as Expectation, request).matched) return i;
    }
    return -1;
  }

  private reply(expectation: Expectation, request: RecordedRequest): ReplyLike | Promise<ReplyLike> {
    if (typeof expectation.reply !== 'function') return expectation.reply;
    const result = expectation.reply(request);
    if (!(result instanceof Promise)) return result;
    this.inProgress++;
    return result.finally(() => {
      this.inProgress--;
    });
  }

  private explain(request: RecordedRequest, number: number): string {
    const lines = [`unexpected request #${number}: ${request.method} ${request.url.href}`];
    const open = this.expectations.map((e, i) => ({ e, i })).filter(({ i }) => this.consumed[i] !== true);
    if (open.length === 0) {
      lines.push(`all ${this.expectations.length} expected request(s) were already made`);
      return lines.join('\n');
    }
    if (this.ordered) {
      const next = open[0] as { e: Expectation; i: number };
      lines.push(`expected next (#${next.i + 1} of ${this.expectations.length}): ${describePattern(next.e)}`);
      lines.push(formatMismatches(comparePattern(next.e, request).mismatches));
      return lines.join('\n');
    }
    const closest = closestPattern(
      open.map(({ e }) => e),
      request,
    );
    if (closest !== undefined) {
      const number = (open[closest.index] as { i: number }).i + 1;
      lines.push(`no remaining expectation matches; the closest is #${number}: ${describePattern(closest.pattern)}`);
      lines.push(formatMismatches(closest.result.mismatches));
    }
    lines.push(`remaining: ${open.map(({ e, i }) => `#${i + 1} ${describePattern(e)}`).join(', ')}`);
    return lines.join('\n');
  }
}
