/**
 * Choosing a proxy from the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`), per request:
 * {@link proxyForUrl} and {@link EnvProxyAgent}.
 *
 * @packageDocumentation
 */

import * as net from 'node:net';
import type { Agent, RequestOptions } from '../agent.js';
import type { BodyProducer } from '../message/producers.js';
import type { HeadersInit } from '../message/headers.js';
import { parserLimitsFrom } from '../http1/parser.js';
import { HttpAgent, type HttpAgentOptions } from '../http-agent.js';
import { HTTPConnectionPool } from '../pool/pool.js';
import { PoolHolder } from '../pool/pool-holder.js';
import type { Response } from '../message/response.js';
import { ProxyAgent, type ProxyAgentOptions } from './proxy.js';
import { parseProxyUrl } from './proxy-tunnel.js';
import { effectivePort } from './sensitive-headers.js';
import { brand } from '../brand.js';

/** The environment variables read, as an object (`process.env` by default). */
export type ProxyEnvironment = Readonly<Record<string, string | undefined>>;

/** One `NO_PROXY` entry. */
type NoProxyRule = { kind: 'all' } | { kind: 'name'; name: string; port: number } | { kind: 'ip'; list: net.BlockList; port: number };

const parsedNoProxy = new Map<string, NoProxyRule[]>();

/** The first non-empty value among `names`, trimmed. */
function firstSet(env: ProxyEnvironment, names: readonly string[]): { name: string; value: string } | null {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') return { name, value };
  }
  return null;
}

/** A host as matched against NO_PROXY: lower case, no IPv6 brackets, no root dot. */
function normalHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.length > 1 && h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

function ipList(address: string, prefix: number | null): net.BlockList | null {
  const family = net.isIP(address);
  if (family === 0) return null;
  const list = new net.BlockList();
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (prefix === null) list.addAddress(address, type);
  else if (prefix >= 0 && prefix <= (family === 6 ? 128 : 32)) list.addSubnet(address, prefix, type);
  else return null;
  return list;
}

/** Parses one NO_PROXY entry; null for an entry that can match nothing. */
function parseRule(entry: string): NoProxyRule | null {
  if (entry === '*') return { kind: 'all' };
  let host = entry;
  let port = 0;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed !== null) {
    host = bracketed[1] as string;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else {
    const colon = entry.indexOf(':');
    // One colon: host:port. Several: a bare IPv6 literal (or CIDR), no port.
    if (colon !== -1 && colon === entry.lastIndexOf(':')) {
      const portText = entry.slice(colon + 1);
      if (!/^\d+$/.test(portText)) return null;
      host = entry.slice(0, colon);
      port = Number(portText);
    }
  }
  const slash = host.indexOf('/');
  if (slash !== -1) {
    const prefix = host.slice(slash + 1);
    if (!/^\d+$/.test(prefix)) return null;
    const list = ipList(host.slice(0, slash), Number(prefix));
    return list === null ? null : { kind: 'ip', list, port };
  }
  const list = ipList(host, null);
  if (list !== null) return { kind: 'ip', list, port };
  // A domain: `example.com`, `.example.com` and `*.example.com` all mean the domain and every subdomain.
  let name = normalHost(host);
  if (name.startsWith('*.')) name = name.slice(2);
  else if (name.startsWith('.')) name = name.slice(1);
  if (name === '' || name.includes('*')) return null;
  return { kind: 'name', name, port };
}

function noProxyRules(value: string): NoProxyRule[] {
  let rules = parsedNoProxy.get(value);
  if (rules === undefined) {
    rules = [];
    for (const entry of value.split(/[\s,]+/)) {
      if (entry === '') continue;
      const rule = parseRule(entry);
      if (rule !== null) rules.push(rule);
    }
    if (parsedNoProxy.size > 64) parsedNoProxy.clear();
    parsedNoProxy.set(value, rules);
  }
  return rules;
}

/**
 * True when `NO_PROXY` (or `no_proxy`) says `url` goes direct. Entries are separated by commas
 * (or spaces):
 *
 * - `*` matches every host.
 * - A domain (`example.com`, `.example.com` or `*.example.com`: the same) matches that host and
 *   every subdomain (`api.example.com`), never a longer name (`badexample.com`). Case and a
 *   trailing root dot are ignored.
 * - An IP literal (`127.0.0.1`, `::1`, `[::1]`) matches that address; a CIDR block
 *   (`10.0.0.0/8`, `fd00::/8`) any address in it. IP entries only match URLs whose host is an IP
 *   literal: no DNS lookups are made, so `localhost` does not match `127.0.0.1`.
 * - `:port` after any of them (`example.com:8080`, `[::1]:8443`) restricts it to that port (the
 *   URL's port, or 80/443 by default).
 */
