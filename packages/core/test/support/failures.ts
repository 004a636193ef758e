/** Expecting a promise to fail, the error being the test's subject. */
import { StrandError } from '../../src/index.js';

/** The error `promise` rejects with (handled, so never reported as unhandled); fails the test if it fulfils. */
export function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error,
  );
}

/** The {@link StrandError} `promise` rejects with; any other outcome fails the test. */
export async function strandFailureOf(promise: Promise<unknown>): Promise<StrandError> {
  const error = await failureOf(promise);
  if (error instanceof StrandError) return error;
  throw error;
}
