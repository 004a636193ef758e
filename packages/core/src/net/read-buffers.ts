/**
 * Who owns the bytes of a socket read. One home for the buffers of the direct-read path:
 *
 * - the **scratch** buffer, shared by every direct-read socket: a read there is *borrowed*, valid
 *   only until the reader returns; whatever is kept must be copied out;
 * - a connection's **spare** buffer, a fresh one a body read goes into and the consumer then gets
 *   with the bytes (owned), unless the read fills little of it (then it is borrowed too and the
 *   buffer serves the next read);
 * - a connection's **arena**, where the kept pieces of one borrowed read are copied side by side.
 *
 * A debug mode poisons every borrowed read once its reader returned (`STRAND_DEBUG_POISON_READS=1`
 * in the environment, or {@link setReadPoisoning}), so a copy that was missed shows up as
 * corrupted bytes in a test instead of as rare silent corruption in production. The test suite
 * runs with it on.
 *
 * @packageDocumentation
 */

/** Size of the shared scratch buffer and of a spare buffer: the most one read takes (libuv's usual 64 KiB). */
const READ_BUFFER_BYTES = 64 * 1024;
/** The byte a poisoned read is filled with. */
export const POISON_BYTE = 0xdb;

let scratch: Buffer | null = null;
let poisoning = process.env['STRAND_DEBUG_POISON_READS'] === '1';

/** The scratch buffer every direct-read socket reads into when no better place is offered. */
export function scratchBuffer(): Buffer {
  if (scratch === null) scratch = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  return scratch;
}

/** Turns the debug poisoning of borrowed reads on or off (for tests); returns the previous setting. */
export function setReadPoisoning(on: boolean): boolean {
  const previous = poisoning;
  poisoning = on;
  return previous;
}

/** A borrowed read is over: in debug mode its bytes are overwritten so that a kept view shows it. */
export function releaseBorrowedRead(read: Buffer): void {
  if (poisoning) read.fill(POISON_BYTE);
}

/**
 * The read buffers of one connection: which read is borrowed, where its kept pieces are copied,
 * and the spare buffer a body read may go into.
 */
export class ConnectionReadBuffers {
  /** The read being parsed when its bytes are not the connection's to keep, else null. */
  borrowed: Buffer | null = null;
  private arena: Buffer | null = null;
  private arenaUsed = 0;
  private spare: Buffer | null = null;

  /**
   * Whether a read the socket calls `owned` may be kept as it is. A read into the spare buffer
   * that fills at least half of it is handed on with the buffer (a new spare is made for the
   * next read); one that fills less is borrowed, so the buffer serves the next read and a
   * trickling body does not pin 64 KiB per chunk.
   */
  owns(read: Buffer, owned: boolean): boolean {
    const spare = this.spare;
    if (!owned || spare === null || read.buffer !== spare.buffer) return owned;
    if (read.length * 2 < spare.length) return false;
    this.spare = null;
    return true;
  }

  /** Parsing of a borrowed read starts. */
  borrow(read: Buffer): void {
    this.borrowed = read;
  }

  /** Parsing of the borrowed read ended: its pieces were copied; it is released (poisoned in debug mode). */
  release(read: Buffer): void {
    this.borrowed = null;
    this.arena = null;
    releaseBorrowedRead(read);
  }

  /**
   * A private copy of `piece`, a body piece of the borrowed read. The pieces of one read are
   * copied side by side into one buffer, big enough for the rest of the read: one allocation per
   * read rather than per chunk of a chunked body, and a consumer can join neighbours for free.
   */
  keep(piece: Buffer): Buffer {
    const read = this.borrowed as Buffer;
    let arena = this.arena;
    let used = this.arenaUsed;
    if (arena === null || used + piece.length > arena.length) {
      arena = this.arena = Buffer.allocUnsafe(read.byteOffset + read.length - piece.byteOffset);
      used = 0;
    }
    piece.copy(arena, used);
    this.arenaUsed = used + piece.length;
    return arena.subarray(used, used + piece.length);
  }

  /** The spare buffer for the next body read (made when needed). */
  spareWindow(): Buffer {
    return (this.spare ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES));
  }

  /** The exchange ended: the spare buffer is not kept for the next one. */
  dropSpare(): void {
    this.spare = null;
  }
}
