/**
 * What the `strand` sub-commands share: streams to write to, usage errors, the one-line error
 * format, and option helpers.
 */

import { readFileSync } from 'node:fs';
import {
  type Agent,
  BrowserLikePolicyForHTTPS,
  HTTPConnectionPool,
  HttpAgent,
  InsecurePolicyForHTTPS,
  StandardEndpointFactory,
  StrandError,
  type TLSPolicy,
} from '@strand/core';
import type { Writable } from 'node:stream';
import { HTTPClient } from '../client.js';
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Where a command reads and writes; the real process streams, or test doubles. */
export interface CommandIO {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Whether stderr is a terminal (progress bars draw only there). */
  readonly stderrIsTTY: boolean;
}

/** Exit codes. */
export const EXIT = {
  OK: 0,
  /** The request failed (connection, timeout, bad response…), or some downloads failed. */
  FAILED: 1,
  /** The command line was wrong. */
  USAGE: 2,
  /** `--fail` and the server answered with an HTTP error status (curl's 22). */
  HTTP_ERROR: 22,
} as const;

/** A mistake on the command line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The one line printed for an error: `strand: <message> [<code>]`, no stack, no newlines inside. */
export function errorLine(error: unknown): string {
  let text: string;
  if (error instanceof StrandError) text = `${error.message} [${error.code}]`;
  else if (error instanceof UsageError) text = `${error.message} (see strand --help)`;
  else if (error instanceof Error) text = error.message;
  else text = String(error);
  return `strand: ${text.replace(/\s*[\r\n]+\s*/g, ' ')}\n`;
}

/** Seconds (a decimal number, as curl's `--max-time`) to milliseconds. */
export function seconds(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${option} must be a positive number of seconds, got "${value}"`);
  return n * 1000;
}

/** A positive integer option. */
export function positiveInteger(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${option} must be a positive integer, got "${value}"`);
  return n;
}

/** A non-negative integer option. */
export function nonNegativeInteger(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`${option} must be a non-negative integer, got "${value}"`);
  return n;
}

/** Human-readable byte counts: `512 B`, `1.5 KiB`, `3.2 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit] as string}`;
}

/** Writes to a stream and resolves once it accepted the data (honouring back-pressure). */
export function write(stream: Writable, chunk: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = stream.write(chunk, (error) => {
      if (error) reject(error);
    });
    if (ok) resolve();
    else stream.once('drain', resolve);
  });
}

/** The TLS options every command takes (curl's spelling). */
export const TLS_OPTIONS = {
  cacert: { type: 'string' },
  insecure: { type: 'boolean', short: 'k' },
} as const;

/** The help lines of {@link TLS_OPTIONS}. */
export const TLS_USAGE = `      --cacert FILE       trust only the CA certificates in FILE (PEM) for https
  -k, --insecure          do not verify the server's certificate (never in production)
`;

/**
 * The agent a command sends through: null for the default (TLS verified against Node's trust
 * store), else an agent whose TLS policy trusts `--cacert`'s roots or, with `--insecure`,
 * nothing at all. Connections are not kept: a command makes few requests and exits.
 */
export function commandAgent(values: { cacert?: string | undefined; insecure?: boolean | undefined }): HttpAgent | null {
  if (values.cacert !== undefined && values.insecure === true) throw new UsageError('use either --cacert or --insecure, not both');
  let tlsPolicy: TLSPolicy;
  if (values.insecure === true) {
    tlsPolicy = new InsecurePolicyForHTTPS();
  } else if (values.cacert !== undefined) {
    let ca: Buffer;
    try {
      ca = readFileSync(values.cacert);
    } catch (cause) {
      throw new UsageError(`--cacert: cannot read "${values.cacert}": ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--cacert: "${values.cacert}" holds no PEM certificate`);
    tlsPolicy = new BrowserLikePolicyForHTTPS({ ca });
  } else {
    return null;
  }
  return new HttpAgent({ pool: new HTTPConnectionPool({ persistent: false }), endpointFactory: new StandardEndpointFactory({ tlsPolicy }) });
}

/** The client a command sends through: no cookies kept, connections closed after use, on `agent` when TLS options gave one. */
export function commandClient(agent: Agent | null): HTTPClient {
  return agent === null ? new HTTPClient({ persistent: false, cookieJar: null }) : new HTTPClient({ agent, cookieJar: null });
}

/** What {@link parseCommandLine} returns for `options`. */
export type ParsedCommandLine<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

/** Parses a command's arguments strictly (positionals allowed); a bad option is a {@link UsageError}. */
export function parseCommandLine<const O extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: O): ParsedCommandLine<O> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
