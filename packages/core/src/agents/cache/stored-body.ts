/**
 * Responses made from storage: a {@link BodySource} that plays a stored body into a response's
 * sink with back-pressure, and the helper that builds such a response.
 *
 * @packageDocumentation
 */

import type { BodySink, BodySource } from '../../message/body-pipe.js';
import { ResponseDone } from '../../errors.js';
import type { Headers } from '../../message/headers.js';
import { type RequestInfo, Response } from '../../message/response.js';

/**
 * Plays stored body pieces into a sink. Each piece is copied (into the consumer's own buffer
 * when it offers one), so no consumer ever holds, or changes, the stored memory. States: `idle`
 * (until the consumer first resumes) -> `playing` <-> `paused` -> `done`.
 */
class StoredBody implements BodySource {
  private sink: BodySink | null = null;
  private state: 'idle' | 'playing' | 'paused' | 'done' = 'idle';
  private index = 0;
  private offset = 0;
  private pumping = false;

  constructor(private readonly chunks: readonly Buffer[]) {}

  bind(sink: BodySink): void {
    this.sink = sink;
  }

  pauseBody(): void {
    if (this.state === 'playing' || this.state === 'idle') this.state = 'paused';
  }

  resumeBody(): void {
    if (this.state === 'done') return;
    this.state = 'playing';
    this.pump();
  }

  stopBody(): void {
    this.state = 'done';
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const sink = this.sink as BodySink;
    try {
      while (this.state === 'playing' && this.index < this.chunks.length) {
        const chunk = this.chunks[this.index] as Buffer;
        const target = sink.receiveBuffer();
        const rest = chunk.length - this.offset;
        let piece: Buffer;
        if (target !== null && target.length > 0) {
          const n = Math.min(target.length, rest);
          chunk.copy(target, 0, this.offset, this.offset + n);
          piece = target.subarray(0, n);
        } else {
          piece = Buffer.from(chunk.subarray(this.offset));
        }
        this.offset += piece.length;
        if (this.offset >= chunk.length) {
          this.index++;
          this.offset = 0;
        }
        sink.push(piece);
      }
      if (this.state === 'playing' && this.index >= this.chunks.length) {
        this.state = 'done';
        sink.end(new ResponseDone());
      }
    } finally {
      this.pumping = false;
    }
  }
}

/** What a response made from storage is made of. */
export interface StoredResponseInit {
  /** Status code. */
  code: number;
  /** Reason phrase. */
  phrase: string;
  /** HTTP version. */
  version: readonly [number, number];
  /** The header fields to send (a fresh object: the caller may change it). */
  headers: Headers;
  /** The body pieces (empty for none, e.g. a HEAD request or a 304). */
  body: readonly Buffer[];
  /** The request it answers. */
  request: RequestInfo;
}

/** A {@link Response} whose body is played from storage. */
export function responseFromStorage(init: StoredResponseInit): Response {
  let length = 0;
  for (const chunk of init.body) length += chunk.length;
  return new Response({
    version: init.version,
    code: init.code,
    phrase: init.phrase,
    headers: init.headers,
    length,
    request: init.request,
    bodySource: new StoredBody(init.body),
  });
}
