import type { Headers } from './headers.js';
import { type BodyEndReason, CancelledError, StrandError } from '../errors.js';

/**
 * The controls a body consumer holds over the bytes coming to it (Twisted's push producer as
 * seen from the protocol). Pausing stops reading from the socket; stopping abandons the body.
 */
export interface BodyTransport {
  /** Stop delivering data until {@link resumeProducing}. Bytes already read are held, not lost. */
  pauseProducing(): void;
  /** Deliver again. */
  resumeProducing(): void;
  /** Abandon the body: the connection is closed and the protocol sees a {@link CancelledError}. */
  stopProducing(): void;
}

/**
 * A receiver for a response body, Twisted's `IProtocol` shape. Given to `Response.deliverBody`.
 *
 * @example
 * ```ts
 * response.deliverBody({
 *   makeConnection(transport) { this.transport = transport; },
 *   dataReceived(chunk) { process.stdout.write(chunk); },
 *   connectionLost(reason) { console.log(reason instanceof ResponseDone ? 'done' : reason); },
 * });
 * ```
 */
export interface BodyProtocol {
  /** Called first, with the transport that can pause, resume or stop the body. */
  makeConnection?(transport: BodyTransport): void;
  /** A piece of the body, framing removed. The buffer belongs to the protocol. */
  dataReceived(chunk: Buffer): void;
  /** Called once, last: {@link ResponseDone}, {@link PotentialDataLoss}, or a {@link StrandError}. */
  connectionLost(reason: BodyEndReason): void;
  /**
   * Optional, for zero-copy reading: a buffer of the protocol's own where the next body bytes
   * may be written, or null. A connection may then read up to `length` bytes of the body from
   * the socket straight into it and pass them to {@link dataReceived} as a view of the buffer's
   * start (the protocol recognises its own memory and need not copy). Asked only while the
   * protocol is flowing and has been given every earlier byte.
   */
  receiveBuffer?(): Buffer | null;
}

/**
 * The feeding side of a response body: where a {@link BodySource} writes. A {@link Response}
 * hands it to its source once, through {@link BodySource.bind}, when it is made; nobody else
 * can write to a response's body.
 */
export interface BodySink {
  /** A piece of the body, in order. Ignored once the body ended (or its consumer abandoned it). */
  push(chunk: Buffer): void;
  /** The body ended for this reason ({@link ResponseDone}, {@link PotentialDataLoss} or an error); later calls are ignored. */
  end(reason: BodyEndReason): void;
  /** Trailer fields: set them before {@link end}. */
  trailers: Headers | null;
  /** The consumer's own buffer for the next bytes ({@link BodyProtocol.receiveBuffer}) while it is flowing, else null. */
  receiveBuffer(): Buffer | null;
  /** True while a consumer takes chunks as they come (not paused, nothing queued). */
  readonly flowing: boolean;
  /** True once a consumer is attached. */
  readonly attached: boolean;
}

/**
 * What feeds a response body (a connection, a decoder, another response's body): it is given
 * the {@link BodySink} to write to, and is told when the consumer pauses, resumes or abandons.
 * Reading should start only when the consumer first resumes (bytes are read on demand).
 */
export interface BodySource {
  /** Called once, while the response is being made, with the sink its body is written to. */
  bind(sink: BodySink): void;
  /** The consumer asks for no more bytes for now: stop reading (bytes already read are queued). */
  pauseBody(): void;
  /** The consumer wants bytes again; the first call is also the signal to start reading. */
  resumeBody(): void;
  /** The consumer abandoned the body; `reason` is what the consumer will be told. */
  stopBody(reason: StrandError): void;
  /**
   * Optional: a consumer was attached. From now on the consumer holds the body (through its
   * transport); a source that watched for the response being dropped unread stops watching.
   */
  bodyAttached?(): void;
}

/**
 * Carries one response body from its source to exactly one {@link BodyProtocol}, in order, with
 * back-pressure. Chunks that arrive before a protocol is attached, or while it is paused, are
 * queued and the source is paused, so at most what the source had already read is held.
 *
 * States: `unattached` (queueing) -> `flowing` <-> `paused` -> `finished`. The end reason may
 * arrive in any state and is delivered after every queued chunk.
 */
export class BodyPipe implements BodyTransport, BodySink {
  /** Trailer fields, set by the source before it ends the body. */
  trailers: Headers | null = null;
  private protocol: BodyProtocol | null = null;
  private readonly queue: Buffer[] = [];
  private queueHead = 0;
  private paused = true;
  private delivering = false;
  private endReason: BodyEndReason | null = null;
  private finished = false;
  /** Told the end reason once the protocol has been (see {@link whenDone}). */
  private doneCallbacks: Array<(reason: BodyEndReason) => void> | null = null;
  private readonly source: BodySource;

  constructor(source: BodySource) {
    this.source = source;
    source.bind(this);
  }

