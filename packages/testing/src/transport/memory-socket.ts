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
 * Timing follows a network too: what one end writes reaches the other on a later event-loop
 * turn (see `deliverSoon` below), never during the write, so timers run between exchanges.
 *
 * @packageDocumentation
 */

import { Duplex } from 'node:stream';
import { type TurnHandle, scheduleTurn } from '../settle.js';
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
/** The net.Socket methods code may call on any socket; meaningless in memory, so they do nothing. */
abstract class SocketLike extends Duplex {
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

export class ServerSocket extends SocketLike {
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
  /** Raw response bytes given to {@link sendRawResponse}; what is written after them is dropped while `discarding`. */
  private readonly rawChunks = new WeakSet<Buffer>();
  private discarding = false;
  /** @internal Bumped by every movement on this connection, for `flush()`. */
  readonly activity: ActivityCounter;

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

  /**
   * Sends `bytes` as the whole response to the request being answered, exactly as given (status
   * line, header fields, framing), and discards what the HTTP server itself writes for that
   * response until {@link endRawResponse}. Used for replies given as raw bytes.
   */
  sendRawResponse(bytes: Buffer): void {
    this.rawChunks.add(bytes);
    this.write(bytes);
  }

  /** The HTTP server finished the response a {@link sendRawResponse} answered: its writes pass again. */
  endRawResponse(): void {
    this.discarding = false;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // Writes reach here in order: what was written before the raw bytes passes, what follows them is dropped.
    if (this.rawChunks.has(chunk)) this.discarding = true;
    else if (this.discarding) {
      callback();
      return;
    }
    this.bytesWritten += chunk.length;
    this.wire.write(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: unknown; encoding: BufferEncoding }>, callback: (error?: Error | null) => void): void {
    const kept = chunks.filter((c) => {
      if (this.rawChunks.has(c.chunk as Buffer)) return (this.discarding = true);
      return !this.discarding;
    });
    if (kept.length === 0) {
      callback();
      return;
    }
    const bytes = concat(kept);
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
}

/**
 * The bytes of an in-memory connection cross it on a later event-loop turn, as a network's do:
 * a real socket's data arrives in the poll phase, so timers, `setImmediate` callbacks and other
 * I/O run between one read and the next. Without that, a loop of requests would run entirely on
 * microtasks and `process.nextTick`, and no timer (jest's test timeout, `AbortSignal.timeout`,
 * the code under test's own) could fire while it runs.
 *
 * Writes are batched per connection: everything written during one turn arrives together at
 * the start of the next one, with one `setImmediate` (Node's own, from `node:timers`, which
 * jest's fake timers leave alone) for all the connections that have bytes on their way.
 */
interface Carrier {
  deliverPending(): void;
}

let due: Carrier[] = [];
let spare: Carrier[] = [];
let turn: TurnHandle | null = null;

function deliverSoon(carrier: Carrier): void {
  due.push(carrier);
  if (turn === null) turn = scheduleTurn(deliverDue);
}

function deliverDue(): void {
  turn = null;
  const batch = due;
  due = spare;
  spare = batch;
  let failure: { error: unknown } | null = null;
  for (let i = 0; i < batch.length; i++) {
    try {
      (batch[i] as Carrier).deliverPending();
    } catch (error) {
      // A receiver's listener threw: deliver to the other connections, then let it surface as
      // an uncaught exception, as it would from a real socket's 'data' event.
      failure ??= { error };
    }
  }
  batch.length = 0;
  if (failure !== null) throw failure.error;
}

/** How a direction of the connection finishes once its bytes are delivered. */
type Finish = 'end' | 'reset' | null;

/** The client's end of an in-memory connection; given to Strand's connection as its socket. */
export class MemoryClientSocket extends SocketLike implements Carrier {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 80;
  /** Where the server's wire delivers response bytes (on the next turn). */
  readonly sink: ByteSink;
  private server: ServerSocket | null = null;
  private activity: ActivityCounter = { value: 0 };
  private scheduled = false;
  // Response direction: bytes on their way to this end.
  private readonly incoming: Buffer[] = [];
  private incomingBytes = 0;
  private incomingFinish: Finish = null;
  /** An end or a reset was queued: later response bytes are dropped. */
  private incomingClosed = false;
  /** The end of the response stream was pushed. */
  private ended = false;
  /** The wire was told this end is full and waits for `drained()`. */
  private owesDrain = false;
  // Request direction: bytes on their way to the server.
  private readonly outgoing: Buffer[] = [];
  private outgoingBytes = 0;
  private outgoingFinish: Finish = null;
  private outgoingClosed = false;
  /** The server end did not take the last bytes (its buffer is full) and has not asked for more. */
  private serverFull = false;
  private waitingWrite: ((error?: Error | null) => void) | null = null;
  private readonly inbound: InboundControl;

