/**
 * Loopback servers by route table for the client's tests: the routes several test files answer
 * with (a redirect, a body cut short, a back-pressured body), a table that echoes every other
 * path, a client on its own pool against it, and the small waits and checks those tests share.
 */
import type * as http from 'node:http';
import { HTTPConnectionPool } from '@strand/core';
import { HTTPClient, type HTTPClientOptions } from '@strand/client';
import { type PressureState, writeWithBackPressure } from '../../../core/test/support/back-pressure';
import { type Handler, type TestServer, echo, startServer } from './servers';

export { eventually } from '../../../core/test/support/servers';
export { type PressureState, pressureState } from '../../../core/test/support/back-pressure';

/** Answers one path; `url` is the request's URL (on a placeholder origin), for its query. */
export type Route = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, url: URL) => void;

/** A handler that answers each path of `table` (the pathname, without the query) with its route, and any other path with {@link echo}. */
export function routes(table: Readonly<Record<string, Route>>): Handler {
  return (req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const route = Object.hasOwn(table, url.pathname) ? table[url.pathname] : undefined;
    if (route === undefined) echo(req, res, body);
    else route(req, res, body, url);
  };
}

/** A `code` redirect to `location`, with `body`. */
export function redirectRoute(code: number, location: string, body = ''): Route {
  return (_req, res) => {
    res.writeHead(code, { location });
    res.end(body);
  };
}

/** A `Content-Length: 100` body of which only `part` comes before the connection is destroyed. */
export function truncatedRoute(part: string): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write(part);
    setImmediate(() => res.socket?.destroy());
  };
}

/** A 64 MiB body written only as fast as the client reads it; `state` shows how far it got. */
export function pressureRoute(state: PressureState, total = 64 * 1024 * 1024): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-length': String(total) });
    writeWithBackPressure(res, total, state);
  };
}

/** A server, a pool and a client on that pool, started for one test. */
export interface Loopback {
  readonly server: TestServer;
  readonly pool: HTTPConnectionPool;
  readonly client: HTTPClient;
}

/** Starts `handler`'s server and a client on a new pool (with `options`, whose `pool` is that one). */
export async function startLoopback(handler: Handler, options: Omit<HTTPClientOptions, 'pool'> = {}): Promise<Loopback> {
  const server = await startServer(handler);
  const pool = new HTTPConnectionPool();
  return { server, pool, client: new HTTPClient({ ...options, pool }) };
}

/** Closes what {@link startLoopback} started: the pool's idle connections, then the server. */
export async function stopLoopback(loopback: Pick<Loopback, 'server' | 'pool'>): Promise<void> {
  await loopback.pool.closeCachedConnections();
  await loopback.server.close();
}

/** The error `promise` rejects with; fails the test when it fulfils. */
export function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}
