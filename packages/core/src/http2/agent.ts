/**
 * `Http2Agent`: the {@link Agent} that speaks HTTP/2 through `node:http2`, with a per-origin
 * session pool, and HTTP/1.1 (an `HttpAgent`) for servers that do not choose `h2`.
 *
 * @packageDocumentation
 */

import type { OutgoingHttpHeaders } from 'node:http2';
import type { Duplex } from 'node:stream';
import { type Agent, type RequestOptions } from '../agent.js';
import { ClosedError, InvalidArgumentError, type StrandError } from '../errors.js';
import { type CheckedRequest, HttpAgent, checkRequest, isRetrySafe, withoutExpectation } from '../http-agent.js';
import { wantsContinue } from '../http1/connection.js';
import { type PreparedRequest, checkRequestLine } from '../http1/serializer.js';
import { DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_HEADER_COUNT } from '../http1/parser.js';
import type { ExchangeTimings } from '../message/exchange.js';
import type { HeadersInit } from '../message/headers.js';
import type { BodyProducer } from '../message/producers.js';
import type { Response } from '../message/response.js';
import { type ConnectOptions, type EndpointFactory, StandardEndpointFactory } from '../net/endpoints.js';
import { type TLSPolicy, defaultTLSPolicy } from '../net/tls-policy.js';
import { HTTPConnectionPool } from '../pool/pool.js';
import { type Clock, systemClock } from '../time/clock.js';
import { DEFAULT_TIMEOUTS, type ResolvedTimeouts, type TimeoutOptions, resolveTimeouts } from '../time/timeouts.js';
import { type DiagnosticsRequest, handOverRequest, publishFailure, requestCreated } from '../diagnostics.js';
import { describeType, rejectUnknownOptions } from '../validate.js';
import { brand } from '../brand.js';
import { H2AlpnPolicy, HandOverEndpointFactory } from './alpn.js';
import { requestFields } from './fields.js';
import type { H2Session } from './session.js';
import { H2SessionPool } from './session-pool.js';
import { H2Exchange, UnprocessedRequestError } from './stream-exchange.js';

/** Options of {@link Http2Agent}. */
export interface Http2AgentOptions {
  /**
   * Offer `h2` over ALPN on `https:` connections, and speak HTTP/2 when the server chooses it
   * (HTTP/1.1 otherwise). Default true: making an `Http2Agent` is the opt-in.
   */
  allowH2?: boolean;
  /**
   * Speak HTTP/2 in clear text to `http:` URLs, with prior knowledge (RFC 9113 §3.3): no
   * upgrade, the connection starts with the HTTP/2 preface. Only for servers you know speak it
   * (a loopback or internal service); a server that does not fails the request. Default false:
   * `http:` requests go over HTTP/1.1.
   */
  h2c?: boolean;
  /** TLS for `https:` (verification, trust roots, client certificates). Default: the shared {@link BrowserLikePolicyForHTTPS}. */
  tlsPolicy?: TLSPolicy;
  /** How sockets are opened (local address, family, resolver, keep-alive); `tlsPolicy` and `unixSockets` are not taken here. */
  connectOptions?: ConnectOptions;
  /**
   * Where connections come from, instead of TCP and TLS from `tlsPolicy` and `connectOptions`
   * (then unused): a transport of your own, such as `@strand/testing`'s in-memory sockets. A TLS
   * socket speaks what its ALPN chose (offer `h2` and `http/1.1` for HTTP/2 to be chosen); any
   * other socket speaks HTTP/2 with prior knowledge, whatever the URL's scheme. Which requests
   * go over HTTP/2 is still decided by `allowH2` (`https:`) and `h2c` (`http:`); the default
   * HTTP/1.1 agent connects through the same factory.
   */
  endpointFactory?: EndpointFactory;
  /** Default phase timeouts for every request ({@link DEFAULT_TIMEOUTS} otherwise); a request's `timeout` overrides them. */
  timeouts?: TimeoutOptions;
  /** The clock timeouts and idle expiry run on. Default: the system clock. */
  clock?: Clock;
  /** An idle session (no stream open) is closed after this many ms. Default 30000 (as idle HTTP/1.1 connections). */
  sessionIdleTimeout?: number;
  /**
   * A session idle for this many ms is checked with a PING before it takes a request (the
   * request waits one round trip); one that does not answer within the connect timeout is
   * dropped and another opened. Default 10000; `Infinity` never pings.
   */
  pingAfterIdle?: number;
  /**
   * Most sessions opened to one origin. A session carries up to the server's
   * `SETTINGS_MAX_CONCURRENT_STREAMS` streams; when all are full another is opened, up to
   * this; past it, new streams wait in the least busy session. Default 16.
   */
  maxSessionsPerOrigin?: number;
  /** Largest response head accepted (`SETTINGS_MAX_HEADER_LIST_SIZE`), bytes. Default 16 KiB (as HTTP/1.1). */
  maxHeaderBytes?: number;
  /** Most fields in a response head. Default 128 (as HTTP/1.1). */
  maxHeaderCount?: number;
  /**
   * Body bytes the server may send on one stream ahead of its reader (our
   * `SETTINGS_INITIAL_WINDOW_SIZE`): what a paused body holds at most, and what a fast download
   * needs in flight. Default 256 KiB (Node's own 64 KiB halves a 1 MiB download's speed on loopback).
   */
  streamWindowSize?: number;
  /** Body bytes all the streams of a session may receive ahead of their readers. Default 1 MiB. */
  sessionWindowSize?: number;
  /**
   * The agent for HTTP/1.1 requests: servers that do not choose `h2`, and `http:` without `h2c`.
   * Default: an `HttpAgent` on the same TLS policy and connect options (or `endpointFactory`),
   * timeouts and clock, closed with this agent (a given one belongs to the caller and stays open).
   */
  http1?: Agent;
}

