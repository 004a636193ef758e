/**
 * The in-memory fake agent: Strand's real `HttpAgent` (serializer, parser, connection state
 * machine, pool) whose connections are in-memory socket pairs to Node's own HTTP server running
 * the test's handler. No port is opened; faults can be injected on the transport. With the
 * `http2` option it is Strand's `Http2Agent` and Node's `http2` server on the same pairs.
 *
 * @packageDocumentation
 */

import {
  type Agent,
  type BodyProducer,
  CancelledError,
  type Clock,
  ConnectionRefusedError,
  type Endpoint,
  type EndpointFactory,
  type HeadersInit,
  Http2Agent,
  type Http2AgentOptions,
  HttpAgent,
  type HttpAgentOptions,
  HTTPConnectionPool,
  type HTTPConnectionPoolOptions,
  InvalidArgumentError,
  InvalidRequestError,
  type RequestOptions,
  type Response,
  systemClock,
  brand,
} from '@strand/core';
import type { Duplex } from 'node:stream';
import { FakeHttpServer } from './server/fake-server.js';
import { type RequestHandlerObject, type ServerBehaviour, routeTableFor } from './server/routes.js';
import { ServerRecord } from './server/server-record.js';
import { settle } from './settle.js';
import { type Fault, type NormalizedFault, normalizeFault } from './transport/faults.js';
import { MemoryClientSocket, socketError } from './transport/memory-socket.js';
import { checkClock, checkMilliseconds, checkOneOf, checkOptions, describeValue, isRecord } from './validation.js';

/** Options of {@link createFakeAgent}. */
export interface FakeAgentOptions {
  /**
   * The clock reply delays (and the default pool's timeouts) run on. Default: the system clock,
   * which jest's fake timers control; pass a `ManualClock` to move time by hand
   * ({@link FakeAgent.advance}).
   */
  clock?: Clock;
  /**
   * The pool of the underlying `HttpAgent`: a pool, or options for a new one (which then runs on
   * {@link FakeAgentOptions.clock}). Default: a new persistent pool on that clock.
   */
  pool?: HTTPConnectionPool | Omit<HTTPConnectionPoolOptions, 'clock'>;
  /** More options for the underlying `HttpAgent` (header limits and so on). */
  agentOptions?: Omit<HttpAgentOptions, 'endpointFactory' | 'pool'>;
  /** For a route table: what an unmatched request gets (see `RouteTableOptions.unmatched`). Default `'fail'`. */
  unmatched?: 'fail' | 'not-found';
  /**
   * Speak HTTP/2: requests go through Strand's `Http2Agent` (its session pool, streams, flow
   * control) to Node's `http2` server on the in-memory connections (HTTP/2 with prior knowledge,
   * for `http:` and `https:` URLs alike), so code that runs on an `Http2Agent` is tested on one.
   * `true`, or options for that agent (its timeouts, windows, session limits). Over HTTP/2 a
   * reply has no `statusText` and cannot be `raw` bytes or carry a `fault` (use
   * {@link FakeAgent.injectFault}: connection faults act on the session's bytes). Default false.
   */
  http2?: boolean | FakeHttp2Options;
}

/** `Http2Agent` options a fake agent over HTTP/2 takes (it provides the connections, the clock and the HTTP/1.1 agent). */
export type FakeHttp2Options = Omit<Http2AgentOptions, 'endpointFactory' | 'clock' | 'http1' | 'h2c' | 'allowH2' | 'tlsPolicy' | 'connectOptions'>;

/** Options of {@link FakeAgent.injectFault}. */
export interface InjectFaultOptions {
  /** How many new connections get the fault. Default 1; `Infinity` for all of them. */
  times?: number;
  /** Only connections to this origin (`http://api.test`, `https://host:8443`). Default: any. */
  origin?: string;
}

