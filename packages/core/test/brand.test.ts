/**
 * One identity across copies: the ESM and CJS builds of Strand (or two installed versions) agree
 * on `instanceof` for errors, Headers, responses, pools and agents. Regression: mixing the builds
 * gave "pool must be an HTTPConnectionPool, got a HTTPConnectionPool".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { CancelledError, HttpAgent, StrandError, TimeoutError, brand } from '../src/index.js';
import { runUntilExit } from './support/child-script.js';

describe('brand', () => {
  it('makes instanceof look for the registered symbol, so a copy of the class is recognised', () => {
    class Original {}
    class Copy {}
    brand(Original, 'test.Thing');
    brand(Copy, 'test.Thing');
    expect(new Copy()).toBeInstanceOf(Original);
    expect(new Original()).toBeInstanceOf(Copy);
    expect({}).not.toBeInstanceOf(Original);
    expect(Object.create(null) as object).not.toBeInstanceOf(Original);
    for (const primitive of [null, undefined, 1, 'x', Symbol.for('strand.test.Thing')]) expect((primitive as unknown) instanceof Original).toBe(false);
  });

  it('keeps subclasses: a branded subclass instance is an instance of the base, not the other way round', () => {
    const timeout = new TimeoutError('headers', 1, true);
    expect(timeout).toBeInstanceOf(TimeoutError);
    expect(timeout).toBeInstanceOf(StrandError);
    expect(timeout).toBeInstanceOf(Error);
    expect(new StrandError('X', 'x')).not.toBeInstanceOf(TimeoutError);
    expect(new CancelledError('x')).not.toBeInstanceOf(TimeoutError);
  });

  it('leaves a user subclass without a brand of its own with the ordinary instanceof', () => {
    class MyError extends StrandError {}
    expect(new MyError('MY', 'mine')).toBeInstanceOf(MyError);
    expect(new MyError('MY', 'mine')).toBeInstanceOf(StrandError);
    expect(new StrandError('X', 'x')).not.toBeInstanceOf(MyError);
  });
});

describe('the ESM and CommonJS builds in one process', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'strand-brand-'));
    const entry = join(__dirname, '..', 'src', 'index.ts');
    for (const format of ['esm', 'cjs'] as const) {
      buildSync({ entryPoints: [entry], outfile: join(dir, format === 'esm' ? 'core.mjs' : 'core.cjs'), bundle: true, platform: 'node', target: 'node20', format, logLevel: 'error' });
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('agree on instanceof for errors, Headers, responses, pools, agents and producers, both ways', async () => {
    const script = join(dir, 'check.mjs');
    writeFileSync(
      script,
      `
import { createRequire } from 'node:module';
import * as esm from './core.mjs';
const cjs = createRequire(import.meta.url)('./core.cjs');
const results = {};
const source = { bind() {}, pauseBody() {}, resumeBody() {}, stopBody() {} };
const make = (m) => ({
  StrandError: new m.StrandError('X', 'x'),
  TimeoutError: new m.TimeoutError('headers', 5, true),
  ParseError: new m.ParseError('INVALID_STATUS', 'bad'),
  ResponseDone: new m.ResponseDone(),
  Headers: new m.Headers({ a: '1' }),
  Response: new m.Response({ version: [1, 1], code: 200, phrase: 'OK', headers: new m.Headers(), length: 0, request: { method: 'GET', uri: 'http://x/', headers: new m.Headers() }, bodySource: source }),
  HTTPConnectionPool: new m.HTTPConnectionPool(),
  HttpAgent: new m.HttpAgent(),
  BytesProducer: new m.BytesProducer('x'),
  ManualClock: new m.ManualClock(),
});
const fromEsm = make(esm), fromCjs = make(cjs);
for (const name of Object.keys(fromEsm)) {
  results[name] = [fromEsm[name] instanceof cjs[name], fromCjs[name] instanceof esm[name]];
}
results.timeoutIsStrandError = [fromCjs.TimeoutError instanceof esm.StrandError, fromEsm.TimeoutError instanceof cjs.StrandError];
results.parseIsNotTimeout = [fromCjs.ParseError instanceof esm.TimeoutError];
// A pool from one build is taken by an agent of the other; Headers of one build by the other's constructor.
const agent = new esm.HttpAgent({ pool: fromCjs.HTTPConnectionPool });
results.poolAccepted = [agent.pool === fromCjs.HTTPConnectionPool];
results.headersCopied = [new esm.Headers(fromCjs.Headers).get('a') === '1'];
console.log(JSON.stringify(results));
`,
    );
    const run = await runUntilExit(script, [], 10_000);
    expect(run.stderr).toBe('');
    const results = JSON.parse(run.stdout) as Record<string, boolean[]>;
    for (const [name, checks] of Object.entries(results)) {
      expect([name, checks]).toEqual([name, name === 'parseIsNotTimeout' ? [false] : checks.map(() => true)]);
    }
    expect(Object.keys(results)).toHaveLength(14);
  });
});

describe('HttpAgent options of the wrong kind', () => {
  it('refuses a pool that is not a pool, and an endpointFactory without endpointForURI, with clear errors', () => {
    expect(() => new HttpAgent({ pool: { maxPersistentPerHost: 4 } as never })).toThrow('HttpAgent: pool must be an HTTPConnectionPool, got an object');
    expect(() => new HttpAgent({ endpointFactory: {} as never })).toThrow('HttpAgent: endpointFactory must have an endpointForURI(uri) method');
  });
});
