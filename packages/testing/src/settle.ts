/**
 * Waiting for in-memory work without real time: helpers that turn the event loop, immune to
 * jest's fake timers, and a deadline signal driven by an injectable {@link Clock}.
 *
 * @packageDocumentation
 */

import { type Clock, systemClock } from '@strand/core';
import { checkClock, checkFunction, checkInteger, checkMilliseconds, checkOptions } from './validation.js';
// The `timers` module, not the global: jest's fake timers replace `globalThis.setImmediate` in a
// test's sandbox, but not Node's own module, so these turns keep working under fake timers.
import { clearImmediate as realClearImmediate, setImmediate as realSetImmediate } from 'node:timers';

/** A handle from {@link scheduleTurn}. */
export type TurnHandle = ReturnType<typeof realSetImmediate>;

/** @internal Runs `callback` on the next real event-loop turn (after pending I/O and microtasks). */
export function scheduleTurn(callback: () => void): TurnHandle {
  return realSetImmediate(callback);
}

/** @internal Cancels a {@link scheduleTurn}. */
export function cancelTurn(handle: TurnHandle): void {
  realClearImmediate(handle);
}

/**
 * Resolves after one real event-loop turn: every pending microtask, `process.nextTick` and
 * in-memory stream event has run. Works with jest's fake timers installed (it does not use the
 * global `setImmediate`).
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    realSetImmediate(resolve);
  });
}

/**
 * Turns the event loop until `isQuiet` has stayed true across `quietTurns` consecutive turns, or
 * `maxTurns` ran out. The building block of `FakeAgent.flush()`; most tests call that instead.
 *
 * @param activity - returns a number that changes whenever something happened (bytes moved, a
 *   request arrived); settling stops once it stops changing.
 */
export async function settle(activity: () => number = () => 0, options: { quietTurns?: number; maxTurns?: number } = {}): Promise<void> {
  checkFunction(activity, 'settle: activity');
  const checked = checkOptions(options, ['quietTurns', 'maxTurns'], 'settle');
  const quietTurns = checkInteger(checked['quietTurns'], 'settle: quietTurns', 1) ?? 2;
  const maxTurns = checkInteger(checked['maxTurns'], 'settle: maxTurns', 0, { infinity: true }) ?? 10_000;
  let quiet = 0;
  for (let turn = 0; turn < maxTurns && quiet < quietTurns; turn++) {
    const before = activity();
    await nextTurn();
    quiet = activity() === before ? quiet + 1 : 0;
  }
}

/**
 * An `AbortSignal` that aborts after `ms` on `clock` with a `TimeoutError`, like
 * `AbortSignal.timeout(ms)` but testable: with a `ManualClock` it fires on `clock.advance(ms)`;
 * with the default system clock it follows jest's fake timers (`jest.advanceTimersByTime`).
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const pending = agent.request('GET', url, null, null, { signal: timeoutSignal(5000, clock) });
 * clock.advance(5000); // the request fails with CancelledError, no real waiting
 * ```
 */
export function timeoutSignal(ms: number, clock: Clock = systemClock): AbortSignal {
  checkMilliseconds(ms, 'timeoutSignal: ms');
  checkClock(clock, 'timeoutSignal: clock');
  const controller = new AbortController();
  clock.setTimeout(() => controller.abort(new DOMException(`the deadline of ${ms} ms passed`, 'TimeoutError')), ms);
  return controller.signal;
}