  /** True once a protocol has been attached. */
  get attached(): boolean {
    return this.protocol !== null;
  }

  /** True once the protocol has been told the body ended. */
  get done(): boolean {
    return this.finished;
  }

  /** Calls `callback` with the end reason once the protocol has been told it: at once when it has been already. */
  whenDone(callback: (reason: BodyEndReason) => void): void {
    if (this.finished) callback(this.endReason as BodyEndReason);
    else (this.doneCallbacks ??= []).push(callback);
  }

  /**
   * Source side: the consumer's own buffer for the next body bytes ({@link BodyProtocol.receiveBuffer}),
   * or null when it offers none or is not flowing with everything delivered.
   */
  receiveBuffer(): Buffer | null {
    const protocol = this.protocol;
    if (protocol === null || protocol.receiveBuffer === undefined || !this.flowing) return null;
    return protocol.receiveBuffer();
  }

  /** True while a consumer is attached and takes chunks as they come: not paused, nothing queued, not ended. */
  get flowing(): boolean {
    return this.protocol !== null && !this.paused && !this.delivering && this.endReason === null && this.queueHead === this.queue.length;
  }

  /** Source side: a body chunk. */
  push(chunk: Buffer): void {
    if (this.endReason !== null) return;
    if (!this.paused && !this.delivering && this.queueHead === this.queue.length && this.protocol !== null) {
      this.deliverChunk(this.protocol, chunk);
      if (this.endReason !== null) this.flush();
      return;
    }
    this.queue.push(chunk);
    if (this.paused) this.source.pauseBody();
  }

  /** Source side: the body ended for this reason. Later calls are ignored. */
  end(reason: BodyEndReason): void {
    if (this.endReason !== null) return;
    this.endReason = reason;
    this.flush();
  }

  /** Consumer side: attach the protocol. Throws if one is attached already. */
  attach(protocol: BodyProtocol): void {
    if (this.protocol !== null) throw new StrandError('STRAND_BODY_ALREADY_CONSUMED', 'the response body has already been delivered to a consumer');
    this.protocol = protocol;
    this.source.bodyAttached?.();
    // The consumer starts flowing unless it pauses in makeConnection (Twisted's contract).
    this.paused = false;
    protocol.makeConnection?.(this);
    if (this.paused || this.finished) return;
    this.flush();
    if (!this.paused && this.endReason === null) this.source.resumeBody();
  }

  pauseProducing(): void {
    if (this.paused || this.finished) return;
    this.paused = true;
    if (this.endReason === null) this.source.pauseBody();
  }

  resumeProducing(): void {
    if (!this.paused || this.finished || this.protocol === null) return;
    this.paused = false;
    this.flush();
    if (!this.paused && this.endReason === null) this.source.resumeBody();
  }

  stopProducing(): void {
    if (this.finished) return;
    this.abandon(new CancelledError('response body abandoned by its consumer'));
    this.flush();
  }

  private flush(): void {
    const protocol = this.protocol;
    if (protocol === null || this.delivering || this.finished) return;
    this.delivering = true;
    try {
      while (!this.paused && this.queueHead < this.queue.length && !this.finished) {
        const chunk = this.queue[this.queueHead] as Buffer;
        this.queue[this.queueHead++] = EMPTY;
        this.deliverChunk(protocol, chunk);
      }
      if (this.queueHead === this.queue.length && this.queueHead > 0) {
        this.queue.length = 0;
        this.queueHead = 0;
      }
    } finally {
      this.delivering = false;
    }
    if (this.endReason === null || this.finished) return;
    if (this.queueHead < this.queue.length) {
      // Data is still queued behind a paused consumer: a clean end waits for it; an error does
      // not keep a paused consumer waiting for ever, and what is queued was partial anyway.
      if (!(this.endReason instanceof StrandError)) return;
      this.queue.length = 0;
      this.queueHead = 0;
    }
    this.finished = true;
    const reason = this.endReason;
    try {
      protocol.connectionLost(reason);
    } finally {
      const callbacks = this.doneCallbacks;
      this.doneCallbacks = null;
      if (callbacks !== null) for (const callback of callbacks) callback(reason);
    }
  }

  private deliverChunk(protocol: BodyProtocol, chunk: Buffer): void {
    try {
      protocol.dataReceived(chunk);
    } catch (error) {
      // A consumer that throws has abandoned the body; tell it why, once.
      this.abandon(new StrandError('STRAND_BODY_CONSUMER_FAILED', 'the body consumer threw while receiving data', { cause: error }));
    }
  }

  /** The consumer gave up on the body: what is queued is dropped and the source told, once; the end is delivered unpaused. */
  private abandon(reason: StrandError): void {
    this.queue.length = 0;
    this.queueHead = 0;
    if (this.endReason === null) {
      this.endReason = reason;
      this.source.stopBody(reason);
    }
    this.paused = false;
  }
}

const EMPTY = Buffer.alloc(0);
