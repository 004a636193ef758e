/**
 * Time, injectable. Every timer Strand starts (timeouts, idle expiry, retry back-off) goes
 * through a {@link Clock}, so tests drive time with a {@link ManualClock} instead of waiting.
 */

import { brand } from '../brand.js';

/** An opaque handle for a timer started by a {@link Clock}: Node's timer object, or a number. */
export type TimerHandle = object | number;

/** The source of time and timers. */
export interface Clock {
  /** Milliseconds since an arbitrary, fixed origin; never goes backwards. */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds. Timers must not keep the process alive. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer (a handle already fired or cancelled is ignored). */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` and unref'd Node timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

interface ManualTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A clock that only moves when told to. `advance(ms)` fires, in order, every timer due by then.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * // The clock belongs to the pool; the agent's timeouts run on it.
 * const agent = new HttpAgent({ pool: new HTTPConnectionPool({ clock }), timeouts: { headers: 1000 } });
 * const pending = agent.request('GET', url);
 * clock.advance(1000); // the request now fails with a headers timeout
 * ```
 */
export class ManualClock implements Clock {
  private time: number;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { id: this.nextId++, at: this.time + Math.max(0, ms), callback };
    this.timers.push(timer);
    return timer.id;
  }

  /** Cancels a timer. */
  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in time order (a timer set by a callback fires too if it is due). */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      if (next === undefined) break;
      const due = next;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.callback();
    }
    this.time = target;
  }
}

brand(ManualClock, 'core.ManualClock');