const FAKE_AGENT_OPTIONS = ['clock', 'pool', 'agentOptions', 'unmatched', 'http2'] as const;
/** What a fake over HTTP/2 provides itself. */
const PROVIDED_HTTP2_OPTIONS = ['endpointFactory', 'clock', 'http1', 'h2c', 'allowH2', 'tlsPolicy', 'connectOptions'] as const;

/** Runs `make` (a core constructor that checks its own options), naming where the options came from in its errors. */
function withOwner<T>(owner: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`${owner}: ${error.message}`, { cause: error });
    throw error;
  }
}

interface PlannedFault {
  fault: NormalizedFault;
  left: number;
  origin: string | null;
}

function originOf(uri: URL): string {
  const port = uri.port === '' ? (uri.protocol === 'https:' ? '443' : '80') : uri.port;
  return `${uri.protocol}//${uri.hostname}:${port}`;
}

function normalizeOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch (error) {
    throw new InvalidArgumentError(`injectFault: origin must be like "http://host:port", got ${JSON.stringify(origin)}`, { cause: error });
  }
  return originOf(url);
}

/**
 * A fake agent: implements `Agent` by running the real `HttpAgent` over in-memory connections
 * to a server answering with the test's handler, route table or `RequestSequence`. Create it
 * with {@link createFakeAgent}.
 *
 * @example
 * ```ts
 * const fake = createFakeAgent([{ method: 'GET', path: '/users/:id', reply: (req) => ({ json: { id: req.params.id } }) }]);
 * const response = await fake.request('GET', 'http://api.test/users/7');
 * expect(JSON.parse((await readBody(response)).toString())).toEqual({ id: '7' });
 * expect(fake.requests[0]?.path).toBe('/users/7');
 * await fake.close();
 * ```
 */
export class FakeAgent extends ServerRecord implements Agent {
  /** The real agent, on in-memory connections. Wrap it like any other agent. (With the `http2` option it answers only what {@link http2Agent} hands to HTTP/1.1, which is nothing.) */
  readonly agent: HttpAgent;
  /** With the `http2` option: the real `Http2Agent` every request goes through. Null otherwise. */
  readonly http2Agent: Http2Agent | null;
  /** The clock reply delays use. */
  readonly clock: Clock;
  /** The handler, as an object (a route table becomes a `RouteTable`). */
  readonly handler: RequestHandlerObject;
  /** @internal */
  protected readonly server: FakeHttpServer;
  private readonly clients = new Set<MemoryClientSocket>();
  private readonly planned: PlannedFault[] = [];
  private closed = false;

