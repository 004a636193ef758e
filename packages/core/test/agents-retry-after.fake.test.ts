/**
 * RetryAgent reads Retry-After through Headers.retryAfter(): the obsolete HTTP-date formats
 * RFC 9110 §5.6.7 requires recipients to accept, asctime read as UTC whatever the local time
 * zone, and nothing else. Regression: Date.parse read an asctime date in the local time zone, so
 * outside UTC the wait was off by the zone's offset (checked in a child process whose TZ is
 * America/New_York: jest's process.env does not reach the time zone of this one).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RetryAgent } from '../src/index.js';
import { bundleScript, runUntilExit } from './support/child-script.js';
import { useRetrySpy } from './support/retry-spy.js';

const URL_BUSY = 'http://api.test/busy';

const fake = useRetrySpy();

function retrying(now: number): RetryAgent {
  return fake.retrying({ now: () => now });
}

describe('RetryAgent: Retry-After in the obsolete HTTP-date formats', () => {
  it('waits until an asctime Retry-After, measured against an RFC 850 Date', async () => {
    const pending = retrying(0).request('GET', URL_BUSY);
    (await fake.spy.nextCall()).respond({ status: 503, headers: { Date: 'Sunday, 06-Nov-94 08:49:37 GMT', 'Retry-After': 'Sun Nov  6 08:49:49 1994' } });
    await fake.backingOff();
    expect(fake.events.map((e) => e.delay)).toEqual([12_000]);
    fake.clock.advance(12_000);
    (await fake.spy.nextCall()).respond(200);
    expect((await pending).code).toBe(200);
  });

  it('backs off as usual for a Retry-After that is no HTTP-date (an ISO 8601 date is not one)', async () => {
    const pending = retrying(Date.UTC(2030, 0, 1)).request('GET', URL_BUSY);
    (await fake.spy.nextCall()).respond({ status: 503, headers: { 'Retry-After': '2030-01-01T00:00:05Z' } });
    await fake.backingOff();
    expect(fake.events.map((e) => e.delay)).toEqual([50]); // half the 100 ms back-off ceiling
    fake.clock.advance(50);
    (await fake.spy.nextCall()).respond(200);
    expect((await pending).code).toBe(200);
  });

  it('reads an asctime Retry-After as UTC in a process whose local time zone is not UTC', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strand-retry-after-'));
    try {
      const script = bundleScript(dir, 'retry-after-tz', CHILD, { aliases: { '@strand/testing': join(__dirname, '..', '..', 'testing', 'src', 'agent-spy.ts') } });
      const run = await runUntilExit(script, [], 20_000, { TZ: 'America/New_York' });
      expect(run.stderr).toBe('');
      // The offset shows the zone took effect (EST, 300 minutes behind UTC, in November 1994).
      expect(JSON.parse(run.stdout)).toEqual({ offset: 300, delays: [12_000, 9_000] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Two retries of a 503 with an asctime Retry-After: against an RFC 850 Date, and against the wall clock. */
const CHILD = `
import { AgentSpy } from '@strand/testing';
import { ManualClock, RetryAgent } from '@strand/core';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function delayFor(now: number, headers: Record<string, string>): Promise<number | undefined> {
  const spy = new AgentSpy();
  const clock = new ManualClock();
  const delays: number[] = [];
  const agent = new RetryAgent(spy, { clock, random: () => 0.5, now: () => now, onRetry: (e) => delays.push(e.delay) });
  const pending = agent.request('GET', 'http://api.test/busy');
  (await spy.nextCall()).respond({ status: 503, headers });
  for (let k = 0; k < 200 && clock.pending === 0; k++) await turn();
  clock.advance(delays[0] ?? 0);
  (await spy.nextCall()).respond(200);
  await pending;
  return delays[0];
}

async function main(): Promise<void> {
  const delays = [
    await delayFor(0, { Date: 'Sunday, 06-Nov-94 08:49:37 GMT', 'Retry-After': 'Sun Nov  6 08:49:49 1994' }),
    await delayFor(Date.UTC(1994, 10, 6, 8, 49, 40), { 'Retry-After': 'Sun Nov  6 08:49:49 1994' }),
  ];
  console.log(JSON.stringify({ offset: new Date(Date.UTC(1994, 10, 6)).getTimezoneOffset(), delays }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`;
