import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

/** A loopback server under test, with the sockets it has seen, closed by `close()`. */
export interface TestServer {
  url: string;
  port: number;
  /** Sockets accepted so far. */
  accepted: number;
  /** Sockets currently open on the server side. */
  openSockets(): number;
  close(): Promise<void>;
}

function track(server: net.Server): { sockets: Set<net.Socket>; accepted: () => number } {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  server.on('connection', (socket: net.Socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return { sockets, accepted: () => accepted };
}

async function listen(server: net.Server, tracked: ReturnType<typeof track>): Promise<TestServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get accepted() {
      return tracked.accepted();
    },
    openSockets: () => tracked.sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of tracked.sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Node's own HTTP server on 127.0.0.1:0. */
export function startHttpServer(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer({ keepAliveTimeout: 5000 }, handler);
  return listen(server, track(server));
}

/** A raw TCP server: `onSocket` writes whatever bytes the test wants (malformed, hostile, partial). */
export function startRawServer(onSocket: (socket: net.Socket) => void): Promise<TestServer> {
  const server = net.createServer({ allowHalfOpen: false }, (socket) => {
    socket.on('error', () => {});
    onSocket(socket);
  });
  return listen(server, track(server));
}

/** Reads a request head off a raw socket, then calls `reply` once with the head as text. */
export function onRequestHead(socket: net.Socket, reply: (head: string, rest: Buffer) => void): void {
  let buffered = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end === -1) return;
    socket.removeListener('data', onData);
    reply(buffered.subarray(0, end + 4).toString('latin1'), buffered.subarray(end + 4));
  };
  socket.on('data', onData);
}

/** Resolves after the event loop turned `n` times and `ms` milliseconds passed. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` until it is true or `ms` ran out; returns its last value. */
export async function eventually(predicate: () => boolean, ms = 2000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await delay(5);
  }
  return true;
}
