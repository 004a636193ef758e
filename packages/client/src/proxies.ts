/**
 * The `proxy` option and the proxy environment variables: which proxy a request goes through,
 * read and checked once. HTTP(S) proxies are core's (`parseProxyUrl`, `ProxyAgent`), SOCKS ones
 * the client's ({@link SocksEndpointFactory}); `NO_PROXY` is matched by core's `bypassesProxy`.
 */

import {
  type Agent,
  type BodyProducer,
  type HeadersInit,
  InvalidArgumentError,
  type RequestOptions,
  type Response,
  bypassesProxy,
  parseProxyUrl,
} from '@strand/core';
import { describe } from './fields.js';
import { type SocksProxy, isSocksScheme, parseSocksProxyUrl, redactProxyValue } from './socks.js';

/** A proxy, checked: an HTTP(S) proxy for core's `ProxyAgent`, or a SOCKS proxy. `key` tells proxies (and their credentials) apart. */
export type ProxyRoute =
  | { readonly kind: 'http'; readonly url: URL; readonly key: string }
  | { readonly kind: 'socks'; readonly socks: SocksProxy; readonly key: string };

/** Parses one proxy URL; `option` names the option or variable in messages. */
export function parseProxyRoute(value: string | URL, option: string): ProxyRoute {
  const text = typeof value === 'string' ? value.trim() : value.href;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme !== undefined && isSocksScheme(scheme)) {
    const socks = parseSocksProxyUrl(value, option);
    return { kind: 'socks', socks, key: `${socks.displayName} ${JSON.stringify([socks.username, socks.password])}` };
  }
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') {
    const hint = scheme === 'socks' ? ' (say which SOCKS: socks5h://, socks5://, socks4a:// or socks4://)' : '';
    throw new InvalidArgumentError(`${option} is not a valid proxy URL (${redactProxyValue(text)}): unsupported scheme ${scheme}://${hint}; use http://, https://, socks5h://, socks5://, socks4a:// or socks4://`);
  }
  // Core's parser: http(s) only, no scheme means http://, and it names `option` in its messages.
  const url = parseProxyUrl(value, option);
  return { kind: 'http', url, key: url.href };
}

const parsedProxies = new Map<string, ProxyRoute>();

/**
 * Checks the `proxy` option: a route, `false` (no proxy), or null when not given. A string seen
 * before is not parsed again (a request's own `proxy` is read on every call).
 */
export function normalizeProxy(value: unknown, option = 'proxy'): ProxyRoute | false | null {
  if (value === undefined) return null;
  if (value === false) return false;
  if (typeof value === 'string') {
    let route = parsedProxies.get(value);
    if (route === undefined) {
      route = parseProxyRoute(value, option);
      if (parsedProxies.size >= 64) parsedProxies.clear();
      parsedProxies.set(value, route);
    }
    return route;
  }
  if (value instanceof URL) return parseProxyRoute(value, option);
  throw new InvalidArgumentError(`${option} must be a proxy URL (a string or a URL) or false, got ${describe(value)}`);
}

/** The environment as read: names to values. */
export type EnvironmentVariables = Readonly<Record<string, string | undefined>>;

const HTTP_NAMES = ['http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'] as const;
/** Under CGI a request's `Proxy:` header arrives as `HTTP_PROXY` (httpoxy): it is never read then. */
const HTTP_NAMES_CGI = ['http_proxy', 'all_proxy', 'ALL_PROXY'] as const;
const HTTPS_NAMES = ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'] as const;
const PROXY_NAMES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'] as const;

let nextEnvironmentId = 1;

