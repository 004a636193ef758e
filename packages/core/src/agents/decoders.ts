/**
 * Content decoders for {@link ContentDecoderAgent}: gzip, deflate (zlib-wrapped or raw), br, and
 * zstd where the running Node has it. A decoder is `{ name, createDecoder() }`; add your own.
 *
 * @packageDocumentation
 */

import { Transform, type Duplex, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';

/**
 * A content-coding the {@link ContentDecoderAgent} can undo.
 *
 * @example A decoder for a coding of your own:
 * ```ts
 * const snappy: ContentDecoder = { name: 'x-snappy', createDecoder: () => createSnappyStream() };
 * new ContentDecoderAgent(agent, [...defaultDecoders(), snappy]);
 * ```
 */
export interface ContentDecoder {
  /** The content-coding, as sent in `Accept-Encoding` and matched (case-insensitively) in `Content-Encoding`. */
  readonly name: string;
  /** Other names the coding is known by in `Content-Encoding` (e.g. `x-gzip`); never advertised. */
  readonly aliases?: readonly string[];
  /**
   * A new stream for one body: encoded bytes in, decoded bytes out. It must report corrupt or
   * truncated input as an `'error'` (at the latest when its writable side is ended) and honour
   * back-pressure like any Node stream.
   */
  createDecoder(): Duplex;
}

/**
 * Inflates `deflate` bodies whether the server sent what RFC 9110 says (zlib-wrapped, RFC 1950)
 * or raw deflate (RFC 1951), as some servers do. The first byte decides: a zlib stream starts
 * with a CMF byte whose low four bits are 8 (the deflate method), which a raw stream's first
 * block header does not produce.
 */
class DeflateDecoder extends Transform {
  private inner: zlib.Inflate | zlib.InflateRaw | null = null;
  private pendingCallback: TransformCallback | null = null;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) {
      callback();
      return;
    }
    const inner = this.inner ?? this.start(chunk[0] as number);
    if (inner.write(chunk)) {
      callback();
    } else {
      this.pendingCallback = callback;
    }
  }

  override _flush(callback: TransformCallback): void {
    const inner = this.inner;
    if (inner === null) {
      // Nothing came in: no stream at all is not a valid deflate stream.
      callback(Object.assign(new Error('unexpected end of file'), { code: 'Z_BUF_ERROR' }));
      return;
    }
    inner.once('end', () => callback());
    inner.end();
  }

  override _read(size: number): void {
    this.inner?.resume();
    super._read(size);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner?.destroy();
    callback(error);
  }

  private start(firstByte: number): zlib.Inflate | zlib.InflateRaw {
    const inner = (firstByte & 0x0f) === 8 ? zlib.createInflate() : zlib.createInflateRaw();
    this.inner = inner;
    inner.on('data', (data: Buffer) => {
      if (!this.push(data)) inner.pause();
    });
    inner.on('drain', () => {
      const callback = this.pendingCallback;
      this.pendingCallback = null;
      callback?.();
    });
    inner.on('error', (error) => this.destroy(error));
    return inner;
  }
}

/** `gzip` (and its alias `x-gzip`): a gzip stream, several members allowed. */
export const gzipDecoder: ContentDecoder = Object.freeze({ name: 'gzip', aliases: Object.freeze(['x-gzip']), createDecoder: () => zlib.createGunzip() });

/** `deflate`: zlib-wrapped or raw deflate, told apart by the first byte. */
export const deflateDecoder: ContentDecoder = Object.freeze({ name: 'deflate', createDecoder: () => new DeflateDecoder() });

/** `br`: Brotli. */
export const brotliDecoder: ContentDecoder = Object.freeze({ name: 'br', createDecoder: () => zlib.createBrotliDecompress() });

const createZstdDecompress = (zlib as unknown as Record<string, unknown>)['createZstdDecompress'];

/**
 * `zstd`, when the running Node has `zlib.createZstdDecompress` (Node 22.15 / 23.8 and later);
 * null otherwise (Node 20).
 */
export const zstdDecoder: ContentDecoder | null =
  typeof createZstdDecompress === 'function' ? Object.freeze({ name: 'zstd', createDecoder: () => (createZstdDecompress as () => Duplex)() }) : null;

/** The decoders this Node supports, best first: zstd (when available), br, gzip, deflate. */
export function defaultDecoders(): ContentDecoder[] {
  const decoders = [brotliDecoder, gzipDecoder, deflateDecoder];
  if (zstdDecoder !== null) decoders.unshift(zstdDecoder);
  return decoders;
}
