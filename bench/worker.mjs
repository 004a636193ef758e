// One measured run in its own process: one client, one scenario. The harness starts it pinned
// to the client core, so no other library's JIT or GC state colours it.
//
// Usage: node worker.mjs '<json>' with
//   { client, scenario, host, port, https, caFile, connections, durationMs,
//     warmupMs (max), warmupMinMs, warmupRequests, requests? (stop measuring after this many),
//     drainMs? }
// Prints one JSON line: requests, errors, reqPerSec, mbPerSec, cpuMsPer1k, peakRssMB, p50Ms,
// p99Ms, firstError, windowUs... Reporting only: nothing here asserts on time.
//
// Environment:
//   STRAND_BENCH_SUBSCRIBE=name[,name...]  subscribe a no-op listener to these
//     node:diagnostics_channel channels before the client is made (e.g. strand:request:headers),
//     to measure what publishing costs. run.mjs sets it for a `+dc` client variant
//     (`--client strand-core,strand-core+dc`); it is echoed in the result as `subscribed`.
//
// Direct use (e.g. to profile one client): start a server (`node bench/run.mjs --serve`
// prints ready-made configs), then
//   taskset -c 1 node --cpu-prof --cpu-prof-dir=bench/out/profiles bench/worker.mjs '<json>'
// `windowUs` in the result is the measured window on the same clock as a .cpuprofile's
// timestamps (µs, CLOCK_MONOTONIC), so bench/profile-top.mjs can leave the warm-up out.
import diagnosticsChannel from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { makeClient } from './clients.mjs';
import { SCENARIOS } from './scenarios.mjs';

const config = JSON.parse(process.argv[2]);
const scenario = SCENARIOS[config.scenario];
if (scenario === undefined) throw new Error(`unknown scenario ${config.scenario}`);

const scheme = config.https ? 'https' : 'http';
const origin = `${scheme}://${config.host}:${config.port}`;
const ctx = {
  scenario: config.scenario,
  inMemory: scenario.inMemory === true,
  url: `${origin}${scenario.path}`,
  origin,
  host: config.host,
  port: config.port,
  path: scenario.path,
  method: scenario.method,
  body: scenario.body ?? null,
  contentType: scenario.contentType ?? null,
  connections: config.connections,
  /** Requests a connection carries at once (HTTP/1.1 pipelining); 1: none. The run keeps connections × pipelining requests going. */
  pipelining: scenario.pipelining ?? 1,
  /** Read the body as a stream, counting bytes, keeping none (the raw sockets always do). */
  stream: scenario.stream === true,
  https: config.https === true,
  ca: config.caFile ? readFileSync(config.caFile, 'utf8') : null,
};

const subscribed = (process.env.STRAND_BENCH_SUBSCRIBE ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const noop = () => {};
for (const name of subscribed) diagnosticsChannel.subscribe(name, noop);

const client = await makeClient(config.client, ctx);
const expectBytes = scenario.expectBytes;

// Counters of the measured window.
let measuring = false;
let stopping = false;
let requests = 0;
let bytes = 0;
let errors = 0;
let warmupRequests = 0;
let warmupErrors = 0;
let firstError = null;
let latencies = new Float64Array(1 << 16);
let endMeasure = null;

function record(latencyNs, n) {
  if (requests === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[requests++] = Number(latencyNs) / 1e6;
  bytes += n;
  if (config.requests !== undefined && requests >= config.requests) endMeasure?.();
}

function fail(error) {
  if (firstError === null) firstError = String(error?.stack ?? error).split('\n').slice(0, 3).join(' | ');
  if (measuring) errors++;
  else warmupErrors++;
}

// An in-memory transport can complete request after request on microtasks and nextTicks alone,
// never reaching the timers phase (the warm-up and window timers would never fire): yield a
// macrotask every so often there. Socket clients return to the event loop on every read anyway.
const yieldEvery = scenario.inMemory ? 64 : 0;

async function loop() {
  let sinceYield = 0;
  while (!stopping) {
    if (yieldEvery > 0 && ++sinceYield >= yieldEvery) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const start = process.hrtime.bigint();
    let n;
    try {
      n = await client.once();
    } catch (error) {
      fail(error);
      await new Promise((resolve) => setTimeout(resolve, 1)); // no hot spin on a dead server
      continue;
    }
    if (n !== expectBytes) {
      fail(new Error(`body of ${n} bytes, expected ${expectBytes}`));
      continue;
    }
    if (measuring) record(process.hrtime.bigint() - start, n);
    else warmupRequests++;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const warmupStart = Date.now();
const loops = [];
// A pipelined scenario keeps `concurrency` requests going over `connections` connections.
for (let i = 0; i < (scenario.concurrency ?? config.connections); i++) loops.push(loop());

// Warm-up: at least warmupMinMs and warmupRequests requests (the JIT tiers up by count, not by
// time), but never longer than warmupMs.
{
  const start = Date.now();
  const minMs = Math.min(config.warmupMinMs ?? 0, config.warmupMs);
  while (Date.now() - start < config.warmupMs) {
    if (Date.now() - start >= minMs && warmupRequests >= (config.warmupRequests ?? 0)) break;
    await sleep(10);
  }
}
const warmupElapsedMs = Date.now() - warmupStart;
measuring = true;
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await new Promise((resolve) => {
  const timer = setTimeout(resolve, config.durationMs);
  endMeasure = () => {
    clearTimeout(timer);
    resolve();
  };
});
measuring = false;
const t1 = process.hrtime.bigint();
const cpu = process.cpuUsage(cpu0);
stopping = true;

// Let in-flight requests finish so the server sees clean closes; do not wait forever.
const drained = await Promise.race([Promise.all(loops).then(() => true), sleep(config.drainMs ?? 5000).then(() => false)]);
await Promise.race([Promise.resolve(client.close()).catch(() => {}), sleep(1000)]);

const elapsedMs = Number(t1 - t0) / 1e6;
const sorted = latencies.subarray(0, requests).sort();
const pct = (p) => (requests === 0 ? null : sorted[Math.min(requests - 1, Math.floor((p / 100) * requests))]);
const cpuMs = (cpu.user + cpu.system) / 1000;
const result = {
  client: config.client,
  scenario: config.scenario,
  connections: config.connections,
  elapsedMs,
  requests,
  errors,
  warmupRequests,
  warmupErrors,
  warmupElapsedMs,
  reqPerSec: requests / (elapsedMs / 1000),
  mbPerSec: bytes / (1024 * 1024) / (elapsedMs / 1000),
  cpuMsPer1k: requests === 0 ? null : (cpuMs / requests) * 1000,
  cpuPercent: (cpuMs / elapsedMs) * 100,
  peakRssMB: (process.resourceUsage().maxRSS * 1024) / (1024 * 1024),
  p50Ms: pct(50),
  p99Ms: pct(99),
  drained,
  firstError,
  subscribed,
  windowUs: [Number(t0 / 1000n), Number(t1 / 1000n)],
};
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
