/** h2o (Debian's `h2o` package) for the HTTP/2 interop tests: a config in a temp dir, started on free loopback ports. */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { daemonAvailable, freePort, stopChild, waitUntilListening } from './daemons';

/** Where Debian installs h2o. */
export const H2O_BINARY = '/usr/bin/h2o';

/** A running h2o on loopback: a TLS port (h2 by ALPN) and a cleartext port (h2c with prior knowledge, or HTTP/1.1). */
export interface H2oServer {
  tlsPort: number;
  port: number;
  /** The temp dir: `www/` is the document root, `access.log` the access log. */
  dir: string;
  /** The access log so far (one line a request, in the format the caller gave). */
  accessLog(): string;
  stop(): Promise<void>;
}

/** Whether h2o interop tests can run: a missing h2o skips them with a message locally, and fails in CI (`.ci/run` installs it). */
export function h2oAvailable(): boolean {
  return daemonAvailable('h2o', H2O_BINARY, 'h2o');
}

/**
 * Starts h2o with `paths` (the YAML of one host's `paths:` mapping, indented by 6 spaces; `dir` is
 * the temp dir) and an access log in `logFormat`. `prepare` fills `dir/www` first.
 */
export async function startH2o(certs: { cert: string; key: string }, logFormat: string, paths: (dir: string) => string, prepare?: (dir: string) => void): Promise<H2oServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-h2o-'));
  fs.mkdirSync(path.join(dir, 'www'));
  prepare?.(dir);
  const tlsPort = await freePort();
  const port = await freePort();
  // As root h2o drops to 'nobody' unless told otherwise; it then could not write its logs here.
  const user = process.getuid?.() === 0 ? `user: ${os.userInfo().username}\n` : '';
  const conf = `${user}pid-file: ${dir}/h2o.pid
error-log: ${dir}/error.log
num-threads: 1
access-log:
  path: ${dir}/access.log
  format: ${JSON.stringify(logFormat)}
listen:
  host: 127.0.0.1
  port: ${tlsPort}
  ssl:
    certificate-file: ${certs.cert}
    key-file: ${certs.key}
    ocsp-update-interval: 0
listen:
  host: 127.0.0.1
  port: ${port}
hosts:
  default:
    paths:
${paths(dir)}
`;
  fs.writeFileSync(path.join(dir, 'h2o.conf'), conf);
  const child: ChildProcess = spawn(H2O_BINARY, ['-c', path.join(dir, 'h2o.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const errorLog = path.join(dir, 'error.log');
  const log = (): string => stderr + (fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : '');
  await waitUntilListening('h2o', child, tlsPort, log);
  await waitUntilListening('h2o', child, port, log);
  const accessLog = path.join(dir, 'access.log');
  return {
    tlsPort,
    port,
    dir,
    accessLog: () => (fs.existsSync(accessLog) ? fs.readFileSync(accessLog, 'utf8') : ''),
    stop: async () => {
      await stopChild(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
