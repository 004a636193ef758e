/**
 * The global connection pool of the module functions (treq's `get_global_pool` /
 * `set_global_pool` / `default_pool`), and one `HttpAgent` per pool.
 */

import { type Agent, HTTPConnectionPool, HttpAgent, ProxyAgent, StandardEndpointFactory, type TLSPolicy } from '@strand/core';
import { EnvironmentProxyAgent, type ProxyEnvironment, type ProxyRoute } from './proxies.js';
import { SocksEndpointFactory } from './socks.js';

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

/** Agents on a pool for routes other than direct with the default TLS policy, by route and policy. */
const routed = new WeakMap<HTTPConnectionPool, Map<string, Agent>>();
/** Routes kept per pool; past it the cache starts over (agents are cheap to make, connections stay in the pool). */
const MAX_ROUTES = 64;

function cached(pool: HTTPConnectionPool, key: string, make: () => Agent): Agent {
  let agents = routed.get(pool);
  if (agents === undefined) {
    agents = new Map();
    routed.set(pool, agents);
  }
  let agent = agents.get(key);
  if (agent === undefined) {
    agent = make();
    if (agents.size >= MAX_ROUTES) agents.clear();
    agents.set(key, agent);
  }
  return agent;
}

/**
 * The agent on `pool` for one route: direct (`proxy` null), through an HTTP(S) proxy (core's
 * `ProxyAgent`) or a SOCKS proxy (an `HttpAgent` on a {@link SocksEndpointFactory}), with `tlsPolicy`
 * for `https:` origins (null: core's default, verified). Made once per pool, route and policy, so
 * requests on the same route share one agent (and the client's shared stack).
 */
export function routedAgent(pool: HTTPConnectionPool, proxy: ProxyRoute | null, tlsPolicy: TLSPolicy | null): Agent {
  if (proxy === null && tlsPolicy === null) return agentForPool(pool);
  return cached(pool, `${proxy?.key ?? 'direct'} tls=${tlsPolicy?.id ?? 'default'}`, () => {
    const tls = tlsPolicy === null ? {} : { tlsPolicy };
    if (proxy === null) return new HttpAgent({ pool, endpointFactory: new StandardEndpointFactory(tls) });
    if (proxy.kind === 'http') return new ProxyAgent(proxy.url, { pool, ...tls });
    return HttpAgent.usingEndpointFactory(new SocksEndpointFactory(proxy.socks, tls), { pool });
  });
}

/** The agent on `pool` that picks each request's route from `environment` (see {@link EnvironmentProxyAgent}). */
export function environmentAgent(pool: HTTPConnectionPool, environment: ProxyEnvironment, tlsPolicy: TLSPolicy | null): Agent {
  return cached(pool, `env#${environment.id} tls=${tlsPolicy?.id ?? 'default'}`, () => new EnvironmentProxyAgent(environment, (route) => routedAgent(pool, route, tlsPolicy)));
}
