/**
 * Writing one request to a socket: the head, then the body from its producer, framed and held
 * to its declared length (Twisted's `Request.writeTo` with its length-enforcing consumer).
 *
 * @packageDocumentation
 */

import type { Duplex } from 'node:stream';
import { type BodyConsumer, type BodyProducer } from '../message/producers.js';
import { RequestGenerationFailedError, StrandError } from '../errors.js';
import { CHUNKED_TERMINATOR, chunkHeader } from './serializer.js';

/** Told how writing a request ended (the connection). */
export interface RequestWriterOwner {
  /** The whole request (head, body and the chunked terminator) was handed to the socket. */
  requestSent(writer: RequestWriter): void;
  /** The body could not be produced as declared; the exchange fails with `error`. */
  requestFailed(writer: RequestWriter, error: RequestGenerationFailedError): void;
}

const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * Writes one request with a body. The producer writes into this object (a {@link BodyConsumer}):
 * chunks are framed (`Transfer-Encoding: chunked`) or counted against the declared length; the
 * producer is paused while the socket's buffer is full and resumed on `drain`.
 *
 * States: `idle` (head written, body held back: `Expect: 100-continue`) -> `producing` -> `sent`
 * (all handed to the socket) | `failed` (the producer failed or broke its length; the owner is
 * told) | `stopped` (the exchange gave up: {@link stop}). A writer serves one request; callbacks
 * of an old writer are recognised by identity and ignored.
 */
export class RequestWriter implements BodyConsumer {
  /** Body bytes handed to the socket so far. */
  written = 0;
  /** Times the socket drained while this request was written. */
  drains = 0;
  private state: 'idle' | 'producing' | 'sent' | 'failed' | 'stopped' = 'idle';
  private paused = false;
  private readonly socket: Duplex;
  private readonly producer: BodyProducer;
  private readonly chunked: boolean;
  private readonly expected: number;
  private readonly owner: RequestWriterOwner;
  private readonly uri: string;

  /**
   * @param expected - the declared body length (`Content-Length`); ignored when `chunked`.
   */
  constructor(socket: Duplex, producer: BodyProducer, chunked: boolean, expected: number, owner: RequestWriterOwner, uri: string) {
    this.socket = socket;
    this.producer = producer;
    this.chunked = chunked;
    this.expected = expected;
    this.owner = owner;
    this.uri = uri;
  }

  /** True once the whole request was handed to the socket. */
  get sent(): boolean {
    return this.state === 'sent';
  }

  /** True once the producer was started (the body, or part of it, may have been sent). */
  get started(): boolean {
    return this.producerStarted;
  }

  private producerStarted = false;

  /** Writes `head` and starts the producer; the head and what the producer writes at once go out together. */
  start(head: string): void {
    const socket = this.socket;
    socket.cork();
    socket.write(head, 'latin1');
    this.produce();
    socket.uncork();
  }

  /** Writes only `head`; the body waits for {@link produce} (after a `100 Continue`). */
  writeHead(head: string): void {
    this.socket.write(head, 'latin1');
  }

  /** Starts the producer (once). */
  produce(): void {
    if (this.state !== 'idle') return;
    this.state = 'producing';
    this.producerStarted = true;
    let production: Promise<void>;
    try {
      production = this.producer.startProducing(this);
    } catch (error) {
      production = Promise.reject(error);
    }
    production.then(this.produced, this.productionFailed);
  }

  /** The producer writes here. Throws once the request can take no more. */
  write(chunk: Uint8Array): void {
    if (this.state !== 'producing') throw new StrandError('STRAND_WRITE_AFTER_END', 'the request body can no longer be written');
    const length = chunk.byteLength;
    if (length === 0) return;
    this.written += length;
    const socket = this.socket;
    let flushed: boolean;
    if (this.chunked) {
      socket.cork();
      socket.write(chunkHeader(length), 'latin1');
      socket.write(chunk);
      flushed = socket.write(CRLF);
      socket.uncork();
    } else {
      if (this.written > this.expected) {
        this.fail(`the body producer wrote more than its length of ${this.expected} bytes`, undefined);
        throw new StrandError('STRAND_WRITE_AFTER_END', 'the body producer wrote more than its length');
      }
      flushed = socket.write(chunk);
    }
    if (!flushed && !this.paused) {
      this.paused = true;
      this.producer.pauseProducing();
    }
  }

  /** The socket drained: a paused producer may write again. */
  drained(): void {
    this.drains++;
    if (!this.paused || this.state !== 'producing') return;
    this.paused = false;
    this.producer.resumeProducing();
  }

  /**
   * The exchange no longer wants the body (failed, cancelled, or answered early): stop the
   * producer. A producer never started is left as it is (its body may still be sent elsewhere).
   */
  stop(): void {
    if (this.state === 'sent' || this.state === 'stopped') return;
    const started = this.state !== 'idle';
    this.state = 'stopped';
    if (!started) return;
    try {
      this.producer.stopProducing();
    } catch {
      // A producer failing to stop changes nothing: the exchange is over.
    }
  }

  private readonly produced = (): void => {
    if (this.state !== 'producing') return;
    if (!this.chunked && this.written !== this.expected) {
      this.fail(`the body producer wrote ${this.written} bytes but declared ${this.expected}`, undefined);
      return;
    }
    if (this.chunked) this.socket.write(CHUNKED_TERMINATOR);
    this.state = 'sent';
    this.owner.requestSent(this);
  };

  private readonly productionFailed = (error: unknown): void => {
    if (this.state !== 'producing') return;
    this.fail('request generation failed: the body producer failed', error);
  };

  private fail(message: string, cause: unknown): void {
    this.state = 'failed';
    this.owner.requestFailed(this, new RequestGenerationFailedError(message, { url: this.uri, cause }));
  }
}
