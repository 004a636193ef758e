import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { daemonAvailable, freePort, stopChild, waitUntilListening } from './daemons';

/** Where Debian installs nginx. */
export const NGINX_BINARY = '/usr/sbin/nginx';

/** A running nginx on loopback, with a temp dir holding its config, logs and files. */
export interface NginxServer {
  port: number;
  /** A second free port, for a `listen ... ssl` in the same server block. */
  tlsPort: number;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Whether interop tests can run. Locally a missing nginx skips them with a message; in CI
 * (`CI` set) it is a failure, because `.ci/run` installs it.
 */
export function nginxAvailable(): boolean {
  return daemonAvailable('nginx', NGINX_BINARY, 'nginx');
}

/**
 * Starts nginx with `serverBlock` (the inside of one `server { }`), listening on a free port.
 * `httpDirectives` go in the `http { }` block (a `log_format`, say).
 */
export async function startNginx(serverBlock: (port: number, dir: string, tlsPort: number) => string, prepare?: (dir: string) => void, httpDirectives = ''): Promise<NginxServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-nginx-'));
  fs.mkdirSync(path.join(dir, 'www'));
  prepare?.(dir);
  // nginx's workers drop root for 'nobody' when started as root: let them read the files.
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(path.join(dir, 'www'), 0o755);
  for (const file of fs.readdirSync(path.join(dir, 'www'))) fs.chmodSync(path.join(dir, 'www', file), 0o644);
  const port = await freePort();
  const tlsPort = await freePort();
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type application/octet-stream;
  ${httpDirectives}
  server {
    ${serverBlock(port, dir, tlsPort)}
  }
}
`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(NGINX_BINARY, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const errorLog = path.join(dir, 'error.log');
  await waitUntilListening('nginx', child, port, () => stderr + (fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : ''));
  return {
    port,
    tlsPort,
    dir,
    stop: async () => {
      await stopChild(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
