/** The lifecycle of the fake agents a test file makes. */
import type { FakeAgent } from '@strand/testing';

/**
 * Registers an `afterEach` that checks the test's fake agent saw no request it had no answer
 * for (`assertNoPending`) and closes it. Returns `track`, which marks a fake agent as the
 * test's (and returns it); `track(null)` drops it unchecked, for a test whose subject is the
 * failure the fake recorded.
 */
export function trackFakeAgents(): <T extends FakeAgent | null>(fake: T) => T {
  let current: FakeAgent | null = null;
  afterEach(async () => {
    const fake = current;
    current = null;
    if (fake === null) return;
    try {
      fake.assertNoPending();
    } finally {
      await fake.close();
    }
  });
  return (fake) => {
    current = fake;
    return fake;
  };
}
