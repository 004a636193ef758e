/**
 * {@link ServerRecord}: what the fake agent and the stub server both show of the fake server
 * behind them, written once.
 *
 * @packageDocumentation
 */

import { settle } from '../settle.js';
import type { FakeHttpServer } from './fake-server.js';
import type { RecordedRequest } from './recorded-request.js';

/**
 * The record of the fake server behind a test double (`FakeAgent`, `StubServer`): the requests
 * it received, the failures it recorded, a wait until it is quiet, and the end-of-test check.
 */
export abstract class ServerRecord {
  /** @internal The server that answers, records and can be checked. */
  protected abstract readonly server: FakeHttpServer;

  /** Every request the server received, in order of arrival. */
  get requests(): readonly RecordedRequest[] {
    return this.server.requests;
  }

  /** The last request received, if any. */
  get lastRequest(): RecordedRequest | undefined {
    return this.server.requests[this.server.requests.length - 1];
  }

  /** Failures recorded so far (unexpected requests, handlers that threw); {@link assertNoPending} throws them. */
  get failures(): readonly Error[] {
    return this.server.failures;
  }

  /**
   * Waits until nothing moves any more (bytes, requests, replies) for a couple of event-loop
   * turns, without advancing any clock. Use it before asserting that something did, or did not,
   * happen. Works under jest's fake timers.
   */
  flush(): Promise<void> {
    return settle(() => this.server.activity.value);
  }

  /**
   * Throws if anything went wrong on the server side: the first recorded failure (unexpected
   * request, handler error; several together as `TestDoubleFailuresError`), the handler's own
   * pending check (a `RequestSequence`'s), or `PendingRequestsError` when replies are still
   * being sent. Call it at the end of a test, or in `afterEach`.
   */
  assertNoPending(): void {
    this.server.assertNoPending();
  }
}
