import { type Agent, IDEMPOTENT_METHODS, type RequestOptions } from './agent.js';
import type { BodyProducer } from './message/producers.js';
import type { Clock } from './time/clock.js';
import { type Endpoint, type EndpointFactory, StandardEndpointFactory } from './net/endpoints.js';
import { InvalidArgumentError, RequestTransmissionFailedError, ResponseNeverReceivedError } from './errors.js';
import type { HeadersInit } from './message/headers.js';
import { type HTTP11Connection, wantsContinue } from './http1/connection.js';
import type { ExchangeTimings } from './message/exchange.js';
import { PARSER_LIMIT_KEYS, type ParserLimits, parserLimitsFrom } from './http1/parser.js';
import { type PreparedRequest, prepareRequest } from './http1/serializer.js';
import { HTTPConnectionPool } from './pool/pool.js';
import { PoolHolder } from './pool/pool-holder.js';
import { describeType, rejectUnknownOptions } from './validate.js';
import type { Response } from './message/response.js';
import { DEFAULT_TIMEOUTS, type ResolvedTimeouts, type TimeoutOptions, resolveTimeouts } from './time/timeouts.js';
import { brand } from './brand.js';
import { type DiagnosticsRequest, publishFailure, requestCreated } from './diagnostics.js';

/** Options of {@link HttpAgent}; the {@link ParserLimits} bound every response head. */
export interface HttpAgentOptions extends ParserLimits {
  /** Where connections are kept. Default: a new persistent pool for this agent. */
  pool?: HTTPConnectionPool;
  /** Chooses how to reach a URI. Default: TCP for `http:`, verified TLS for `https:`. */
  endpointFactory?: EndpointFactory;
  /** Default phase timeouts for every request ({@link DEFAULT_TIMEOUTS} otherwise); a request's `timeout` overrides them. */
  timeouts?: TimeoutOptions;
}

/**
 * The base {@link Agent}: HTTP/1.1 over TCP or TLS, with a connection pool.
 *
 * @example
 * ```ts
 * const agent = new HttpAgent({ timeouts: { connect: 5000, headers: 30000 } });
 * const response = await agent.request('GET', 'http://127.0.0.1:8080/', { 'User-Agent': 'demo' });
 * console.log(response.code, (await readBody(response)).toString());
 * ```
 */
export class HttpAgent extends PoolHolder implements Agent {
  /** The pool this agent's connections live in. */
  readonly pool: HTTPConnectionPool;
  private readonly endpointFactory: EndpointFactory;
  private readonly limits: ParserLimits;
  private readonly timeouts: ResolvedTimeouts;
  private readonly clock: Clock;

  constructor(options: HttpAgentOptions = {}) {
    rejectUnknownOptions(options, ['pool', 'endpointFactory', ...PARSER_LIMIT_KEYS, 'timeouts'], 'HttpAgent');
    if (options.pool !== undefined && !(options.pool instanceof HTTPConnectionPool)) {
      throw new InvalidArgumentError(`HttpAgent: pool must be an HTTPConnectionPool, got ${describeType(options.pool)}`);
    }
    if (options.endpointFactory !== undefined && typeof (options.endpointFactory as Partial<EndpointFactory> | null)?.endpointForURI !== 'function') {
      throw new InvalidArgumentError('HttpAgent: endpointFactory must have an endpointForURI(uri) method');
    }
    const pool = options.pool ?? new HTTPConnectionPool();
    // Closing the agent closes the pool it made, never one it was given.
    super(options.pool === undefined ? pool : null);
    this.pool = pool;
    this.clock = this.pool.clock;
    this.endpointFactory = options.endpointFactory ?? new StandardEndpointFactory();
    this.limits = parserLimitsFrom(options);
    this.timeouts = resolveTimeouts(DEFAULT_TIMEOUTS, options.timeouts, 'timeouts');
  }

