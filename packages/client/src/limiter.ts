/**
 * Concurrency limits: a FIFO {@link Semaphore} (a client's `maxConcurrentRequests`, tornado's
 * `max_clients`) and {@link mapConcurrent}, which runs a job per item, a bounded number at a
 * time, and reports each item's outcome in order.
 */

import { CancelledError, InvalidArgumentError, TimeoutError } from '@strand/core';

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (error: unknown) => void;
  settled: boolean;
}

/** A counting semaphore with a FIFO queue. Waiting can be cancelled by a signal or a timeout. */
export class Semaphore {
  /** The most holders at once. */
  readonly limit: number;
  private active = 0;
  private readonly queue: Array<Waiter | null> = [];
  private head = 0;

  constructor(limit: number) {
    if (!(limit === Infinity || (Number.isSafeInteger(limit) && limit >= 1))) {
      throw new InvalidArgumentError(`maxConcurrentRequests must be a positive integer or Infinity, got ${String(limit)}`);
    }
    this.limit = limit;
  }

  /** Holders now. */
  get inUse(): number {
    return this.active;
  }

  /** Callers waiting now. */
  get waiting(): number {
    let n = 0;
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i] !== null) n++;
    return n;
  }

  /**
   * Takes a slot at once if one is free (then nobody is waiting), and returns its `release`
   * function (callable more than once; only the first call counts); returns null otherwise.
   * The synchronous form of {@link acquire} for callers that can skip a promise.
   */
  tryAcquire(): (() => void) | null {
    if (this.active >= this.limit) return null;
    this.active++;
    return this.releaser();
  }

  /**
   * Resolves with a `release` function once a slot is free (at once if one is). `release` may
   * be called more than once; only the first call counts. Rejects with a `CancelledError` when
   * `signal` aborts, or a `TimeoutError` (phase `queue`) after `timeout` ms, while waiting.
   */
  acquire(signal?: AbortSignal | null, timeout = Infinity, url?: string): Promise<() => void> {
    if (signal?.aborted === true) return Promise.reject(new CancelledError('request cancelled while waiting for a free slot', { url, cause: signal.reason }));
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, settled: false };
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        fail(new CancelledError('request cancelled while waiting for a free slot', { url, cause: signal?.reason }));
      };
      const cleanup = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (error: unknown): void => {
        if (waiter.settled) return;
        waiter.settled = true;
        cleanup();
        const index = this.queue.indexOf(waiter, this.head);
        if (index !== -1) this.queue[index] = null;
        reject(error);
      };
      waiter.resolve = (release) => {
        cleanup();
        resolve(release);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeout !== Infinity) {
        timer = setTimeout(() => fail(new TimeoutError('queue', timeout, false, { url })), timeout);
        timer.unref();
      }
      this.queue.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release();
    };
  }

  private release(): void {
    while (this.head < this.queue.length) {
      const waiter = this.queue[this.head];
      this.queue[this.head++] = null;
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      }
      if (waiter == null || waiter.settled) continue;
      waiter.settled = true;
      waiter.resolve(this.releaser());
      return;
    }
    this.active--;
  }
}

/** The outcome of one item of {@link mapConcurrent}: its value, or why it failed. */
export type Settled<T> =
  | {
      /** It succeeded. */
      readonly ok: true;
      /** What it resolved with. */
      readonly value: T;
    }
  | {
      /** It failed. */
      readonly ok: false;
      /** What it rejected with. */
      readonly error: unknown;
    };

/** Options of {@link mapConcurrent}. */
export interface MapConcurrentOptions {
  /** Jobs at once (default 4). */
  concurrency?: number;
  /** Stops starting new jobs; items not started fail with a `CancelledError`. Jobs already running get the signal through their own options. */
  signal?: AbortSignal;
  /** Called as each item settles (for progress bars). */
  onSettled?: (result: Settled<unknown>, index: number) => void;
}

/**
 * Runs `job` for every item, at most `concurrency` at a time, and resolves (never rejects) with
 * one {@link Settled} per item, in the items' order: the "fetch these pages, two at a time"
 * helper. One failing item does not stop the others.
 *
 * @example
 * ```ts
 * const results = await mapConcurrent(urls, (url) => client.get(url), { concurrency: 2 });
 * for (const r of results) console.log(r.ok ? r.value.code : r.error);
 * ```
 */
export async function mapConcurrent<T, R>(items: Iterable<T>, job: (item: T, index: number) => Promise<R>, options: MapConcurrentOptions = {}): Promise<Array<Settled<R>>> {
  const concurrency = options.concurrency ?? 4;
  if (!(concurrency === Infinity || (Number.isSafeInteger(concurrency) && concurrency >= 1))) {
    throw new InvalidArgumentError(`concurrency must be a positive integer, got ${String(concurrency)}`);
  }
  if (typeof job !== 'function') throw new InvalidArgumentError('mapConcurrent: job must be a function');
  const list = Array.from(items);
  const results = new Array<Settled<R>>(list.length);
  let next = 0;
  const signal = options.signal;
  const settle = (index: number, result: Settled<R>): void => {
    results[index] = result;
    options.onSettled?.(result, index);
  };
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const index = next++;
      if (signal?.aborted === true) {
        settle(index, { ok: false, error: new CancelledError('cancelled before it started', { cause: signal.reason }) });
        continue;
      }
      try {
        settle(index, { ok: true, value: await job(list[index] as T, index) });
      } catch (error) {
        settle(index, { ok: false, error });
      }
    }
  };
  const workers: Array<Promise<void>> = [];
  for (let i = 0; i < Math.min(concurrency, list.length); i++) workers.push(worker());
  await Promise.all(workers);
  return results;
}
