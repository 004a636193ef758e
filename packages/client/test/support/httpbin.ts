import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

const PYTHON = '/usr/bin/python3';

/** True when Debian's httpbin and gunicorn are importable by the system Python. */
export function httpbinInstalled(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import httpbin, gunicorn'], { stdio: 'ignore' });
  return probe.status === 0;
}

/**
 * Whether the httpbin suite can run: locally a missing httpbin skips it (the caller prints
 * why); in CI it is a failure, because `.ci/run` installs `python3-httpbin` and `gunicorn`.
 */
export function ensureHttpbin(): boolean {
  if (httpbinInstalled()) return true;
  if (process.env['CI'] !== undefined) throw new Error('httpbin interop: python3-httpbin and gunicorn are required in CI (.ci/run installs them)');
  return false;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A running httpbin on loopback. */
export interface Httpbin {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts `gunicorn httpbin:app` on 127.0.0.1 (threaded, so /delay does not block the rest) and waits until it answers. */
export async function startHttpbin(): Promise<Httpbin> {
  const port = await freePort();
  const child: ChildProcess = spawn(PYTHON, ['-m', 'gunicorn', '-b', `127.0.0.1:${port}`, '--threads', '8', '--graceful-timeout', '1', 'httpbin:app'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGINT');
    await exited;
  };
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`gunicorn exited: ${log}`);
    const up = await fetchStatus(`${url}/get`);
    if (up === 200) return { url, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`httpbin did not start: ${log}`);
}

/** A GET with Node's own http module (so readiness does not depend on the code under test). */
async function fetchStatus(url: string): Promise<number> {
  const http = await import('node:http');
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
  });
}
