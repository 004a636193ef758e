/**
 * {@link ProxyAgent}: requests through an HTTP proxy — plain `http:` requests in absolute form,
 * `https:` requests through a `CONNECT` tunnel with TLS to the origin inside it.
 *
 * @packageDocumentation
 */

import type { Agent, RequestOptions } from '../agent.js';
import type { BodyProducer } from '../message/producers.js';
import type { ConnectOptions, Endpoint, EndpointFactory } from '../net/endpoints.js';
import { InvalidArgumentError, InvalidRequestError, type StrandError } from '../errors.js';
import type { HeadersInit } from '../message/headers.js';
import { type ParserLimits, parserLimitsFrom } from '../http1/parser.js';
import { HttpAgent, type HttpAgentOptions } from '../http-agent.js';
import { HTTPConnectionPool } from '../pool/pool.js';
import type { Response } from '../message/response.js';
import type { TimeoutOptions } from '../time/timeouts.js';
import { type TLSPolicy, defaultTLSPolicy } from '../net/tls-policy.js';
import { Http2Agent, type Http2AgentOptions } from '../http2/agent.js';
import { H2AlpnPolicy } from '../http2/alpn.js';
import { describeType } from '../validate.js';
import { ProxyConnector, TunnelEndpoint, parseProxyUrl, socketHost, urlPort } from './proxy-tunnel.js';
import { copyHeaders } from './shared.js';
import { brand } from '../brand.js';

/** Options of {@link ProxyAgent}. */
export interface ProxyAgentOptions extends ParserLimits {
  /** Where connections (to the proxy, and tunnels through it) are kept. Default: a new persistent pool. */
  pool?: HTTPConnectionPool;
  /** Verifies `https:` origins inside the tunnel. Default: the shared browser-like policy (verified). */
  tlsPolicy?: TLSPolicy;
  /** Verifies an `https:` proxy itself. Default: the shared browser-like policy (verified). */
  proxyTlsPolicy?: TLSPolicy;
  /** How TCP connections to the proxy are opened (local address, family, resolver...). */
  connectOptions?: ConnectOptions;
  /** Default phase timeouts; `connect` covers reaching the proxy, CONNECT and the origin's TLS handshake. */
  timeouts?: TimeoutOptions;
  /**
   * Speak HTTP/2 to `https:` origins that choose it: the TLS handshake inside each tunnel offers
   * `h2` by ALPN, and an `Http2Agent` multiplexes that origin's requests on one tunnel (sessions
   * pooled per origin and proxy). Origins that choose HTTP/1.1, and `http:` requests, go as
   * without it. Default false.
   */
  http2?: boolean;
}

/**
 * Sends every request through one HTTP proxy (`http://` or `https://`; see {@link parseProxyUrl}).
 *
 * - `http:` requests go to the proxy with the absolute-form target (`GET http://host/path`), on
 *   pooled connections to the proxy, with `Proxy-Authorization: Basic ...` made from the proxy
 *   URL's credentials (which replaces any the caller gave).
 * - `https:` requests go through a `CONNECT host:port` tunnel ({@link TunnelEndpoint}) with TLS
 *   to the origin inside it, verified against the origin (`tlsPolicy`), not the proxy. The
 *   credentials go on the CONNECT only; a `Proxy-Authorization` header from the caller is not
 *   sent to the origin either. Tunnels are pooled under a key naming origin and proxy. A
 *   CONNECT refused (407 included) is a {@link ProxyError}; the request is never sent.
 *
 * To choose the proxy per request from `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`, use `EnvProxyAgent`.
 *
 * @example
 * ```ts
 * const agent = new ProxyAgent('http://user:secret@proxy.internal:3128');
 * const response = await agent.request('GET', 'https://example.com/');
 * ```
 */
export class ProxyAgent implements Agent {
  /** The pool of connections to the proxy and of tunnels through it. */
  readonly pool: HTTPConnectionPool;
  private readonly connector: ProxyConnector;
  /** Requests go through a normal HttpAgent whose endpoints lead to (or through) the proxy. */
  private readonly agent: HttpAgent;
  /** With `http2`: the agent for `https:` requests (HTTP/1.1 origins go on to {@link agent}), else null. */
  private readonly h2: Http2Agent | null;
  private readonly ownsPool: boolean;

