/**
 * Faults the in-memory transport can inject, described as data. They act on the bytes the server
 * sends back (the response direction), so the client sees exactly what a broken network would
 * show it: a reset, an early close, silence, a trickle, a cut body, or bytes that are not HTTP.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from '@strand/core';
import { describeValue } from '../validation.js';

/**
 * One fault. The object forms take options; each kind also has a string shorthand with the
 * defaults (`'reset'`, `'close'`, `'stall'`, `'drip'`, `'truncate'`, `'garbage'`, `'refuse'`).
 *
 * - `refuse`: the connection is refused; `connect()` rejects with `ConnectionRefusedError`.
 *   Only for connection faults (`FakeAgent.injectFault`), not for a reply.
 * - `reset`: the connection is reset (RST): the client sees `ECONNRESET`.
 * - `close`: the server closes the connection cleanly (FIN). At 0 bytes: "close before the head".
 * - `stall`: nothing more arrives, not even a close, until the client gives up.
 * - `garbage`: `data` (default {@link DEFAULT_GARBAGE}, not HTTP) is sent instead of the rest,
 *   then the connection closes.
 * - `truncate`: the head and `bodyBytes` raw body bytes (default 0) arrive, then a clean close.
 * - `drip`: every byte arrives, `chunkSize` bytes (default 1) per event-loop turn.
 *
 * `reset`, `close`, `stall` and `garbage` happen after `afterBytes` response bytes (default 0,
 * before anything), or after `afterBodyBytes` raw bytes following the response head (framing
 * such as chunk sizes included), whichever is given. A fault on a reply counts from the start of
 * that response; a connection fault from the start of the connection. One whose byte count is
 * never reached happens when the response (or, for a connection fault, the connection) ends.
 */
export type Fault =
  | FaultKind
  | {
      /** Refuse the connection (as a closed port does). */
      readonly type: 'refuse';
    }
  | ({
      /** Reset the connection, close it cleanly, or stop sending and stay open, at the point given. */
      readonly type: 'reset' | 'close' | 'stall';
    } & FaultPoint)
  | ({
      /** Send bytes that are not HTTP at the point given. */
      readonly type: 'garbage';
      /** The bytes sent (default {@link DEFAULT_GARBAGE}). */
      readonly data?: string | Uint8Array;
    } & FaultPoint)
  | {
      /** Close the connection after this many body bytes (a body cut short). */
      readonly type: 'truncate';
      /** Raw body bytes sent before the close (default 0). */
      readonly bodyBytes?: number;
    }
  | {
      /** Send the response a few bytes at a time. */
      readonly type: 'drip';
      /** Bytes per write (default 1). */
      readonly chunkSize?: number;
    };

/** Where a fault happens: after `afterBytes` of the response, or `afterBodyBytes` past its head. Give at most one. */
export interface FaultPoint {
  readonly afterBytes?: number;
  readonly afterBodyBytes?: number;
}

/** The names of the faults. */
export type FaultKind = 'refuse' | 'reset' | 'close' | 'stall' | 'drip' | 'truncate' | 'garbage';

/** The default bytes of a `garbage` fault: a line no HTTP/1.1 parser accepts as a status line. */
export const DEFAULT_GARBAGE = 'SSH-2.0-OpenSSH_9.6 not HTTP at all\r\n\r\n';

/** @internal A fault with every default filled in; `truncate` is a `close` counted from the body. */
export type NormalizedFault =
  | { readonly type: 'refuse' }
  | { readonly type: 'drip'; readonly chunkSize: number }
  | { readonly type: 'reset' | 'close' | 'stall'; readonly afterBytes: number; readonly fromBody: boolean }
  | { readonly type: 'garbage'; readonly afterBytes: number; readonly fromBody: boolean; readonly data: Buffer };

const KINDS: ReadonlySet<string> = new Set<FaultKind>(['refuse', 'reset', 'close', 'stall', 'drip', 'truncate', 'garbage']);

/** The fields each kind of fault takes, besides `type`. */
const FIELDS: Readonly<Record<FaultKind, readonly string[]>> = {
  refuse: [],
  reset: ['afterBytes', 'afterBodyBytes'],
  close: ['afterBytes', 'afterBodyBytes'],
  stall: ['afterBytes', 'afterBodyBytes'],
  garbage: ['afterBytes', 'afterBodyBytes', 'data'],
  truncate: ['bodyBytes'],
  drip: ['chunkSize'],
};

function count(value: unknown, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw new InvalidArgumentError(`fault: ${name} must be an integer of at least ${min}, got ${describeValue(value)}`);
  return value;
}

function point(spec: Record<string, unknown>): { afterBytes: number; fromBody: boolean } {
  if (spec['afterBytes'] !== undefined && spec['afterBodyBytes'] !== undefined) throw new InvalidArgumentError('fault: give afterBytes or afterBodyBytes, not both');
  if (spec['afterBodyBytes'] !== undefined) return { afterBytes: count(spec['afterBodyBytes'], 'afterBodyBytes', 0), fromBody: true };
  return { afterBytes: count(spec['afterBytes'], 'afterBytes', 0), fromBody: false };
}

/** @internal Validates a fault and fills in its defaults. Throws `InvalidArgumentError` naming the bad field. */
export function normalizeFault(fault: Fault): NormalizedFault {
  const spec = (typeof fault === 'string' ? { type: fault } : fault) as unknown;
  if (spec === null || typeof spec !== 'object' || !KINDS.has((spec as { type?: unknown }).type as string)) {
    throw new InvalidArgumentError(`fault: expected one of ${[...KINDS].join(', ')} (or an object with such a type), got ${JSON.stringify(fault)}`);
  }
  const fields = spec as Record<string, unknown>;
  const type = fields['type'] as FaultKind;
  const known = FIELDS[type];
  for (const key of Object.keys(fields)) {
    if (key !== 'type' && !known.includes(key)) {
      throw new InvalidArgumentError(`fault '${type}': unknown field "${key}"; ${known.length === 0 ? `a '${type}' fault takes no other field` : `its fields are ${known.join(', ')}`}`);
    }
  }
  switch (type) {
    case 'refuse':
      return { type: 'refuse' };
    case 'drip':
      return { type: 'drip', chunkSize: count(fields['chunkSize'], 'chunkSize', 1, 1) };
    case 'truncate':
      return { type: 'close', afterBytes: count(fields['bodyBytes'], 'bodyBytes', 0), fromBody: true };
    case 'reset':
    case 'close':
    case 'stall':
      return { type, ...point(fields) };
    case 'garbage': {
      const data = fields['data'];
      if (data !== undefined && typeof data !== 'string' && !(data instanceof Uint8Array)) throw new InvalidArgumentError(`fault: garbage data must be a string or a Uint8Array, got ${describeValue(data)}`);
      const bytes = data === undefined ? Buffer.from(DEFAULT_GARBAGE, 'latin1') : typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
      return { type: 'garbage', ...point(fields), data: bytes };
    }
  }
}
