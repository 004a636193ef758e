// HTTP/2 (h2c, prior knowledge) on loopback: Strand's Http2Agent next to undici 7's H2CClient
// (its `allowH2` client with `useH2c`), against one Node http2 server. Reporting only.
//
//   node bench/h2.mjs [--rounds 3] [--duration 3000] [--warmup 500] [--scenario h2-1,h2-100,h2-1mib] [--server node|nginx]
//
// --server nginx runs Debian's nginx (one worker, h2c on a cleartext `listen ... http2`) instead
// of the Node http2 server: a server that costs less CPU than the clients, so it is not the limit.
//
// Scenarios (the server allows 1000 concurrent streams, so each client uses one session):
//   h2-1     1 request in flight, 12-byte body
//   h2-100   100 requests in flight on one session, 12-byte body
//   h2-1mib  4 downloads of 1 MiB in flight
//
// The server runs pinned to one core and each client run in its own process pinned to the other
// (taskset, as the main harness does); rounds interleave the clients. Prints a Markdown table:
// median req/s, MiB/s for the download, and client CPU (user + system) per 1000 requests.
// Needs `pnpm --filter @strand/core build` (it loads @strand/core from its dist).
import { writeFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIENT_CORE, NGINX, SERVER_CORE, freePort, makeTempDir, nginxVersion, pinned, pinningNote, runPinnedNode, spawnTracked, waitForPort } from './servers.mjs';

const SELF = fileURLToPath(import.meta.url);
const SMALL = Buffer.from('hello world\n');
const MIB = Buffer.alloc(1024 * 1024, 0x61);
const SCENARIOS = {
  'h2-1': { path: '/small', inFlight: 1, bytes: SMALL.length },
  'h2-100': { path: '/small', inFlight: 100, bytes: SMALL.length },
  'h2-1mib': { path: '/1mib', inFlight: 4, bytes: MIB.length },
};
const CLIENTS = ['strand-h2', 'undici-h2c'];

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}

// ---- the server (a child process) ----

function serve() {
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const body = headers[':path'] === '/1mib' ? MIB : SMALL;
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': String(body.length) });
    stream.end(body);
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
  process.on('SIGTERM', () => process.exit(0));
}

// ---- one client run (a child process): loops for `duration` ms after a warm-up ----

async function makeClient(name, origin, inFlight) {
  if (name === 'strand-h2') {
    const { Http2Agent, readBody } = await import('@strand/core');
    const agent = new Http2Agent({ h2c: true });
    return {
      async once(url) {
        const response = await agent.request('GET', url);
        if (response.code !== 200) throw new Error(`status ${response.code}`);
        return (await readBody(response)).length;
      },
      close: () => agent.close(),
    };
  }
  if (name === 'undici-h2c') {
    const { H2CClient } = await import('undici');
    const client = new H2CClient(origin, { pipelining: Math.max(1, inFlight), maxConcurrentStreams: Math.max(100, inFlight) });
    return {
      async once(url) {
        const { statusCode, body } = await client.request({ path: new URL(url).pathname, method: 'GET' });
        if (statusCode !== 200) throw new Error(`status ${statusCode}`);
        return (await body.arrayBuffer()).byteLength;
      },
      close: () => client.close(),
    };
  }
  throw new Error(`unknown client ${name}`);
}

