import type { BodyProducer } from './message/producers.js';
import type { HeadersInit } from './message/headers.js';
import type { ExchangeTimings, InformationalResponse, ResponseHeadInfo } from './message/exchange.js';
import type { Response } from './message/response.js';
import type { TimeoutOptions } from './time/timeouts.js';
import type { StrandError } from './errors.js';

/** Per-request options every {@link Agent} accepts. Wrappers pass them through. */
export interface RequestOptions {
  /** Cancels the request in any phase, including while its body is read. */
  signal?: AbortSignal | undefined;
  /** Called for each interim 1xx response (100 Continue, 103 Early Hints...) before the final one. */
  onInformational?: ((info: InformationalResponse) => void) | undefined;
  /**
   * Called with each final response head as soon as it is parsed, before the promise resolves
   * and before any body byte is read (tornado's `header_callback`). Wrappers pass it down, so
   * every exchange reports its head: a redirect hop, a 417 sent again, a retry; the last call is
   * the head of the response returned. A callback that throws fails the request with a
   * `ResponseFailedError` (`cause`: what it threw).
   */
  onHead?: ((head: ResponseHeadInfo) => void) | undefined;
  /**
   * Timeouts for this request: a number is the `total` in ms; an object sets named phases
   * (`queue`, `connect`, `sendIdle`, `headers`, `bodyIdle`, `total`) over the agent's defaults.
   */
  timeout?: number | TimeoutOptions | undefined;
  /**
   * An object the agent fills with the clock times of the exchange's milestones (`start` must be
   * set by the caller). Wrappers pass it down so the timings cover the final request.
   */
  timings?: ExchangeTimings | undefined;
  /**
   * For a request with `Expect: 100-continue` and a body: how long to wait for the server's `100`
   * (or its final answer) before sending the body anyway, in ms. Default 1000 (curl's).
   */
  expectContinueTimeout?: number | undefined;
  /**
   * Whether this request keeps the process alive while it waits for its answer (default true).
   * False for background work nobody awaits, such as a cache's `stale-while-revalidate`
   * validation: an `HttpAgent` then lets the request's connection not hold the event loop (as an
   * idle pooled connection does not), so a process with nothing else to do exits. On a connection
   * that also carries a pipelined request someone waits for, or on a shared HTTP/2 session, it
   * has no effect.
   */
  holdProcess?: boolean | undefined;
}

/**
 * The one way a request is made (Twisted's `IAgent`). `HttpAgent` talks to the network; every
 * feature (redirects, decoding, retries, proxies) is another Agent that wraps one.
 *
 * The promise resolves when the response head has arrived; the body follows, streamed.
 */
export interface Agent {
  /**
   * Sends a request and resolves with the response once its head has arrived.
   *
   * @param method - an HTTP method token, e.g. `GET` (as given: methods are case-sensitive).
   * @param uri - an absolute `http:` or `https:` URL (string or `URL`).
   * @param headers - request headers, any {@link HeadersInit} form; `Host`, framing and
   *   `Connection` are set by the agent.
   * @param body - the request body as a {@link BodyProducer}, or null for none.
   * @param options - per-request options: `signal`, `timeout`, `onInformational`, `timings`.
   * @returns the response; read its body with `readBody`, `for await`, `toReadable()` or
   *   `deliverBody` (a body left unread holds its connection until it is dropped).
   * @throws rejects with a {@link StrandError} whose class and `code` say where it failed.
   */
  request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response>;
  /**
   * Optional: stop taking requests and release what the agent holds (its own pool's idle
   * connections now, busy ones when their response is read). Wrappers pass it to the agent they
   * wrap. Later requests fail with a `ClosedError`.
   */
  close?(): Promise<void>;
  /** Optional: like {@link close}, but requests in flight on the agent's own pool fail now. */
  destroy?(reason?: StrandError): Promise<void>;
}

/** Closes `agent` if it can be closed (see {@link Agent.close}). */
export function closeAgent(agent: Agent): Promise<void> {
  return typeof agent.close === 'function' ? agent.close() : Promise.resolve();
}

/** Destroys `agent` if it can be destroyed, else closes it if it can (see {@link Agent.destroy}). */
export function destroyAgent(agent: Agent, reason?: StrandError): Promise<void> {
  return typeof agent.destroy === 'function' ? agent.destroy(reason) : closeAgent(agent);
}

/** Methods whose repetition has the same effect as one request (RFC 9110 §9.2.2): safe to retry. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * The base of an agent that wraps another and adds one thing (redirects, decoding, retries):
 * it keeps the wrapped agent and passes {@link Agent.close}, {@link Agent.destroy} and
 * `await using` down to it.
 */
export abstract class WrapperAgent implements Agent {
  /** The agent this one wraps. */
  protected readonly agent: Agent;

  constructor(agent: Agent) {
    this.agent = agent;
  }

  abstract request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response>;

  /** Closes the agent this one wraps (see {@link Agent.close}). */
  close(): Promise<void> {
    return closeAgent(this.agent);
  }

  /** Destroys the agent this one wraps (see {@link Agent.destroy}). */
  destroy(reason?: StrandError): Promise<void> {
    return destroyAgent(this.agent, reason);
  }

  /** `await using`: {@link close} at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
