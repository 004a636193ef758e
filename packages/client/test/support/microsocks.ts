/** Runs Debian's microsocks (a SOCKS5 server) on loopback for the SOCKS interop tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { freePort, stopChild, waitUntilListening } from '../../../core/test/support/daemons';

/** Where Debian's `microsocks` package installs the binary. */
export const MICROSOCKS_BINARY = '/usr/bin/microsocks';

/**
 * Whether the microsocks interop tests can run. Locally a missing binary skips them with a
 * message; in CI (`CI` set) it is a failure: `.ci/run` installs it.
 */
export function microsocksAvailable(): boolean {
  if (fs.existsSync(MICROSOCKS_BINARY)) return true;
  if (process.env['CI'] !== undefined) throw new Error(`microsocks is required in CI but ${MICROSOCKS_BINARY} is missing (.ci/run installs it with apt-get)`);
  console.warn(`skipping SOCKS interop tests: ${MICROSOCKS_BINARY} not found (apt-get install microsocks)`);
  return false;
}

/** A running microsocks. */
export interface Microsocks {
  readonly port: number;
  /** `scheme://[credentials@]127.0.0.1:port`. */
  url(scheme: 'socks5' | 'socks5h', credentials?: string): string;
  stop(): Promise<void>;
}

/**
 * Starts microsocks on a free 127.0.0.1 port. With `auth` it accepts only RFC 1929
 * username/password; without, only "no authentication". microsocks resolves host names itself
 * (SOCKS5 domain addresses) with the system resolver.
 */
export async function startMicrosocks(auth?: { username: string; password: string }): Promise<Microsocks> {
  const port = await freePort();
  const args = ['-i', '127.0.0.1', '-p', String(port)];
  if (auth !== undefined) args.push('-u', auth.username, '-P', auth.password);
  const child: ChildProcess = spawn(MICROSOCKS_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitUntilListening('microsocks', child, port, () => stderr);
  return {
    port,
    url: (scheme, credentials) => `${scheme}://${credentials === undefined ? '' : `${credentials}@`}127.0.0.1:${port}`,
    stop: () => stopChild(child),
  };
}
