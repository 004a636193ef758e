#!/usr/bin/env node
// Before/after at the finest interleave: one set of servers, and for every (scenario, client) the
// checkouts' workers run back to back (A B, then B A next round, …), so each pair of runs sees the
// same machine. Each checkout runs its own bench/worker.mjs, which loads @strand/* from that
// checkout's packages/*/dist; give every checkout the same bench/ folder (see README).
//
//   node bench/ab.mjs --tree before=/tmp/strand-before --tree after=. \
//     --scenario large-1mib,small-1 --client strand-core,strand-client [--rounds 8] [--out NAME]
//
// Options: --tree LABEL=DIR (two or more; the first is the reference), --scenario, --client (no
// reference clients added), --rounds N (default 6), --duration MS (default 600), --warmup MS
// (default 1500), --server nginx|node, --out NAME (bench/out/NAME.md, NAME.json and one
// NAME.LABEL.json per tree in run.mjs's format, for bench/compare.mjs).
// Cells: medians over rounds; "×" columns: the median of the same-round ratios LABEL ÷ first.
// Reporting only.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { unsupported } from './clients.mjs';
import { median } from './report.mjs';
import { SCENARIOS } from './scenarios.mjs';
import { BENCH_DIR, generateCert, makeTempDir, nginxAvailable, onCleanup, pinningNote, runPinnedNode, startNginx, startNodeServer } from './servers.mjs';

const argv = process.argv.slice(2);
const values = (name) => argv.flatMap((a, i) => (a === name && argv[i + 1] !== undefined ? [argv[i + 1]] : []));
const option = (name) => values(name).at(-1);
const KNOWN = new Set(['--tree', '--scenario', '--client', '--rounds', '--duration', '--warmup', '--server', '--out']);
for (const arg of argv) if (arg.startsWith('--') && !KNOWN.has(arg)) throw new Error(`unknown option ${arg} (see the header of bench/ab.mjs)`);

const trees = values('--tree').map((spec) => {
  const [label, dir] = spec.split('=');
  const worker = join(resolve(dir), 'bench', 'worker.mjs');
  if (!label || !dir || !existsSync(worker)) throw new Error(`--tree ${spec}: want LABEL=DIR with DIR/bench/worker.mjs`);
  return { label, dir: resolve(dir), worker };
});
if (trees.length < 2) throw new Error('give two or more --tree LABEL=DIR');
const scenarios = (option('--scenario') ?? '').split(',').filter(Boolean);
const clients = (option('--client') ?? '').split(',').filter(Boolean);
if (scenarios.length === 0 || clients.length === 0) throw new Error('--scenario and --client are required');
for (const s of scenarios) if (!(s in SCENARIOS)) throw new Error(`unknown scenario ${s}`);
const rounds = Number(option('--rounds') ?? 6);
const durationMs = Number(option('--duration') ?? 600);
const warmupMs = Number(option('--warmup') ?? 1500);
const outName = option('--out') ?? 'ab';
const log = (text) => process.stderr.write(`${text}\n`);

const started = Date.now();
const loadBefore = loadavg();
const tmp = makeTempDir();
const cert = generateCert(tmp);
const server = option('--server') !== 'node' && nginxAvailable() ? await startNginx(tmp, cert) : await startNodeServer(cert);
onCleanup(() => server.stop());
let nodeServer = server.kind === 'node' ? server : null;
if (nodeServer === null && scenarios.some((s) => SCENARIOS[s].nodeServer)) {
  nodeServer = await startNodeServer(null);
  onCleanup(() => nodeServer.stop());
}
log(`ab: ${server.version}; ${pinningNote()}; ${rounds} rounds × ${scenarios.length} scenarios × ${clients.length} clients × ${trees.length} trees`);

