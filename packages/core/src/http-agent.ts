import type { Agent, RequestOptions } from './agent.js';
import type { BodyProducer } from './body.js';
import { type EndpointFactory, StandardEndpointFactory } from './endpoints.js';
import type { HeadersInit } from './headers.js';
import type { ParserLimits } from './http1/parser.js';
import { prepareRequest } from './http1/serializer.js';
import { HTTPConnectionPool } from './pool.js';
import type { Response } from './response.js';

/** Options of {@link HttpAgent}. */
export interface HttpAgentOptions {
  /** Where connections are kept. Default: a new persistent pool for this agent. */
  pool?: HTTPConnectionPool;
  /** Chooses how to reach a URI. Default: TCP for `http:`, verified TLS for `https:`. */
  endpointFactory?: EndpointFactory;
  /** Max bytes of a response head (and of each 1xx head and the trailers). Default 16 KiB. */
  maxHeaderBytes?: number;
  /** Max header fields in a response head or trailers. Default 128. */
  maxHeaderCount?: number;
}

/**
 * The base {@link Agent}: HTTP/1.1 over TCP or TLS, with a connection pool.
 *
 * @example
 * ```ts
 * const agent = new HttpAgent();
 * const response = await agent.request('GET', 'http://127.0.0.1:8080/', { 'User-Agent': 'demo' });
 * console.log(response.code, (await readBody(response)).toString());
 * ```
 */
export class HttpAgent implements Agent {
  /** The pool this agent's connections live in. */
  readonly pool: HTTPConnectionPool;
  private readonly endpointFactory: EndpointFactory;
  private readonly limits: ParserLimits;

  constructor(options: HttpAgentOptions = {}) {
    this.pool = options.pool ?? new HTTPConnectionPool();
    this.endpointFactory = options.endpointFactory ?? new StandardEndpointFactory();
    this.limits = {};
    if (options.maxHeaderBytes !== undefined) this.limits.maxHeaderBytes = options.maxHeaderBytes;
    if (options.maxHeaderCount !== undefined) this.limits.maxHeaderCount = options.maxHeaderCount;
  }

  /** An agent on a given endpoint factory (a Unix socket, a tunnel, an in-memory transport). */
  static usingEndpointFactory(endpointFactory: EndpointFactory, options: Omit<HttpAgentOptions, 'endpointFactory'> = {}): HttpAgent {
    return new HttpAgent({ ...options, endpointFactory });
  }

  async request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options: RequestOptions = {}): Promise<Response> {
    const prepared = prepareRequest(method, uri, headers, body);
    const endpoint = this.endpointFactory.endpointForURI(prepared.url);
    const signal = options.signal;
    const connection = await this.pool.getConnection(endpoint, this.limits, signal);
    return connection.request(prepared, { signal, onInformational: options.onInformational, connectionClose: !this.pool.persistent });
  }
}