  /** An agent on a given endpoint factory (a Unix socket, a tunnel, an in-memory transport). */
  static usingEndpointFactory(endpointFactory: EndpointFactory, options: Omit<HttpAgentOptions, 'endpointFactory'> = {}): HttpAgent {
    return new HttpAgent({ ...options, endpointFactory });
  }

  request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options: RequestOptions = {}): Promise<Response> {
    if (this.closed) return Promise.reject(this.closedError('this agent', uri));
    let checked: CheckedRequest;
    try {
      checked = checkRequest(method, uri, headers, body, options, this.timeouts);
    } catch (error) {
      return Promise.reject(error);
    }
    const { prepared, timeouts } = checked;
    const timings: ExchangeTimings = options.timings ?? { start: this.clock.now() };
    const diag = requestCreated(prepared.method, prepared.url.href, prepared.headers, options);
    const exchange = this.exchange({ prepared, options, timeouts, timings, retried: false, diag, expectation: prepared.body !== null && wantsContinue(prepared.headers) });
    // Failures before the connection (DNS, connect, queue) are the request's errors too.
    return diag === null ? exchange : exchange.catch((error: unknown) => publishFailure(diag, error));
  }

  /** Takes a connection (an idle one without a promise hop when there is one) and sends. */
  private exchange(req: AgentRequest): Promise<Response> {
    const { prepared, options, timeouts, timings } = req;
    let endpoint: Endpoint;
    try {
      endpoint = this.endpointFactory.endpointForURI(prepared.url);
    } catch (error) {
      return Promise.reject(error);
    }
    // A first attempt runs in the same synchronous call that read the start time: no clock read.
    const now = req.retried ? this.clock.now() : timings.start;
    const idle = this.pool.takeIdle(endpoint, now);
    if (idle !== null) return this.send(idle, endpoint, req, now);
    // With pipelining on: behind the requests of a busy connection, rather than in the queue.
    const pipelined = this.pool.takePipelined(endpoint, prepared);
    if (pipelined !== null) return this.send(pipelined, endpoint, req, now);
    const remaining = timeouts.total === Infinity ? Infinity : Math.max(1, timings.start + timeouts.total - this.clock.now());
    return this.pool
      .acquire(endpoint, {
        limits: this.limits,
        signal: options.signal,
        url: prepared.url.href,
        queueTimeout: Math.min(timeouts.queue, remaining),
        connectTimeout: Math.min(timeouts.connect, remaining),
        milestones: timings,
        pipelineRequest: this.pool.pipelining > 1 ? prepared : undefined,
        onConnect: (phase, now) => {
          if (phase === 'start') timings.connectStart = now;
          else timings.connectEnd = now;
        },
      })
      .then((connection) => this.send(connection, endpoint, req, this.clock.now()));
  }

  /** Sends `req` on `connection`; a reused connection that failed before any response byte is retried once, when safe. */
  private send(connection: HTTP11Connection, endpoint: Endpoint, req: AgentRequest, acquiredAt: number): Promise<Response> {
    const { prepared, options, timings } = req;
    timings.acquired = acquiredAt;
    const reused = connection.exchanges > 0;
    // holdProcess: false lets a connection that carries only this request not hold the event
    // loop; a pipelined request someone waits for makes its connection hold it again.
    if (options.holdProcess === false) {
      if (connection.pipelineDepth === 0) this.pool.holdProcessFor(connection, false);
    } else if (connection.pipelineDepth > 0) {
      this.pool.holdProcessFor(connection, true);
    }
    const bodyState = req.expectation ? { bodyStarted: false } : undefined;
    const sent = connection.request(prepared, {
      signal: options.signal,
      onInformational: options.onInformational,
      onHead: options.onHead,
      connectionClose: !this.pool.persistent,
      target: endpoint.requestTarget?.(prepared.url, prepared.target),
      timeouts: req.timeouts,
      startedAt: timings.start,
      timings,
      diagnostics: req.diag,
      expectContinueTimeout: options.expectContinueTimeout,
      bodyState,
    });
    const answered = bodyState === undefined ? sent : sent.then((response) => this.expectationFailed(req, response, bodyState));
    // On a pipelining pool a first request is retried the same way: a server that closes
    // mid-pipeline (a request limit) may reset the connection before its answer is read.
    if (req.retried || !(reused || this.pool.pipelining > 1) || !this.pool.retryAutomatically) return answered;
    return answered.catch((error: unknown) => {
      if (isRetrySafe(prepared, error)) return this.exchange({ ...req, retried: true });
      throw error;
    });
  }

  /**
   * A `417 Expectation Failed` to a request that sent `Expect: 100-continue`: sent again, once,
   * without the expectation, when its body was not sent yet or can be sent again (RFC 9110
   * §10.1.1). Any other response is returned as it is.
   */
  private async expectationFailed(req: AgentRequest, response: Response, bodyState: { bodyStarted: boolean }): Promise<Response> {
    const prepared = withoutExpectation(req.prepared, response, bodyState.bodyStarted);
    if (prepared === null) return response;
    await response.dump();
    return this.exchange({ ...req, prepared, expectation: false });
  }
}

