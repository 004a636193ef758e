/**
 * The close/destroy lifecycle of something that sends requests on a pool it may have made
 * itself: an `HttpAgent`, an `EnvProxyAgent`, the client's `HTTPClient`.
 *
 * @packageDocumentation
 */

import { ClosedError, type StrandError } from '../errors.js';
import type { HTTPConnectionPool } from './pool.js';

/**
 * Stops taking requests once closed, and closes the pool it made (idle connections now, busy
 * ones once their response was read); a pool given to it belongs to the caller and stays open.
 * Works with `await using`.
 */
export abstract class PoolHolder {
  /** The pool it made itself, or null (a given pool, or none). */
  readonly #ownPool: HTTPConnectionPool | null;
  #closed = false;

  /** @param ownPool - the pool this object made for itself (closed with it), or null. */
  constructor(ownPool: HTTPConnectionPool | null) {
    this.#ownPool = ownPool;
  }

  /** True once {@link close} or {@link destroy} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Stops taking requests: later ones fail with {@link ClosedError}. Requests in flight finish.
   * The pool it made is closed too; resolves when that pool is closed.
   */
  close(): Promise<void> {
    this.#closed = true;
    return this.#ownPool === null ? Promise.resolve() : this.#ownPool.close();
  }

  /** Like {@link close}, but requests in flight on its own pool fail now (with `reason`). */
  destroy(reason?: StrandError): Promise<void> {
    this.#closed = true;
    return this.#ownPool === null ? Promise.resolve() : this.#ownPool.destroy(reason);
  }

  /** `await using`: {@link close} at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The error for a request made after closing; `what` names the object (`this agent`). */
  protected closedError(what: string, url?: string | URL): ClosedError {
    return new ClosedError(`${what} is closed: it takes no more requests (make a new one)`, url === undefined ? {} : { url });
  }
}