/**
 * The proxy variables of an environment, read once (see `trustEnv`): `http_proxy`/`HTTP_PROXY`
 * for `http:` URLs, `https_proxy`/`HTTPS_PROXY` for `https:`, then `all_proxy`/`ALL_PROXY` for
 * both; the lower-case name first, an empty value as unset. `HTTP_PROXY` is not read when
 * `REQUEST_METHOD` is set (a CGI script: httpoxy). `no_proxy`/`NO_PROXY` lists hosts that go
 * direct (core's `bypassesProxy`). A variable's value is checked when a request first needs it;
 * a bad one fails those requests with an `InvalidArgumentError` naming the variable.
 */
export class ProxyEnvironment {
  /** Tells environments apart in agent caches. */
  readonly id = nextEnvironmentId++;
  private readonly routes = new Map<string, ProxyRoute | InvalidArgumentError>();

  private constructor(
    private readonly values: Readonly<Record<string, string>>,
    private readonly noProxy: EnvironmentVariables,
    private readonly cgi: boolean,
  ) {}

  /** Reads `env`; null when it sets no proxy variable, so a client without proxies pays nothing per request. */
  static read(env: EnvironmentVariables = process.env): ProxyEnvironment | null {
    const values: Record<string, string> = {};
    let any = false;
    for (const name of PROXY_NAMES) {
      const value = env[name]?.trim();
      if (value !== undefined && value !== '') {
        values[name] = value;
        any = true;
      }
    }
    if (!any) return null;
    const noProxy: Record<string, string> = {};
    for (const name of ['no_proxy', 'NO_PROXY']) {
      const value = env[name];
      if (value !== undefined) noProxy[name] = value;
    }
    return new ProxyEnvironment(values, noProxy, env['REQUEST_METHOD'] !== undefined);
  }

  /**
   * The proxy for `url`, or null to go direct.
   * @throws `InvalidArgumentError` naming the variable when its value is not a valid proxy URL.
   */
  proxyFor(url: URL): ProxyRoute | null {
    const names = url.protocol === 'http:' ? (this.cgi ? HTTP_NAMES_CGI : HTTP_NAMES) : url.protocol === 'https:' ? HTTPS_NAMES : null;
    if (names === null) return null;
    let chosen: string | undefined;
    for (const name of names) {
      if (this.values[name] !== undefined) {
        chosen = name;
        break;
      }
    }
    if (chosen === undefined || bypassesProxy(url, this.noProxy)) return null;
    let route = this.routes.get(chosen);
    if (route === undefined) {
      try {
        route = parseProxyRoute(this.values[chosen] as string, chosen);
      } catch (error) {
        if (!(error instanceof InvalidArgumentError)) throw error;
        route = error;
      }
      this.routes.set(chosen, route);
    }
    if (route instanceof InvalidArgumentError) throw new InvalidArgumentError(route.message);
    return route;
  }
}

/** `scheme://authority` of an absolute URL string, what the proxy choice depends on. */
const ORIGIN_OF = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/**
 * The base agent of a client whose environment names proxies: for every request — every hop of
 * a redirect chain, as it sits under the redirect agent — it asks the environment for that URL's
 * proxy (or none) and sends through `agentFor(route)`, the agent of that route. The choice
 * depends on the scheme, host and port only, so it is remembered per `scheme://authority`.
 */
export class EnvironmentProxyAgent implements Agent {
  private readonly chosen = new Map<string, Agent>();

  constructor(
    private readonly environment: ProxyEnvironment,
    private readonly agentFor: (route: ProxyRoute | null) => Agent,
  ) {}

  request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    let agent: Agent | undefined;
    try {
      const href = typeof uri === 'string' ? uri : uri.href;
      const origin = ORIGIN_OF.exec(href)?.[0];
      agent = origin === undefined ? undefined : this.chosen.get(origin);
      if (agent === undefined) {
        agent = this.agentFor(this.environment.proxyFor(typeof uri === 'string' ? new URL(uri) : uri));
        if (origin !== undefined) {
          if (this.chosen.size >= 256) this.chosen.clear();
          this.chosen.set(origin, agent);
        }
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return agent.request(method, uri, headers, body, options);
  }
}
