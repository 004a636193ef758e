/**
 * Scores {@link CachingAgent} on the public HTTP cache test suite (test/fixtures/cache-tests,
 * BSD 3-Clause; the README there has the source, the commit and the current score), over a real
 * loopback origin, with a fresh cache per test: as a private cache, the tests the suite's runner
 * runs against a browser's (a user agent's) cache; as a shared cache that also obeys
 * `CDN-Cache-Control`, the tests it runs against an intermediary (a proxy or a CDN).
 *
 * Each Strand test must end as recorded in KNOWN (test/fixtures/cache-tests/known-results.json,
 * with the reason for every result that is not a pass), so a regression and an improvement both
 * fail here: update the file (and the README's score) when the cache changes.
 *
 * In the same run, undici 7's cache interceptor (`type: 'private'` and `'shared'`) is scored on
 * the same selections through an adapter (support/cache-tests-undici.ts); its counts are printed
 * next to Strand's, and only a few of its verdicts, the adapter's sanity checks, are asserted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CachingAgent } from '../src/agents/cache/caching-agent.js';
import { MemoryCacheStore } from '../src/agents/cache/store.js';
import { HttpAgent } from '../src/http-agent.js';
import { HTTPConnectionPool } from '../src/pool/pool.js';
import { ManualClock } from '../src/time/clock.js';
import { type RawResult, type SuiteClient, type SuiteDef, SuiteOrigin, type TestDef, type Verdict, agentClient, runTest, selectTests, verdict } from './support/cache-tests-runner.js';
import { UNDICI_VERSION, undiciCache, withWallClock } from './support/cache-tests-undici.js';

const FIXTURES = path.join(__dirname, 'fixtures', 'cache-tests');
/** Tests undici's interceptor passes in both runs, whatever else it does: a wrong adapter (time, headers, bodies) fails them. */
const UNDICI_SANITY = ['freshness-max-age', 'cc-resp-no-store', 'cc-resp-no-cache-revalidate'];

const suites = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'tests.json'), 'utf8')) as SuiteDef[];
const KNOWN = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'known-results.json'), 'utf8')) as {
  private: Record<string, { verdict: Verdict; reason: string }>;
  shared: Record<string, { verdict: Verdict; reason: string }>;
};

/** 2026-01-01T00:00:00Z: a whole second, so HTTP-dates lose nothing. */
const EPOCH = Date.UTC(2026, 0, 1);

type Mode = 'private' | 'shared';

/** Which of the suite's selections each kind of cache is scored on. */
const SELECTION = { private: 'browser', shared: 'intermediary' } as const;
const selected: Record<Mode, TestDef[]> = { private: selectTests(suites, SELECTION.private), shared: selectTests(suites, SELECTION.shared) };

interface Run {
  tests: TestDef[];
  results: Map<string, RawResult>;
  verdicts: Map<string, Verdict>;
}

/** A fresh cache for one test, as a suite client, and how to close it. */
type CacheFactory = (now: () => number, clock: ManualClock, pool: HTTPConnectionPool) => { client: SuiteClient; close(): Promise<void> };

const strandCache =
  (shared: boolean): CacheFactory =>
  (now, clock, pool) => {
    // The shared run is a CDN's cache: it also obeys CDN-Cache-Control (RFC 9213).
    const agent = new CachingAgent(new HttpAgent({ pool }), { store: new MemoryCacheStore(), shared, now, clock, ...(shared ? { targetedFields: ['CDN-Cache-Control'] } : {}) });
    return { client: agentClient(agent), close: () => agent.close() };
  };

async function runAll(tests: TestDef[], factory: CacheFactory, clock = new ManualClock()): Promise<Run> {
  const now = (): number => EPOCH + clock.now();
  const origin = new SuiteOrigin(clock, now);
  await origin.start();
  const pool = new HTTPConnectionPool();
  const results = new Map<string, RawResult>();
  try {
    for (const test of tests) {
      const cache = factory(now, clock, pool);
      results.set(test.id, await runTest(test, origin, cache.client, clock));
      await cache.close();
    }
  } finally {
    await pool.close();
    await origin.close();
  }
  const byId = new Map(tests.map((test) => [test.id, test]));
  const verdicts = new Map<string, Verdict>();
  for (const test of tests) verdicts.set(test.id, verdict(test, results, byId));
  return { tests, results, verdicts };
}

