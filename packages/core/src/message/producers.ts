/**
 * Request bodies: the producer/consumer contract (Twisted's `IBodyProducer`, Promise-first)
 * and the producers that ship with core.
 *
 * @packageDocumentation
 */

import { statSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { finished, Readable } from 'node:stream';

import { InvalidArgumentError, RequestGenerationFailedError } from '../errors.js';
import { escapeForMessage } from '../validate.js';
import { brand } from '../brand.js';

/**
 * The `length` of a producer that cannot say in advance how many bytes it will write; such a
 * request is sent with `Transfer-Encoding: chunked`. A registered symbol, so separately bundled
 * copies of Strand agree on it.
 */
export const UNKNOWN_LENGTH: unique symbol = Symbol.for('strand.UNKNOWN_LENGTH');

/** A body's size in bytes, or {@link UNKNOWN_LENGTH}. */
export type BodyLength = number | typeof UNKNOWN_LENGTH;

/** Where a {@link BodyProducer} writes the body; implemented by the connection. */
export interface BodyConsumer {
  /**
   * Writes a chunk of the body. Back-pressure is signalled by the consumer calling the
   * producer's pauseProducing()/resumeProducing(), not by a return value. May throw if the
   * request already failed; the producer then stops.
   */
  write(chunk: Uint8Array): void;
}

/** A request body that writes itself to a {@link BodyConsumer}, honouring pause and resume. */
export interface BodyProducer {
  /** Bytes the producer will write, or UNKNOWN_LENGTH (the request is then sent chunked). */
  readonly length: BodyLength;
  /**
   * True when startProducing may be called again after a completed or stopped run and writes
   * the same bytes (needed by 307/308 redirects and retries). A one-shot stream says false.
   * A stopped run may take a moment to settle (a file read in flight); the redirect and retry
   * agents start the next run only once it has.
   */
  readonly replayable: boolean;
  /** Writes the whole body to consumer; resolves when done, rejects on failure. */
  startProducing(consumer: BodyConsumer): Promise<void>;
  /** Asks the producer to stop writing until {@link BodyProducer.resumeProducing}. */
  pauseProducing(): void;
  /** Lets a paused producer write again. */
  resumeProducing(): void;
  /**
   * Abandon: release resources (close files/streams); the pending startProducing promise
   * settles (either way; the caller ignores it).
   */
  stopProducing(): void;
}

/** True when `x` has the shape of a {@link BodyProducer}. */
export function isBodyProducer(x: unknown): x is BodyProducer {
  if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return false;
  const p = x as Partial<Record<keyof BodyProducer, unknown>>;
  return (
    (typeof p.length === 'number' || p.length === UNKNOWN_LENGTH) &&
    typeof p.replayable === 'boolean' &&
    typeof p.startProducing === 'function' &&
    typeof p.pauseProducing === 'function' &&
    typeof p.resumeProducing === 'function' &&
    typeof p.stopProducing === 'function'
  );
}

const KIB_64 = 64 * 1024;

/**
 * The pause/stop state of one producing run, and a way to wait while paused.
 * Every run starts flowing; pause/resume/stop outside a run only change the flags.
 */
class FlowControl {
  paused = false;
  stopped = false;
  running = false;
  #wake: (() => void) | null = null;

  /** Starts a run: flowing, not stopped. */
  begin(): void {
    this.paused = false;
    this.stopped = false;
    this.running = true;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.#release();
  }

  stop(): void {
    this.stopped = true;
    this.#release();
  }

  /** Resolves when no longer paused, or stopped. Only call while `paused && !stopped`. */
  waitUntilFlowing(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
  }

  #release(): void {
    const wake = this.#wake;
    if (wake !== null) {
      this.#wake = null;
      wake();
    }
  }
}

function toBytes(chunk: unknown): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return chunk;
  throw new InvalidArgumentError(`FileBodyProducer: a stream or iterable yielded a ${chunk === null ? 'null' : typeof chunk}; only Uint8Array and string chunks can be sent`);
}

/**
 * A body held in memory: bytes, or a string sent as UTF-8. Replayable.
 *
 * Up to 64 KiB is written in a single `write`; a larger body is written in 64 KiB slices (views,
 * not copies), honouring pause between slices. The bytes are not copied: do not modify them
 * while a request using them is in flight.
 */
