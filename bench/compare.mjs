#!/usr/bin/env node
// Before/after tables from several `bench/run.mjs --out NAME` results, e.g. the same harness run
// alternately on two checkouts (A B A B):
//
//   node bench/compare.mjs before=bench/out/b1.json,bench/out/b2.json after=bench/out/a1.json,bench/out/a2.json
//
// Two or more labels, each a comma-separated list of run.mjs JSON files. For every scenario and
// client: the median over all the label's runs of req/s, CPU ms per 1,000 requests, p50 latency
// and MB/s, with last÷first for req/s. Absolute numbers across separate harness runs carry the
// machine's drift between them; the ratio table (median of same-round ratios, e.g. strand-core ÷
// undici-pool-dispatch measured back to back) is the steadier before/after comparison, since the
// reference clients are the same code in every run. Reporting only. Prints Markdown.
import { readFileSync } from 'node:fs';
import { KEY_RATIOS, median, sameRoundRatio } from './report.mjs';

const specs = process.argv.slice(2).filter((a) => a.includes('='));
if (specs.length < 2) {
  console.error('usage: node bench/compare.mjs LABEL=a.json[,b.json...] LABEL=c.json[,d.json...] ...');
  process.exit(2);
}

const labels = [];
for (const spec of specs) {
  const [label, list] = spec.split('=');
  const runs = [];
  const metas = [];
  for (const file of list.split(',').filter(Boolean)) {
    const data = JSON.parse(readFileSync(file, 'utf8'));
    metas.push({ file, meta: data.meta });
    for (const run of data.runs) runs.push({ ...run, file });
  }
  labels.push({ label, runs, metas });
}

const scenarios = [];
const clients = [];
for (const { runs } of labels) {
  for (const run of runs) {
    if (!scenarios.includes(run.scenario)) scenarios.push(run.scenario);
    if (!clients.includes(run.client)) clients.push(run.client);
  }
}

function fmt(value, digits) {
  if (value === null || value === undefined) return '–';
  if (digits !== undefined) return value.toFixed(digits);
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}
const pick = (runs, scenario, client, key) => median(runs.filter((r) => r.scenario === scenario && r.client === client && r.result).map((r) => r.result[key]));
const count = (runs, scenario, client) => runs.filter((r) => r.scenario === scenario && r.client === client && r.result).length;
const errors = (runs, scenario, client) => runs.filter((r) => r.scenario === scenario && r.client === client).reduce((n, r) => n + (r.result ? r.result.errors : 1), 0);

const out = [];
const first = labels[0];
const last = labels[labels.length - 1];
out.push(`# Compare: ${labels.map((l) => l.label).join(' vs ')}`, '');
out.push('| label | files | load average (before → after each run) |', '|---|---|---|');
for (const { label, metas } of labels) out.push(`| ${label} | ${metas.map((m) => m.file.replace(/^.*\//, '')).join(', ')} | ${metas.map((m) => (m.meta['load average'] ?? '').replace(/ before, /, ' → ').replace(/ after.*$/, '')).join('; ')} |`);
out.push('');
out.push(`Cells are medians over all the label's rounds ("${labels.map((l) => l.label).join(' / ')}"); ${last.label}÷${first.label} is the ratio of those medians.`, '');

