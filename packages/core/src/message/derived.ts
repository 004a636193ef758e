/**
 * The derived response: a new head over an existing response's body. The one primitive every
 * agent that answers for another builds on (the client's relays, a spy, a cache), so that
 * back-pressure, abandonment, trailers and the zero-copy read path are handled once.
 *
 * @packageDocumentation
 */

import type { BodyLength } from './producers.js';
import type { BodyProtocol, BodySink, BodySource, BodyTransport } from './body-pipe.js';
import { type BodyEndReason, StrandError } from '../errors.js';
import type { Headers } from './headers.js';
import { Response } from './response.js';

/** What {@link deriveResponse} changes; everything left out is the source's. */
export interface DerivedResponseInit {
  /** The new status code. */
  code?: number;
  /** The new reason phrase. */
  phrase?: string;
  /** The new header fields (the source's are kept otherwise; clone them to change a few). */
  headers?: Headers;
  /** The body length to announce (keep the source's unless the bytes change). */
  length?: BodyLength;
  /** The response this one follows in a redirect chain (default: the source's). */
  previousResponse?: Response | null;
  /**
   * Called once when the derived body ends: complete, failed, or abandoned by its consumer. What
   * it returns (if anything) replaces the end reason the consumer is given.
   */
  onEnd?: (reason: BodyEndReason) => BodyEndReason | void;
  /**
   * Called with each piece of the body before the consumer gets it (a tee: a cache storing the
   * body as it is read). The buffer is only valid during the call: copy what you keep.
   */
  onData?: (chunk: Buffer) => void;
}

/**
 * A new {@link Response} with `source`'s head (changed by `init`) whose body is `source`'s body,
 * read only once the new response's consumer asks for it:
 *
 * - back-pressure passes through (the consumer's pause pauses the source body, and so the socket);
 * - the consumer's buffer for in-place reads is offered to the source, so a body read whole
 *   with `readBody` is still read straight from the socket into the result;
 * - abandoning the new body abandons the source body (its connection is closed);
 * - trailers and timings are the source's; `onEnd` sees how the body ended.
 *
 * The source must not be read by anyone else. The new response keeps the source alive while it
 * is reachable, so a source whose connection waits for a reader is not dropped early.
 *
 * @example
 * ```ts
 * const response = await agent.request('GET', url);
 * const renamed = deriveResponse(response, { code: 299, onEnd: (reason) => log(reason) });
 * console.log((await readBody(renamed)).length);
 * ```
 */
export function deriveResponse(source: Response, init: DerivedResponseInit = {}): Response {
  return new DerivedBody(source, init).response;
}

/** Relays a source body into a derived response's body. */
class DerivedBody implements BodySource, BodyProtocol {
  readonly response: Response;
  private readonly source: Response;
  private readonly onEnd: ((reason: BodyEndReason) => BodyEndReason | void) | undefined;
  private readonly onData: ((chunk: Buffer) => void) | undefined;
  private sink: BodySink | null = null;
  private transport: BodyTransport | null = null;
  private started = false;
  private ended = false;

  constructor(source: Response, init: DerivedResponseInit) {
    this.source = source;
    this.onEnd = init.onEnd;
    this.onData = init.onData;
    this.response = new Response({
      version: source.version,
      code: init.code ?? source.code,
      phrase: init.phrase ?? source.phrase,
      headers: init.headers ?? source.headers,
      length: init.length ?? source.length,
      request: source.request,
      previousResponse: init.previousResponse === undefined ? source.previousResponse : init.previousResponse,
      bodySource: this,
    });
    this.response.timings = source.timings;
  }

  // ---- BodySource: the derived response's consumer ----

  bind(sink: BodySink): void {
    this.sink = sink;
  }

  pauseBody(): void {
    this.transport?.pauseProducing();
  }

  resumeBody(): void {
    if (this.start()) return;
    this.transport?.resumeProducing();
  }

  stopBody(): void {
    this.start();
    this.transport?.stopProducing();
  }

  /** Attaches to the source body the first time; true if this call did. */
  private start(): boolean {
    if (this.started) return false;
    this.started = true;
    this.source.deliverBody(this);
    return true;
  }

  // ---- BodyProtocol: the source body ----

  makeConnection(transport: BodyTransport): void {
    this.transport = transport;
  }

  dataReceived(chunk: Buffer): void {
    this.onData?.(chunk);
    (this.sink as BodySink).push(chunk);
  }

  receiveBuffer(): Buffer | null {
    return (this.sink as BodySink).receiveBuffer();
  }

  connectionLost(reason: BodyEndReason): void {
    this.transport = null;
    if (this.ended) return;
    this.ended = true;
    const sink = this.sink as BodySink;
    // A source sets its trailers before it ends its body.
    if (!(reason instanceof StrandError)) sink.trailers = this.source.trailers;
    const mapped = this.onEnd?.(reason);
    sink.end(mapped === undefined ? reason : mapped);
  }
}
