import { BytesProducer, CancelledError, type InformationalResponse, readBody } from '@strand/core';
import { type FakeAgent, createFakeAgent, nextTurn, settle } from '@strand/testing';

let fake: FakeAgent | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('the in-memory connection', () => {
  test('a paused consumer holds the server back: back-pressure crosses the memory pair', async () => {
    let produced = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        produced += 16 * 1024;
        yield Buffer.alloc(16 * 1024, 97);
      }
    }
    fake = createFakeAgent(() => ({ body: endless() }));
    const response = await fake.request('GET', 'http://api.test/endless');
    let transport: { pauseProducing(): void; resumeProducing(): void; stopProducing(): void } | undefined;
    let received = 0;
    let ended: unknown = null;
    response.deliverBody({
      makeConnection: (t) => (transport = t),
      dataReceived: (chunk) => {
        received += chunk.length;
        if (received >= 64 * 1024) transport?.pauseProducing();
      },
      connectionLost: (reason) => (ended = reason),
    });
    await fake.flush();
    const producedWhilePaused = produced;
    expect(received).toBeGreaterThanOrEqual(64 * 1024);
    // Only what fits in the stream buffers on the way, not an endless amount.
    expect(producedWhilePaused).toBeLessThan(1024 * 1024);
    await fake.flush();
    expect(produced).toBe(producedWhilePaused);
    transport?.resumeProducing();
    await nextTurn();
    await nextTurn();
    expect(produced).toBeGreaterThan(producedWhilePaused);
    transport?.stopProducing();
    expect(ended).toBeInstanceOf(CancelledError);
    await fake.flush();
    expect(fake.openConnections).toBe(0);
    expect(() => fake?.assertNoPending()).not.toThrow();
  });

  test('a large request body arrives intact', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    fake = createFakeAgent((req) => ({ body: String(req.body.length) }));
    const response = await fake.request('PUT', 'http://api.test/blob', null, new BytesProducer(big));
    expect((await readBody(response)).toString()).toBe(String(big.length));
    expect(fake.lastRequest?.body.equals(big)).toBe(true);
  });

  test('a server that answers Connection: close closes the connection, and the next request opens another', async () => {
    fake = createFakeAgent(() => ({ headers: { connection: 'close' }, body: 'bye' }));
    expect((await readBody(await fake.request('GET', 'http://api.test/1'))).toString()).toBe('bye');
    await fake.flush();
    expect(fake.openConnections).toBe(0);
    await (await fake.request('GET', 'http://api.test/2')).dump();
    expect(fake.requests.map((r) => r.connectionId)).toEqual([1, 2]);
  });

  test("Node's server answers Expect: 100-continue, and the client reports the interim response", async () => {
    fake = createFakeAgent((req) => req.text());
    const interim: InformationalResponse[] = [];
    const response = await fake.request('POST', 'http://api.test/', { expect: '100-continue' }, new BytesProducer('body'), { onInformational: (info) => interim.push(info) });
    expect((await readBody(response)).toString()).toBe('body');
    expect(interim.map((i) => i.code)).toEqual([100]);
  });

  test('cancelling a request closes the server end of its connection', async () => {
    fake = createFakeAgent(() => new Promise(() => {}));
    const controller = new AbortController();
    const pending = fake.request('GET', 'http://api.test/', null, null, { signal: controller.signal });
    await fake.flush();
    expect(fake.openConnections).toBe(1);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    await fake.flush();
    expect(fake.openConnections).toBe(0);
  });
});

describe('volume', () => {
  test('1,000 requests, 20 at a time, each get their own answer over 20 reused connections', async () => {
    fake = createFakeAgent([{ method: 'POST', path: '/echo/:n', reply: (req) => ({ json: { n: Number(req.params['n']), body: req.text() } }) }]);
    const agent = fake;
    let next = 0;
    const mismatches: number[] = [];
    const worker = async (): Promise<void> => {
      while (next < 1000) {
        const n = next++;
        const response = await agent.request('POST', `http://api.test/echo/${n}`, null, new BytesProducer(`payload ${n}`));
        const answer = JSON.parse((await readBody(response)).toString()) as { n: number; body: string };
        if (answer.n !== n || answer.body !== `payload ${n}`) mismatches.push(n);
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    expect(mismatches).toEqual([]);
    expect(fake.requests).toHaveLength(1000);
    expect(fake.connectionsOpened).toBe(20);
    expect(() => fake?.assertNoPending()).not.toThrow();
  });
});

describe('settling', () => {
  test('flush() lets a chain of requests made by the code under test run to the end', async () => {
    fake = createFakeAgent((req) => String(Number(req.query.get('n')) + 1));
    const agent = fake;
    let last = 0;
    void (async () => {
      let n = 0;
      while (n < 20) n = Number((await readBody(await agent.request('GET', `http://api.test/?n=${n}`))).toString());
      last = n;
    })();
    await fake.flush();
    expect(last).toBe(20);
    expect(fake.requests).toHaveLength(20);
  });

  test('flush() and nextTurn() work while jest fake timers are installed', async () => {
    jest.useFakeTimers();
    try {
      fake = createFakeAgent(() => 'under fake timers');
      let body = '';
      void fake.request('GET', 'http://api.test/').then(async (r) => (body = (await readBody(r)).toString()));
      await fake.flush();
      expect(body).toBe('under fake timers');
      await fake.close();
    } finally {
      jest.useRealTimers();
    }
  });

  test('settle() stops after maxTurns even if activity never stops', async () => {
    let counter = 0;
    await settle(() => counter++, { maxTurns: 5 });
    expect(counter).toBe(10);
  });
});
