/**
 * The global connection pool of the module functions (treq's `get_global_pool` /
 * `set_global_pool` / `default_pool`), and one `HttpAgent` per pool.
 */

import { HTTPConnectionPool, HttpAgent } from '@strand/core';

let globalPool: HTTPConnectionPool | null = null;
const agents = new WeakMap<HTTPConnectionPool, HttpAgent>();

/** The pool shared by the module functions and by clients made without an agent or a pool; a persistent pool, created on first use. */
export function getGlobalPool(): HTTPConnectionPool {
  globalPool ??= new HTTPConnectionPool({ persistent: true });
  return globalPool;
}

/** Replaces the global pool (the old one is not closed: call its `closeCachedConnections()` if you are done with it). */
export function setGlobalPool(pool: HTTPConnectionPool): void {
  if (!(pool instanceof HTTPConnectionPool)) throw new TypeError('setGlobalPool: pool must be an HTTPConnectionPool');
  globalPool = pool;
}

/**
 * treq's rule: the given `pool` if any; a new non-persistent pool when `persistent` is false;
 * otherwise the global persistent pool.
 */
export function defaultPool(pool?: HTTPConnectionPool | null, persistent?: boolean | null): HTTPConnectionPool {
  if (pool != null) return pool;
  if (persistent === false) return new HTTPConnectionPool({ persistent: false });
  return getGlobalPool();
}

/** The `HttpAgent` on `pool` (one per pool, made on first use). */
export function agentForPool(pool: HTTPConnectionPool): HttpAgent {
  let agent = agents.get(pool);
  if (agent === undefined) {
    agent = new HttpAgent({ pool });
    agents.set(pool, agent);
  }
  return agent;
}
