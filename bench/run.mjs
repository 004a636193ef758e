#!/usr/bin/env node
// The Strand benchmark harness. `pnpm bench` (full: 5 interleaved rounds + memory checks,
// rewrites bench/RESULTS.md) or `pnpm bench --quick` (1 short round, writes bench/out/quick.md).
//
// Options:
//   --quick               one short round; report to bench/out/quick.md
//   --rounds N            rounds (default 5 full, 1 quick)
//   --duration MS         measured time per run (default 600 full, 500 quick)
//   --warmup MS           longest warm-up per run (default 1500 full and quick); a run warms up
//                         for the scenario's warmupRequests, at least 300 ms (150 quick). The
//                         small scenarios warm up for 20-30k requests: with 3k, the client's
//                         longer path was still tiering up in the measured window (small-50
//                         client ÷ core 0.76 after 3k, 0.87 after 30k; undici Pool.request
//                         23.8k → 36.9k req/s), so short warm-ups measured the JIT, not steady state
//   --scenario a,b        only these scenarios (also enables non-default ones, e.g. json-50)
//   --client x,y          only these clients (undici-pool-dispatch, undici-pool-request and
//                         undici-request are kept for the ratios); also enables the extra ones
//                         (undici-agent-dispatch) and variants: `strand-core+dc` runs strand-core
//                         with a no-op diagnostics_channel subscriber (see worker.mjs), in the
//                         same rounds as strand-core; `strand-core+hdrs` sends the client's default
//                         head (User-Agent, Accept-Encoding) from core
//   --server nginx|node   force the origin server (default: nginx when installed)
//   --no-memory           skip bench/memory.mjs at the end
//   --memory              run only the memory checks
//   --list                print scenarios and clients and exit
//   --out NAME            name the outputs bench/out/NAME.md and bench/out/NAME.json (for A/B
//                         runs; compare them with bench/compare.mjs)
//   --cpu-prof            run every worker with node --cpu-prof; profiles (and the worker's result,
//                         with the measured window) go to bench/out/profiles/; summarise one with
//                         `node bench/profile-top.mjs FILE.cpuprofile`
//   --serve               only start the servers, print a worker config per scenario (for running
//                         bench/worker.mjs by hand, e.g. under a profiler) and wait for Ctrl-C
// A filtered run (--scenario/--client/--rounds/--duration) writes bench/out/partial.md instead of
// RESULTS.md. Raw results always go to bench/out/*.json.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { CLIENTS, EXTRA_CLIENTS, REFERENCE_CLIENTS, VARIANTS, availability, parseClientName, scenarioAvailability, unsupported } from './clients.mjs';
import { aggregate, ratioTable, renderMarkdown, scenarioTable } from './report.mjs';
import { DEFAULT_SCENARIOS, SCENARIOS } from './scenarios.mjs';
import { BENCH_DIR, generateCert, makeTempDir, nginxAvailable, onCleanup, pinningNote, runPinnedNode, startNginx, startNodeServer } from './servers.mjs';

const argv = process.argv.slice(2);
function option(name) {
  const i = argv.indexOf(name);
  if (i === -1) return undefined;
  const value = argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}
const flag = (name) => argv.includes(name);
const KNOWN = new Set(['--quick', '--rounds', '--duration', '--warmup', '--scenario', '--client', '--server', '--no-memory', '--memory', '--list', '--out', '--cpu-prof', '--serve']);
for (const arg of argv) if (arg.startsWith('--') && !KNOWN.has(arg)) throw new Error(`unknown option ${arg} (see the header of bench/run.mjs)`);

if (flag('--list')) {
  console.log(`scenarios: ${Object.keys(SCENARIOS).join(', ')}\nclients:   ${CLIENTS.join(', ')}\nextra:     ${EXTRA_CLIENTS.join(', ')} (only with --client)\nvariants:  ${Object.entries(VARIANTS).map(([k, v]) => `+${k} (${v.about})`).join(', ')}`);
  process.exit(0);
}

