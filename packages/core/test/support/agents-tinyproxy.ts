/** Runs Debian's tinyproxy on loopback for the proxy interop tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, stopChild, waitUntilListening } from './daemons';

/** Where Debian's `tinyproxy` package installs the binary. */
export const TINYPROXY_BINARY = '/usr/bin/tinyproxy';

/**
 * Whether the tinyproxy interop tests can run. Locally a missing binary skips them with a
 * message; in CI (`CI` set) it is a failure: CI must `apt-get install -y tinyproxy`.
 */
export function tinyproxyAvailable(): boolean {
  if (fs.existsSync(TINYPROXY_BINARY)) return true;
  if (process.env['CI'] !== undefined) throw new Error(`tinyproxy is required in CI but ${TINYPROXY_BINARY} is missing (apt-get install -y tinyproxy)`);
  console.warn(`skipping tinyproxy interop tests: ${TINYPROXY_BINARY} not found (apt-get install -y tinyproxy)`);
  return false;
}

/** A running tinyproxy. */
export interface Tinyproxy {
  readonly port: number;
  readonly url: string;
  /** The proxy's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** Options of {@link startTinyproxy}. */
export interface TinyproxyOptions {
  /** Ports CONNECT may reach (tinyproxy refuses the others with 403). */
  connectPorts: number[];
  /** `user:password` for `BasicAuth`. */
  basicAuth?: string;
}

/** Starts tinyproxy in the foreground on a free 127.0.0.1 port with a generated config. */
export async function startTinyproxy(options: TinyproxyOptions): Promise<Tinyproxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-tinyproxy-'));
  const port = await freePort();
  const lines = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 30',
    'MaxClients 50',
    'Allow 127.0.0.1',
    'LogLevel Info',
    `LogFile "${path.join(dir, 'tinyproxy.log')}"`,
    ...options.connectPorts.map((p) => `ConnectPort ${p}`),
  ];
  if (options.basicAuth !== undefined) {
    const [user, password] = options.basicAuth.split(':');
    lines.push(`BasicAuth ${user ?? ''} ${password ?? ''}`);
  }
  const conf = path.join(dir, 'tinyproxy.conf');
  fs.writeFileSync(conf, `${lines.join('\n')}\n`);
  fs.chmodSync(dir, 0o777);
  const child: ChildProcess = spawn(TINYPROXY_BINARY, ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const log = (): string => {
    const file = path.join(dir, 'tinyproxy.log');
    return stderr + (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  };
  await waitUntilListening('tinyproxy', child, port, log);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    log,
    stop: async () => {
      await stopChild(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
