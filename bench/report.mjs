// Aggregation (medians over rounds, ratios to the baseline from the same rounds) and the
// Markdown report. Reporting only: nothing here passes or fails on a number.
import { BASELINE, POOL_BASELINES } from './clients.mjs';

export function median(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** A run's round key: runs merged from several files (bench/compare.mjs) carry a `file`. */
const roundKey = (run) => `${run.file ?? ''}#${run.round}`;

/**
 * The median over rounds of `a`'s req/s ÷ `b`'s req/s in the same round (and file), or null.
 * `a` and `b` are client names (a variant like `strand-core+dc` is its own client).
 */
export function sameRoundRatio(runs, scenario, a, b, key = 'reqPerSec') {
  const of = (client) => new Map(runs.filter((r) => r.scenario === scenario && r.client === client && r.result?.[key] > 0).map((r) => [roundKey(r), r.result[key]]));
  const as = of(a);
  const bs = of(b);
  const ratios = [];
  for (const [k, v] of as) if (bs.has(k)) ratios.push(v / bs.get(k));
  return median(ratios);
}

/** The faster (median req/s) of undici's two Pool paths in a scenario, or null when neither ran. */
export function fastestPool(runs, scenario) {
  let best = null;
  let bestRate = -1;
  for (const client of POOL_BASELINES) {
    const rate = median(runs.filter((r) => r.scenario === scenario && r.client === client && r.result).map((r) => r.result.reqPerSec));
    if (rate !== null && rate > bestRate) {
      best = client;
      bestRate = rate;
    }
  }
  return best;
}

/**
 * runs: [{ round, scenario, client, result | error }] -> per scenario, per client:
 * { runs, reqPerSec, mbPerSec, cpuMsPer1k, peakRssMB, p50Ms, p99Ms, ratio (× undici-request),
 *   poolRatio (× the faster undici Pool path, named in poolRef), errors, failures, firstError }
 */
export function aggregate(runs, scenarios, clients) {
  const table = {};
  for (const scenario of scenarios) {
    table[scenario] = {};
    const poolRef = fastestPool(runs, scenario);
    const baselineByRound = new Map();
    for (const run of runs) {
      if (run.scenario === scenario && run.client === BASELINE && run.result) baselineByRound.set(roundKey(run), run.result.reqPerSec);
    }
    for (const client of clients) {
      const mine = runs.filter((r) => r.scenario === scenario && r.client === client);
      if (mine.length === 0) continue;
      const ok = mine.filter((r) => r.result).map((r) => r);
      const pick = (key) => median(ok.map((r) => r.result[key]));
      const ratios = ok.filter((r) => baselineByRound.get(roundKey(r)) > 0).map((r) => r.result.reqPerSec / baselineByRound.get(roundKey(r)));
      table[scenario][client] = {
        runs: mine.length,
        reqPerSec: pick('reqPerSec'),
        reqPerSecMin: ok.length ? Math.min(...ok.map((r) => r.result.reqPerSec)) : null,
        reqPerSecMax: ok.length ? Math.max(...ok.map((r) => r.result.reqPerSec)) : null,
        mbPerSec: pick('mbPerSec'),
        cpuMsPer1k: pick('cpuMsPer1k'),
        peakRssMB: pick('peakRssMB'),
        p50Ms: pick('p50Ms'),
        p99Ms: pick('p99Ms'),
        ratio: median(ratios),
        poolRef,
        poolRatio: poolRef === null ? null : sameRoundRatio(runs, scenario, client, poolRef),
        errors: ok.reduce((sum, r) => sum + r.result.errors, 0),
        requests: ok.reduce((sum, r) => sum + r.result.requests, 0),
        failures: mine.filter((r) => !r.result).length,
        undrained: ok.filter((r) => r.result.drained === false).length,
        firstError: mine.map((r) => r.result?.firstError ?? r.error ?? null).find((e) => e) ?? null,
      };
    }
  }
  return table;
}

function fmt(value, kind) {
  if (value === null || value === undefined) return '–';
  switch (kind) {
    case 'int':
      return Math.round(value).toLocaleString('en-US');
    case 'ms':
      return value < 1 ? value.toFixed(3) : value < 10 ? value.toFixed(2) : value.toFixed(1);
    case 'ratio':
      return `${value.toFixed(2)}×`;
    default:
      return value < 10 ? value.toFixed(2) : value < 1000 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US');
  }
}

export function scenarioTable(rows, clients) {
  const poolRef = Object.values(rows).find((row) => row.poolRef)?.poolRef ?? null;
  const lines = [`| client | req/s | MB/s | CPU ms/1k req | peak RSS MB | p50 ms | p99 ms | × ${poolRef ?? 'undici Pool'} | × ${BASELINE} | errors | req/s min–max |`, '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|'];
  for (const client of clients) {
    const row = rows[client];
    if (row === undefined) continue;
    const errors = row.errors + (row.failures > 0 ? ` (+${row.failures} failed run${row.failures > 1 ? 's' : ''})` : '');
    lines.push(`| ${client} | ${fmt(row.reqPerSec, 'int')} | ${fmt(row.mbPerSec)} | ${fmt(row.cpuMsPer1k)} | ${fmt(row.peakRssMB)} | ${fmt(row.p50Ms, 'ms')} | ${fmt(row.p99Ms, 'ms')} | ${fmt(row.poolRatio, 'ratio')} | ${fmt(row.ratio, 'ratio')} | ${errors} | ${row.runs > 1 ? `${fmt(row.reqPerSecMin, 'int')}–${fmt(row.reqPerSecMax, 'int')}` : '–'} |`);
  }
  return lines.join('\n');
}

/**
 * The headline ratios per scenario (median of same-round req/s ratios): Strand against undici's
 * Pool paths, the client layer's cost, core against the raw onread socket, and every `+variant`
 * against its plain client.
 */
export const KEY_RATIOS = [
  ['core ÷ pool-dispatch', 'strand-core', 'undici-pool-dispatch'],
  ['core ÷ pool-request', 'strand-core', 'undici-pool-request'],
  ['client ÷ pool-dispatch', 'strand-client', 'undici-pool-dispatch'],
  ['client ÷ pool-request', 'strand-client', 'undici-pool-request'],
  ['client ÷ core', 'strand-client', 'strand-core'],
  ['core ÷ raw-onread', 'strand-core', 'raw-onread'],
  ['pool-dispatch ÷ pool-request', 'undici-pool-dispatch', 'undici-pool-request'],
];

export function ratioTable(runs, scenarios, clients) {
  const pairs = [...KEY_RATIOS];
  for (const client of clients) if (client.includes('+')) pairs.push([`${client} ÷ ${client.split('+')[0]}`, client, client.split('+')[0]]);
  const used = pairs.filter(([, a, b]) => scenarios.some((s) => sameRoundRatio(runs, s, a, b) !== null));
  if (used.length === 0) return null;
  const lines = [`| scenario | ${used.map(([label]) => label).join(' | ')} |`, `|---|${used.map(() => '--:').join('|')}|`];
  for (const scenario of scenarios) lines.push(`| ${scenario} | ${used.map(([, a, b]) => fmt(sameRoundRatio(runs, scenario, a, b), 'ratio')).join(' | ')} |`);
  return lines.join('\n');
}

/** The whole Markdown document. */
export function renderMarkdown({ title, meta, scenarios, scenarioInfo, clients, table, runs, skipped, memory, notes }) {
  const out = [];
  out.push(`# ${title}`, '');
  out.push('Generated by `bench/run.mjs`; numbers are medians over interleaved rounds (reporting only, never a pass/fail).', '');
  out.push('| | |', '|---|---|');
  for (const [key, value] of meta) out.push(`| ${key} | ${value} |`);
  out.push('');
  out.push(
    '**Method.** Every client runs each scenario in its own child process (pinned to the client core) against the same server process (pinned to the other core). ' +
      'A run warms up, then measures: N independent loops each doing request → read the whole body → next, sharing one client/agent sized for N connections. ' +
      'Rounds are interleaved (every client once per scenario per round, starting client rotated each round); each cell is the median over rounds. ' +
      `The × columns are medians of per-round ratios of req/s in the same round: first against the faster (by median req/s) of undici's two per-origin Pool paths, ${POOL_BASELINES.join(' and ')} (a \`new Pool(origin, { connections: N })\`, no Agent routing; the column header names which one), then against ${BASELINE} (\`undici.request(url)\` on an Agent). ` +
      'MB = 2^20 bytes (body bytes only). CPU = user+system of the client process over the measured window. Peak RSS = the client process\'s maxRSS (whole life). ' +
      'Latency = request start → whole body read, per request, in the measured window (at N > 1 it includes queueing behind the other loops).',
    '',
  );
  for (const scenario of scenarios) {
    out.push(`## ${scenario}`, '', scenarioInfo[scenario], '');
    const rows = table[scenario] ?? {};
    if (Object.keys(rows).length === 0) out.push('_No client ran this scenario._', '');
    else out.push(scenarioTable(rows, clients), '');
    const skips = skipped.filter((s) => s.scenario === scenario);
    if (skips.length > 0) out.push(`Skipped: ${skips.map((s) => `${s.client} (${s.reason})`).join('; ')}.`, '');
    const errs = clients.filter((c) => rows[c] && (rows[c].errors > 0 || rows[c].failures > 0) && rows[c].firstError);
    for (const client of errs) out.push(`- ${client} first error: \`${rows[client].firstError.replace(/`/g, "'").slice(0, 300)}\``);
    const hung = clients.filter((c) => rows[c]?.undrained > 0);
    for (const client of hung) out.push(`- ${client}: in ${rows[client].undrained} run(s) requests were still in flight 5 s after the window closed (hung?)`);
    if (errs.length + hung.length > 0) out.push('');
  }
  if (runs) {
    const ratios = ratioTable(runs, scenarios, clients);
    if (ratios !== null) out.push('## Ratios', '', 'Median of same-round ratios of req/s (above 1: the first is faster). pool-dispatch counts body bytes and keeps none even in the buffered scenarios; pool-request buffers like the others.', '', ratios, '');
  }
  const globalSkips = skipped.filter((s) => s.scenario === '*');
  if (globalSkips.length > 0) {
    out.push('## Skipped', '');
    for (const s of globalSkips) out.push(`- ${s.client}: ${s.reason}`);
    out.push('');
  }
  if (memory) out.push(renderMemory(memory), '');
  if (notes.length > 0) {
    out.push('## Notes', '');
    for (const note of notes) out.push(`- ${note}`);
    out.push('');
  }
  return out.join('\n');
}

export function renderMemory(memory) {
  const out = ['## Memory checks (`bench/memory.mjs`)', ''];
  if (memory.error) {
    out.push(`The memory check failed: \`${memory.error}\``);
    return out.join('\n');
  }
  out.push(`Server: ${memory.server}. Each check in a fresh client process; RSS after a forced GC where noted.`, '');
  out.push('| check | client | result |', '|---|---|---|');
  for (const row of memory.rows) out.push(`| ${row.check} | ${row.client} | ${row.result} |`);
  return out.join('\n');
}
