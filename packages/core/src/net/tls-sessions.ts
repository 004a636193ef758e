/**
 * TLS session resumption: the last session ticket a server gave us, per endpoint, so the next
 * connection to it can skip the full handshake (one round trip and the certificate exchange
 * less). Keyed by the endpoint key, which names the host, the port and the TLS policy: a
 * session is never offered to another host or under another policy.
 *
 * @packageDocumentation
 */

/** Sessions kept per factory by default (Node's `https.Agent` keeps 100 too). */
export const DEFAULT_TLS_SESSION_CACHE_SIZE = 100;

/** A small LRU of TLS sessions by endpoint key. */
export class TLSSessionCache {
  private readonly sessions = new Map<string, Buffer>();

  /** `maxSize` 0 keeps nothing (every connection makes a full handshake). */
  constructor(
    /** Most sessions kept (one per endpoint key); 0 keeps none. */
    readonly maxSize: number = DEFAULT_TLS_SESSION_CACHE_SIZE,
  ) {}

  /** The session to offer when connecting to `key`, if one was kept. */
  get(key: string): Buffer | undefined {
    const session = this.sessions.get(key);
    if (session !== undefined) {
      // Most recently used last.
      this.sessions.delete(key);
      this.sessions.set(key, session);
    }
    return session;
  }

  /** Keeps the newest session `key`'s server gave us. */
  set(key: string, session: Buffer): void {
    if (this.maxSize === 0) return;
    this.sessions.delete(key);
    this.sessions.set(key, session);
    if (this.sessions.size > this.maxSize) this.sessions.delete(this.sessions.keys().next().value as string);
  }

  /** Forgets `key`'s session (a connection offering it failed). */
  delete(key: string): void {
    this.sessions.delete(key);
  }

  /** Sessions kept now. */
  get size(): number {
    return this.sessions.size;
  }
}