  /** @throws `InvalidArgumentError` naming the option, for an unknown option or a value of the wrong type. */
  constructor(behaviour: ServerBehaviour, options: FakeAgentOptions = {}) {
    super();
    const checked = checkOptions(options, FAKE_AGENT_OPTIONS, 'createFakeAgent');
    this.clock = checkClock(checked['clock'], 'createFakeAgent: clock') ?? systemClock;
    const unmatched = checkOneOf(checked['unmatched'], ['fail', 'not-found'], 'createFakeAgent: unmatched');
    const handler = routeTableFor(behaviour, unmatched, 'createFakeAgent');
    const poolOption = checked['pool'];
    let pool: HTTPConnectionPool;
    if (poolOption instanceof HTTPConnectionPool) {
      pool = poolOption;
    } else {
      if (poolOption !== undefined && !isRecord(poolOption)) throw new InvalidArgumentError(`createFakeAgent: pool must be an HTTPConnectionPool or its options, got ${describeValue(poolOption)}`);
      if (poolOption !== undefined && 'clock' in poolOption) throw new InvalidArgumentError('createFakeAgent: pool.clock is not an option here; give the clock as the clock option (the pool then runs on it)');
      // The pool checks its own options (names and values).
      const poolOptions = (poolOption ?? {}) as Omit<HTTPConnectionPoolOptions, 'clock'>;
      pool = withOwner('createFakeAgent: pool', () => new HTTPConnectionPool({ ...poolOptions, clock: this.clock }));
    }
    const agentOption = checked['agentOptions'];
    if (agentOption !== undefined && !isRecord(agentOption)) throw new InvalidArgumentError(`createFakeAgent: agentOptions must be an object of HttpAgent options, got ${describeValue(agentOption)}`);
    if (agentOption !== undefined && ('pool' in agentOption || 'endpointFactory' in agentOption)) {
      throw new InvalidArgumentError(
        `createFakeAgent: agentOptions.${'pool' in agentOption ? 'pool' : 'endpointFactory'} is not an option here; ${'pool' in agentOption ? 'give the pool as the pool option' : 'the fake agent provides the endpoints (its in-memory connections)'}`,
      );
    }
    const agentOptions = (agentOption ?? {}) as Omit<HttpAgentOptions, 'endpointFactory' | 'pool'>;
    const factory: EndpointFactory = { endpointForURI: (uri) => this.endpointFor(uri) };
    // The agent checks the rest of its options (names and values).
    this.agent = withOwner('createFakeAgent: agentOptions', () => HttpAgent.usingEndpointFactory(factory, { ...agentOptions, pool }));
    const http2 = checked['http2'];
    if (http2 !== undefined && typeof http2 !== 'boolean' && !isRecord(http2)) throw new InvalidArgumentError(`createFakeAgent: http2 must be a boolean or an object of Http2Agent options, got ${describeValue(http2)}`);
    if (http2 === undefined || http2 === false) {
      this.http2Agent = null;
    } else {
      const http2Options = (http2 === true ? {} : http2) as FakeHttp2Options;
      const provided = PROVIDED_HTTP2_OPTIONS.find((key) => key in http2Options);
      if (provided !== undefined) throw new InvalidArgumentError(`createFakeAgent: http2.${provided} is not an option here; the fake agent provides it (its in-memory connections and clock)`);
      // Every request is HTTP/2 with prior knowledge on the in-memory connections; the agent checks the rest of its options.
      this.http2Agent = withOwner('createFakeAgent: http2', () => new Http2Agent({ ...http2Options, endpointFactory: factory, h2c: true, clock: this.clock, http1: this.agent }));
    }
    this.server = new FakeHttpServer(handler, this.clock, this.http2Agent === null ? 'http/1.1' : 'h2');
    this.handler = this.server.handler;
  }

  /** How many connections the client has opened (refused ones not counted). */
  get connectionsOpened(): number {
    return this.server.connectionsOpened;
  }

  /** How many connections are open now. */
  get openConnections(): number {
    return this.server.openConnections;
  }

