/**
 * A composed stack, retry -> redirect -> decode, over @strand/testing's fake agent, with a
 * RequestSequence scripting the exact exchange (every request in order, with its reply) and
 * `assertAllConsumed()` proving nothing more and nothing less happened. Back-off runs on a
 * ManualClock that tells the test when the agent starts waiting and for how long, so no test
 * waits in real time. The loopback-server version is agents-compose.test.ts.
 */
import * as zlib from 'node:zlib';
import { type FakeAgent, RequestSequence, createFakeAgent, strandMatchers } from '@strand/testing';
import {
  type Agent,
  ContentDecoderAgent,
  ManualClock,
  RedirectAgent,
  RetryAgent,
  type RetryEvent,
  type TimerHandle,
  readBody,
} from '../src/index.js';
import { history } from './support/agents-helpers.js';
import { trackFakeAgents } from './support/fake-agents.js';

expect.extend(strandMatchers);

/** A ManualClock that tells the test when a timer is set, and for how long. */
class WatchedClock extends ManualClock {
  private waiters: Array<(ms: number) => void> = [];

  override setTimeout(callback: () => void, ms: number): TimerHandle {
    const handle = super.setTimeout(callback, ms);
    for (const waiter of this.waiters.splice(0)) waiter(ms);
    return handle;
  }

