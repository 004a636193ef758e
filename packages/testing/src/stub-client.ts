/**
 * `StubClient`: the `@strand/client` API bound to a fake agent, so code written against
 * `HTTPClient` is tested by handing it a stub instead (treq's `StubTreq`).
 *
 * @packageDocumentation
 */

import { HTTPClient, type HTTPClientOptions } from '@strand/client';
import { InvalidArgumentError } from '@strand/core';
import { FakeAgent, type FakeAgentOptions, type InjectFaultOptions } from './fake-agent.js';
import type { RecordedRequest } from './server/recorded-request.js';
import type { ServerBehaviour } from './server/routes.js';
import type { Fault } from './transport/faults.js';
import { describeValue, isRecord } from './validation.js';

/** Options of {@link StubClient}: the client's options (not `agent`, `pool`, `persistent`), plus the fake agent's. */
export interface StubClientOptions extends Omit<HTTPClientOptions, 'agent' | 'pool' | 'persistent'> {
  /** Options of the fake agent underneath (clock, pool, unmatched...). */
  fake?: FakeAgentOptions;
}

/**
 * An `HTTPClient` (`get`, `post`, …, `request`, `getMany`, cookies, JSON, forms…) whose requests
 * go through a {@link FakeAgent} answering with a handler, route table or `RequestSequence`:
 * the client's whole stack and Strand's real HTTP/1.1 stack run, without a network.
 *
 * @example
 * ```ts
 * const client = new StubClient([{ method: 'GET', path: '/users/:id', reply: (req) => ({ json: { id: req.params.id } }) }]);
 * const response = await client.get('http://api.test/users/7');
 * expect(await response.json()).toEqual({ id: '7' });
 * expect(client.requests).toHaveLength(1);
 * await client.close();
 * ```
 */
export class StubClient extends HTTPClient {
  /** The fake agent the client runs on. */
  readonly fake: FakeAgent;

  /**
   * @param behaviour - how the fake server answers, or an existing `FakeAgent` to run on.
   * @throws `InvalidArgumentError` naming the option, for an unknown option or a value of the
   *   wrong type (the client's options are checked by `HTTPClient`, `fake` by the fake agent).
   */
  constructor(behaviour: ServerBehaviour | FakeAgent, options: StubClientOptions = {}) {
    if (!isRecord(options as unknown)) throw new InvalidArgumentError(`StubClient: options must be an object, got ${describeValue(options)}`);
    for (const key of ['agent', 'pool', 'persistent'] as const) {
      if (key in options) throw new InvalidArgumentError(`StubClient: ${key} is not an option; the stub client runs on its fake agent (give a FakeAgent as the first argument, or fake agent options as the fake option)`);
    }
    const { fake: fakeOptions, ...clientOptions } = options;
    if (behaviour instanceof FakeAgent && fakeOptions !== undefined) {
      throw new InvalidArgumentError('StubClient: the fake option configures a new fake agent; it cannot be used with an existing FakeAgent (configure that one when you create it)');
    }
    const fake = behaviour instanceof FakeAgent ? behaviour : new FakeAgent(behaviour, fakeOptions);
    super({ ...clientOptions, agent: fake });
    this.fake = fake;
  }

  /** Every request the fake server received, in order. */
  get requests(): readonly RecordedRequest[] {
    return this.fake.requests;
  }

  /** The last request received. */
  get lastRequest(): RecordedRequest | undefined {
    return this.fake.lastRequest;
  }

  /** See `FakeAgent.injectFault`. */
  injectFault(fault: Fault, options?: InjectFaultOptions): void {
    this.fake.injectFault(fault, options);
  }

  /** See `FakeAgent.flush`. */
  flush(): Promise<void> {
    return this.fake.flush();
  }

  /** See `FakeAgent.advance`. */
  advance(ms: number): Promise<void> {
    return this.fake.advance(ms);
  }

  /** See `FakeAgent.assertNoPending`. */
  assertNoPending(): void {
    this.fake.assertNoPending();
  }

  /** Closes the client (later requests fail with `ClosedError`) and the fake agent's connections; see `FakeAgent.close`. */
  override async close(): Promise<void> {
    await super.close();
    await this.fake.close();
  }
}
