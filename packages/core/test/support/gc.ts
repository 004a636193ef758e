import * as v8 from 'node:v8';
import * as vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
/** A full garbage collection, as `global.gc()` with `--expose-gc`. */
export const gc = vm.runInNewContext('gc') as () => void;

/**
 * Runs full collections back to back (a few milliseconds apart, so the code under test can
 * progress between them) until stopped; `stop()` says how many ran.
 */
export function gcLoop(): () => number {
  let runs = 0;
  let timer: NodeJS.Timeout;
  const loop = (): void => {
    gc();
    runs++;
    timer = setTimeout(loop, 3);
  };
  timer = setTimeout(loop, 0);
  return () => {
    clearTimeout(timer);
    return runs;
  };
}

/** Runs `read` `rounds` times at once under {@link gcLoop}: the settled results and how many collections ran meanwhile. */
export async function underGcLoop<T>(rounds: number, read: () => Promise<T>): Promise<{ results: PromiseSettledResult<T>[]; collections: number }> {
  const stop = gcLoop();
  try {
    const results = await Promise.allSettled(Array.from({ length: rounds }, read));
    return { results, collections: stop() };
  } finally {
    stop();
  }
}