  /** Resolves with the length of the next timer set on this clock. */
  nextTimer(): Promise<number> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

const CATALOG = { items: Array.from({ length: 200 }, (_, i) => ({ sku: `SKU-${i}`, price: i * 3 })) };
const CATALOG_GZ = zlib.gzipSync(JSON.stringify(CATALOG));

const track = trackFakeAgents();
let clock: WatchedClock;
let events: RetryEvent[];

beforeEach(() => {
  clock = new WatchedClock();
  events = [];
});

/** retry -> redirect -> decode -> the fake agent answering from `sequence`. */
function stack(sequence: RequestSequence): { agent: Agent; fake: FakeAgent } {
  // The fake's own clock (pool timers) is a second manual clock, never advanced: no real timers.
  const fake = track(createFakeAgent(sequence, { clock: new ManualClock() }));
  const agent = new RetryAgent(new RedirectAgent(new ContentDecoderAgent(fake)), { clock, random: () => 0.5, onRetry: (e) => events.push(e) });
  return { agent, fake };
}

const acceptsCodings = { 'accept-encoding': /\bgzip\b/ };

describe('retry -> redirect -> decode over a scripted fake', () => {
  it('restarts the redirect chain after a 503 with Retry-After and decodes the final gzip body', async () => {
    const sequence = new RequestSequence([
      [{ method: 'GET', url: 'http://shop.test/start', headers: acceptsCodings }, { status: 302, headers: { Location: '/catalog' } }],
      [
        { method: 'GET', url: 'http://shop.test/catalog', headers: acceptsCodings },
        { status: 503, headers: { 'Retry-After': '3', 'Content-Encoding': 'gzip' }, body: zlib.gzipSync('down for a moment') },
      ],
      [{ method: 'GET', url: 'http://shop.test/start' }, { status: 302, headers: { Location: '/catalog' } }],
      [{ method: 'GET', url: 'http://shop.test/catalog' }, { headers: { 'Content-Encoding': 'gzip', 'Content-Type': 'application/json' }, body: CATALOG_GZ }],
    ]);
    const { agent, fake: f } = stack(sequence);

    const timer = clock.nextTimer();
    const pending = agent.request('GET', 'http://shop.test/start');
    expect(await timer).toBe(3000); // the Retry-After, once the 503's body was read and discarded
    expect(f.requests).toHaveLength(2);
    expect(sequence.remaining).toHaveLength(2);
    clock.advance(2999);
    await f.flush();
    expect(f.requests).toHaveLength(2); // not a millisecond early
    clock.advance(1);

    const response = await pending;
    expect(response.code).toBe(200);
    expect(response.headers.get('content-encoding')).toBeUndefined();
    expect(JSON.parse((await readBody(response)).toString())).toEqual(CATALOG);
    // The history is the successful attempt's chain only.
    expect(history(response).map((r) => [r.code, r.request.uri])).toEqual([
      [302, 'http://shop.test/start'],
      [200, 'http://shop.test/catalog'],
    ]);
    expect(events.map((e) => [e.attempt, e.delay, e.response?.code])).toEqual([[1, 3000, 503]]);
    sequence.assertAllConsumed();
    // Bodies discarded, so one connection carried the whole exchange.
    expect(new Set(f.requests.map((r) => r.connectionId))).toEqual(new Set([1]));
  });

  it('lets the pool resend, below every wrapper, a request whose reused connection was reset before any byte', async () => {
    const sequence = new RequestSequence([
      [{ url: 'http://shop.test/start' }, { status: 302, headers: { Location: '/catalog' } }],
      [{ url: 'http://shop.test/catalog' }, { fault: { type: 'reset', afterBytes: 0 } }],
      [{ url: 'http://shop.test/catalog' }, { headers: { 'Content-Encoding': 'gzip' }, body: CATALOG_GZ }],
    ]);
    const { agent, fake: f } = stack(sequence);

    const response = await agent.request('GET', 'http://shop.test/start');
    expect(JSON.parse((await readBody(response)).toString())).toEqual(CATALOG);
    sequence.assertAllConsumed();
    expect(events).toEqual([]); // the RetryAgent never saw the failure
    expect(clock.pending).toBe(0);
    expect(f.requests.map((r) => r.connectionId)).toEqual([1, 1, 2]);
  });

  it('restarts the chain after its back-off when the connection dies inside the response head', async () => {
    const sequence = new RequestSequence([
      [{ url: 'http://shop.test/start' }, { status: 302, headers: { Location: '/catalog' } }],
      [{ url: 'http://shop.test/catalog' }, { body: 'never seen', fault: { type: 'close', afterBytes: 5 } }],
      [{ url: 'http://shop.test/start' }, { status: 302, headers: { Location: '/catalog' } }],
      [{ url: 'http://shop.test/catalog' }, { headers: { 'Content-Encoding': 'gzip' }, body: CATALOG_GZ }],
    ]);
    const { agent, fake: f } = stack(sequence);

    const timer = clock.nextTimer();
    const pending = agent.request('GET', 'http://shop.test/start');
    expect(await timer).toBe(50); // random 0.5 x baseDelay 100
    expect(events).toHaveLength(1);
    expect(events[0]?.error).toMatchObject({ code: 'STRAND_RESPONSE_NEVER_RECEIVED', bytesReceived: 5 });
    clock.advance(50);

    expect(JSON.parse((await readBody(await pending)).toString())).toEqual(CATALOG);
    sequence.assertAllConsumed();
    expect(f.requests.map((r) => r.connectionId)).toEqual([1, 1, 2, 2]);
  });

  it('catches a request the script did not expect, even when the stack hands its 599 back as a response', async () => {
    const sequence = new RequestSequence([
      [{ url: 'http://shop.test/start' }, { status: 302, headers: { Location: '/elsewhere' } }],
      [{ url: 'http://shop.test/catalog' }, 'never reached'],
    ]);
    const { agent, fake: f } = stack(sequence);

    const response = await agent.request('GET', 'http://shop.test/start');
    expect(response.code).toBe(599); // the double's answer to the unexpected GET /elsewhere
    await response.dump();
    expect(() => sequence.assertAllConsumed()).toThrow(/unexpected request #2: GET http:\/\/shop\.test\/elsewhere/);
    expect(f).toHaveReceivedNthRequest(2, { path: '/elsewhere' });
    track(null); // its recorded failure is this test's subject, not a leftover
    await f.close();
  });
});
