/**
 * Socket reads without the stream machinery.
 *
 * A socket made by {@link directReadSocket} reads through Node's `onread` option: libuv reads
 * into a buffer we choose and calls us back, with no `Readable` push, no `'data'` event and no
 * fresh buffer per read. An {@link HTTP11Connection} attaches itself as the socket's
 * {@link ReadSink}; the reads then go straight to its parser, into a scratch buffer shared by all
 * sockets, or — when a body consumer offers one — straight into the consumer's own buffer (a
 * `readBody` of known length is read from the kernel into the Buffer it resolves with, no copy).
 *
 * Until a sink attaches the socket behaves as any socket: what it reads
 * is copied and pushed into its `Readable` side, so `'data'`, `pipe()` and `for await` work, and
 * a sink that attaches later drains those bytes first.
 *
 * @packageDocumentation
 */
import type { Duplex } from 'node:stream';
import type * as net from 'node:net';
import { scratchBuffer } from './read-buffers.js';

/** What a socket's reads are delivered to once attached (an HTTP/1.1 connection). */
export interface ReadSink {
  /**
   * Bytes read from the socket. When `owned` is false `chunk` is a view of a scratch buffer that
   * the next read on any socket overwrites: whatever is kept must be copied (see read-buffers.ts). When `owned` is
   * true the bytes are in the buffer {@link readWindow} returned (or a private copy) and may be kept.
   */
  socketRead(chunk: Buffer, owned: boolean): void;
  /** Where the next read should go: a buffer whose bytes the sink will own, or null for the scratch buffer. */
  readWindow(): Buffer | null;
}


const readers = new WeakMap<Duplex, DirectReads>();

/** The direct-read state of `socket`, if it was made by {@link directReadSocket}. */
export function directReadsOf(socket: Duplex): DirectReads | undefined {
  return readers.get(socket);
}

/**
 * Creates a socket with `create(onread)` (a `net.connect` / `tls.connect` call that passes the
 * given `onread` option) and registers it for direct reads.
 */
export function directReadSocket<S extends net.Socket>(create: (onread: net.OnReadOpts) => S): S {
  const reads = new DirectReads();
  const socket = create(reads.onread);
  reads.socket = socket;
  readers.set(socket, reads);
  return socket;
}

/** The read side of one direct-read socket. */
export class DirectReads {
  /** Set right after the socket is created. */
  socket: net.Socket | null = null;
  private sink: ReadSink | null = null;
  /** The buffer handed out for the next read, when it is a window of the sink's. */
  private window: Buffer | null = null;

  /** Node's `onread` option: the buffer for each next read, and the callback after it. */
  readonly onread: net.OnReadOpts = {
    buffer: (): Buffer => {
      const window = this.sink === null ? null : this.sink.readWindow();
      this.window = window;
      return window ?? scratchBuffer();
    },
    callback: (nread: number, buffer: Uint8Array): boolean => {
      const owned = this.window !== null && buffer === this.window;
      this.window = null;
      const sink = this.sink;
      if (sink !== null) {
        sink.socketRead((buffer as Buffer).subarray(0, nread), owned);
        return true;
      }
      // Nobody attached: behave as a plain socket.
      const copy = Buffer.allocUnsafe(nread);
      copy.set(nread === buffer.length ? buffer : buffer.subarray(0, nread));
      return (this.socket as net.Socket).push(copy);
    },
  };

  /**
   * Sends the socket's reads to `sink` from now on. Bytes that arrived before (held in the
   * socket's `Readable` buffer) are delivered to it on the next tick, as owned copies.
   */
  attach(sink: ReadSink): void {
    this.sink = sink;
    const socket = this.socket as net.Socket;
    if (socket.readableLength === 0) return;
    process.nextTick(() => {
      if (this.sink !== sink) return;
      let chunk: unknown;
      while (this.sink === sink && (chunk = socket.read()) !== null) sink.socketRead(chunk as Buffer, true);
    });
  }
}