export class BytesProducer implements BodyProducer {
  /** The body bytes (a view, not a copy, of what was given). */
  readonly data: Uint8Array;
  /** `data.byteLength`. */
  readonly length: number;
  /** Always true: the same bytes can be written again. */
  readonly replayable = true;
  readonly #flow = new FlowControl();

  /**
   * @param data - the body; a string is encoded as UTF-8.
   * @throws {@link InvalidArgumentError} when `data` is neither a Uint8Array nor a string.
   */
  constructor(data: Uint8Array | string) {
    if (typeof data === 'string') this.data = Buffer.from(data, 'utf8');
    else if (data instanceof Uint8Array) this.data = data;
    else throw new InvalidArgumentError(`BytesProducer: data must be a Uint8Array or a string, got ${data === null ? 'null' : typeof data}`);
    this.length = this.data.byteLength;
  }

  /**
   * Writes the bytes to `consumer`. A small body is written synchronously, before this returns.
   * Rejects with an {@link InvalidArgumentError} when a run is already in progress, or with
   * whatever `consumer.write` threw.
   */
  async startProducing(consumer: BodyConsumer): Promise<void> {
    const flow = this.#flow;
    if (flow.running) throw new InvalidArgumentError('BytesProducer: startProducing called while already producing');
    flow.begin();
    try {
      const data = this.data;
      const total = data.byteLength;
      if (total === 0) return;
      if (total <= KIB_64) {
        consumer.write(data);
        return;
      }
      for (let offset = 0; offset < total; offset += KIB_64) {
        while (flow.paused && !flow.stopped) await flow.waitUntilFlowing();
        if (flow.stopped) return;
        consumer.write(data.subarray(offset, Math.min(offset + KIB_64, total)));
      }
    } finally {
      flow.running = false;
    }
  }

  /** Stops writing after the current slice until resumed. */
  pauseProducing(): void {
    this.#flow.pause();
  }

  /** Continues a paused run. */
  resumeProducing(): void {
    this.#flow.resume();
  }

  /** Abandons the current run; its promise resolves without writing more. */
  stopProducing(): void {
    this.#flow.stop();
  }
}

/** Options of {@link FileBodyProducer}. */
export interface FileBodyProducerOptions {
  /**
   * The body's size in bytes when the source is a stream or an iterable (default: unknown, so
   * the request is sent chunked). For a path the file's size is used; a `length` that differs
   * from it is an error. A non-negative safe integer.
   */
  length?: number;
  /** How many bytes to read from a file at a time; a positive safe integer. Default 64 KiB. */
  chunkSize?: number;
}

type Source =
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'stream'; readonly stream: Readable }
  | { readonly kind: 'iterable'; readonly iterable: AsyncIterable<Uint8Array | string> };

function checkSafeInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    const what = min === 0 ? 'a non-negative safe integer' : 'a positive safe integer';
    throw new InvalidArgumentError(`FileBodyProducer: options.${name} must be ${what}, got ${typeof value === 'number' ? String(value) : typeof value}`);
  }
  return value;
}