const runs = [];
let done = 0;
const total = rounds * trees.length * scenarios.reduce((n, s) => n + clients.filter((c) => unsupported(c, SCENARIOS[s]) === null).length, 0);
for (let round = 1; round <= rounds; round++) {
  for (const name of scenarios) {
    const scenario = SCENARIOS[name];
    for (const client of clients) {
      if (unsupported(client, scenario) !== null) continue;
      // Rotate which tree goes first, so neither always runs on the other's heels.
      const order = trees.map((_, i) => trees[(i + round - 1) % trees.length]);
      for (const tree of order) {
        const config = {
          client,
          scenario: name,
          host: '127.0.0.1',
          port: scenario.nodeServer ? nodeServer.port : scenario.https ? server.httpsPort : server.port,
          https: scenario.https === true,
          caFile: cert?.cert ?? null,
          connections: scenario.connections,
          warmupMs,
          warmupMinMs: Math.min(warmupMs, 300),
          warmupRequests: scenario.warmupRequests ?? 0,
          durationMs,
          drainMs: 5000,
        };
        const env = client.includes('+dc') ? { ...process.env, STRAND_BENCH_SUBSCRIBE: 'strand:request:headers' } : process.env;
        const outcome = await runPinnedNode([tree.worker, JSON.stringify(config)], warmupMs + durationMs + 20_000, 'worker', { env });
        runs.push({ label: tree.label, round, scenario: name, client, ...outcome });
        const r = outcome.result;
        log(`[${round}/${rounds}] ${name.padEnd(15)} ${client.padEnd(16)} ${tree.label.padEnd(8)} ${r ? `${Math.round(r.reqPerSec)} req/s, ${r.cpuMsPer1k?.toFixed(1)} CPU ms/1k` : `FAILED ${outcome.error}`}  (${++done}/${total})`);
      }
    }
  }
}
const loadAfter = loadavg();
await server.stop();
if (nodeServer !== server) await nodeServer?.stop();

const of = (label, name, client) => runs.filter((r) => r.label === label && r.scenario === name && r.client === client && r.result);
const med = (label, name, client, key) => median(of(label, name, client).map((r) => r.result[key]));
function sameRound(label, name, client, key) {
  const ref = new Map(of(trees[0].label, name, client).map((r) => [r.round, r.result[key]]));
  return median(of(label, name, client).filter((r) => ref.get(r.round) > 0).map((r) => r.result[key] / ref.get(r.round)));
}
const f = (v, d) => (v === null ? '–' : d !== undefined ? v.toFixed(d) : v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const x = (v) => (v === null ? '–' : `${v.toFixed(2)}×`);

const first = trees[0].label;
const others = trees.slice(1).map((t) => t.label);
const md = [`# A/B: ${trees.map((t) => `${t.label} (${t.dir})`).join(' vs ')}`, ''];
md.push(`${rounds} rounds, ${durationMs} ms measured after a ${warmupMs} ms max warm-up; one ${server.version}; ${pinningNote()}; load average ${loadBefore.map((v) => v.toFixed(2)).join(' ')} before, ${loadAfter.map((v) => v.toFixed(2)).join(' ')} after; ${Math.round((Date.now() - started) / 1000)} s.`, '');
md.push(`Cells: medians over rounds. ×: median of same-round ratios (${others.map((o) => `${o} ÷ ${first}`).join(', ')}); the runs of a round are back to back.`, '');
for (const name of scenarios) {
  md.push(`## ${name}`, '');
  const cols = ['req/s', 'CPU ms/1k', 'p50 ms', 'MB/s'];
  const head = ['client', ...cols.flatMap((c) => [...trees.map((t) => `${c} ${t.label}`), ...(c === 'req/s' || c === 'CPU ms/1k' ? others.map((o) => `${c} × (${o} ÷ ${first})`) : [])]), 'errors'];
  md.push(`| ${head.join(' | ')} |`, `|---|${head.slice(1).map(() => '--:').join('|')}|`);
  for (const client of clients) {
    if (unsupported(client, SCENARIOS[name]) !== null) continue;
    const cells = [client];
    for (const [key, d] of [['reqPerSec'], ['cpuMsPer1k'], ['p50Ms', 3], ['mbPerSec']]) {
      for (const t of trees) cells.push(f(med(t.label, name, client, key), d));
      if (key === 'reqPerSec' || key === 'cpuMsPer1k') for (const o of others) cells.push(x(sameRound(o, name, client, key)));
    }
    cells.push(trees.map((t) => runs.filter((r) => r.label === t.label && r.scenario === name && r.client === client).reduce((n, r) => n + (r.result ? r.result.errors : 1), 0)).join('/'));
    md.push(`| ${cells.join(' | ')} |`);
  }
  md.push('');
}
const outDir = join(BENCH_DIR, 'out');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, `${outName}.md`), md.join('\n'));
writeFileSync(join(outDir, `${outName}.json`), `${JSON.stringify({ trees, runs }, null, 2)}\n`);
const meta = { 'load average': `${loadBefore.map((v) => v.toFixed(2)).join(' ')} before, ${loadAfter.map((v) => v.toFixed(2)).join(' ')} after` };
for (const t of trees) writeFileSync(join(outDir, `${outName}.${t.label}.json`), `${JSON.stringify({ meta, runs: runs.filter((r) => r.label === t.label) }, null, 2)}\n`);
process.stdout.write(`${md.join('\n')}\n`);
log(`ab: wrote bench/out/${outName}.md, ${outName}.json and ${trees.map((t) => `${outName}.${t.label}.json`).join(', ')}`);
