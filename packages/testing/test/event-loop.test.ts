// Regression: the fake agent used to deliver bytes across its in-memory connections
// synchronously, so a loop of `await fake.request(...)` ran entirely on microtasks and
// process.nextTick and never let the event loop reach its timer phase: in 3 s it completed
// ~59,000 requests while a 200 ms setTimeout never fired (jest's test timeout,
// AbortSignal.timeout and the code under test's own timers could not fire either). Bytes now
// cross on a later event-loop turn, as a network's do.
import { CancelledError, ManualClock, readBody } from '@strand/core';
import { type FakeAgent, createFakeAgent } from '@strand/testing';

/** Far more requests than any machine completes before a 20-50 ms timer is due; a loop that starves timers reaches it. */
const ENOUGH_REQUESTS = 20_000;

let fake: FakeAgent | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('the fake agent and the event loop', () => {
  test('a sequential loop of fake requests lets a real 20 ms setTimeout fire', async () => {
    fake = createFakeAgent(() => 'ok');
    let fired = false;
    const timer = setTimeout(() => {
      fired = true;
    }, 20);
    let requests = 0;
    try {
      while (!fired && requests < ENOUGH_REQUESTS) {
        const response = await fake.request('GET', 'http://api.test/');
        expect((await readBody(response)).toString()).toBe('ok');
        requests++;
      }
    } finally {
      clearTimeout(timer);
    }
    expect(fired).toBe(true);
    expect(requests).toBeLessThan(ENOUGH_REQUESTS);
  });

  test('AbortSignal.timeout(50) cancels a request to a route that never answers, while a loop of requests keeps the fake busy', async () => {
    fake = createFakeAgent([
      { path: '/never', reply: () => new Promise<never>(() => {}) },
      { path: '/busy', reply: 'ok' },
    ]);
    const agent = fake;
    let outcome: unknown = null;
    const hung = agent.request('GET', 'http://api.test/never', null, null, { signal: AbortSignal.timeout(50) }).then(
      () => 'answered',
      (error: unknown) => error,
    );
    void hung.then((result) => (outcome = result));
    let requests = 0;
    while (outcome === null && requests < ENOUGH_REQUESTS) {
      await (await agent.request('GET', 'http://api.test/busy')).dump();
      requests++;
    }
    expect(outcome).toBeInstanceOf(CancelledError);
    expect((outcome as CancelledError).cause).toMatchObject({ name: 'TimeoutError' });
    expect(requests).toBeLessThan(ENOUGH_REQUESTS);
    expect(fake.requests.filter((r) => r.path === '/never')).toHaveLength(1);
  });

  test('bytes written in one turn arrive together on the next one, not during the write', async () => {
    fake = createFakeAgent(() => 'ok');
    const pending = fake.request('GET', 'http://api.test/');
    // The request is written now, synchronously and on microtasks; the server has seen nothing.
    await Promise.resolve();
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(fake.requests).toHaveLength(0);
    await fake.flush();
    expect(fake.requests).toHaveLength(1);
    expect((await readBody(await pending)).toString()).toBe('ok');
  });

  test('with jest fake timers installed, a request completes without flush(): the wire does not use the faked timers', async () => {
    jest.useFakeTimers();
    try {
      fake = createFakeAgent(() => ({ json: { under: 'fake timers' } }));
      const response = await fake.request('GET', 'http://api.test/');
      expect(JSON.parse((await readBody(response)).toString())).toEqual({ under: 'fake timers' });
      // Sequential requests too, with every timer API faked.
      for (let i = 0; i < 20; i++) await (await fake.request('GET', `http://api.test/${i}`)).dump();
      expect(fake.requests).toHaveLength(21);
    } finally {
      await fake?.close();
      jest.useRealTimers();
    }
  });

  test('with a ManualClock, a delayed reply in a loop of requests waits for advance() and only for it', async () => {
    const clock = new ManualClock();
    fake = createFakeAgent([
      { path: '/late', reply: { delay: 1000, body: 'late' } },
      { path: '/now', reply: 'now' },
    ], { clock });
    const agent = fake;
    let late: string | null = null;
    void agent.request('GET', 'http://api.test/late').then(async (r) => (late = (await readBody(r)).toString()));
    for (let i = 0; i < 50; i++) await (await agent.request('GET', 'http://api.test/now')).dump();
    await fake.flush();
    expect(late).toBeNull();
    await fake.advance(1000);
    expect(late).toBe('late');
  });
});
