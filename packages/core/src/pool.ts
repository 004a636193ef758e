import type { Endpoint } from './endpoints.js';
import { InvalidArgumentError } from './errors.js';
import { type ConnectionOwner, HTTP11Connection } from './http1/connection.js';
import type { ParserLimits } from './http1/parser.js';

/** Options of {@link HTTPConnectionPool}. */
export interface HTTPConnectionPoolOptions {
  /** Keep connections open between requests. Default true. */
  persistent?: boolean;
  /** Idle connections kept per endpoint; more are closed. Default 256 (Node's `maxFreeSockets`). */
  maxPersistentPerHost?: number;
}

/** Connection counts of one endpoint, from {@link HTTPConnectionPool.stats}. */
export interface PoolHostStats {
  open: number;
  idle: number;
  inUse: number;
}

/**
 * Keeps connections per endpoint and hands an idle one out before opening another (Twisted's
 * `HTTPConnectionPool`). A connection returns here only after its response was read to the end;
 * one the server closed, or that received stray bytes, is dropped, never handed out.
 */
export class HTTPConnectionPool implements ConnectionOwner {
  /** Whether connections are kept between requests. */
  readonly persistent: boolean;
  /** Idle connections kept per endpoint. */
  readonly maxPersistentPerHost: number;
  private readonly idle = new Map<string, HTTP11Connection[]>();
  private readonly open = new Map<string, number>();

  constructor(options: HTTPConnectionPoolOptions = {}) {
    this.persistent = options.persistent ?? true;
    this.maxPersistentPerHost = options.maxPersistentPerHost ?? 256;
    if (!Number.isInteger(this.maxPersistentPerHost) || this.maxPersistentPerHost < 0) {
      throw new InvalidArgumentError(`maxPersistentPerHost must be a non-negative integer, got ${String(options.maxPersistentPerHost)}`);
    }
  }

  /** Returns an idle connection to `endpoint` or opens a new one. */
  getConnection(endpoint: Endpoint, limits: ParserLimits | undefined, signal?: AbortSignal): Promise<HTTP11Connection> {
    const key = endpoint.key;
    const idle = this.idle.get(key);
    if (idle !== undefined) {
      let connection = idle.pop();
      while (connection !== undefined) {
        if (connection.isIdle) return Promise.resolve(connection);
        connection.close();
        connection = idle.pop();
      }
    }
    return endpoint.connect(signal).then((socket) => {
      this.open.set(key, (this.open.get(key) ?? 0) + 1);
      return new HTTP11Connection(socket, key, this, limits);
    });
  }

  /** @internal Called by a connection whose exchange ended cleanly. */
  connectionIdle(connection: HTTP11Connection): void {
    if (!this.persistent) {
      connection.close();
      return;
    }
    let idle = this.idle.get(connection.key);
    if (idle === undefined) {
      idle = [];
      this.idle.set(connection.key, idle);
    }
    if (idle.length >= this.maxPersistentPerHost) {
      connection.close();
      return;
    }
    idle.push(connection);
  }

  /** @internal Called once by a connection that closed. */
  connectionClosed(connection: HTTP11Connection): void {
    const key = connection.key;
    const open = (this.open.get(key) ?? 1) - 1;
    if (open <= 0) this.open.delete(key);
    else this.open.set(key, open);
    const idle = this.idle.get(key);
    if (idle === undefined) return;
    const index = idle.indexOf(connection);
    if (index !== -1) idle.splice(index, 1);
    if (idle.length === 0) this.idle.delete(key);
  }

  /** Closes every idle connection. Connections in use are closed when their exchange ends. */
  closeCachedConnections(): Promise<void> {
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    for (const connection of all) connection.close();
    return Promise.resolve();
  }

  /** Open, idle and in-use connections per endpoint key. */
  stats(): Record<string, PoolHostStats> {
    const result: Record<string, PoolHostStats> = {};
    for (const [key, open] of this.open) {
      const idle = this.idle.get(key)?.length ?? 0;
      result[key] = { open, idle, inUse: open - idle };
    }
    return result;
  }
}
