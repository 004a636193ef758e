/**
 * A DNS cache as a pluggable `lookup` (the `lookup` connect option of the endpoints).
 *
 * @packageDocumentation
 */

import * as dns from 'node:dns';
import type * as net from 'node:net';
import { InvalidArgumentError } from '../errors.js';
import { type Clock, systemClock } from '../time/clock.js';

/** Options of {@link cachingLookup}. */
export interface CachingLookupOptions {
  /**
   * How long an answer is reused, in ms. The system resolver (`dns.lookup`, which reads
   * `/etc/hosts` too) does not report record TTLs, so this is the TTL. Default 30 s.
   */
  ttl?: number;
  /** Most host names kept; the least recently used goes first. Default 1000. */
  maxEntries?: number;
  /** The resolver whose answers are cached. Default `dns.lookup`. */
  lookup?: net.LookupFunction;
  /** Time source for the TTL. Default the system clock. */
  clock?: Clock;
}

interface Entry {
  readonly addresses: dns.LookupAddress[];
  readonly expires: number;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` that remembers each host name's addresses for `ttl` ms, so a client that opens
 * many connections to the same hosts does not ask the resolver every time. Concurrent lookups
 * of one name share one resolver call; failures are not cached. Answers honour the caller's
 * `family` and `all` options (Happy Eyeballs asks for all addresses).
 *
 * @example
 * ```ts
 * const factory = new StandardEndpointFactory({ lookup: cachingLookup({ ttl: 60_000 }) });
 * const agent = new HttpAgent({ endpointFactory: factory });
 * ```
 */
export function cachingLookup(options: CachingLookupOptions = {}): net.LookupFunction {
  const ttl = options.ttl ?? 30_000;
  if (typeof ttl !== 'number' || !(ttl >= 0)) throw new InvalidArgumentError(`cachingLookup: ttl must be a non-negative number of ms, got ${String(ttl)}`);
  const maxEntries = options.maxEntries ?? 1000;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new InvalidArgumentError(`cachingLookup: maxEntries must be a positive integer, got ${String(maxEntries)}`);
  const resolve = options.lookup ?? ((hostname, opts, callback) => dns.lookup(hostname, opts, callback));
  const clock = options.clock ?? systemClock;
  const entries = new Map<string, Entry>();
  const pending = new Map<string, LookupCallback[]>();

  const answer = (addresses: dns.LookupAddress[], opts: dns.LookupOptions, callback: LookupCallback): void => {
    const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : opts.family;
    const wanted = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
    if (wanted.length === 0) {
      const error: NodeJS.ErrnoException = new Error(`no IPv${String(family)} address`);
      error.code = 'ENOTFOUND';
      callback(error, '', undefined);
      return;
    }
    if (opts.all === true) callback(null, wanted);
    else callback(null, (wanted[0] as dns.LookupAddress).address, (wanted[0] as dns.LookupAddress).family);
  };

  return (hostname, opts, callback) => {
    const cb = callback;
    const now = clock.now();
    const cached = entries.get(hostname);
    if (cached !== undefined && cached.expires > now) {
      // Most recently used last.
      entries.delete(hostname);
      entries.set(hostname, cached);
      answer(cached.addresses, opts, cb);
      return;
    }
    const waiting = pending.get(hostname);
    const deliver: LookupCallback = (error, address) => {
      if (error !== null) cb(error, '', undefined);
      else answer(address as dns.LookupAddress[], opts, cb);
    };
    if (waiting !== undefined) {
      waiting.push(deliver);
      return;
    }
    pending.set(hostname, [deliver]);
    resolve(hostname, { all: true }, ((error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => {
      const callbacks = pending.get(hostname) ?? [];
      pending.delete(hostname);
      if (error === null) {
        entries.delete(hostname);
        entries.set(hostname, { addresses, expires: clock.now() + ttl });
        if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      }
      for (const deliverOne of callbacks) deliverOne(error, addresses);
    }) as unknown as Parameters<net.LookupFunction>[2]);
  };
}
