/** What the interop tests need to run a system daemon on loopback: a free port, and a wait until it listens. */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';

/** A TCP port on 127.0.0.1 that nothing listens on right now (bound, read, released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** True when a TCP connection to 127.0.0.1:`port` opens. */
export function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * Waits until `child` accepts connections on 127.0.0.1:`port`, polling every 20 ms for at most
 * `timeoutMs`. Throws with `log()` when the child exits first, and kills it when time runs out.
 */
export async function waitUntilListening(name: string, child: ChildProcess, port: number, log: () => string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await accepting(port))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode}: ${log()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start listening on 127.0.0.1:${port} within ${timeoutMs} ms: ${log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Stops `child` with SIGTERM and waits for it to exit (at once when it already has). */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Whether the interop tests of a daemon can run: true when `binary` exists. Locally a missing
 * one skips them with a message; in CI (`CI` set) it is a failure, because `.ci/run` installs
 * Debian's `pkg`.
 */
export function daemonAvailable(name: string, binary: string, pkg: string): boolean {
  if (fs.existsSync(binary)) return true;
  if (process.env['CI'] !== undefined) throw new Error(`${name} is required in CI but ${binary} is missing (.ci/run installs it with apt-get)`);
  console.warn(`skipping ${name} interop tests: ${binary} not found (apt-get install ${pkg})`);
  return false;
}
