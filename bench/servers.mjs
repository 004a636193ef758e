// Starting and stopping the origin servers (nginx and/or the Node server), the temp dir with
// the static files and the self-signed certificate, CPU pinning, and the cleanup that runs
// whatever happens.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHUNK_COUNT, CHUNK_SIZE, JSON_DOC, MIB, SMALL_BODY } from './scenarios.mjs';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const NGINX = '/usr/sbin/nginx';
const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p)) ?? null;

/** Cores for the server and the clients: different ones when there are two or more. */
export const SERVER_CORE = 0;
export const CLIENT_CORE = 1;

/** `[command, ...args]` prefixed with `taskset -c core` when taskset exists. */
export function pinned(core, command, args) {
  return TASKSET === null ? [command, args] : [TASKSET, ['-c', String(core), command, ...args]];
}

export function pinningNote() {
  return TASKSET === null ? 'no taskset: processes not pinned' : `taskset: server on core ${SERVER_CORE}, each client run on core ${CLIENT_CORE}`;
}

// ---------------------------------------------------------------------------------------------
// Cleanup: every child and temp dir is registered here and removed on exit, error or signal.

const cleanups = [];
let cleanupInstalled = false;

export function onCleanup(fn) {
  cleanups.push(fn);
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', runCleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping servers\n`);
      runCleanupSync();
      process.exit(130);
    });
  }
}

function runCleanupSync() {
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      fn();
    } catch {
      // best effort
    }
  }
}

/**
 * Spawns a child that gets SIGTERM at cleanup (the Node server and guard.mjs both stop what they
 * run on SIGTERM; guard.mjs also does when our end of its stdin closes). Returns the ChildProcess.
 */
export function spawnTracked(command, args, options = {}) {
  const child = spawn(command, args, options);
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  return child;
}

export function makeTempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'strand-bench-'));
  chmodSync(dir, 0o755); // nginx workers may run as another user
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A self-signed EC certificate for 127.0.0.1 / localhost. Returns null when openssl fails. */
export function generateCert(dir) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    chmodSync(key, 0o644);
    return { cert, key, ca: readFileSync(cert, 'utf8') };
  } catch {
    return null;
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port, child, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited early (code ${child.exitCode}, signal ${child.signalCode})`);
    const ok = await new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not listen on ${port} within ${timeoutMs} ms`);
}

function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------------------------------------

export function nginxAvailable() {
  return existsSync(NGINX);
}

export function nginxVersion() {
  // `nginx -v` prints "nginx version: nginx/1.22.1" to stderr.
  const out = spawnSync(NGINX, ['-v'], { encoding: 'utf8' });
  const text = `${out.stderr ?? ''}${out.stdout ?? ''}`.trim().replace(/^nginx version:\s*/, '');
  return text || 'nginx (unknown version)';
}

function writeStaticFiles(www) {
  mkdirSync(www, { recursive: true });
  chmodSync(www, 0o755);
  writeFileSync(join(www, '1mib'), Buffer.alloc(MIB, 'l'));
  writeFileSync(join(www, '64mib'), Buffer.alloc(64 * MIB, 'L'));
  writeFileSync(join(www, 'chunk-part'), Buffer.alloc(CHUNK_SIZE, 'c'));
  // SSI makes nginx drop Content-Length and send chunked; each include is one chunk.
  writeFileSync(join(www, 'chunked.ssi'), '<!--# include file="/chunk-part" -->'.repeat(CHUNK_COUNT));
}

