/**
 * A stub server on a real loopback port: the same handlers, route tables, sequences, recording
 * and reply faults as the fake agent, for integration tests and for code that cannot be given
 * an agent.
 *
 * @packageDocumentation
 */

import * as net from 'node:net';
import { type Clock, InvalidArgumentError, systemClock } from '@strand/core';
import { FakeHttpServer } from './server/fake-server.js';
import { type RequestHandlerObject, type ServerBehaviour, routeTableFor } from './server/routes.js';
import { ServerRecord } from './server/server-record.js';
import type { ServerSocket } from './transport/memory-socket.js';
import type { ByteSink } from './transport/wire.js';
import { checkClock, checkInteger, checkOneOf, checkOptions, describeValue } from './validation.js';

/** Options of {@link StubServer.start}. */
export interface StubServerOptions {
  /** `'127.0.0.1'` (default) or `'::1'`. Only loopback addresses are allowed. */
  host?: '127.0.0.1' | '::1';
  /** Port to listen on; default 0 (the system picks a free one). */
  port?: number;
  /** The clock reply delays run on. Default: the system clock. */
  clock?: Clock;
  /** For a route table: what an unmatched request gets. Default `'fail'`. */
  unmatched?: 'fail' | 'not-found';
}

/**
 * Relays one accepted TCP socket to a server end: request bytes in, response bytes (through the
 * fault-injecting wire) out.
 */
function relay(socket: net.Socket, server: FakeHttpServer, origin: string): ServerSocket {
  const sink: ByteSink = {
    deliver: (chunk) => (socket.destroyed ? true : socket.write(chunk)),
    end: () => {
      if (!socket.destroyed) socket.end();
    },
    reset: () => {
      if (!socket.destroyed) socket.resetAndDestroy();
    },
  };
  const end = server.accept(sink, { origin, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0 });
  end.setInbound({ resume: () => socket.resume() });
  socket.on('drain', () => end.wire.drained());
  socket.on('data', (chunk: Buffer) => {
    if (!end.receive(chunk)) socket.pause();
  });
  socket.on('end', () => end.receiveEnd());
  socket.on('error', () => {});
  socket.on('close', () => {
    if (!end.destroyed) end.destroy();
  });
  end.on('close', () => {
    if (!socket.destroyed) socket.destroySoon();
  });
  return end;
}

/**
 * An HTTP server on 127.0.0.1 (or ::1) and a free port, answering with a handler, route table
 * or `RequestSequence`, recording every request. Node's `http.Server` does the HTTP; reply
 * faults (`reset`, `close`, `stall`, `drip`, `truncate`, `garbage`) act on the real socket (a
 * `reset` is a TCP RST, which the client's kernel reports as `ECONNRESET` or, depending on
 * timing, as an early end: the exchange fails the same way). Connection faults (`refuse`) are
 * for the fake agent only.
 *
 * @example
 * ```ts
 * let server: StubServer;
 * beforeAll(async () => { server = await StubServer.start([{ path: '/health', reply: 'ok' }]); });
 * afterAll(() => server.stop());
 * test('the health check answers', async () => {
 *   const response = await fetch(`${server.url}/health`);
 *   expect(await response.text()).toBe('ok');
 * });
 * ```
 */
export class StubServer extends ServerRecord {
  /** `http://127.0.0.1:PORT` (or `http://[::1]:PORT`), without a trailing slash. */
  readonly url: string;
  /** The loopback address it listens on. */
  readonly host: string;
  /** The port it listens on (chosen by the system). */
  readonly port: number;
  /** The handler, as an object (a route table becomes a `RouteTable`). */
  readonly handler: RequestHandlerObject;
  /** @internal */
  protected readonly server: FakeHttpServer;
  private readonly listener: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private stopped: Promise<void> | null = null;

  private constructor(server: FakeHttpServer, listener: net.Server, host: string, port: number) {
    super();
    this.server = server;
    this.handler = server.handler;
    this.listener = listener;
    this.host = host;
    this.port = port;
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    listener.on('connection', (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      relay(socket, server, this.url);
    });
  }

  /**
   * Starts a stub server and resolves once it listens.
   *
   * @throws (rejects with) `InvalidArgumentError` naming the option, for an unknown option or a
   *   value of the wrong type, before anything listens.
   */
  static async start(behaviour: ServerBehaviour, options: StubServerOptions = {}): Promise<StubServer> {
    const checked = checkOptions(options, ['host', 'port', 'clock', 'unmatched'], 'StubServer.start');
    const host = checked['host'] ?? '127.0.0.1';
    if (host !== '127.0.0.1' && host !== '::1') throw new InvalidArgumentError(`StubServer.start: host must be 127.0.0.1 or ::1 (loopback only), got ${describeValue(host)}`);
    const port = checkInteger(checked['port'], 'StubServer.start: port', 0, { max: 65535 }) ?? 0;
    const clock = checkClock(checked['clock'], 'StubServer.start: clock') ?? systemClock;
    const unmatched = checkOneOf(checked['unmatched'], ['fail', 'not-found'], 'StubServer.start: unmatched');
    const server = new FakeHttpServer(routeTableFor(behaviour, unmatched, 'StubServer.start'), clock);
    const listener = net.createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, host, () => {
        listener.removeListener('error', reject);
        resolve();
      });
    });
    const address = listener.address() as net.AddressInfo;
    return new StubServer(server, listener, host, address.port);
  }

  /** `url` + `path`: `server.urlFor('/users/7')`. */
  urlFor(path: string): string {
    if (typeof path !== 'string') throw new InvalidArgumentError(`StubServer.urlFor: path must be a string, got ${describeValue(path)}`);
    return `${this.url}${path.startsWith('/') ? path : `/${path}`}`;
  }

  /** Connections accepted so far. */
  get connectionsAccepted(): number {
    return this.server.connectionsOpened;
  }

  /** Stops listening and closes every connection. Resolves when the port is released. Safe to call twice. */
  stop(): Promise<void> {
    if (this.stopped !== null) return this.stopped;
    this.stopped = new Promise<void>((resolve) => {
      this.listener.close(() => resolve());
      this.server.close();
      for (const socket of this.sockets) socket.destroy();
      this.sockets.clear();
    });
    return this.stopped;
  }
}