/** undici's cache reads the time from Date.now: the run's manual clock stands in for it while undici runs. */
function runUndici(mode: Mode): Promise<Run> {
  const clock = new ManualClock();
  return withWallClock(
    () => EPOCH + clock.now(),
    () => runAll(selected[mode], () => undiciCache(mode), clock),
  );
}

/** Counts by kind and verdict, e.g. `{ required: { pass: 150, fail: 2 } }`. */
function tally(run: Run): Record<string, Record<string, number>> {
  const counts: Record<string, Record<string, number>> = {};
  for (const test of run.tests) {
    const kind = test.kind ?? 'required';
    const v = run.verdicts.get(test.id) as string;
    const row = (counts[kind] ??= {});
    row[v] = (row[v] ?? 0) + 1;
  }
  return counts;
}

const VERDICTS: readonly Verdict[] = ['pass', 'yes', 'fail', 'optional_fail', 'no', 'setup_fail', 'dependency_fail'];

/** One line of the printed score: every verdict's count over all kinds. */
function scoreLine(label: string, run: Run): string {
  const counts = new Map<Verdict, number>();
  for (const v of run.verdicts.values()) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [label.padEnd(15), String(run.tests.length).padStart(5), ...VERDICTS.map((v) => String(counts.get(v) ?? 0).padStart(v.length))].join('  ');
}

const strand: Partial<Record<Mode, Run>> = {};
const undici: Partial<Record<Mode, Run>> = {};

beforeAll(async () => {
  for (const mode of ['private', 'shared'] as const) {
    strand[mode] = await runAll(selected[mode], strandCache(mode === 'shared'));
    undici[mode] = await runUndici(mode);
  }
  const lines = [`public cache test suite: Strand CachingAgent and undici ${UNDICI_VERSION} interceptors.cache, same run`, ['cache'.padEnd(15), 'tests', ...VERDICTS].join('  ')];
  for (const mode of ['private', 'shared'] as const) {
    lines.push(scoreLine(`strand ${mode}`, strand[mode] as Run), scoreLine(`undici ${mode}`, undici[mode] as Run));
  }
  console.log(lines.join('\n'));
  if (process.env['STRAND_CACHE_TESTS_REPORT'] === '1') {
    const report: Record<string, unknown> = {};
    for (const mode of ['private', 'shared'] as const) {
      for (const [client, run] of [['strand', strand[mode] as Run], ['undici', undici[mode] as Run]] as const) {
        const notPassed: Record<string, { verdict: Verdict; reason: string }> = {};
        for (const test of run.tests) {
          const v = run.verdicts.get(test.id) as Verdict;
          if (v === 'pass' || v === 'yes') continue;
          const raw = run.results.get(test.id) as RawResult;
          const known = client === 'strand' ? KNOWN[mode][test.id]?.reason : undefined;
          notPassed[test.id] = { verdict: v, reason: known ?? (raw.outcome === 'pass' ? 'a dependency failed' : raw.message) };
        }
        report[`${client} ${mode}`] = { selection: SELECTION[mode], tests: run.tests.length, tally: tally(run), notPassed };
      }
    }
    fs.writeFileSync(process.env['STRAND_CACHE_TESTS_OUT'] ?? '/tmp/cache-tests-report.json', JSON.stringify(report, null, 2));
  }
}, 120_000);

describe.each(['private', 'shared'] as const)('the public cache test suite, %s cache', (mode) => {
  const byId = new Map(selected[mode].map((test) => [test.id, test]));
  test.each(selected[mode].map((test) => [test.id, test.name] as const))('%s (%s) ends as recorded', (id) => {
    const run = strand[mode] as Run;
    const expected = KNOWN[mode][id]?.verdict ?? ((byId.get(id) as TestDef).kind === 'check' ? 'yes' : 'pass');
    const raw = run.results.get(id) as RawResult;
    const got = run.verdicts.get(id);
    expect({ id, verdict: got, detail: raw.outcome === 'pass' ? '' : raw.message }).toEqual({ id, verdict: expected, detail: expect.any(String) });
  });

  it('scores undici on the same selection through an adapter that passes a hit, a no-store and a validation', () => {
    const run = undici[mode] as Run;
    expect(run.tests.length).toBe(selected[mode].length);
    for (const id of UNDICI_SANITY) expect({ id, verdict: run.verdicts.get(id) }).toEqual({ id, verdict: 'pass' });
  });
});