  /** The `Agent` method: same as `agent.request(...)`. */
  request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    return (this.http2Agent ?? this.agent).request(method, uri, headers, body, options);
  }

  /**
   * Applies `fault` to the next new connection(s). `'refuse'` makes `connect()` fail with
   * `ConnectionRefusedError`; the others act on the connection's response bytes from its first
   * byte. Existing pooled connections are not affected (close them, or use a non-persistent pool).
   */
  injectFault(fault: Fault, options: InjectFaultOptions = {}): void {
    const checked = checkOptions(options, ['times', 'origin'], 'injectFault');
    const times = checked['times'] ?? 1;
    if (typeof times !== 'number' || !(times >= 1) || (!Number.isInteger(times) && times !== Infinity)) {
      throw new InvalidArgumentError(`injectFault: times must be a positive integer or Infinity, got ${describeValue(times)}`);
    }
    const origin = checked['origin'];
    if (origin !== undefined && typeof origin !== 'string') throw new InvalidArgumentError(`injectFault: origin must be a string like "http://host:port", got ${describeValue(origin)}`);
    const normalized = normalizeFault(fault);
    if (this.http2Agent !== null && 'fromBody' in normalized && normalized.fromBody) {
      throw new InvalidArgumentError('injectFault: truncate and afterBodyBytes count the bytes after an HTTP/1.1 response head; over HTTP/2 (the http2 option) use afterBytes, counted from the start of the connection');
    }
    this.planned.push({ fault: normalized, left: times, origin: origin === undefined ? null : normalizeOrigin(origin) });
  }

  /**
   * Moves a `ManualClock` forward by `ms` (firing due reply delays), then {@link flush}es.
   * Throws `InvalidArgumentError` when the fake's clock cannot be advanced by hand. With jest's
   * fake timers: `await flush()` first (so the request reaches the server and its timers are
   * set), then `jest.advanceTimersByTime(ms)`, then `await flush()` again; advancing first moves
   * time before any timer exists and the request then waits until jest's test timeout.
   */
  async advance(ms: number): Promise<void> {
    const clock = this.clock as Clock & { advance?: (ms: number) => void };
    if (typeof clock.advance !== 'function') throw new InvalidArgumentError('advance: the fake agent was not given a clock with advance(ms), such as ManualClock');
    checkMilliseconds(ms, 'advance: ms');
    await this.flush();
    clock.advance(ms);
    await this.flush();
  }

  /**
   * Closes every connection (requests in progress fail, pending delays are cancelled) and the
   * pool's idle ones. Later requests are refused. Call it in `afterEach`/at the end of a test.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.agent.pool.closeCachedConnections();
    for (const client of this.clients) client.destroy();
    this.clients.clear();
    this.server.close();
    await settle(() => this.server.activity.value, { quietTurns: 1, maxTurns: 100 });
  }

  private endpointFor(uri: URL): Endpoint {
    if (uri.protocol !== 'http:' && uri.protocol !== 'https:') throw new InvalidRequestError(`unsupported URL scheme ${uri.protocol}`, { url: uri });
    const origin = originOf(uri);
    return { key: `memory+${origin}`, connect: (signal) => this.connect(origin, signal) };
  }

  private connect(origin: string, signal: AbortSignal | undefined): Promise<Duplex> {
    if (signal?.aborted === true) return Promise.reject(new CancelledError('request cancelled before connecting', { url: origin, cause: signal.reason }));
    if (this.closed) {
      return Promise.reject(new ConnectionRefusedError('connection refused: the fake agent is closed', { url: origin, cause: socketError('ECONNREFUSED', 'the fake agent is closed') }));
    }
    const fault = this.takeFault(origin);
    if (fault?.type === 'refuse') {
      return Promise.reject(new ConnectionRefusedError('connection refused (injected fault)', { url: origin, cause: socketError('ECONNREFUSED', 'injected fault') }));
    }
    const client = new MemoryClientSocket();
    const server = this.server.accept(client.sink, { origin, remoteAddress: '127.0.0.1', remotePort: 40000 + this.server.connectionsOpened }, fault);
    client.attach(server);
    this.clients.add(client);
    client.once('close', () => this.clients.delete(client));
    return Promise.resolve(client);
  }

  private takeFault(origin: string): NormalizedFault | null {
    for (let i = 0; i < this.planned.length; i++) {
      const plan = this.planned[i] as PlannedFault;
      if (plan.origin !== null && plan.origin !== origin) continue;
      plan.left--;
      if (plan.left <= 0) this.planned.splice(i, 1);
      return plan.fault;
    }
    return null;
  }
}

/**
 * Creates a {@link FakeAgent} answering with `behaviour`: a handler `(request) => reply` (sync
 * or async), an array of routes, or a handler object such as a `RequestSequence`.
 *
 * @example
 * ```ts
 * const fake = createFakeAgent((req) => ({ json: { youSent: req.method } }));
 * ```
 */
export function createFakeAgent(behaviour: ServerBehaviour, options: FakeAgentOptions = {}): FakeAgent {
  return new FakeAgent(behaviour, options);
}

brand(FakeAgent, 'testing.FakeAgent');
