/** A server body that honours back-pressure and tells the test how far it got, for the streaming tests of core and client. */
import type * as http from 'node:http';

/** What a back-pressured body has done so far. */
export interface PressureState {
  /** Bytes handed to `res.write` so far. */
  sent: number;
  /** Bytes in the whole body. */
  total: number;
  /** True while the server waits for `'drain'`: the client stopped reading and the socket is full. */
  blocked: boolean;
  /** True once the whole body was written. */
  finished: boolean;
}

/** A state for {@link writeWithBackPressure}, before any body. */
export function pressureState(): PressureState {
  return { sent: 0, total: 0, blocked: false, finished: false };
}

const PIECE = 64 * 1024;

/**
 * Writes `body` (bytes, or a size: that many bytes of `p`) to `res` after its head, 64 KiB at a
 * time, stopping whenever `res.write` reports a full socket and going on at `'drain'`, then
 * ends it. `state` is reset first and kept up to date, so a test can see the server held back.
 */
export function writeWithBackPressure(res: http.ServerResponse, body: Buffer | number, state: PressureState): void {
  const total = typeof body === 'number' ? body : body.length;
  const filler = typeof body === 'number' ? Buffer.alloc(PIECE, 'p') : null;
  Object.assign(state, { sent: 0, total, blocked: false, finished: false });
  const pump = (): void => {
    while (state.sent < total) {
      const size = Math.min(PIECE, total - state.sent);
      const chunk = filler === null ? (body as Buffer).subarray(state.sent, state.sent + size) : filler.subarray(0, size);
      state.sent += size;
      if (!res.write(chunk)) {
        state.blocked = true;
        res.once('drain', () => {
          state.blocked = false;
          pump();
        });
        return;
      }
    }
    state.finished = true;
    res.end();
  };
  pump();
}
