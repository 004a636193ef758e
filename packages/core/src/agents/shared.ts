/**
 * Helpers shared by the wrapper agents: copying caller headers once, discarding a body that is
 * not wanted (so its connection can go back to the pool), sending a request body again.
 *
 * @packageDocumentation
 */

import type { BodyConsumer, BodyLength, BodyProducer } from '../message/producers.js';
import type { BodyTransport } from '../message/body-pipe.js';
import { InvalidHeaderError } from '../errors.js';
import { Headers, type HeadersInit } from '../message/headers.js';
import type { Response } from '../message/response.js';

/** How much of an unwanted body is read and thrown away before its connection is closed instead. */
export const DEFAULT_DISCARD_BYTES = 64 * 1024;

/**
 * A validated, independent copy of the caller's headers (any {@link HeadersInit} form), so a
 * wrapper can change it per attempt or hop without touching the caller's object. A bad header
 * is an {@link InvalidHeaderError} naming the URL.
 */
export function copyHeaders(init: HeadersInit | null | undefined, uri: string | URL): Headers {
  try {
    return new Headers(init);
  } catch (error) {
    if (error instanceof InvalidHeaderError) throw new InvalidHeaderError(error.headerName, error.message, { url: String(uri), cause: error });
    throw error;
  }
}

/**
 * Reads and discards `response`'s body so that its connection can be reused, up to `maxBytes`;
 * past that (an endless or huge body) the body is abandoned, which closes the connection.
 * Resolves once the body has ended, whatever the reason. Does nothing if the body was taken.
 */
export function discardBody(response: Response, maxBytes = DEFAULT_DISCARD_BYTES): Promise<void> {
  if (response.bodyUsed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    let transport: BodyTransport | null = null;
    response.deliverBody({
      makeConnection(t) {
        transport = t;
      },
      dataReceived(chunk) {
        seen += chunk.length;
        if (seen > maxBytes) transport?.stopProducing();
      },
      connectionLost() {
        resolve();
      },
    });
  });
}

/** Abandons `response`'s body unread: its connection is closed rather than read to the end. */
export function abandonBody(response: Response): void {
  if (response.bodyUsed) return;
  response.deliverBody({
    makeConnection(transport) {
      transport.stopProducing();
    },
    dataReceived() {},
    connectionLost() {},
  });
}

/**
 * A request body that a wrapper agent may send more than once (a redirect hop, a retry). A
 * connection that gives up on a request stops its producer, but the stopped run may still be
 * winding down (a file read in flight) when the next hop starts the body again. Here a new run
 * begins only once the previous one has been stopped and has settled; a pause or stop asked for
 * meanwhile applies to the new run. Also records whether the body was ever started.
 */
export class ResendableBody implements BodyProducer {
  /** True once any run was asked for. */
  started = false;
  readonly length: BodyLength;
  readonly replayable: boolean;
  private readonly producer: BodyProducer;
  /** The latest run, and whether it has settled. */
  private run: Promise<void> | null = null;
  private runSettled = true;
  /** A run waiting for the previous one to settle: what was asked of it meanwhile. */
  private waiting: { paused: boolean; stopped: boolean } | null = null;

  constructor(producer: BodyProducer) {
    this.producer = producer;
    this.length = producer.length;
    this.replayable = producer.replayable;
  }

  startProducing(consumer: BodyConsumer): Promise<void> {
    this.started = true;
    const previous = this.runSettled ? null : this.run;
    if (this.waiting !== null) this.waiting.stopped = true;
    const run = previous === null ? this.producer.startProducing(consumer) : this.afterPrevious(previous, consumer);
    this.run = run;
    this.runSettled = false;
    const settle = (): void => {
      if (this.run === run) this.runSettled = true;
    };
    run.then(settle, settle);
    return run;
  }

  private async afterPrevious(previous: Promise<void>, consumer: BodyConsumer): Promise<void> {
    const asked = { paused: false, stopped: false };
    this.waiting = asked;
    this.producer.stopProducing();
    try {
      await previous;
    } catch {
      // The stopped run's outcome belongs to the request that gave up on it.
    }
    if (this.waiting === asked) this.waiting = null;
    if (asked.stopped) return;
    const run = this.producer.startProducing(consumer);
    if (asked.paused) this.producer.pauseProducing();
    return run;
  }

  pauseProducing(): void {
    if (this.waiting !== null) this.waiting.paused = true;
    else this.producer.pauseProducing();
  }

  resumeProducing(): void {
    if (this.waiting !== null) this.waiting.paused = false;
    else this.producer.resumeProducing();
  }

  stopProducing(): void {
    if (this.waiting !== null) this.waiting.stopped = true;
    else this.producer.stopProducing();
  }
}