function nginxConfig(dir, www, port, httpsPort, cert) {
  const quote = (s) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((name) => {
      const path = join(dir, `nginx-${name}`);
      mkdirSync(path, { recursive: true });
      chmodSync(path, 0o777);
      return `  ${name}_temp_path ${path};`;
    })
    .join('\n');
  const tls = cert === null ? '' : `    listen 127.0.0.1:${httpsPort} ssl;\n    ssl_certificate ${cert.cert};\n    ssl_certificate_key ${cert.key};\n    ssl_protocols TLSv1.2 TLSv1.3;\n`;
  return `# generated by bench/servers.mjs
worker_processes 1;
daemon off;
master_process on;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'nginx-error.log')} warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; multi_accept on; }
http {
  access_log off;
${temp}
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
${tls}    root ${www};
    location = /small { default_type text/plain; return 200 ${quote(SMALL_BODY)}; }
    location = /json { default_type application/json; return 200 ${quote(JSON_DOC)}; }
    # 'return' makes nginx read and discard the request body, so keep-alive holds.
    location = /post { client_max_body_size 1m; client_body_buffer_size 64k; default_type text/plain; return 200 'ok\\n'; }
    # SSI drops Content-Length, so the answer is chunked: one chunk per included 1 KiB file.
    location = /chunked { ssi on; ssi_types *; default_type text/plain; try_files /chunked.ssi =404; }
    # With sendfile (and tcp_nopush) on the included part, every response after the first on a
    # kept-alive connection waited ~40 ms (delayed ACK); plain writes do not.
    location = /chunk-part { sendfile off; }
    location / { }
  }
}
`;
}

/** Starts nginx on free ports; resolves to { kind, version, port, httpsPort, stop() }. */
export async function startNginx(dir, cert) {
  const www = join(dir, 'www');
  writeStaticFiles(www);
  const port = await freePort();
  const httpsPort = cert === null ? null : await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(dir, www, port, httpsPort, cert));
  const [command, args] = pinned(SERVER_CORE, NGINX, ['-p', dir, '-c', conf, '-e', join(dir, 'nginx-error.log')]);
  const child = spawnTracked(process.execPath, [join(BENCH_DIR, 'guard.mjs'), command, ...args], { stdio: ['pipe', 'ignore', 'inherit'] });
  await waitForPort(port, child);
  if (httpsPort !== null) await waitForPort(httpsPort, child);
  return {
    kind: 'nginx',
    version: nginxVersion(),
    port,
    httpsPort,
    errorLog: join(dir, 'nginx-error.log'),
    stop: () => stopChild(child),
  };
}

/** Starts bench/node-server.mjs; resolves to { kind, version, port, httpsPort, stop() }. */
export async function startNodeServer(cert) {
  const args = [join(BENCH_DIR, 'node-server.mjs'), JSON.stringify(cert === null ? {} : { cert: cert.cert, key: cert.key })];
  const [command, pinnedArgs] = pinned(SERVER_CORE, process.execPath, args);
  const child = spawnTracked(command, pinnedArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
  const info = await new Promise((resolve, reject) => {
    let text = '';
    const onData = (data) => {
      text += data;
      const nl = text.indexOf('\n');
      if (nl === -1) return;
      child.stdout.off('data', onData);
      try {
        resolve(JSON.parse(text.slice(0, nl)));
      } catch (error) {
        reject(error);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`node server exited with ${code}`)));
  });
  child.stdout.resume();
  return { kind: 'node', version: `node:http ${process.version}`, port: info.port, httpsPort: info.httpsPort, stop: () => stopChild(child) };
}

/**
 * Runs `node <args>` pinned to the client core, killed after `limitMs` (or when the harness
 * exits), and resolves with `{ result }` parsed from its last stdout line, or `{ error }` naming
 * how it ended with the tail of its stderr.
 */
export function runPinnedNode(args, limitMs, label, { env } = {}) {
  const [command, pinnedArgs] = pinned(CLIENT_CORE, process.execPath, args);
  return new Promise((resolve) => {
    const child = spawn(command, pinnedArgs, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    const killOnExit = () => child.kill('SIGKILL');
    process.on('exit', killOnExit);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\nkilled after ${limitMs} ms`;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.off('exit', killOnExit);
      try {
        resolve({ result: JSON.parse(stdout.trim().split('\n').pop() ?? '') });
      } catch {
        const tail = stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Node.js')).slice(-4);
        resolve({ error: `${label} exited (${signal ?? code}): ${tail.join(' | ').slice(0, 400)}` });
      }
    });
  });
}