function isAsyncIterable(x: object): x is AsyncIterable<unknown> {
  return typeof (x as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';
}

function ignore(): void {
  // Deliberately empty: used to swallow late errors of a resource that was already abandoned.
}

/** Calls `iterator.return()` if it has one, ignoring its outcome (it may be queued behind a pending `next()`). */
function closeIterator(iterator: AsyncIterator<unknown>): void {
  if (typeof iterator.return !== 'function') return;
  try {
    Promise.resolve(iterator.return()).then(ignore, ignore);
  } catch {
    // An iterator whose return() throws has nothing left for us to release.
  }
}

/**
 * A body read from a file path, a Node `Readable`, or an async iterable of bytes/strings.
 *
 * - **Path**: `length` is the file's size when the producer is constructed. Each run opens the
 *   file, reads it in `chunkSize` pieces into fresh buffers (no read while paused) and closes it
 *   on completion, failure and {@link FileBodyProducer.stopProducing}. At most `length` bytes
 *   are written; a file that became shorter fails the run with a
 *   {@link RequestGenerationFailedError}. Replayable: every run re-opens the file.
 * - **Readable**: `length` from `options.length`, else {@link UNKNOWN_LENGTH}. The stream is
 *   paused while the producer is paused; a stream error rejects the run with that error;
 *   stopping destroys the stream. One-shot: `replayable` is false and a second run rejects.
 * - **Async iterable**: like a Readable; while paused the iterator is not pulled, stopping calls
 *   its `return()`. Strings are sent as UTF-8.
 */
export class FileBodyProducer implements BodyProducer {
  /** The size in bytes, or {@link UNKNOWN_LENGTH}. */
  readonly length: BodyLength;
  /** True for a path (the file is re-read), false for a stream or iterable. */
  readonly replayable: boolean;
  readonly #source: Source;
  readonly #chunkSize: number;
  readonly #flow = new FlowControl();
  /** A one-shot source has been started (or abandoned) already. */
  #consumed = false;
  /** Abandons the resource of the current run (the stream, the iterator); null between runs. */
  #abandon: (() => void) | null = null;

  /**
   * @param source - a file path, a `Readable`, or an async iterable of `Uint8Array`/string chunks.
   * @param options - see {@link FileBodyProducerOptions}.
   * @throws {@link InvalidArgumentError} for a bad source or option, or a path that is missing
   *   or not a regular file (the message names the path).
   */
  constructor(source: string | Readable | AsyncIterable<Uint8Array | string>, options?: FileBodyProducerOptions) {
    if (options != null && typeof options !== 'object') throw new InvalidArgumentError('FileBodyProducer: options must be an object');
    const lengthOption = options?.length === undefined ? undefined : checkSafeInteger('length', options.length, 0);
    this.#chunkSize = options?.chunkSize === undefined ? KIB_64 : checkSafeInteger('chunkSize', options.chunkSize, 1);

    if (typeof source === 'string') {
      if (source.length === 0) throw new InvalidArgumentError('FileBodyProducer: the file path must not be empty');
      let stats: Stats;
      try {
        stats = statSync(source);
      } catch (cause) {
        const code = (cause as { code?: unknown }).code;
        const why = code === 'ENOENT' ? 'no such file' : `cannot stat it (${String(code ?? cause)})`;
        throw new InvalidArgumentError(`FileBodyProducer: cannot read "${escapeForMessage(source)}": ${why}`, { cause });
      }
      if (!stats.isFile()) throw new InvalidArgumentError(`FileBodyProducer: "${escapeForMessage(source)}" is not a regular file`);
      if (lengthOption !== undefined && lengthOption !== stats.size) {
        throw new InvalidArgumentError(`FileBodyProducer: options.length is ${lengthOption} but "${escapeForMessage(source)}" has ${stats.size} bytes`);
      }
      this.#source = { kind: 'path', path: source };
      this.length = stats.size;
      this.replayable = true;
      return;
    }
    if (source instanceof Readable) {
      this.#source = { kind: 'stream', stream: source };
    } else if (source !== null && typeof source === 'object' && isAsyncIterable(source)) {
      this.#source = { kind: 'iterable', iterable: source };
    } else {
      throw new InvalidArgumentError('FileBodyProducer: source must be a file path, a Readable or an async iterable');
    }
    this.length = lengthOption ?? UNKNOWN_LENGTH;
    this.replayable = false;
  }

  /**
   * Writes the body to `consumer`; resolves when all of it was written or the run was stopped.
   * Rejects with an {@link InvalidArgumentError} when a run is in progress or a one-shot source
   * is started again, with the stream's/iterator's/file system's error, or with whatever
   * `consumer.write` threw.
   */
  async startProducing(consumer: BodyConsumer): Promise<void> {
    const flow = this.#flow;
    if (flow.running) throw new InvalidArgumentError('FileBodyProducer: startProducing called while already producing');
    const source = this.#source;
    if (source.kind !== 'path') {
      if (this.#consumed) throw new InvalidArgumentError(`FileBodyProducer: a ${source.kind === 'stream' ? 'stream' : 'async iterable'} body cannot be replayed`);
      this.#consumed = true;
    }
    flow.begin();
    try {
      switch (source.kind) {
        case 'path':
          await this.#produceFile(source.path, consumer);
          return;
        case 'stream':
          await this.#produceStream(source.stream, consumer);
          return;
        case 'iterable':
          await this.#produceIterable(source.iterable, consumer);
          return;
      }
    } finally {
      flow.running = false;
      this.#abandon = null;
    }
  }

  async #produceFile(path: string, consumer: BodyConsumer): Promise<void> {
    const flow = this.#flow;
    const handle: FileHandle = await open(path, 'r');
    try {
      const total = this.length as number;
      const chunkSize = this.#chunkSize;
      let position = 0;
      while (position < total) {
        while (flow.paused && !flow.stopped) await flow.waitUntilFlowing();
        if (flow.stopped) return;
        const buffer = Buffer.allocUnsafe(Math.min(chunkSize, total - position));
        const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, position);
        // A pause that arrived during the read holds this chunk back too.
        while (flow.paused && !flow.stopped) await flow.waitUntilFlowing();
        if (flow.stopped) return;
        if (bytesRead === 0) {
          throw new RequestGenerationFailedError(`FileBodyProducer: "${escapeForMessage(path)}" ended after ${position} of ${total} bytes (the file shrank)`);
        }
        position += bytesRead;
        consumer.write(bytesRead === buffer.byteLength ? buffer : buffer.subarray(0, bytesRead));
      }
    } finally {
      await handle.close();
    }
  }

  #produceStream(stream: Readable, consumer: BodyConsumer): Promise<void> {
    const flow = this.#flow;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const cleanup = (): void => {
        settled = true;
        stream.removeListener('data', onData);
        stopWatching();
        this.#abandon = null;
      };
      const abandon = (): void => {
        stream.on('error', ignore);
        stream.destroy();
      };
      const onData = (chunk: unknown): void => {
        if (settled) return;
        try {
          consumer.write(toBytes(chunk));
        } catch (err) {
          cleanup();
          abandon();
          reject(err);
          return;
        }
        if (flow.paused) stream.pause();
      };
      const stopWatching = finished(stream, { writable: false }, (err) => {
        if (settled) return;
        cleanup();
        if (err) reject(err);
        else resolve();
      });
      this.#abandon = () => {
        if (settled) return;
        cleanup();
        abandon();
        resolve();
      };
      stream.on('data', onData);
      if (stream.isPaused()) stream.resume();
    });
  }

  async #produceIterable(iterable: AsyncIterable<Uint8Array | string>, consumer: BodyConsumer): Promise<void> {
    const flow = this.#flow;
    const iterator = iterable[Symbol.asyncIterator]();
    let returned = false;
    const finish = (): void => {
      if (returned) return;
      returned = true;
      closeIterator(iterator);
    };
    let stopRun: () => void = ignore;
    const stopped = new Promise<void>((resolve) => {
      stopRun = resolve;
    });
    this.#abandon = () => {
      finish();
      stopRun();
    };
    const pump = async (): Promise<void> => {
      while (true) {
        while (flow.paused && !flow.stopped) await flow.waitUntilFlowing();
        if (flow.stopped) return;
        const step = await iterator.next();
        if (step.done === true) {
          returned = true;
          return;
        }
        // A pause that arrived while waiting for the chunk holds it back too.
        while (flow.paused && !flow.stopped) await flow.waitUntilFlowing();
        if (flow.stopped) return;
        try {
          consumer.write(toBytes(step.value));
        } catch (err) {
          finish();
          throw err;
        }
      }
    };
    // A stop settles the run at once, even when the iterator never answers the pending next().
    const run = pump();
    run.catch(ignore);
    await Promise.race([run, stopped]);
  }

  /** Pauses the run: no further reads or writes (a stream is paused) until resumed. */
  pauseProducing(): void {
    this.#flow.pause();
    const source = this.#source;
    if (source.kind === 'stream' && this.#flow.running) source.stream.pause();
  }

  /** Continues a paused run. */
  resumeProducing(): void {
    this.#flow.resume();
    const source = this.#source;
    if (source.kind === 'stream' && this.#flow.running) source.stream.resume();
  }

  /**
   * Abandons the run and releases its resource: the file is closed, a stream destroyed, an
   * iterator's `return()` called. The pending run resolves. Before any run, a one-shot source
   * is released too (and can then no longer be started).
   */
  stopProducing(): void {
    const flow = this.#flow;
    flow.stop();
    const abandon = this.#abandon;
    if (abandon !== null) {
      abandon();
      return;
    }
    if (flow.running) return;
    const source = this.#source;
    if (source.kind === 'path' || this.#consumed) return;
    this.#consumed = true;
    if (source.kind === 'stream') {
      source.stream.on('error', ignore);
      source.stream.destroy();
    } else {
      closeIterator(source.iterable[Symbol.asyncIterator]());
    }
  }
}

brand(BytesProducer, 'core.BytesProducer');
brand(FileBodyProducer, 'core.FileBodyProducer');