const OPTION_KEYS = ['allowH2', 'h2c', 'tlsPolicy', 'connectOptions', 'endpointFactory', 'timeouts', 'clock', 'sessionIdleTimeout', 'pingAfterIdle', 'maxSessionsPerOrigin', 'maxHeaderBytes', 'maxHeaderCount', 'streamWindowSize', 'sessionWindowSize', 'http1'] as const;

/**
 * Times a request the server certainly did not process (REFUSED_STREAM, or above a GOAWAY's
 * last stream id) is sent again on another session before its error is reported, when the
 * session that turned it away had processed nothing (a server refusing every stream).
 */
const MAX_RESENDS = 3;
/**
 * Times it is sent again when the session that turned it away had processed streams before its
 * GOAWAY: a server's limit of requests per connection (nginx's `keepalive_requests`) sends many
 * concurrent requests round after round, each round making progress.
 */
const MAX_RESENDS_AFTER_PROGRESS = 100;

/** One request through the agent, across the sessions it may be sent on. */
interface H2Request {
  readonly method: string;
  readonly uri: string | URL;
  readonly headers: HeadersInit | null | undefined;
  readonly body: BodyProducer | null | undefined;
  readonly options: RequestOptions;
  readonly prepared: PreparedRequest;
  readonly timeouts: ResolvedTimeouts;
  readonly timings: ExchangeTimings;
  /** The request object of its diagnostics events, or null when nobody listens. */
  readonly diag: DiagnosticsRequest | null;
}

/** What {@link Http2Agent.sessionStats} reports for one origin. */
export interface Http2OriginStats {
  /** HTTP/2 sessions open (or opening) to the origin. */
  sessions: number;
  /** Streams open on them now. */
  streams: number;
}

/**
 * An {@link Agent} that speaks HTTP/2 (RFC 9113) on `node:http2`: `h2` chosen by ALPN on TLS,
 * or `h2c` with prior knowledge when asked, and HTTP/1.1 through an `HttpAgent` otherwise.
 * Responses are core {@link Response}s with `version` `[2, 0]`; every wrapper agent works on
 * top of it unchanged.
 *
 * - Sessions are pooled per origin: streams are multiplexed on one session up to the server's
 *   `SETTINGS_MAX_CONCURRENT_STREAMS`; more sessions open when they are full. An idle session
 *   never keeps the process alive, and is closed after `sessionIdleTimeout`.
 * - A request the server did not process (`REFUSED_STREAM`, or a stream above a `GOAWAY`'s last
 *   stream id) is sent again on another session whatever its method (RFC 9113 §8.7), if its body
 *   can be sent again. Other failures are the same typed errors as HTTP/1.1
 *   (`ResponseNeverReceivedError`, `ResponseFailedError`, `TimeoutError`...).
 * - Request headers are sent in lower case, without connection-specific fields (RFC 9113 §8.2.2);
 *   `Host` becomes `:authority`.
 *
 * @example
 * ```ts
 * const agent = new Http2Agent({ h2c: true }); // h2c: a loopback service speaking cleartext HTTP/2
 * const response = await agent.request('GET', 'http://127.0.0.1:8080/');
 * console.log(response.version, response.code, (await readBody(response)).toString());
 * await agent.close();
 * ```
 */
