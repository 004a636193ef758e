import type { Clock, TimerHandle } from './clock.js';
import { InvalidArgumentError, type TimeoutPhase } from '../errors.js';
import { describeType } from '../validate.js';

/**
 * Per-phase timeouts, in milliseconds. Each is optional; `Infinity` (or leaving it out where
 * there is no default) turns a phase's timeout off.
 *
 * - `queue`: waiting for a pool slot when the host's connection cap is reached.
 * - `connect`: opening the connection, TCP and TLS together.
 * - `sendIdle`: no progress sending the request for this long: no byte handed to the connection
 *   and none flushed by it (a server that stopped reading the body, or a body source that stalled).
 * - `headers`: from the request being fully written to the response head.
 * - `bodyIdle`: no body byte for this long while the consumer is reading (a consumer that pauses
 *   is not timed out for its own pause).
 * - `total`: the whole exchange, from the call to the end of the body.
 */
export interface TimeoutOptions {
  /** Waiting for a pool slot, ms. */
  queue?: number;
  /** Opening the connection (TCP and TLS), ms. */
  connect?: number;
  /** No progress sending the request body, ms. */
  sendIdle?: number;
  /** From the request written to the response head, ms. */
  headers?: number;
  /** No body byte while the consumer reads, ms. */
  bodyIdle?: number;
  /** The whole exchange, body included, ms. */
  total?: number;
}

/** Timeouts with every phase set. */
export type ResolvedTimeouts = Readonly<Record<TimeoutPhase, number>>;

/**
 * The defaults: connect 10 s, sendIdle 300 s, headers 300 s, bodyIdle 300 s (undici's choices
 * for headers and body), no queue or total limit. got sets no timeout at all by default; a service should set
 * `total` to what its callers can wait.
 */
export const DEFAULT_TIMEOUTS: ResolvedTimeouts = Object.freeze({
  queue: Infinity,
  connect: 10_000,
  sendIdle: 300_000,
  headers: 300_000,
  bodyIdle: 300_000,
  total: Infinity,
});

/** The timeout phases, in the order an exchange meets them. */
export const TIMEOUT_PHASES: readonly TimeoutPhase[] = Object.freeze(['queue', 'connect', 'sendIdle', 'headers', 'bodyIdle', 'total']);

/**
 * Checks a timeout option (a number means `total`) and returns the phases it sets, and only
 * those. Errors name the option, e.g. `timeout.headers must be a positive number`.
 */
export function checkTimeoutOptions(value: unknown, option = 'timeout'): TimeoutOptions {
  if (value === undefined) return {};
  if (typeof value === 'number') return { total: checkTimeout(value, option) };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(`${option} must be a number of milliseconds or an object of phases (${TIMEOUT_PHASES.join(', ')}), got ${describeType(value)}`);
  }
  const result: Partial<Record<TimeoutPhase, number>> = {};
  for (const key of Object.keys(value)) {
    if (!(TIMEOUT_PHASES as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(`${option}.${key} is not a timeout phase; use ${TIMEOUT_PHASES.join(', ')}`);
    }
    const phase = (value as Record<string, unknown>)[key];
    if (phase !== undefined) result[key as TimeoutPhase] = checkTimeout(phase, `${option}.${key}`);
  }
  return result;
}

/** Merges `override` (a number means `total`) over `base`, validating every value (see {@link checkTimeoutOptions}). */
export function resolveTimeouts(base: ResolvedTimeouts, override: number | TimeoutOptions | undefined, option = 'timeout'): ResolvedTimeouts {
  if (override === undefined) return base;
  return { ...base, ...checkTimeoutOptions(override, option) };
}

function checkTimeout(value: unknown, option: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new InvalidArgumentError(`${option} must be a positive number of milliseconds (or Infinity), got ${typeof value === 'number' ? value : describeType(value)}`);
  }
  return value;
}

/** Something with deadlines the sweeper checks. */
export interface TimedExchange {
  /** Called on each sweep; fails the exchange if one of its deadlines passed. */
  checkTimeouts(now: number): void;
}

/**
 * One coarse timer per clock that checks every active exchange's deadlines, instead of a timer
 * set and cleared per request (or per body chunk). It runs only while exchanges are registered.
 * A timeout therefore fires at most one tick late; the tick is a quarter of the shortest
 * timeout seen, between 5 ms and 500 ms.
 */
export class TimeoutSweeper {
  private readonly clock: Clock;
  private readonly active = new Set<TimedExchange>();
  private timer: TimerHandle | null = null;
  private tick = 500;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Starts checking `exchange`; `shortest` is the shortest of its finite timeouts. */
  add(exchange: TimedExchange, shortest: number): void {
    this.active.add(exchange);
    const tick = Math.min(500, Math.max(5, Math.floor(shortest / 4)));
    if (tick < this.tick) {
      this.tick = tick;
      if (this.timer !== null) {
        this.clock.clearTimeout(this.timer);
        this.timer = null;
      }
    }
    if (this.timer === null) this.timer = this.clock.setTimeout(this.sweep, this.tick);
  }

  delete(exchange: TimedExchange): void {
    this.active.delete(exchange);
  }

  /** Exchanges being checked (for tests and stats). */
  get size(): number {
    return this.active.size;
  }

  private readonly sweep = (): void => {
    this.timer = null;
    const now = this.clock.now();
    for (const exchange of this.active) exchange.checkTimeouts(now);
    if (this.active.size > 0) this.timer = this.clock.setTimeout(this.sweep, this.tick);
  };
}

const sweepers = new WeakMap<Clock, TimeoutSweeper>();

/** The sweeper shared by everything on `clock`. */
export function sweeperFor(clock: Clock): TimeoutSweeper {
  let sweeper = sweepers.get(clock);
  if (sweeper === undefined) {
    sweeper = new TimeoutSweeper(clock);
    sweepers.set(clock, sweeper);
  }
  return sweeper;
}