  /**
   * @param proxy - the proxy URL, e.g. `http://user:password@127.0.0.1:3128`.
   * @throws {@link InvalidArgumentError} for a proxy URL that is not http(s) or has no host.
   */
  constructor(proxy: string | URL, options: ProxyAgentOptions = {}) {
    const connectorOptions: ConstructorParameters<typeof ProxyConnector>[1] = {};
    if (options.proxyTlsPolicy !== undefined) connectorOptions.proxyTlsPolicy = options.proxyTlsPolicy;
    if (options.connectOptions !== undefined) connectorOptions.connectOptions = options.connectOptions;
    const connector = new ProxyConnector(parseProxyUrl(proxy), connectorOptions);
    this.connector = connector;
    this.ownsPool = options.pool === undefined;
    this.pool = options.pool ?? new HTTPConnectionPool();
    const limits = parserLimitsFrom(options);
    // Plain http: connections to the proxy itself, carrying absolute-form targets (RFC 9112 §3.2.2).
    const forward: Endpoint = {
      key: `forward via ${connector.key}`,
      connect: (signal) => connector.connect(signal),
      requestTarget: (url, originForm) => `${url.protocol}//${url.host}${originForm}`,
    };
    const tunnelOptions = { limits, ...(options.tlsPolicy === undefined ? {} : { tlsPolicy: options.tlsPolicy }) };
    const factory: EndpointFactory = {
      endpointForURI: (uri) => {
        if (uri.protocol === 'http:') return forward;
        if (uri.protocol !== 'https:') throw new InvalidRequestError(`a proxy carries only http: and https: URLs, got ${uri.protocol}`, { url: uri });
        return new TunnelEndpoint(connector, socketHost(uri), urlPort(uri), true, tunnelOptions);
      },
    };
    const agentOptions: Omit<HttpAgentOptions, 'endpointFactory'> = { pool: this.pool, ...limits };
    if (options.timeouts !== undefined) agentOptions.timeouts = options.timeouts;
    this.agent = HttpAgent.usingEndpointFactory(factory, agentOptions);
    if (options.http2 !== undefined && typeof options.http2 !== 'boolean') throw new InvalidArgumentError(`ProxyAgent: http2 must be a boolean, got ${describeType(options.http2)}`);
    if (options.http2 === true) {
      // The same tunnels, their TLS offering h2: a tunnel whose origin chose HTTP/1.1 goes to the HttpAgent (a new one: no hand-over through a proxy).
      const h2Tunnels = { ...tunnelOptions, tlsPolicy: new H2AlpnPolicy(options.tlsPolicy ?? defaultTLSPolicy()) };
      const endpointFactory: EndpointFactory = { endpointForURI: (uri) => new TunnelEndpoint(connector, socketHost(uri), urlPort(uri), true, h2Tunnels) };
      const h2Options: Http2AgentOptions = { endpointFactory, http1: this.agent };
      if (options.timeouts !== undefined) h2Options.timeouts = options.timeouts;
      if (limits.maxHeaderBytes !== undefined) h2Options.maxHeaderBytes = limits.maxHeaderBytes;
      if (limits.maxHeaderCount !== undefined) h2Options.maxHeaderCount = limits.maxHeaderCount;
      if (options.connectOptions?.clock !== undefined) h2Options.clock = options.connectOptions.clock;
      this.h2 = new Http2Agent(h2Options);
    } else {
      this.h2 = null;
    }
  }

  /** The proxy's URL without credentials, for display. */
  get proxyUrl(): string {
    return this.connector.displayName;
  }

  /**
   * Stops taking requests (they fail with `ClosedError`); the pool this agent made is closed
   * (idle connections now, busy ones once their response was read). A pool given in the
   * options belongs to the caller and stays open.
   */
  async close(): Promise<void> {
    await this.h2?.close();
    await this.agent.close();
    if (this.ownsPool) await this.pool.close();
  }

  /** Like {@link close}, but requests in flight on its own pool fail now (with `reason`). */
  async destroy(reason?: StrandError): Promise<void> {
    await this.h2?.destroy(reason);
    await this.agent.close();
    if (this.ownsPool) await this.pool.destroy(reason);
  }

  /** `await using`: {@link close} at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options: RequestOptions = {}): Promise<Response> {
    const copy = copyHeaders(headers, uri);
    const secure = uri instanceof URL ? uri.protocol === 'https:' : /^https:/i.test(uri);
    if (secure) {
      // Proxy credentials belong to the CONNECT; never to the origin at the end of the tunnel.
      copy.delete('proxy-authorization');
      if (this.h2 !== null) return this.h2.request(method, uri, copy, body, options);
    } else if (this.connector.authorization !== null) {
      copy.set('Proxy-Authorization', this.connector.authorization);
    }
    return this.agent.request(method, uri, copy, body, options);
  }
}

brand(ProxyAgent, 'core.ProxyAgent');