export class Http2Agent implements Agent {
  /** The HTTP/2 session pool. */
  private readonly sessions: H2SessionPool;
  private readonly h2Endpoints: EndpointFactory;
  private readonly http1: Agent;
  /** The default HTTP/1.1 agent's endpoints (sockets handed over), or null for a given `http1` agent. */
  private readonly handOver: HandOverEndpointFactory | null;
  /** The default HTTP/1.1 agent's pool (closed with this agent), or null. */
  private readonly http1Pool: HTTPConnectionPool | null;
  private readonly timeouts: ResolvedTimeouts;
  private readonly clock: Clock;
  private readonly allowH2: boolean;
  private readonly h2c: boolean;
  private readonly maxHeaderBytes: number;
  private state: 'open' | 'closed' = 'open';

  constructor(options: Http2AgentOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError(`Http2Agent options must be an object, got ${describeType(options)}`);
    rejectUnknownOptions(options, OPTION_KEYS, 'Http2Agent');
    this.allowH2 = checkBoolean(options.allowH2, true, 'allowH2');
    this.h2c = checkBoolean(options.h2c, false, 'h2c');
    this.clock = options.clock ?? systemClock;
    this.timeouts = resolveTimeouts(DEFAULT_TIMEOUTS, options.timeouts, 'timeouts');
    const tlsPolicy = options.tlsPolicy ?? defaultTLSPolicy();
    const connect: ConnectOptions = { ...options.connectOptions, clock: this.clock };
    if (options.endpointFactory !== undefined && (options.endpointFactory === null || typeof (options.endpointFactory as Partial<EndpointFactory>).endpointForURI !== 'function')) {
      throw new InvalidArgumentError('Http2Agent: endpointFactory must be an EndpointFactory (an object with endpointForURI)');
    }
    this.h2Endpoints = options.endpointFactory ?? new StandardEndpointFactory({ ...connect, tlsPolicy: new H2AlpnPolicy(tlsPolicy) });
    this.maxHeaderBytes = checkNumber(options.maxHeaderBytes, DEFAULT_MAX_HEADER_BYTES, 'maxHeaderBytes', 1);
    this.sessions = new H2SessionPool({
      clock: this.clock,
      idleTimeout: checkNumber(options.sessionIdleTimeout, 30_000, 'sessionIdleTimeout', 0),
      pingAfterIdle: checkNumber(options.pingAfterIdle, 10_000, 'pingAfterIdle', 0),
      maxSessionsPerOrigin: checkNumber(options.maxSessionsPerOrigin, 16, 'maxSessionsPerOrigin', 1),
      maxHeaderListSize: this.maxHeaderBytes,
      maxHeaderListPairs: checkNumber(options.maxHeaderCount, DEFAULT_MAX_HEADER_COUNT, 'maxHeaderCount', 1),
      streamWindowSize: checkWindow(options.streamWindowSize, 256 * 1024, 'streamWindowSize'),
      sessionWindowSize: checkWindow(options.sessionWindowSize, 1024 * 1024, 'sessionWindowSize'),
    });
    if (options.http1 !== undefined) {
      if (options.http1 === null || typeof (options.http1 as Partial<Agent>).request !== 'function') throw new InvalidArgumentError('Http2Agent: http1 must be an Agent');
      this.http1 = options.http1;
      this.handOver = null;
      this.http1Pool = null;
    } else {
      // A given endpointFactory is the transport for HTTP/1.1 too (a proxy's tunnels are not bypassed).
      const handOver = new HandOverEndpointFactory(options.endpointFactory ?? new StandardEndpointFactory({ ...connect, tlsPolicy }));
      const pool = new HTTPConnectionPool({ clock: this.clock });
      const endpointFactory: EndpointFactory = handOver;
      this.http1 = new HttpAgent({ pool, endpointFactory, timeouts: this.timeouts });
      this.handOver = handOver;
      this.http1Pool = pool;
    }
  }

