/**
 * The response direction of an in-memory (or relayed) connection, where faults happen. The
 * server's socket writes into a {@link ResponseWire}; the wire hands the bytes to a
 * {@link ByteSink} (the client's end of the pair, or a real socket) unchanged, or applies the
 * connection's {@link NormalizedFault}: cut, reset, close, stall, drip or corrupt them.
 *
 * @packageDocumentation
 */

import { type NormalizedFault } from './faults.js';
import { type TurnHandle, cancelTurn, scheduleTurn } from '../settle.js';

/** Where the bytes of one direction end up: the receiving end of the connection. */
export interface ByteSink {
  /** Delivers bytes. Returns false when the receiver is full: the wire then waits for {@link ResponseWire.drained}. */
  deliver(chunk: Buffer): boolean;
  /** A clean close (FIN): the receiver reads what it was given, then the end. */
  end(): void;
  /** A reset (RST): the receiver fails with `ECONNRESET`. */
  reset(): void;
}

/** A counter bumped by every byte movement, so `flush()` can tell when things went quiet. */
export interface ActivityCounter {
  value: number;
}

interface Queued {
  bytes: Buffer;
  drip: number; // bytes per turn; 0 = deliver whole
}

/**
 * States: `open` (bytes flow, maybe through the drip queue), `stalled` (everything is swallowed,
 * nothing arrives), `closed` (the sink was ended or reset; later writes are discarded).
 */
type WireState = 'open' | 'stalled' | 'closed';

/** The server-to-client byte stream of one connection, with optional fault injection. */
export class ResponseWire {
  private state: WireState = 'open';
  private fault: NormalizedFault | null = null;
  /** True when the fault came with a reply, and so ends with that response. */
  private responseScoped = false;
  /** Bytes passed since the fault was set. */
  private counted = 0;
  /** For a fault counted from the body: how much of "\r\n\r\n" has been matched, and the byte where the fault happens. */
  private headMatch = 0;
  private cutAt = -1;
  private readonly queue: Queued[] = [];
  private endQueued = false;
  private pump: TurnHandle | null = null;
  private blocked: (() => void) | null = null;
  private sinkFull = false;
  /** Called once when a fault killed the connection, so the server side is closed too. */
  onKilled: (() => void) | null = null;

  constructor(
    private readonly sink: ByteSink,
    private readonly activity: ActivityCounter,
  ) {}

  /** True while bytes wait for the receiver (it is full, or a drip is in progress). */
  get holding(): boolean {
    return this.sinkFull || this.queue.length > 0 || this.blocked !== null;
  }

  /** True once the wire is closed (reset, closed, or killed by a fault). */
  get closed(): boolean {
    return this.state === 'closed';
  }

  /**
   * Applies `fault` from now on. `scope: 'response'` faults end with the response being sent
   * ({@link responseFinished}); `'connection'` ones last for the connection.
   */
  setFault(fault: NormalizedFault | null, scope: 'response' | 'connection'): void {
    this.fault = fault;
    this.responseScoped = scope === 'response';
    this.counted = 0;
    this.headMatch = 0;
    this.cutAt = -1;
  }

  /** The server finished writing a response. A response-scoped fault that has not fired fires now (or, for drip, ends). */
  responseFinished(): void {
    if (!this.responseScoped || this.fault === null) return;
    const fault = this.fault;
    this.fault = null;
    this.responseScoped = false;
    if (fault.type !== 'drip') this.fire(fault);
  }

  /** Server side: bytes to send. `callback` runs once the wire can take more. */
  write(chunk: Buffer, callback: () => void): void {
    this.activity.value++;
    if (this.state !== 'open' || chunk.length === 0) {
      callback();
      return;
    }
    const fault = this.fault;
    if (fault === null) {
      this.pass(chunk, 0, callback);
      return;
    }
    switch (fault.type) {
      case 'refuse':
        this.pass(chunk, 0, callback);
        return;
      case 'drip':
        this.pass(chunk, fault.chunkSize, callback);
        return;
      case 'reset':
      case 'close':
      case 'stall':
      case 'garbage':
        if (!fault.fromBody) this.writeLimited(chunk, fault.afterBytes, fault, callback);
        else this.writeAfterHead(chunk, fault.afterBytes, fault, callback);
        return;
    }
  }

  /** Server side: a clean close after everything written. A pending fault fires instead. */
  end(): void {
    if (this.state === 'stalled') return;
    if (this.state === 'closed') return;
    const fault = this.fault;
    if (fault !== null && fault.type !== 'drip' && fault.type !== 'refuse') {
      this.fire(fault);
      return;
    }
    this.endQueued = true;
    this.drain();
  }

  /** Server side (or a transport failure): reset the connection now; queued bytes are lost. */
  reset(): void {
    if (this.state === 'closed') return;
    this.close();
    this.sink.reset();
  }

