/**
 * The fake setup of the RetryAgent tests over `AgentSpy`: the test answers every attempt by hand
 * and a `ManualClock` is the only time there is.
 */
import { AgentSpy, nextTurn } from '@strand/testing';
import { ManualClock, RetryAgent, type RetryAgentOptions, type RetryEvent } from '../../src/index.js';

/** What a test sees of {@link useRetrySpy}'s setup; the fields are new for each test. */
export interface RetrySpy {
  /** The inner agent: each attempt waits for the test to answer it. */
  readonly spy: AgentSpy;
  /** The back-off's clock: nothing waits until the test advances it. */
  readonly clock: ManualClock;
  /** What `onRetry` was told, in order. */
  readonly events: RetryEvent[];
  /** A RetryAgent over the spy, on the manual clock, recording its events, with the jitter pinned at one half. */
  retrying(options?: RetryAgentOptions): RetryAgent;
  /** Turns the event loop (no timers, no clock) until `condition` holds; fails after `maxTurns`. */
  until(condition: () => boolean, what: string, maxTurns?: number): Promise<void>;
  /** Waits until the agent is sleeping on the manual clock (its one back-off timer is set). */
  backingOff(): Promise<void>;
}

/**
 * Registers a `beforeEach` that makes a new spy, clock and event list, and an `afterEach` that
 * checks every attempt the test provoked was answered (nothing left hanging).
 */
export function useRetrySpy(): RetrySpy {
  let spy = new AgentSpy();
  let clock = new ManualClock();
  let events: RetryEvent[] = [];
  beforeEach(() => {
    spy = new AgentSpy();
    clock = new ManualClock();
    events = [];
  });
  afterEach(() => {
    spy.assertNoPending();
  });
  const until = async (condition: () => boolean, what: string, maxTurns = 200): Promise<void> => {
    for (let turn = 0; turn < maxTurns; turn++) {
      if (condition()) return;
      await nextTurn();
    }
    throw new Error(`still waiting, after ${maxTurns} event-loop turns, for ${what}`);
  };
  return {
    get spy() {
      return spy;
    },
    get clock() {
      return clock;
    },
    get events() {
      return events;
    },
    retrying: (options = {}) => new RetryAgent(spy, { clock, random: () => 0.5, onRetry: (e) => events.push(e), ...options }),
    until,
    backingOff: () => until(() => clock.pending === 1, 'the retry back-off timer'),
  };
}