for (const scenario of scenarios) {
  out.push(`## ${scenario}`, '');
  const labelCols = (name) => labels.map((l) => `${name} ${l.label}`);
  out.push(`| client | ${[...labelCols('req/s'), `req/s ${last.label}÷${first.label}`, ...labelCols('CPU ms/1k'), ...labelCols('p50 ms'), ...labelCols('MB/s'), 'rounds', 'errors'].join(' | ')} |`);
  out.push(`|---|${Array(labels.length * 4 + 3).fill('--:').join('|')}|`);
  for (const client of clients) {
    if (!labels.some((l) => count(l.runs, scenario, client) > 0)) continue;
    const col = (key, digits) => labels.map((l) => fmt(pick(l.runs, scenario, client, key), digits));
    const a = pick(first.runs, scenario, client, 'reqPerSec');
    const b = pick(last.runs, scenario, client, 'reqPerSec');
    out.push(
      `| ${client} | ${[
        ...col('reqPerSec'),
        a && b ? `${(b / a).toFixed(2)}×` : '–',
        ...col('cpuMsPer1k'),
        ...col('p50Ms', 3),
        ...col('mbPerSec'),
        labels.map((l) => count(l.runs, scenario, client)).join('/'),
        labels.map((l) => errors(l.runs, scenario, client)).join('/'),
      ].join(' | ')} |`,
    );
  }
  out.push('');
}

out.push('## Ratios, same round (median over every round of every file of the label)', '');
const pairs = [...KEY_RATIOS];
for (const client of clients) if (client.includes('+')) pairs.push([`${client} ÷ ${client.split('+')[0]}`, client, client.split('+')[0]]);
out.push(`| scenario | ratio | ${labels.map((l) => l.label).join(' | ')} | ${last.label}÷${first.label} |`, `|---|---|${labels.map(() => '--:').join('|')}|--:|`);
for (const scenario of scenarios) {
  for (const [name, x, y] of pairs) {
    const values = labels.map((l) => sameRoundRatio(l.runs, scenario, x, y));
    if (values.every((v) => v === null)) continue;
    const change = values[0] && values[values.length - 1] ? `${(values[values.length - 1] / values[0]).toFixed(2)}×` : '–';
    out.push(`| ${scenario} | ${name} | ${values.map((v) => (v === null ? '–' : `${v.toFixed(2)}×`)).join(' | ')} | ${change} |`);
  }
}
out.push('');
out.push('## CPU per request, same round (CPU ms/1k of the first ÷ of the second; below 1: the first is cheaper)', '');
out.push('On a loaded machine CPU per request moves much less than req/s (a run that loses the core waits, it does not burn CPU).', '');
out.push(`| scenario | CPU ratio | ${labels.map((l) => l.label).join(' | ')} | ${last.label}÷${first.label} |`, `|---|---|${labels.map(() => '--:').join('|')}|--:|`);
for (const scenario of scenarios) {
  for (const [name, x, y] of pairs) {
    const values = labels.map((l) => sameRoundRatio(l.runs, scenario, x, y, 'cpuMsPer1k'));
    if (values.every((v) => v === null)) continue;
    const change = values[0] && values[values.length - 1] ? `${(values[values.length - 1] / values[0]).toFixed(2)}×` : '–';
    out.push(`| ${scenario} | ${name} | ${values.map((v) => (v === null ? '–' : `${v.toFixed(2)}×`)).join(' | ')} | ${change} |`);
  }
}
// The in-memory fake agent against loopback at one connection, per Strand client, same round.
function crossRatio(runs, client, scenarioA, scenarioB) {
  const of = (scenario) => new Map(runs.filter((r) => r.scenario === scenario && r.client === client && r.result?.reqPerSec > 0).map((r) => [`${r.file}#${r.round}`, r.result.reqPerSec]));
  const as = of(scenarioA);
  const bs = of(scenarioB);
  return median([...as].filter(([k]) => bs.has(k)).map(([k, v]) => v / bs.get(k)));
}
for (const client of ['strand-core', 'strand-client']) {
  const values = labels.map((l) => crossRatio(l.runs, client, 'fake-agent', 'small-1'));
  if (values.every((v) => v === null)) continue;
  const change = values[0] && values[values.length - 1] ? `${(values[values.length - 1] / values[0]).toFixed(2)}×` : '–';
  out.push(`| fake-agent ÷ small-1 (req/s) | ${client} | ${values.map((v) => (v === null ? '–' : `${v.toFixed(2)}×`)).join(' | ')} | ${change} |`);
}
out.push('');
console.log(out.join('\n'));
