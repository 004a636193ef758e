/**
 * A request body passed on unchanged while something watches its bytes: upload progress counts
 * them, the HAR recorder keeps a copy. One home for the pass-through, so each watcher is only
 * what it does with the bytes.
 */

import type { BodyConsumer, BodyLength, BodyProducer } from '@strand/core';

/** What watches one run of a body (a body sent again, after a 307/308 or a retry, is a new run). */
export interface ProducerWatcher {
  /** A run starts (before its first byte). */
  start?(): void;
  /** Bytes handed to the connection, in order (the chunk belongs to the connection: copy it to keep it). */
  chunk(chunk: Uint8Array): void;
  /** The run ended: every byte was handed over. */
  finish?(): void;
}

/** `inner` with `watcher` told about each run and each chunk; length, replayability and flow control are the wrapped producer's. */
export class WatchedProducer implements BodyProducer {
  readonly length: BodyLength;
  readonly replayable: boolean;

  constructor(
    private readonly inner: BodyProducer,
    private readonly watcher: ProducerWatcher,
  ) {
    this.length = inner.length;
    this.replayable = inner.replayable;
  }

  async startProducing(consumer: BodyConsumer): Promise<void> {
    const watcher = this.watcher;
    watcher.start?.();
    await this.inner.startProducing({
      write(chunk) {
        consumer.write(chunk);
        watcher.chunk(chunk);
      },
    });
    watcher.finish?.();
  }

  pauseProducing(): void {
    this.inner.pauseProducing();
  }

  resumeProducing(): void {
    this.inner.resumeProducing();
  }

  stopProducing(): void {
    this.inner.stopProducing();
  }
}
