#!/usr/bin/env node
// The top self-time frames of a V8 .cpuprofile (from `node --cpu-prof`, e.g. `bench/run.mjs
// --cpu-prof`), each pointed at its source: frames in a Strand bundle (packages/*/dist/index.*)
// are mapped to the `packages/<pkg>/src/<file>.ts` whose code they sit in, read from the
// `// packages/.../src/...` comments esbuild leaves between modules (the bundles have no source
// maps). Reporting only.
//
// Usage: node bench/profile-top.mjs FILE.cpuprofile [--top N] [--all] [--md]
//   --top N   frames to list (default 15)
//   --all     the whole profile (default: only the measured window, when FILE.result.json from
//             run.mjs --cpu-prof is next to it: its windowUs is on the profile's clock)
//   --md      Markdown tables instead of plain text
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const file = argv.find((a) => !a.startsWith('--') && argv[argv.indexOf(a) - 1] !== '--top');
if (file === undefined) {
  console.error('usage: node bench/profile-top.mjs FILE.cpuprofile [--top N] [--all] [--md]');
  process.exit(2);
}
const top = Number(argv.includes('--top') ? argv[argv.indexOf('--top') + 1] : 15);
const md = argv.includes('--md');
const profile = JSON.parse(readFileSync(file, 'utf8'));

// The measured window, from the worker's result next to the profile.
let window = null;
const sidecar = file.replace(/\.cpuprofile$/, '.result.json');
if (!argv.includes('--all') && existsSync(sidecar)) {
  const result = JSON.parse(readFileSync(sidecar, 'utf8'));
  if (Array.isArray(result.windowUs)) window = result.windowUs;
}

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parents = new Map();
for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);

/** For a frame with no script (native, builtin): its nearest caller that has one. */
function jsCaller(id) {
  for (let p = parents.get(id); p !== undefined; p = parents.get(p)) {
    const { callFrame } = nodes.get(p);
    if (callFrame.url) return `${callFrame.functionName || '(anonymous)'} ${where(callFrame)}`;
  }
  return '';
}
const selfUs = new Map(); // node id -> µs
let t = profile.startTime;
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  t += dt;
  if (window !== null && (t < window[0] || t > window[1])) continue;
  // A sample's weight is the time to the next sample (the last one: the mean interval).
  const next = profile.timeDeltas[i + 1];
  const weight = next !== undefined && next > 0 ? next : (profile.endTime - profile.startTime) / profile.samples.length;
  selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + weight);
  total += weight;
}
if (window !== null && total === 0) {
  console.error(`${file}: no sample inside the measured window ${window.join('–')} µs (profile ${profile.startTime}–${profile.endTime}); rerun with --all`);
  process.exit(1);
}

// Bundle line -> packages/<pkg>/src/<file>, from esbuild's module comments.
const bundleMaps = new Map();
function sourceOf(url, line) {
  if (!/\/packages\/[^/]+\/dist\/[^/]+\.(mjs|cjs)$/.test(url)) return null;
  let starts = bundleMaps.get(url);
  if (starts === undefined) {
    starts = [];
    try {
      const lines = readFileSync(url.startsWith('file:') ? fileURLToPath(url) : url, 'utf8').split('\n');
      lines.forEach((text, i) => {
        const m = /^\/\/ (packages\/[^ ]+\/src\/[^ ]+\.ts)$/.exec(text);
        if (m) starts.push([i, m[1]]);
      });
    } catch {
      // the bundle is gone (rebuilt or removed): no mapping
    }
    bundleMaps.set(url, starts);
  }
  let found = null;
  for (const [start, src] of starts) {
    if (start > line) break;
    found = src;
  }
  return found;
}

function where(callFrame) {
  const { url, lineNumber } = callFrame;
  if (!url) return '';
  const src = sourceOf(url, lineNumber);
  const short = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, '').replace(/^.*\/(packages\/[^/]+\/dist\/)/, '$1').replace(/^.*\/bench\//, 'bench/');
  return src ? `${src} (${short}:${lineNumber + 1})` : `${short}:${lineNumber + 1}`;
}

function group(callFrame) {
  const { url, functionName } = callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native / builtin)';
  if (url.startsWith('node:')) return 'node: internals';
  const src = sourceOf(url, callFrame.lineNumber);
  if (src) return src;
  const pkg = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.includes('/bench/')) return 'bench harness';
  return url;
}

// Self time by frame (function + location) and by source file / library.
const byFrame = new Map();
const byGroup = new Map();
for (const [id, us] of selfUs) {
  const { callFrame } = nodes.get(id);
  const loc = callFrame.url ? where(callFrame) : callFrame.functionName.startsWith('(') ? '' : `native, called from ${jsCaller(id)}`;
  const key = `${callFrame.functionName || '(anonymous)'}\u0000${loc}`;
  byFrame.set(key, (byFrame.get(key) ?? 0) + us);
  const g = group(callFrame);
  byGroup.set(g, (byGroup.get(g) ?? 0) + us);
}

// Percentages are of the busy time (everything but (idle): the process waiting in epoll).
const idle = byGroup.get('(idle)') ?? 0;
const busy = total - idle;
const pct = (us) => `${((us / busy) * 100).toFixed(1)}%`;
const ms = (us) => (us / 1000).toFixed(1);
const head = `${file}: ${ms(total)} ms of samples${window ? ' in the measured window' : ' (whole profile)'}, ${ms(busy)} ms busy (${((busy / total) * 100).toFixed(0)}%), ${ms(idle)} ms idle; % = share of busy time`;
const frames = [...byFrame].filter(([key]) => !key.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top);
const groups = [...byGroup].filter(([g]) => g !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top);
if (md) {
  console.log(`${head}\n\n| self ms | self % | function | where |\n|--:|--:|---|---|`);
  for (const [key, us] of frames) {
    const [fn, loc] = key.split('\u0000');
    console.log(`| ${ms(us)} | ${pct(us)} | \`${fn}\` | ${loc} |`);
  }
  console.log('\n| self ms | self % | source file / library |\n|--:|--:|---|');
  for (const [g, us] of groups) console.log(`| ${ms(us)} | ${pct(us)} | ${g} |`);
} else {
  console.log(head);
  for (const [key, us] of frames) {
    const [fn, loc] = key.split('\u0000');
    console.log(`${ms(us).padStart(8)} ms ${pct(us).padStart(6)}  ${fn}  ${loc}`);
  }
  console.log('\nby source file / library:');
  for (const [g, us] of groups) console.log(`${ms(us).padStart(8)} ms ${pct(us).padStart(6)}  ${g}`);
}
