/**
 * One HTTP/2 connection (a `node:http2` client session) as the session pool sees it: how many
 * streams it carries, how many the peer allows, whether it takes new ones, and its idle life.
 *
 * @packageDocumentation
 */

import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import type { Clock, TimerHandle } from '../time/clock.js';

/** Told when a session stops taking streams for good (the pool forgets it). */
export interface SessionOwner {
  /** `session` closed, or will take no new stream (GOAWAY, closing): remove it from the pool. */
  sessionRetired(session: H2Session): void;
}

/**
 * A pooled HTTP/2 session.
 *
 * States: `open` (takes streams up to the peer's `SETTINGS_MAX_CONCURRENT_STREAMS`) ->
 * `draining` (a GOAWAY arrived, or we close it: streams in flight finish, no new one) ->
 * `closed` (the session and its socket are gone). `open` -> `closed` directly when the
 * socket fails.
 *
 * Keeping the process alive: the socket is referenced only while a stream is open; an idle
 * session is unreferenced and closed after `idleTimeout`.
 */
export class H2Session {
  /** The pool key of the endpoint it is connected to. */
  readonly key: string;
  /** The Node session. */
  readonly session: ClientHttp2Session;
  /** Streams open on it now. */
  active = 0;
  /** Slots promised to requests that will open their stream in a moment ({@link reserve}). */
  reserved = 0;
  /** Streams ever opened on it (a session with streams before is "reused"). */
  opened = 0;
  /** The last stream id a GOAWAY said the peer may have processed, or -1 (no GOAWAY). */
  goawayLastStreamId = -1;
  private state: 'open' | 'draining' | 'closed' = 'open';
  private idleTimer: TimerHandle | null = null;
  /** When the session last had no stream open (or was last proven alive by a PING), clock ms; -1 while busy. */
  private idleSince = -1;
  /** A PING in flight, shared by the requests that wait for it. */
  private probe: Promise<boolean> | null = null;
  private readonly owner: SessionOwner;
  private readonly clock: Clock;
  private readonly idleTimeout: number;

  constructor(key: string, session: ClientHttp2Session, owner: SessionOwner, clock: Clock, idleTimeout: number) {
    this.key = key;
    this.session = session;
    this.owner = owner;
    this.clock = clock;
    this.idleTimeout = idleTimeout;
    session.on('goaway', (_code: number, lastStreamId: number) => {
      this.goawayLastStreamId = lastStreamId;
      this.retire('draining');
    });
    // Stream errors are reported on the streams; a session error only ends the session.
    session.on('error', ignore);
    session.on('close', () => this.retire('closed'));
    this.becameIdle();
  }

  /** True while it takes new streams and has room for one more under the peer's limit. */
  get available(): boolean {
    return this.state === 'open' && !this.session.closed && !this.session.destroyed && this.active + this.reserved < this.maxStreams;
  }

  /**
   * Holds a slot for a request that opens its stream soon (after a promise hop): requests
   * picking sessions meanwhile count it. {@link open} takes the slot; {@link unreserve} gives it back.
   */
  reserve(): this {
    this.reserved++;
    return this;
  }

  /** Gives back a slot taken with {@link reserve} by a request that will not open its stream. */
  unreserve(): void {
    if (this.reserved > 0) this.reserved--;
  }

  /** True while it takes new streams (full or not). */
  get isOpen(): boolean {
    return this.state === 'open' && !this.session.closed && !this.session.destroyed;
  }

  /** The peer's `SETTINGS_MAX_CONCURRENT_STREAMS` (Node reports 2^32-1 for "no limit"). */
  get maxStreams(): number {
    return this.session.remoteSettings.maxConcurrentStreams ?? 0xffffffff;
  }

  /**
   * Opens a stream. Throws what `session.request` throws (a session that is closing: the caller
   * tries another). The socket is referenced while any stream is open.
   */
  open(fields: OutgoingHttpHeaders, endStream: boolean): ClientHttp2Stream {
    this.unreserve();
    const stream = this.session.request(fields, { endStream });
    this.opened++;
    if (this.active++ === 0) {
      this.idleSince = -1;
      if (this.idleTimer !== null) this.clock.clearTimeout(this.idleTimer);
      this.idleTimer = null;
      this.session.ref();
    }
    stream.once('close', this.streamClosed);
    return stream;
  }

  /**
   * Whether the peer certainly did not process `stream`: it was never given an id (never sent),
   * or a GOAWAY named a last stream id below it (RFC 9113 §6.8).
   */
  unprocessed(stream: ClientHttp2Stream): boolean {
    const id = stream.id;
    return id === undefined || (this.goawayLastStreamId >= 0 && id > this.goawayLastStreamId);
  }

  /** True when it has been idle (no stream, no PING answered) for `ms` or more: check it is alive before use. */
  idleFor(ms: number, now: number): boolean {
    return this.idleSince >= 0 && this.active === 0 && this.reserved === 0 && now - this.idleSince >= ms;
  }

  /**
   * Sends a PING and resolves true when the peer answers within `timeout` ms (the session then
   * counts as fresh), false otherwise (the session is then destroyed: its peer is gone).
   * Concurrent callers share one PING.
   */
  checkAlive(timeout: number): Promise<boolean> {
    this.probe ??= new Promise<boolean>((resolve) => {
      let timer: TimerHandle | null = null;
      let settled = false;
      const done = (alive: boolean): void => {
        if (settled) return;
        settled = true;
        if (timer !== null) this.clock.clearTimeout(timer);
        timer = null;
        this.probe = null;
        if (this.active === 0 && this.state !== 'closed') this.session.unref();
        if (!alive) this.destroy();
        else if (this.idleSince >= 0) this.idleSince = this.clock.now();
        resolve(alive);
      };
      if (timeout !== Infinity) timer = this.clock.setTimeout(() => done(false), timeout);
      // The socket is referenced while we wait for the answer, as for a stream.
      this.session.ref();
      let sent = false;
      try {
        sent = this.session.ping((error) => done(error === null));
      } catch {
        // A session that is closing cannot ping: it is not alive for new streams.
      }
      if (!sent) done(false);
    });
    return this.probe;
  }

  /** Closes gracefully: streams in flight finish, then the socket closes. */
  close(): void {
    this.retire('draining');
    if (!this.session.closed && !this.session.destroyed) this.session.close();
  }

  /** Closes now: streams in flight fail. */
  destroy(): void {
    this.retire('closed');
    if (!this.session.destroyed) this.session.destroy();
  }

  private readonly streamClosed = (): void => {
    if (--this.active === 0) this.becameIdle();
  };

  /** No stream open: let the process exit, and close the session if it stays idle. */
  private becameIdle(): void {
    if (this.state === 'closed') return;
    this.idleSince = this.clock.now();
    this.session.unref();
    if (this.state === 'draining') {
      // Nothing left to finish: go now rather than at the idle timeout.
      if (!this.session.closed && !this.session.destroyed) this.session.close();
      return;
    }
    if (this.idleTimeout !== Infinity) this.idleTimer = this.clock.setTimeout(this.idleExpired, this.idleTimeout);
  }

  private readonly idleExpired = (): void => {
    this.idleTimer = null;
    if (this.active === 0 && this.reserved === 0) this.close();
  };

  private retire(to: 'draining' | 'closed'): void {
    const was = this.state;
    if (was === 'closed' || was === to) return;
    this.state = to;
    if (this.idleTimer !== null) this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (was === 'open') this.owner.sessionRetired(this);
    if (to === 'draining' && this.active === 0 && !this.session.closed && !this.session.destroyed) this.session.close();
  }
}

function ignore(): void {}
