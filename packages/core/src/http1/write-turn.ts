import type { Duplex } from 'node:stream';
// The `timers` module's, not the global: jest's (and sinon's) fake timers replace
// `globalThis.setImmediate`, and a faked turn end would never come, holding every later head.
import { setImmediate } from 'node:timers';

/**
 * Request heads started in one turn of the event loop leave together at the turn's end.
 *
 * With many connections, one turn's poll phase delivers many responses, and each caller starts
 * its next request as it reads its response. Written at once, those heads reach the server one
 * by one, spread over the turn, and on loopback (and more so in a VM) each write to a server that
 * has gone back to sleep pays for waking it inside the `write` call: profiles of 50 connections
 * showed the socket write as the largest cost. So the first head of a turn is written at once
 * (a single connection waits for nothing), and the others are handed to their sockets in order in
 * the same turn's check phase (`setImmediate`), where the server finds them together.
 *
 * Only whole bodiless heads come here, so nothing else can be written to their sockets in
 * between; a socket that closed or ended meanwhile is skipped (its exchange fails through the
 * connection's close handling, as if the write had been lost).
 */
const waitingSockets: Duplex[] = [];
const waitingHeads: string[] = [];
let turnStarted = false;

/** Writes `head` (latin1) to `socket` now if it is this turn's first, else at the turn's end. */
export function writeInTurn(socket: Duplex, head: string): void {
  if (!turnStarted) {
    turnStarted = true;
    setImmediate(endTurn);
    socket.write(head, 'latin1');
    return;
  }
  waitingSockets.push(socket);
  waitingHeads.push(head);
}

function endTurn(): void {
  turnStarted = false;
  const n = waitingSockets.length;
  for (let i = 0; i < n; i++) {
    const socket = waitingSockets[i]!;
    if (socket.writable) socket.write(waitingHeads[i]!, 'latin1');
  }
  waitingSockets.length = 0;
  waitingHeads.length = 0;
}