  /** True once {@link close} or {@link destroy} was called. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  /** HTTP/2 sessions per origin and the streams open on them (for tests and monitoring). */
  sessionStats(): Record<string, Http2OriginStats> {
    return this.sessions.stats();
  }

  request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options: RequestOptions = {}): Promise<Response> {
    if (this.state === 'closed') return Promise.reject(new ClosedError('this agent is closed: it takes no more requests (make a new one)', { url: uri }));
    let checked: CheckedRequest;
    try {
      // The scheme decides first (the URL comes from core's cache): a request HTTP/2 is not
      // offered for is the HTTP/1.1 agent's alone, and an HttpAgent checks it itself, once.
      const protocol = checkRequestLine(method, uri).protocol;
      const overH2 = (protocol === 'https:' && this.allowH2) || (protocol === 'http:' && this.h2c);
      if (!overH2 && this.http1 instanceof HttpAgent) return this.http1.request(method, uri, headers, body, options);
      checked = checkRequest(method, uri, headers, body, options, this.timeouts);
      if (!overH2) return this.http1.request(method, uri, headers, body, options);
    } catch (error) {
      return Promise.reject(error);
    }
    const { prepared, timeouts } = checked;
    const timings: ExchangeTimings = options.timings ?? { start: this.clock.now() };
    const diag = requestCreated(prepared.method, prepared.url.href, prepared.headers);
    const req: H2Request = { method, uri, headers, body, options, prepared, timeouts, timings, diag };
    // Failures before a stream (connect, a closed pool) are the request's errors too.
    const sent = this.send(req);
    return diag === null ? sent : sent.catch((error: unknown) => publishFailure(diag, error));
  }

  /** Sends `req` on a session of its origin, again on another when the server did not process it; HTTP/1.1 when the server chose it. */
  private async send(req: H2Request): Promise<Response> {
    const { options, timeouts, timings } = req;
    let prepared = req.prepared;
    /** The request's h2 fields, made when a session is there to take them (an HTTP/1.1 origin never needs them). */
    let fields: OutgoingHttpHeaders | null = null;
    /** `Expect: 100-continue` and a body: a 417 answer sends it once more without the expectation. */
    let expectation = prepared.body !== null && wantsContinue(prepared.headers);
    let resends = 0;
    let progressResends = 0;
    let retried = false;
    for (;;) {
      const endpoint = this.h2Endpoints.endpointForURI(prepared.url);
      const now = this.clock.now();
      let session: H2Session | null = this.sessions.take(endpoint.key);
      if (session === null) {
        if (this.sessions.isHttp1(endpoint.key)) return this.viaHttp1(req, null);
        const remaining = timeouts.total === Infinity ? Infinity : Math.max(1, timings.start + timeouts.total - now);
        const connected = await this.sessions.acquire(endpoint, {
          url: prepared.url,
          signal: options.signal,
          connectTimeout: Math.min(timeouts.connect, remaining),
          milestones: timings,
          onConnect: (phase, at) => {
            if (phase === 'start') timings.connectStart = at;
            else timings.connectEnd = at;
          },
        });
        if (connected.kind === 'http1') return this.viaHttp1(req, connected.socket);
        session = connected.session;
      }
      timings.acquired = this.clock.now();
      const reused = session.opened > 0;
      const exchange = new H2Exchange(session, { prepared, fields: (fields ??= requestFields(prepared)), options, timeouts, timings, diag: req.diag, clock: this.clock, maxHeaderBytes: this.maxHeaderBytes });
      let response: Response;
      try {
        response = await exchange.start();
      } catch (error) {
        let again = false;
        const unprocessed = this.state === 'open' && error instanceof UnprocessedRequestError && canSendAgain(prepared.body, error.bodyStarted);
        // A GOAWAY naming a processed stream is progress; a refusal from a session that processed nothing is not.
        if (unprocessed && (session.goawayLastStreamId > 0 ? progressResends++ < MAX_RESENDS_AFTER_PROGRESS : resends++ < MAX_RESENDS)) {
          again = true;
        } else if (this.state === 'open' && !retried && reused && isRetrySafe(prepared, error)) {
          retried = true;
          again = true;
        }
        // The body's previous run must settle before it starts again; one that does not, in time, is not sent again.
        if (!again || !(await this.settled(exchange.bodySettled, req))) throw error;
        continue;
      }
      const without = expectation && this.state === 'open' ? withoutExpectation(prepared, response, exchange.started) : null;
      if (without === null || !(await this.settled(exchange.bodySettled, req))) return response;
      await response.dump();
      expectation = false;
      prepared = without;
      fields = null;
    }
  }

  /** Waits for `run` (a body producer's stopped run) to settle, at most `sendIdle` (and what is left of `total`); false when it did not. */
  private settled(run: Promise<void>, req: H2Request): Promise<boolean> {
    const { timeouts, timings } = req;
    const limit = Math.min(timeouts.sendIdle, timeouts.total === Infinity ? Infinity : Math.max(0, timings.start + timeouts.total - this.clock.now()));
    if (limit === Infinity) return run.then(() => true);
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => resolve(false), limit);
      void run.then(() => {
        this.clock.clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** The request over HTTP/1.1: the server chose it; `socket` is the connection it was chosen on, if this request opened it. */
  private viaHttp1(req: H2Request, socket: Duplex | null): Promise<Response> {
    const handOver = this.handOver;
    if (socket !== null) {
      if (handOver === null) socket.destroy();
      else handOver.park(req.prepared.url, socket);
    }
    // Its create event was published here: the HTTP/1.1 agent goes on with the same request object.
    const sent = this.http1.request(req.method, req.uri, req.headers, req.body, handOverRequest(req.options, req.diag));
    if (socket === null || handOver === null) return sent;
    const discard = (): void => handOver.discard(req.prepared.url);
    sent.then(discard, discard);
    return sent;
  }

  /**
   * Stops taking requests (later ones fail with a {@link ClosedError}); sessions close once
   * their streams end. The default HTTP/1.1 agent is closed too.
   */
  async close(): Promise<void> {
    this.state = 'closed';
    this.sessions.close();
    this.handOver?.discardAll();
    if (this.http1Pool !== null) {
      await (this.http1 as HttpAgent).close();
      await this.http1Pool.close();
    }
  }

  /** Like {@link close}, but streams in flight fail now. */
  async destroy(reason?: StrandError): Promise<void> {
    this.state = 'closed';
    this.sessions.destroy();
    this.handOver?.discardAll();
    if (this.http1Pool !== null) {
      await (this.http1 as HttpAgent).destroy(reason);
      await this.http1Pool.destroy(reason);
    }
  }

  /** `await using`: {@link close} at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A request the server did not process can go again if it has no body, its body never started, or its body replays. */
function canSendAgain(body: BodyProducer | null, bodyStarted: boolean): boolean {
  return body === null || !bodyStarted || body.replayable;
}

function checkBoolean(value: unknown, fallback: boolean, option: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`Http2Agent: ${option} must be a boolean, got ${describeType(value)}`);
  return value;
}

function checkNumber(value: unknown, fallback: number, option: string, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || (value !== Infinity && !Number.isInteger(value))) {
    throw new InvalidArgumentError(`Http2Agent: ${option} must be an integer of at least ${min} (or Infinity), got ${typeof value === 'number' ? value : describeType(value)}`);
  }
  return value;
}

/** A flow-control window: 65535 (the protocol's default) to 2^31-1 bytes (RFC 9113 §6.9.1). */
function checkWindow(value: unknown, fallback: number, option: string): number {
  const window = checkNumber(value, fallback, option, 65_535);
  if (window > 0x7fffffff) throw new InvalidArgumentError(`Http2Agent: ${option} must be at most 2^31-1 bytes, got ${window}`);
  return window;
}

brand(Http2Agent, 'core.Http2Agent');
