/**
 * An in-memory connection: two Duplex ends that behave like a TCP socket pair. The client end
 * goes to Strand's connection; the server end goes to Node's `http.Server` through its
 * `'connection'` event. Bytes from the server pass through a {@link ResponseWire}, where faults
 * are injected.
 *
 * Closing semantics follow TCP: `end()` is a FIN (the other side reads what was sent, then the
 * end); `destroy()` without an error is a close (the peer sees the end, or a reset when bytes
 * sent to the closing side were left unread); `destroy(error)` is a reset (the peer fails with
 * `ECONNRESET`); writing to a peer that is gone fails with `EPIPE`.
 *
 * @packageDocumentation
 */

import { Duplex } from 'node:stream';
import { type ActivityCounter, type ByteSink, ResponseWire } from './wire.js';

/** What the server end tells whoever feeds it bytes: it can take more now. */
export interface InboundControl {
  resume(): void;
}

/** Describes the connection a {@link ServerSocket} carries. */
export interface ServerSocketInfo {
  /** A number unique within one fake server, in order of connection. */
  readonly connectionId: number;
  /** `scheme://host:port` the client asked for. */
  readonly origin: string;
  /** The peer address reported to request handlers. */
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** A Node error with a `code`, as a socket would report it. */
export function socketError(code: 'ECONNRESET' | 'EPIPE' | 'ECONNREFUSED', message: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${message} (${code})`);
  error.code = code;
  error.syscall = code === 'EPIPE' ? 'write' : 'read';
  return error;
}

function concat(chunks: ReadonlyArray<{ chunk: unknown }>): Buffer {
  if (chunks.length === 1) return (chunks[0] as { chunk: Buffer }).chunk;
  return Buffer.concat(chunks.map((c) => c.chunk as Buffer));
}

/**
 * The server's end of a connection: what `http.Server` reads requests from and writes
 * responses to. Written bytes go through {@link ServerSocket.wire}.
 */
export class ServerSocket extends Duplex {
  /** The response direction, where faults are injected. */
  readonly wire: ResponseWire;
  readonly connectionId: number;
  readonly origin: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteFamily = 'IPv4';
  readonly localAddress = '127.0.0.1';
  readonly localPort = 80;
  /** Bytes of response written by the server. */
  bytesWritten = 0;
  /** Bytes of request received from the client. */
  bytesRead = 0;
  private inbound: InboundControl | null = null;
  private inputEnded = false;
  private readonly activity: ActivityCounter;

  constructor(sink: ByteSink, activity: ActivityCounter, info: ServerSocketInfo) {
    super({ allowHalfOpen: false, decodeStrings: true });
    this.activity = activity;
    this.wire = new ResponseWire(sink, activity);
    this.wire.onKilled = () => this.destroy();
    this.connectionId = info.connectionId;
    this.origin = info.origin;
    this.remoteAddress = info.remoteAddress;
    this.remotePort = info.remotePort;
  }

  /** Connects the source of request bytes, told when the server wants more. */
  setInbound(inbound: InboundControl): void {
    this.inbound = inbound;
  }

  /** Client side: request bytes arrive. Returns false when the server should be given no more for now. */
  receive(chunk: Buffer): boolean {
    if (this.inputEnded || this.destroyed) return true;
    this.bytesRead += chunk.length;
    this.activity.value++;
    return this.push(chunk);
  }

  /** Client side: the client finished sending (FIN). */
  receiveEnd(): void {
    if (this.inputEnded || this.destroyed) return;
    this.inputEnded = true;
    this.activity.value++;
    this.push(null);
  }

  override _read(): void {
    this.inbound?.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytesWritten += chunk.length;
    this.wire.write(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: unknown; encoding: BufferEncoding }>, callback: (error?: Error | null) => void): void {
    const bytes = concat(chunks);
    this.bytesWritten += bytes.length;
    this.wire.write(bytes, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.wire.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.activity.value++;
    if (error !== null) this.wire.reset();
    else this.wire.end();
    callback(error);
  }

  // What code written for net.Socket may call; meaningless in memory.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

/** The client's end of an in-memory connection; given to Strand's connection as its socket. */
export class MemoryClientSocket extends Duplex {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 80;
  /** Where the server's wire delivers response bytes. */
  readonly sink: ByteSink;
  private server: ServerSocket | null = null;
  private waitingWrite: ((error?: Error | null) => void) | null = null;
  private readonly inbound: InboundControl;

  constructor() {
    super({ allowHalfOpen: false, decodeStrings: true });
    // Strand's connection listens for errors itself; this keeps a reset that races its
    // listener from crashing the process.
    this.on('error', ignore);
    let ended = false;
    this.sink = {
      deliver: (chunk) => {
        if (this.destroyed) {
          // Bytes sent to a closed socket are answered with a reset, as TCP does.
          this.server?.destroy(socketError('ECONNRESET', 'the client had closed the connection'));
          return true;
        }
        return ended ? true : this.push(chunk);
      },
      end: () => {
        if (this.destroyed || ended) return;
        ended = true;
        this.push(null);
      },
      reset: () => {
        this.destroy(socketError('ECONNRESET', 'connection reset by the fake server'));
      },
    };
    this.inbound = {
      resume: () => {
        const waiting = this.waitingWrite;
        if (waiting === null) return;
        this.waitingWrite = null;
        waiting();
      },
    };
  }

  /** Links this end to the server's end. */
  attach(server: ServerSocket): void {
    this.server = server;
    server.setInbound(this.inbound);
  }

  override _read(): void {
    this.server?.wire.drained();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: unknown; encoding: BufferEncoding }>, callback: (error?: Error | null) => void): void {
    this.send(concat(chunks), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const server = this.server;
    if (server !== null) server.receiveEnd();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const server = this.server;
    if (server !== null && !server.destroyed) {
      // Closing with response bytes unread (or still on their way) resets the connection, as
      // TCP does; otherwise the server reads the end of the request stream (a FIN).
      if (error !== null || this.readableLength > 0 || server.wire.holding) server.destroy(socketError('ECONNRESET', 'connection reset by the client'));
      else server.receiveEnd();
    }
    const waiting = this.waitingWrite;
    this.waitingWrite = null;
    if (waiting !== null) waiting();
    callback(error);
  }

  // What code written for net.Socket may call; meaningless in memory.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  private send(chunk: Buffer, callback: (error?: Error | null) => void): void {
    const server = this.server;
    if (server === null || server.destroyed) {
      callback(socketError('EPIPE', 'the fake server closed the connection'));
      return;
    }
    if (server.receive(chunk)) callback();
    else this.waitingWrite = callback;
  }
}

function ignore(): void {}
