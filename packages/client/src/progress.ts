/**
 * Upload and download progress (`onUploadProgress`, `onDownloadProgress`): a throttled reporter,
 * a producer wrapper that counts the bytes a request body hands to the connection, and an agent
 * that counts the bytes of the final response's body as it is read.
 */

import { performance } from 'node:perf_hooks';
import { WatchedProducer } from './watched-producer.js';
import {
  type Agent,
  type BodyEndReason,
  type BodyLength,
  type BodyProducer,
  type BodyProtocol,
  type HeadersInit,
  type RequestOptions,
  type Response,
  StrandError,
  deriveResponse,
} from '@strand/core';
import type { ProgressCallback } from './types.js';

/** The least time between two events of one transfer, other than its first and last. */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Reports the progress of one transfer: a first event at 0 ({@link start}), then at most one
 * event every {@link PROGRESS_INTERVAL_MS} as bytes are added, then a last event
 * ({@link finish}) when the transfer completes. `now` is the clock (injectable for tests).
 */
export class ProgressReporter {
  private transferred = 0;
  private last = 0;
  private finished = false;

  constructor(
    private readonly callback: ProgressCallback,
    private readonly total: number | undefined,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  /** The first event: nothing transferred yet. */
  start(): void {
    this.last = this.now();
    this.emit(this.total);
  }

  /** `bytes` more were transferred: an event if the last one is at least the interval old. */
  add(bytes: number): void {
    if (bytes === 0 || this.finished) return;
    this.transferred += bytes;
    const now = this.now();
    if (now - this.last < PROGRESS_INTERVAL_MS) return;
    this.last = now;
    this.emit(this.total);
  }

  /** The last event: the transfer completed (the total is what was transferred, if it was not known). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.emit(this.total ?? this.transferred);
  }

  private emit(total: number | undefined): void {
    const transferred = this.transferred;
    const percent = total === undefined ? undefined : total === 0 ? (this.finished ? 1 : 0) : Math.min(1, transferred / total);
    this.callback({ transferred, total, percent });
  }
}

function knownLength(length: BodyLength): number | undefined {
  return typeof length === 'number' ? length : undefined;
}

/**
 * A request body that reports how many bytes it handed to the connection. Each run (a body sent
 * again after a 307/308 redirect or a retry) reports from 0 again. Length, replayability,
 * pause, resume and stop are the wrapped producer's.
 */
export function progressProducer(inner: BodyProducer, callback: ProgressCallback): BodyProducer {
  let reporter: ProgressReporter | null = null;
  return new WatchedProducer(inner, {
    start() {
      reporter = new ProgressReporter(callback, knownLength(inner.length));
      reporter.start();
    },
    chunk(chunk) {
      reporter?.add(chunk.byteLength);
    },
    finish() {
      reporter?.finish();
    },
  });
}

/** `inner` with a count of the bytes given to it (in-place reads included: they arrive as chunks too). */
function countingProtocol(inner: BodyProtocol, count: (bytes: number) => void): BodyProtocol {
  const protocol: BodyProtocol = {
    makeConnection(transport) {
      inner.makeConnection?.(transport);
    },
    dataReceived(chunk) {
      count(chunk.length);
      inner.dataReceived(chunk);
    },
    connectionLost(reason) {
      inner.connectionLost(reason);
    },
  };
  if (inner.receiveBuffer !== undefined) protocol.receiveBuffer = () => (inner.receiveBuffer as () => Buffer | null).call(inner);
  return protocol;
}

/**
 * A response answering for `source` (core's `deriveResponse`: back-pressure, in-place reads,
 * abandonment and trailers passed through) that calls `count` with the size of each body chunk
 * as its consumer takes it, and `onEnd` when the body ends (what it returns, if anything,
 * replaces the end reason). Whoever reads it — `readBody`,
 * `for await`, `toReadable()`, a body protocol — reads through `deliverBody`, where the
 * counting is put. (Core's `DerivedResponseInit` has no per-chunk callback; with one, this would
 * be a plain `deriveResponse`.)
 */
export function countingResponse(source: Response, count: (bytes: number) => void, onEnd: (reason: BodyEndReason) => BodyEndReason | undefined): Response {
  const derived = deriveResponse(source, { onEnd });
  const deliver = derived.deliverBody.bind(derived);
  derived.deliverBody = (protocol: BodyProtocol): void => deliver(countingProtocol(protocol, count));
  return derived;
}

/**
 * Reports the download of the final response's body (outside the redirect agent, so only the
 * final response counts; inside the content decoder, so the bytes are those on the wire and the
 * total is the `Content-Length` when there is one). The first event is given when the head
 * arrives, the last when the body has been read completely; a body that fails has no last event.
 */
export class DownloadProgressAgent implements Agent {
  constructor(
    private readonly inner: Agent,
    private readonly callback: ProgressCallback,
  ) {}

  async request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    const response = await this.inner.request(method, uri, headers, body, options);
    const reporter = new ProgressReporter(this.callback, knownLength(response.length));
    try {
      reporter.start();
    } catch (error) {
      abandonBody(response);
      throw error;
    }
    return countingResponse(
      response,
      (bytes) => reporter.add(bytes),
      (reason) => {
        if (reason instanceof StrandError) return undefined;
        try {
          reporter.finish();
          return undefined;
        } catch (error) {
          return new StrandError('STRAND_PROGRESS_CALLBACK_FAILED', 'onDownloadProgress threw at the end of the body', { url: response.request.uri, cause: error });
        }
      },
    );
  }
}

/** Abandons an unread body (its connection is closed). */
function abandonBody(response: Response): void {
  response.deliverBody({
    makeConnection(transport) {
      transport.stopProducing();
    },
    dataReceived() {},
    connectionLost() {},
  });
}