  constructor() {
    super({ allowHalfOpen: false, decodeStrings: true });
    // Strand's connection listens for errors itself; this keeps a reset that races its
    // listener from crashing the process.
    this.on('error', ignore);
    this.sink = {
      deliver: (chunk) => {
        if (this.incomingClosed) return true;
        this.incoming.push(chunk);
        this.incomingBytes += chunk.length;
        this.activity.value++;
        this.schedule();
        if (this.incomingBytes + this.readableLength < this.readableHighWaterMark) return true;
        this.owesDrain = true;
        return false;
      },
      end: () => this.finishIncoming('end'),
      reset: () => this.finishIncoming('reset'),
    };
    this.inbound = {
      resume: () => {
        this.serverFull = false;
        this.releaseWrite();
      },
    };
  }

  /** Links this end to the server's end. */
  attach(server: ServerSocket): void {
    this.server = server;
    this.activity = server.activity;
    server.setInbound(this.inbound);
  }

  /** @internal Runs on the turn after bytes were written: hands them to the other end. */
  deliverPending(): void {
    this.scheduled = false;
    this.activity.value++;
    this.deliverOutgoing();
    this.deliverIncoming();
  }

  override _read(): void {
    if (!this.owesDrain || this.incomingBytes > 0) return;
    this.owesDrain = false;
    this.server?.wire.drained();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: unknown; encoding: BufferEncoding }>, callback: (error?: Error | null) => void): void {
    this.send(concat(chunks), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finishOutgoing('end');
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const server = this.server;
    if (server !== null && !server.destroyed) {
      // Closing with response bytes unread (or still on their way) resets the connection, as
      // TCP does; otherwise the server reads the end of the request stream (a FIN).
      const unread = this.readableLength > 0 || this.incomingBytes > 0 || server.wire.holding;
      this.finishOutgoing(error !== null || unread ? 'reset' : 'end');
    }
    const waiting = this.waitingWrite;
    this.waitingWrite = null;
    if (waiting !== null) waiting();
    callback(error);
  }


  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    deliverSoon(this);
  }

  private send(chunk: Buffer, callback: (error?: Error | null) => void): void {
    const server = this.server;
    if (server === null || server.destroyed || this.outgoingClosed) {
      callback(socketError('EPIPE', 'the fake server closed the connection'));
      return;
    }
    this.outgoing.push(chunk);
    this.outgoingBytes += chunk.length;
    this.activity.value++;
    this.schedule();
    // Like a socket's send buffer: the writer may go on until about a buffer's worth is on its way.
    if (!this.serverFull && this.outgoingBytes < server.readableHighWaterMark) callback();
    else this.waitingWrite = callback;
  }

  private releaseWrite(): void {
    const waiting = this.waitingWrite;
    if (waiting === null || this.serverFull || (this.server !== null && this.outgoingBytes >= this.server.readableHighWaterMark)) return;
    this.waitingWrite = null;
    waiting();
  }

  /** A FIN (`end`) or an RST (`reset`) after the request bytes already written. A reset wins over an end not yet delivered. */
  private finishOutgoing(how: 'end' | 'reset'): void {
    this.outgoingClosed = true;
    if (this.outgoingFinish === null || how === 'reset') this.outgoingFinish = how;
    this.activity.value++;
    this.schedule();
  }

  private finishIncoming(how: 'end' | 'reset'): void {
    if (this.incomingClosed) return;
    this.incomingClosed = true;
    this.incomingFinish = how;
    this.activity.value++;
    this.schedule();
  }

  private deliverOutgoing(): void {
    const server = this.server;
    const chunks = this.outgoing;
    if (server === null || (chunks.length === 0 && this.outgoingFinish === null)) return;
    for (let i = 0; i < chunks.length; i++) {
      if (!server.receive(chunks[i] as Buffer)) this.serverFull = true;
    }
    chunks.length = 0;
    this.outgoingBytes = 0;
    const finish = this.outgoingFinish;
    this.outgoingFinish = null;
    if (finish === 'end') server.receiveEnd();
    else if (finish === 'reset' && !server.destroyed) server.destroy(socketError('ECONNRESET', 'connection reset by the client'));
    this.releaseWrite();
  }

  private deliverIncoming(): void {
    const chunks = this.incoming;
    if (chunks.length === 0 && this.incomingFinish === null) return;
    if (this.destroyed) {
      // Bytes sent to a closed socket are answered with a reset, as TCP does.
      if (chunks.length > 0 && this.server !== null && !this.server.destroyed) this.server.destroy(socketError('ECONNRESET', 'the client had closed the connection'));
    } else {
      // A listener may write or read more while this runs: the loop takes what it appends too.
      for (let i = 0; i < chunks.length && !this.ended && !this.destroyed; i++) this.push(chunks[i] as Buffer);
    }
    chunks.length = 0;
    this.incomingBytes = 0;
    const finish = this.incomingFinish;
    this.incomingFinish = null;
    if (finish === 'end') {
      if (!this.destroyed && !this.ended) {
        this.ended = true;
        this.push(null);
      }
    } else if (finish === 'reset') {
      this.destroy(socketError('ECONNRESET', 'connection reset by the fake server'));
    }
    if (this.owesDrain && !this.destroyed && !this.ended && this.readableLength < this.readableHighWaterMark) {
      this.owesDrain = false;
      this.server?.wire.drained();
    }
  }
}

function ignore(): void {}
