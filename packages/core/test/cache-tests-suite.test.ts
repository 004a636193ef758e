/**
 * Scores {@link CachingAgent} on the public HTTP cache test suite (test/fixtures/cache-tests,
 * BSD 3-Clause; the README there has the source, the commit and the current score): every test
 * the suite runs against a non-browser cache, over a real loopback origin, with a fresh private
 * cache per test, and again with a shared one that also obeys `CDN-Cache-Control` (a CDN's cache).
 *
 * Each test must end as recorded in KNOWN (test/fixtures/cache-tests/known-results.json, with
 * the reason for every result that is not a pass), so a regression and an improvement both fail
 * here: update the file (and the README's score) when the cache changes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CachingAgent } from '../src/agents/cache/caching-agent.js';
import { MemoryCacheStore } from '../src/agents/cache/store.js';
import { HttpAgent } from '../src/http-agent.js';
import { HTTPConnectionPool } from '../src/pool/pool.js';
import { ManualClock } from '../src/time/clock.js';
import { type RawResult, type SuiteDef, SuiteOrigin, type TestDef, type Verdict, runTest, verdict } from './support/cache-tests-runner.js';

const FIXTURES = path.join(__dirname, 'fixtures', 'cache-tests');
const suites = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'tests.json'), 'utf8')) as SuiteDef[];
const KNOWN = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'known-results.json'), 'utf8')) as {
  private: Record<string, { verdict: Verdict; reason: string }>;
  shared: Record<string, { verdict: Verdict; reason: string }>;
};

/** 2026-01-01T00:00:00Z: a whole second, so HTTP-dates lose nothing. */
const EPOCH = Date.UTC(2026, 0, 1);

/** The tests of the suite's non-browser run (the runner skips `browser_only`). */
const tests: TestDef[] = suites.flatMap((suite) => suite.tests.filter((test) => test.browser_only !== true));
const byId = new Map(tests.map((test) => [test.id, test]));

interface Run {
  results: Map<string, RawResult>;
  verdicts: Map<string, Verdict>;
}

async function runAll(shared: boolean): Promise<Run> {
  const clock = new ManualClock();
  const now = (): number => EPOCH + clock.now();
  const origin = new SuiteOrigin(clock, now);
  await origin.start();
  const pool = new HTTPConnectionPool();
  const results = new Map<string, RawResult>();
  try {
    for (const test of tests) {
      // The shared run is a CDN's cache: it also obeys CDN-Cache-Control (RFC 9213).
      const agent = new CachingAgent(new HttpAgent({ pool }), { store: new MemoryCacheStore(), shared, now, clock, ...(shared ? { targetedFields: ['CDN-Cache-Control'] } : {}) });
      results.set(test.id, await runTest(test, origin, agent, clock));
      await agent.close();
    }
  } finally {
    await pool.close();
    await origin.close();
  }
  const verdicts = new Map<string, Verdict>();
  for (const test of tests) verdicts.set(test.id, verdict(test, results, byId));
  return { results, verdicts };
}

/** Counts by kind and verdict, e.g. `{ required: { pass: 150, fail: 2 } }`. */
function tally(run: Run): Record<string, Record<string, number>> {
  const counts: Record<string, Record<string, number>> = {};
  for (const test of tests) {
    const kind = test.kind ?? 'required';
    const v = run.verdicts.get(test.id) as string;
    const row = (counts[kind] ??= {});
    row[v] = (row[v] ?? 0) + 1;
  }
  return counts;
}

const runs: Partial<Record<'private' | 'shared', Run>> = {};

beforeAll(async () => {
  runs.private = await runAll(false);
  runs.shared = await runAll(true);
  if (process.env['STRAND_CACHE_TESTS_REPORT'] === '1') {
    const report: Record<string, unknown> = {};
    for (const mode of ['private', 'shared'] as const) {
      const run = runs[mode] as Run;
      const notPassed: Record<string, { verdict: Verdict; reason: string }> = {};
      for (const test of tests) {
        const v = run.verdicts.get(test.id) as Verdict;
        if (v === 'pass' || v === 'yes') continue;
        const raw = run.results.get(test.id) as RawResult;
        notPassed[test.id] = { verdict: v, reason: KNOWN[mode][test.id]?.reason ?? (raw.outcome === 'pass' ? 'a dependency failed' : raw.message) };
      }
      report[mode] = { tally: tally(run), notPassed };
    }
    fs.writeFileSync(process.env['STRAND_CACHE_TESTS_OUT'] ?? '/tmp/cache-tests-report.json', JSON.stringify(report, null, 2));
  }
}, 120_000);

describe.each(['private', 'shared'] as const)('the public cache test suite, %s cache', (mode) => {
  test.each(tests.map((test) => [test.id, test.name] as const))('%s (%s) ends as recorded', (id) => {
    const run = runs[mode] as Run;
    const expected = KNOWN[mode][id]?.verdict ?? ((byId.get(id) as TestDef).kind === 'check' ? 'yes' : 'pass');
    const raw = run.results.get(id) as RawResult;
    const got = run.verdicts.get(id);
    expect({ id, verdict: got, detail: raw.outcome === 'pass' ? '' : raw.message }).toEqual({ id, verdict: expected, detail: expect.any(String) });
  });
});