/**
 * The request again without `Expect: 100-continue`, when `response` is a `417 Expectation
 * Failed` to it and its body was not sent yet or can be sent again (RFC 9110 §10.1.1); null
 * otherwise. HTTP/1.1 and HTTP/2 agents send it once more.
 */
export function withoutExpectation(prepared: PreparedRequest, response: Response, bodyStarted: boolean): PreparedRequest | null {
  const body = prepared.body;
  if (response.code !== 417 || (bodyStarted && body !== null && !body.replayable)) return null;
  const headers = prepared.headers.clone();
  headers.delete('expect');
  return prepareRequest(prepared.method, prepared.url, headers, body);
}

/** A request checked at the edge, with the timeouts it runs under. */
export interface CheckedRequest {
  readonly prepared: PreparedRequest;
  readonly timeouts: ResolvedTimeouts;
}

/**
 * @internal Where an agent's `request()` starts (HttpAgent's and Http2Agent's): the request
 * validated by {@link prepareRequest}, and the request's `timeout` option merged phase by phase
 * over the agent's `base` timeouts. Throws what those throw.
 */
export function checkRequest(method: string, uri: string | URL, headers: HeadersInit | null | undefined, body: BodyProducer | null | undefined, options: RequestOptions, base: ResolvedTimeouts): CheckedRequest {
  const prepared = prepareRequest(method, uri, headers, body);
  return { prepared, timeouts: options.timeout === undefined ? base : resolveTimeouts(base, options.timeout) };
}

/** One request through the agent, from the first connection attempt to its one automatic retry. */
interface AgentRequest {
  readonly prepared: PreparedRequest;
  readonly options: RequestOptions;
  readonly timeouts: ResolvedTimeouts;
  readonly timings: ExchangeTimings;
  /** This is the retry of a request that failed on a reused connection. */
  readonly retried: boolean;
  /** The request object of its diagnostics events, or null when nobody listens. */
  readonly diag: DiagnosticsRequest | null;
  /** It has a body and `Expect: 100-continue` (a 417 answer is retried once without it). */
  readonly expectation: boolean;
}

/**
 * @internal A failure on a reused connection (or HTTP/2 session) before any response byte, for a
 * request that may be sent again: idempotent, and with no body or one that replays. The rule of
 * both agents' automatic retry.
 */
export function isRetrySafe(prepared: PreparedRequest, error: unknown): boolean {
  const beforeResponse = error instanceof RequestTransmissionFailedError || (error instanceof ResponseNeverReceivedError && error.bytesReceived === 0);
  if (!beforeResponse) return false;
  if (!IDEMPOTENT_METHODS.has(prepared.method)) return false;
  return prepared.body === null || prepared.body.replayable;
}

brand(HttpAgent, 'core.HttpAgent');