const quick = flag('--quick');
const rounds = Number(option('--rounds') ?? (quick ? 1 : 5));
// Full-run defaults keep the whole matrix (5 rounds, 11 clients, 9 scenarios) under 10 minutes.
const durationMs = Number(option('--duration') ?? (quick ? 500 : 600));
const warmupMs = Number(option('--warmup') ?? 1500);
const warmupMinMs = Math.min(warmupMs, quick ? 150 : 300);
const scenarioFilter = option('--scenario')?.split(',').map((s) => s.trim()).filter(Boolean);
const clientFilter = option('--client')?.split(',').map((s) => s.trim()).filter(Boolean);
const forceServer = option('--server');
for (const s of scenarioFilter ?? []) if (!(s in SCENARIOS)) throw new Error(`unknown scenario ${s}; known: ${Object.keys(SCENARIOS).join(', ')}`);
for (const c of clientFilter ?? []) if (parseClientName(c) === null) throw new Error(`unknown client ${c}; known: ${[...CLIENTS, ...EXTRA_CLIENTS].join(', ')} (variants: ${Object.keys(VARIANTS).map((k) => `+${k}`).join(', ')})`);
const outName = option('--out');
if (outName !== undefined && !/^[\w.-]+$/.test(outName)) throw new Error('--out takes a plain file name (letters, digits, . _ -)');
const cpuProf = flag('--cpu-prof');
if (!(rounds >= 1 && durationMs > 0 && warmupMs >= 0)) throw new Error('--rounds, --duration and --warmup must be positive numbers');

const scenarios = scenarioFilter ?? DEFAULT_SCENARIOS;
/** Known order (CLIENTS, then EXTRA_CLIENTS), each variant right after its plain client. */
function orderClients(names) {
  const all = [...CLIENTS, ...EXTRA_CLIENTS];
  return [...new Set(names)].sort((a, b) => all.indexOf(parseClientName(a).base) - all.indexOf(parseClientName(b).base) || a.length - b.length || (a < b ? -1 : 1));
}
const clients = clientFilter ? orderClients([...clientFilter, ...REFERENCE_CLIENTS]) : CLIENTS;
const partial = !quick && (scenarioFilter !== undefined || clientFilter !== undefined || option('--rounds') !== undefined || option('--duration') !== undefined || option('--warmup') !== undefined || outName !== undefined || cpuProf);
const outDir = join(BENCH_DIR, 'out');
mkdirSync(outDir, { recursive: true });

const log = (text) => process.stderr.write(`${text}\n`);