export function bypassesProxy(url: URL, env: ProxyEnvironment = process.env): boolean {
  const noProxy = firstSet(env, ['no_proxy', 'NO_PROXY']);
  if (noProxy === null) return false;
  const host = normalHost(url.hostname);
  const port = effectivePort(url);
  const family = net.isIP(host);
  for (const rule of noProxyRules(noProxy.value)) {
    switch (rule.kind) {
      case 'all':
        return true;
      case 'name':
        if (family === 0 && (rule.port === 0 || rule.port === port) && (host === rule.name || host.endsWith(`.${rule.name}`))) return true;
        break;
      case 'ip':
        if (family !== 0 && (rule.port === 0 || rule.port === port) && rule.list.check(host, family === 6 ? 'ipv6' : 'ipv4')) return true;
        break;
    }
  }
  return false;
}

/**
 * The proxy the environment chooses for `url`, or null to go direct, as curl and most clients read it:
 *
 * - `http:` URLs use `http_proxy`, then `HTTP_PROXY`; `https:` URLs use `https_proxy`, then
 *   `HTTPS_PROXY` (the first non-empty one). There is no fallback from one scheme to the other,
 *   and `ALL_PROXY` is not read.
 * - When `REQUEST_METHOD` is set (the process is a CGI script), the upper-case `HTTP_PROXY` is
 *   ignored: a client could set it through a `Proxy:` request header ("httpoxy").
 * - `NO_PROXY`/`no_proxy` exempts hosts; see {@link bypassesProxy}.
 * - A value without a scheme (`proxy:3128`) means `http://proxy:3128`. Any other value
 *   {@link parseProxyUrl} refuses (`http:/proxy:3128`, no host, a path...) is an error naming
 *   the variable, not a guess.
 *
 * @throws {@link InvalidArgumentError} when the chosen variable is not a valid http(s) proxy URL.
 */
export function proxyForUrl(url: string | URL, env: ProxyEnvironment = process.env): URL | null {
  const target = typeof url === 'string' ? new URL(url) : url;
  let names: readonly string[];
  if (target.protocol === 'http:') names = env['REQUEST_METHOD'] === undefined ? ['http_proxy', 'HTTP_PROXY'] : ['http_proxy'];
  else if (target.protocol === 'https:') names = ['https_proxy', 'HTTPS_PROXY'];
  else return null;
  const chosen = firstSet(env, names);
  if (chosen === null) return null;
  if (bypassesProxy(target, env)) return null;
  return parseProxyUrl(chosen.value, chosen.name);
}

/** Options of {@link EnvProxyAgent}. */
export interface EnvProxyAgentOptions extends ProxyAgentOptions {
  /** Where the proxy settings are read, on every request. Default `process.env`. */
  env?: ProxyEnvironment;
  /** The agent for requests that go direct. Default: an `HttpAgent` on the same pool. */
  direct?: Agent;
}

/**
 * Chooses, for every request (every redirect hop, when wrapped by a redirect agent), between
 * going direct and a {@link ProxyAgent}, from `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` in
 * lower or upper case (see {@link proxyForUrl}). The environment object is read on each
 * request; pass your own `env` to avoid depending on `process.env`.
 *
 * @example
 * ```ts
 * const agent = new RedirectAgent(new EnvProxyAgent({ env: { HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '.internal' } }));
 * ```
 */
export class EnvProxyAgent extends PoolHolder implements Agent {
  /** The pool shared by the direct agent (unless given) and every proxy agent. */
  readonly pool: HTTPConnectionPool;
  private readonly env: ProxyEnvironment;
  private readonly direct: Agent;
  private readonly proxyOptions: ProxyAgentOptions;
  private readonly proxies = new Map<string, ProxyAgent>();

  constructor(options: EnvProxyAgentOptions = {}) {
    const { env, direct, ...proxyOptions } = options;
    const pool = proxyOptions.pool ?? new HTTPConnectionPool();
    // Closing the agent closes the pool it made, never one it was given (nor a given `direct` agent).
    super(proxyOptions.pool === undefined ? pool : null);
    this.pool = pool;
    this.env = env ?? process.env;
    this.proxyOptions = { ...proxyOptions, pool: this.pool };
    if (direct !== undefined) {
      this.direct = direct;
    } else {
      const directOptions: HttpAgentOptions = { pool: this.pool, ...parserLimitsFrom(proxyOptions) };
      if (proxyOptions.timeouts !== undefined) directOptions.timeouts = proxyOptions.timeouts;
      this.direct = new HttpAgent(directOptions);
    }
  }

  /** The agent a request to `uri` goes through now: the direct agent or a proxy agent. */
  agentFor(uri: string | URL): Agent {
    let url: URL;
    try {
      url = typeof uri === 'string' ? new URL(uri) : uri;
    } catch {
      return this.direct; // not a URL: the direct agent reports it like any bad request
    }
    const proxy = proxyForUrl(url, this.env);
    if (proxy === null) return this.direct;
    let agent = this.proxies.get(proxy.href);
    if (agent === undefined) {
      agent = new ProxyAgent(proxy, this.proxyOptions);
      this.proxies.set(proxy.href, agent);
    }
    return agent;
  }

  request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    if (this.closed) return Promise.reject(this.closedError('this agent', uri));
    let agent: Agent;
    try {
      agent = this.agentFor(uri);
    } catch (error) {
      return Promise.reject(error);
    }
    return agent.request(method, uri, headers, body, options);
  }
}

brand(EnvProxyAgent, 'core.EnvProxyAgent');