async function work() {
  const name = arg('client');
  const scenario = SCENARIOS[arg('scenario')];
  const origin = arg('origin');
  const duration = Number(arg('duration', '3000'));
  const warmup = Number(arg('warmup', '500'));
  const url = `${origin}${scenario.path}`;
  const client = await makeClient(name, origin, scenario.inFlight);
  const loop = async (until, counter) => {
    while (performance.now() < until) {
      const size = await client.once(url);
      if (size !== scenario.bytes) throw new Error(`body of ${size} bytes, expected ${scenario.bytes}`);
      counter.n++;
    }
  };
  const run = async (ms) => {
    const counter = { n: 0 };
    const until = performance.now() + ms;
    await Promise.all(Array.from({ length: scenario.inFlight }, () => loop(until, counter)));
    return counter.n;
  };
  await run(warmup);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const requests = await run(duration);
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await client.close();
  process.stdout.write(`${JSON.stringify({ requests, elapsed, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
}

// ---- the harness ----

function startServer() {
  const [command, args] = pinned(SERVER_CORE, process.execPath, [SELF, '--serve']);
  const child = spawnTracked(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (data) => {
      text += data;
      if (text.includes('\n')) resolve({ port: JSON.parse(text.split('\n')[0]).port, stop: () => child.kill('SIGTERM') });
    });
    child.once('exit', (code) => reject(new Error(`h2 server exited with ${code}`)));
  });
}

/** nginx with h2c (prior knowledge) on a free port: /small and /1mib as the Node server answers them. */
async function startNginx() {
  const dir = makeTempDir();
  writeFileSync(join(dir, '1mib'), MIB);
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  # nginx 1.22 ends an HTTP/2 connection with GOAWAY after keepalive_requests: not in a benchmark.
  keepalive_requests 100000000;
  http2_max_concurrent_streams 1000;
  server {
    listen 127.0.0.1:${port} http2;
    root ${dir};
    location = /small { default_type text/plain; return 200 'hello world\n'; }
    location = /1mib { default_type text/plain; }
  }
}
`,
  );
  const [command, args] = pinned(SERVER_CORE, NGINX, ['-p', dir, '-c', conf]);
  const child = spawnTracked(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, child);
  return { port, stop: () => child.kill('SIGTERM'), name: `${nginxVersion()} (1 worker)` };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main() {
  const rounds = Number(arg('rounds', '3'));
  const duration = arg('duration', '3000');
  const warmup = arg('warmup', '500');
  const scenarios = arg('scenario', Object.keys(SCENARIOS).join(',')).split(',');
  const serverKind = arg('server', 'node');
  if (serverKind !== 'node' && serverKind !== 'nginx') throw new Error(`--server must be node or nginx, got ${serverKind}`);
  const server = serverKind === 'nginx' ? await startNginx() : { ...(await startServer()), name: `Node ${process.version} http2` };
  const origin = `http://127.0.0.1:${server.port}`;
  const results = {};
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of scenarios) {
      for (const client of round % 2 === 1 ? CLIENTS : [...CLIENTS].reverse()) {
        const args = [SELF, '--work', '--client', client, '--scenario', scenario, '--origin', origin, '--duration', duration, '--warmup', warmup];
        const { result, error } = await runPinnedNode(args, Number(duration) + Number(warmup) + 30_000, `${client} ${scenario}`);
        if (error !== undefined) {
          process.stderr.write(`${error}\n`);
          continue;
        }
        (results[`${scenario} ${client}`] ??= []).push(result);
        process.stderr.write(`round ${round} ${scenario} ${client}: ${Math.round((result.requests / result.elapsed) * 1000)} req/s\n`);
      }
    }
  }
  server.stop();
  const lines = [`HTTP/2 h2c, ${server.name} server, Node ${process.version} clients, ${rounds} round(s) of ${duration} ms; ${pinningNote()} (client core ${CLIENT_CORE})`, '', '| scenario | client | req/s | MiB/s | CPU ms / 1k req | ratio (req/s vs undici-h2c) |', '|---|---|---:|---:|---:|---:|'];
  for (const scenario of scenarios) {
    const rate = (client) => median((results[`${scenario} ${client}`] ?? []).map((r) => (r.requests / r.elapsed) * 1000));
    for (const client of CLIENTS) {
      const runs = results[`${scenario} ${client}`] ?? [];
      if (runs.length === 0) continue;
      const rps = rate(client);
      const cpu = median(runs.map((r) => (r.cpuMs / r.requests) * 1000));
      const mibs = (rps * SCENARIOS[scenario].bytes) / (1024 * 1024);
      lines.push(`| ${scenario} | ${client} | ${Math.round(rps)} | ${mibs >= 1 ? mibs.toFixed(0) : mibs.toFixed(2)} | ${cpu.toFixed(1)} | ${(rps / rate('undici-h2c')).toFixed(2)} |`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv.includes('--serve')) serve();
else if (process.argv.includes('--work')) await work();
else await main();