if (flag('--memory')) {
  const memory = await runMemory({ quick });
  log(memory.error ? `memory check failed: ${memory.error}` : memory.rows.map((r) => `${r.check} | ${r.client} | ${r.result}`).join('\n'));
  process.exit(memory.error ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// Servers

const started = Date.now();
const loadBefore = loadavg();
const tmp = makeTempDir();
const cert = generateCert(tmp);
const notes = [];
if (cert === null) notes.push('openssl failed: https scenarios skipped.');

let server;
if (forceServer !== 'node' && nginxAvailable()) {
  server = await startNginx(tmp, cert);
} else {
  if (forceServer === 'nginx') throw new Error('nginx is not installed (/usr/sbin/nginx); apt-get install -y nginx, or use --server node');
  if (forceServer !== 'node') notes.push('nginx not installed: every scenario served by the Node server (it shares the server core, so numbers are lower and closer together).');
  server = await startNodeServer(cert);
}
onCleanup(() => server.stop());
log(`bench: server ${server.version} on 127.0.0.1:${server.port}${server.httpsPort ? ` (https ${server.httpsPort})` : ''}; ${pinningNote()}`);
// Scenarios nginx cannot serve well run against the Node server, on the same server core.
let nodeServer = server.kind === 'node' ? server : null;
if (nodeServer === null && (flag('--serve') || scenarios.some((name) => SCENARIOS[name].nodeServer))) {
  nodeServer = await startNodeServer(null);
  onCleanup(() => nodeServer.stop());
  log(`bench: Node server on 127.0.0.1:${nodeServer.port} for ${scenarios.filter((name) => SCENARIOS[name].nodeServer).join(', ')}`);
}

/** The worker's config for one (client, scenario) run. */
function workerConfig(client, name) {
  const scenario = SCENARIOS[name];
  return {
    client,
    scenario: name,
    host: '127.0.0.1',
    port: scenario.nodeServer ? nodeServer.port : scenario.https ? server.httpsPort : server.port,
    https: scenario.https === true,
    caFile: cert?.cert ?? null,
    connections: scenario.connections,
    warmupMs,
    warmupMinMs,
    warmupRequests: scenario.warmupRequests ?? 0,
    durationMs,
    drainMs: 5000,
  };
}

if (flag('--serve')) {
  log('bench: serving until Ctrl-C / SIGTERM. Run a worker by hand (from the repository root), e.g.:');
  for (const name of scenarios) {
    log(`  ${name}: taskset -c 1 node bench/worker.mjs '${JSON.stringify(workerConfig(clientFilter?.[0] ?? 'strand-core', name))}'`);
  }
  await new Promise(() => {}); // the signal handlers in servers.mjs stop the servers and exit
}

// ---------------------------------------------------------------------------------------------
// What runs, what is skipped

const skipped = [];
const runnableClients = [];
for (const client of clients) {
  const reason = await availability(client);
  if (reason === null) runnableClients.push(client);
  else skipped.push({ scenario: '*', client, reason });
}
const jobsPerRound = [];
for (const name of scenarios) {
  const scenario = SCENARIOS[name];
  const reason = (await scenarioAvailability(scenario)) ?? (scenario.https && cert === null ? 'no certificate (openssl failed)' : null);
  if (reason !== null) {
    skipped.push({ scenario: name, client: 'all', reason });
    continue;
  }
  const list = [];
  for (const client of runnableClients) {
    const why = unsupported(client, scenario);
    if (why === null) list.push(client);
    else if (!scenario.inMemory) skipped.push({ scenario: name, client, reason: why });
  }
  jobsPerRound.push({ scenario: name, clients: list });
}

const totalRuns = rounds * jobsPerRound.reduce((n, j) => n + j.clients.length, 0);
log(`bench: ${rounds} round(s) × ${jobsPerRound.length} scenario(s), ${totalRuns} runs, warm-up ${warmupMinMs}–${warmupMs} ms + ${durationMs} ms measured each`);
for (const s of skipped) log(`bench: skip ${s.client} on ${s.scenario}: ${s.reason}`);

// ---------------------------------------------------------------------------------------------
// The rounds

const profileDir = join(outDir, 'profiles');
if (cpuProf) mkdirSync(profileDir, { recursive: true });

function runWorker(config, round) {
  const nodeFlags = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${profileName(config, round)}.cpuprofile`] : [];
  const env = { ...process.env, ...parseClientName(config.client).env };
  return runPinnedNode([...nodeFlags, join(BENCH_DIR, 'worker.mjs'), JSON.stringify(config)], config.warmupMs + config.durationMs + 20_000, 'worker', { env });
}

function profileName(config, round) {
  return `${outName ?? 'run'}.${config.scenario}.${config.client}.r${round}`;
}

const runs = [];
let done = 0;
for (let round = 1; round <= rounds; round++) {
  for (const job of jobsPerRound) {
    // Rotate the starting client each round so no client always runs first.
    const order = job.clients.map((_, i) => job.clients[(i + round - 1) % job.clients.length]);
    for (const client of order) {
      const config = workerConfig(client, job.scenario);
      const outcome = await runWorker(config, round);
      if (cpuProf && outcome.result) writeFileSync(join(profileDir, `${profileName(config, round)}.result.json`), `${JSON.stringify(outcome.result)}\n`);
      runs.push({ round, scenario: job.scenario, client, ...outcome });
      done++;
      const r = outcome.result;
      const elapsed = (Date.now() - started) / 1000;
      const eta = (elapsed / done) * (totalRuns - done);
      const what = r ? `${Math.round(r.reqPerSec).toLocaleString('en-US')} req/s, ${r.mbPerSec.toFixed(1)} MB/s${r.errors ? `, ${r.errors} errors` : ''}` : `FAILED: ${outcome.error}`;
      log(`[round ${round}/${rounds}] ${job.scenario.padEnd(15)} ${client.padEnd(16)} ${what}  (${done}/${totalRuns}, eta ${Math.ceil(eta)} s)`);
    }
  }
}

const loadAfter = loadavg();
await server.stop();
if (nodeServer !== server) await nodeServer?.stop();
if (server.errorLog) {
  let lines = [];
  try {
    lines = readFileSync(server.errorLog, 'utf8').split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l));
  } catch {
    // no log: nothing went wrong
  }
  if (lines.length > 0) notes.push(`nginx logged ${lines.length} error line(s), e.g. \`${lines[0].slice(0, 200)}\``);
}

const table = aggregate(
  runs,
  jobsPerRound.map((j) => j.scenario),
  clients,
);

// ---------------------------------------------------------------------------------------------
// Memory checks (a separate script, with its own Node server)

let memory = null;
if (!flag('--no-memory')) {
  log('bench: memory checks (bench/memory.mjs)...');
  memory = await runMemory({ quick });
}

// ---------------------------------------------------------------------------------------------
// Output

function version(pkg) {
  try {
    return JSON.parse(readFileSync(join(BENCH_DIR, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

const stamp = new Date().toISOString();
const meta = [
  ['date', stamp],
  ['node', `${process.version} (${process.platform} ${process.arch})`],
  ['cpu', `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`],
  ['server', server.kind === 'nginx' ? `${server.version} (1 worker, keep-alive, access log off)` : `${server.version} (bench/node-server.mjs, 1 process)`],
  ['pinning', pinningNote()],
  ['libraries', ['@strand/core', '@strand/client', 'undici', 'got', 'axios', 'node-fetch'].map((p) => `${p} ${version(p)}`).join(', ')],
  ['command', `\`pnpm bench${argv.length ? ` ${argv.join(' ')}` : ''}\``],
  ['rounds', `${rounds} × (warm-up: the scenario's warm-up requests, ${warmupMinMs}–${warmupMs} ms; then ${durationMs} ms measured) per client and scenario`],
  ['wall time', `${Math.round((Date.now() - started) / 1000)} s`],
  ['load average', `${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(' ')} after the rounds (1/5/15 min; anything else running on these 2 cores shows up as noise)`],
];
const scenarioInfo = Object.fromEntries(Object.entries(SCENARIOS).map(([name, s]) => [name, s.about]));
if (server.kind === 'nginx') {
  notes.push('POST: nginx `return 200` reads and discards the request body, so keep-alive holds.');
  notes.push('chunked runs against bench/node-server.mjs (same server core): nginx can only make chunked bodies through SSI `include` subrequests, which topped out near 6k req/s here, the same for every client (`--server node` serves everything from Node).');
}
notes.push('undici-pool-dispatch and undici-pool-request run on one `new undici.Pool(origin, { connections: N })` (no Agent routing per request): undici\'s fastest public paths for one origin. undici-request is `undici.request(url, { dispatcher: new Agent({ connections: N }) })` (URL parsing and Agent routing on top of Pool.request).');
notes.push('undici-pool-dispatch uses the legacy handler callbacks (onConnect/onHeaders/onData/onComplete/onError), which undici 7 passes straight to its core (the onRequestStart/onResponse* shape goes through an adapter), and only counts body bytes, in the buffered scenarios too: it is undici\'s floor there, not a like-for-like buffered read (undici-pool-request is).');
if (cpuProf) notes.push('Every worker ran under `node --cpu-prof`: the numbers include the profiler\'s overhead.');
notes.push('Large scenarios buffer the whole body the way each library does it (readBody / arrayBuffer / Buffer.concat / responseType buffer), so they measure copying and GC too — and page faults: a fresh 1 MiB Buffer per response often gets fresh pages from glibc, which makes large-1mib bimodal per process (see bench/README.md, "Reading the large buffered scenarios").');

const markdown = renderMarkdown({
  title: quick ? 'Strand benchmarks (quick run)' : 'Strand benchmarks',
  meta,
  scenarios: [...jobsPerRound.map((j) => j.scenario), ...scenarios.filter((s) => !jobsPerRound.some((j) => j.scenario === s))],
  scenarioInfo,
  clients,
  table,
  runs,
  skipped,
  memory,
  notes,
});

const mode = quick ? 'quick' : partial ? 'partial' : 'full';
const jsonPath = join(outDir, outName ? `${outName}.json` : `${stamp.replace(/[:.]/g, '-')}-${mode}.json`);
writeFileSync(jsonPath, `${JSON.stringify({ meta: Object.fromEntries(meta), runs, table, skipped, memory }, null, 2)}\n`);
const mdPath = mode === 'full' ? join(BENCH_DIR, 'RESULTS.md') : join(outDir, `${outName ?? mode}.md`);
writeFileSync(mdPath, markdown);

for (const job of jobsPerRound) {
  process.stdout.write(`\n${job.scenario} — ${scenarioInfo[job.scenario]}\n${scenarioTable(table[job.scenario], clients)}\n`);
}
const ratios = ratioTable(runs, jobsPerRound.map((j) => j.scenario), clients);
if (ratios !== null) process.stdout.write(`\nratios (median of same-round req/s ratios)\n${ratios}\n`);
if (memory) process.stdout.write(`\nmemory\n${memory.error ? memory.error : memory.rows.map((r) => `${r.check} | ${r.client} | ${r.result}`).join('\n')}\n`);
log(`\nbench: wrote ${mdPath} and ${jsonPath} in ${Math.round((Date.now() - started) / 1000)} s`);

async function runMemory({ quick }) {
  const file = join(outDir, 'memory.json');
  rmSync(file, { force: true });
  const child = spawn(process.execPath, [join(BENCH_DIR, 'memory.mjs'), '--json', file, ...(quick ? ['--quick'] : [])], { stdio: ['pipe', 'inherit', 'inherit'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const code = await new Promise((resolve) => child.on('close', (c, s) => resolve(s ?? c)));
  process.off('exit', killOnExit);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return { error: `memory.mjs exited with ${code} and wrote no results` };
  }
}
