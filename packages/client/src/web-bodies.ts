/**
 * The web platform's body types: `Blob`/`File` as a request body (a {@link BlobProducer}: its
 * size is known and it can be sent again; `FormData` becomes multipart parts in multipart.ts),
 * and the WHATWG `ReadableStream` of a response body ({@link webBodyStream}), with back-pressure.
 */

import { ReadableStream } from 'node:stream/web';
import {
  type BodyConsumer,
  type BodyProducer,
  type BodyProtocol,
  type BodyTransport,
  FileBodyProducer,
  InvalidArgumentError,
  StrandError,
} from '@strand/core';

/** True for a `Blob` (a `File` too) of this realm. */
export function isBlob(value: unknown): value is Blob {
  return value instanceof Blob;
}

/** True for a WHATWG `FormData`. */
export function isFormData(value: unknown): value is FormData {
  return value instanceof FormData;
}

/**
 * A `Blob` (or `File`) as a request body: `length` is its size, so it is sent with
 * `Content-Length`; each run reads a new `blob.stream()`, so it is replayable (a 307/308
 * redirect or a retry sends it again). Pause, resume and stop act on the run in progress.
 */
export class BlobProducer implements BodyProducer {
  readonly length: number;
  readonly replayable = true;
  readonly #blob: Blob;
  #current: FileBodyProducer | null = null;

  constructor(blob: Blob) {
    if (!isBlob(blob)) throw new InvalidArgumentError('BlobProducer: expected a Blob');
    this.#blob = blob;
    this.length = blob.size;
  }

  /** Writes the blob to `consumer`; rejects when a run is already in progress or the blob cannot be read. */
  async startProducing(consumer: BodyConsumer): Promise<void> {
    if (this.#current !== null) throw new InvalidArgumentError('BlobProducer: startProducing called while already producing');
    const run = new FileBodyProducer(this.#blob.stream() as AsyncIterable<Uint8Array>, { length: this.length });
    this.#current = run;
    try {
      await run.startProducing(consumer);
    } finally {
      this.#current = null;
    }
  }

  pauseProducing(): void {
    this.#current?.pauseProducing();
  }

  resumeProducing(): void {
    this.#current?.resumeProducing();
  }

  stopProducing(): void {
    this.#current?.stopProducing();
  }
}

/** The Content-Type a `Blob` sent as a whole body implies: its `type`, or null when it has none. */
export function blobContentType(blob: Blob): string | null {
  return blob.type === '' ? null : blob.type;
}

/** Bytes queued in a body stream before the body is paused (the stream's high-water mark). */
const STREAM_HIGH_WATER_MARK = 64 * 1024;

/**
 * A WHATWG `ReadableStream` of a body that `deliver` hands to a core body protocol. Reading is
 * on demand: the body is paused whenever 64 KiB wait in the stream unread, and resumed when its
 * reader asks for more, so an unread stream holds the server back. Cancelling the stream
 * abandons the body (its connection is closed). A body that fails errors the stream with
 * `mapError(reason)` (default: the `StrandError` itself).
 */
export function webBodyStream(deliver: (protocol: BodyProtocol) => void, mapError: (reason: StrandError) => unknown = (reason) => reason): ReadableStream<Uint8Array> {
  let transport: BodyTransport | null = null;
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        deliver({
          makeConnection(t) {
            transport = t;
            t.pauseProducing();
          },
          dataReceived(chunk) {
            if (cancelled) return;
            controller.enqueue(chunk);
            if ((controller.desiredSize ?? 0) <= 0) transport?.pauseProducing();
          },
          connectionLost(reason) {
            transport = null;
            if (cancelled) return;
            if (reason instanceof StrandError) controller.error(mapError(reason));
            else controller.close();
          },
        });
      },
      pull() {
        transport?.resumeProducing();
      },
      cancel() {
        cancelled = true;
        transport?.stopProducing();
      },
    },
    { highWaterMark: STREAM_HIGH_WATER_MARK, size: (chunk) => chunk.byteLength },
  );
}

/** A stream of `bytes` (closed at once), or of nothing; or, with `error`, a stream that fails with it. */
export function bufferedBodyStream(bytes: Uint8Array | null, error?: unknown): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (error !== undefined) {
        controller.error(error);
        return;
      }
      if (bytes !== null && bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}