  /** Sink side: the receiver can take more bytes. */
  drained(): void {
    this.sinkFull = false;
    this.drain();
  }

  /** Stops everything without telling the sink (the whole transport is being torn down). */
  dispose(): void {
    this.close();
  }

  private writeLimited(chunk: Buffer, limit: number, fault: NormalizedFault, callback: () => void): void {
    const allowed = limit - this.counted;
    if (chunk.length <= allowed) {
      this.counted += chunk.length;
      this.pass(chunk, 0, callback);
      return;
    }
    if (allowed > 0) {
      this.counted += allowed;
      this.pass(chunk.subarray(0, allowed), 0, noop);
    }
    this.fire(fault);
    callback();
  }

  /** Counts `bodyBytes` from the end of the response head ("\r\n\r\n"), found across chunks. */
  private writeAfterHead(chunk: Buffer, bodyBytes: number, fault: NormalizedFault, callback: () => void): void {
    if (this.cutAt === -1) {
      let match = this.headMatch;
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i];
        match = c === (match === 0 || match === 2 ? 0x0d : 0x0a) ? match + 1 : c === 0x0d ? 1 : 0;
        if (match === 4) {
          this.cutAt = this.counted + i + 1 + bodyBytes;
          break;
        }
      }
      this.headMatch = match;
      if (this.cutAt === -1) {
        this.counted += chunk.length;
        this.pass(chunk, 0, callback);
        return;
      }
    }
    this.writeLimited(chunk, this.cutAt, fault, callback);
  }

  /** Makes the fault happen now. */
  private fire(fault: NormalizedFault): void {
    switch (fault.type) {
      case 'refuse':
      case 'drip':
        return;
      case 'stall':
        this.state = 'stalled';
        this.queue.length = 0;
        this.cancelPump();
        this.release();
        return;
      case 'reset':
        this.kill(() => this.sink.reset());
        return;
      case 'close':
        this.kill(() => this.sink.end());
        return;
      case 'garbage': {
        const data = fault.data;
        this.kill(() => {
          this.sink.deliver(data);
          this.sink.end();
        });
        return;
      }
    }
  }

  /** Delivers what is already queued, then `finish` (end or reset), and closes the server side. */
  private kill(finish: () => void): void {
    this.fault = null;
    this.flushQueueNow();
    this.close();
    finish();
    const onKilled = this.onKilled;
    this.onKilled = null;
    if (onKilled !== null) onKilled();
  }

  private pass(bytes: Buffer, drip: number, callback: () => void): void {
    if (drip === 0 && this.queue.length === 0 && !this.sinkFull) {
      this.activity.value++;
      if (this.sink.deliver(bytes)) {
        callback();
      } else {
        this.sinkFull = true;
        this.blocked = callback;
      }
      return;
    }
    this.queue.push({ bytes, drip });
    // Dripped bytes are accepted at once (a network's buffers would take them) and delivered
    // later; other bytes wait for a full receiver, which is back-pressure on the server.
    if (drip === 0 && this.sinkFull) this.blocked = callback;
    else callback();
    this.drain();
  }

  private drain(): void {
    if (this.state !== 'open') return;
    while (!this.sinkFull && this.queue.length > 0) {
      const head = this.queue[0] as Queued;
      if (head.drip > 0) {
        this.schedulePump();
        return;
      }
      this.queue.shift();
      this.activity.value++;
      if (!this.sink.deliver(head.bytes)) this.sinkFull = true;
    }
    if (this.sinkFull) return;
    if (this.queue.length === 0 && this.endQueued) {
      this.close();
      this.sink.end();
      return;
    }
    this.release();
  }

  private schedulePump(): void {
    if (this.pump !== null) return;
    this.pump = scheduleTurn(this.dripOnce);
  }

  private readonly dripOnce = (): void => {
    this.pump = null;
    if (this.state !== 'open' || this.sinkFull) return;
    const head = this.queue[0];
    if (head === undefined) return;
    if (head.drip === 0) {
      this.drain();
      return;
    }
    const piece = head.bytes.subarray(0, head.drip);
    if (piece.length === head.bytes.length) this.queue.shift();
    else head.bytes = head.bytes.subarray(piece.length);
    this.activity.value++;
    if (!this.sink.deliver(piece)) this.sinkFull = true;
    this.drain();
  };

  private flushQueueNow(): void {
    this.cancelPump();
    for (const item of this.queue) this.sink.deliver(item.bytes);
    this.queue.length = 0;
  }

  private release(): void {
    const blocked = this.blocked;
    if (blocked === null) return;
    this.blocked = null;
    blocked();
  }

  private cancelPump(): void {
    if (this.pump === null) return;
    cancelTurn(this.pump);
    this.pump = null;
  }

  private close(): void {
    this.state = 'closed';
    this.queue.length = 0;
    this.cancelPump();
    this.release();
  }
}

function noop(): void {}
