/**
 * deriveResponse: a new head over an existing response's body, the primitive the decoder-like
 * wrappers, the client's relays and the testing spy build on.
 */
import { type BodyEndReason, type BodyTransport, Headers, HttpAgent, PotentialDataLoss, type Response, ResponseDone, deriveResponse, readBody } from '../src/index.js';
import { gc } from './support/gc.js';
import { type TestServer, eventually, startHttpServer } from './support/servers.js';

const BIG = 1024 * 1024;
let server: TestServer;
let agent: HttpAgent;

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    if (req.url === '/trailers') {
      res.writeHead(200, { 'Transfer-Encoding': 'chunked', Trailer: 'X-Sum' });
      res.write('abc');
      res.addTrailers({ 'X-Sum': '3' });
      res.end();
      return;
    }
    const size = req.url === '/big' ? BIG : 5;
    res.writeHead(200, { 'Content-Length': size, 'X-Origin': 'yes' });
    res.end(Buffer.alloc(size, 120));
  });
  agent = new HttpAgent();
});
afterAll(async () => {
  await agent.pool.closeCachedConnections();
  await server.close();
});

describe('deriveResponse', () => {
  it('gives the new head and the source body, with the source timings', async () => {
    const source = await agent.request('GET', `${server.url}/small`);
    const derived = deriveResponse(source, { code: 299, phrase: 'Derived', headers: new Headers({ 'X-New': '1' }) });
    expect([derived.code, derived.phrase, derived.headers.get('x-new'), derived.headers.get('x-origin')]).toEqual([299, 'Derived', '1', undefined]);
    expect(derived.request).toBe(source.request);
    expect(derived.length).toBe(5);
    expect(derived.timings).toBe(source.timings);
    expect((await readBody(derived)).toString()).toBe('xxxxx');
    expect(source.bodyUsed).toBe(true);
  });

  it('reads nothing of the source until its own consumer asks', async () => {
    const source = await agent.request('GET', `${server.url}/small`);
    const derived = deriveResponse(source);
    expect(source.bodyUsed).toBe(false);
    await readBody(derived);
    expect(source.bodyUsed).toBe(true);
  });

  it('offers its consumer\'s own buffer to the source, so a large body is read in place', async () => {
    const derived = deriveResponse(await agent.request('GET', `${server.url}/big`));
    const own = Buffer.alloc(BIG);
    let offset = 0;
    let inPlace = 0;
    await new Promise<void>((resolve, reject) => {
      derived.deliverBody({
        receiveBuffer: () => own.subarray(offset),
        dataReceived(chunk) {
          if (chunk.buffer === own.buffer && chunk.byteOffset === own.byteOffset + offset) inPlace += chunk.length;
          else chunk.copy(own, offset);
          offset += chunk.length;
        },
        connectionLost: (reason) => (reason instanceof ResponseDone ? resolve() : reject(reason)),
      });
    });
    expect(offset).toBe(BIG);
    expect(own.every((b) => b === 120)).toBe(true);
    // All but what arrived with the head (before anyone read) went straight into our buffer.
    expect(inPlace).toBeGreaterThan(BIG / 2);
  });

  it('passes a pause through to the source and resumes it', async () => {
    const derived = deriveResponse(await agent.request('GET', `${server.url}/big`));
    let transport: BodyTransport | null = null;
    let received = 0;
    let pausedAt = -1;
    const done = new Promise<BodyEndReason>((resolve) =>
      derived.deliverBody({
        makeConnection: (t) => (transport = t),
        dataReceived(chunk) {
          received += chunk.length;
          if (pausedAt === -1) {
            pausedAt = received;
            transport?.pauseProducing();
          }
        },
        connectionLost: resolve,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    // Paused: nothing more arrived meanwhile.
    expect(received).toBe(pausedAt);
    (transport as BodyTransport | null)?.resumeProducing();
    expect(await done).toBeInstanceOf(ResponseDone);
    expect(received).toBe(BIG);
  });

  it('abandons the source body when its own consumer abandons it: the connection is closed', async () => {
    const before = server.openSockets();
    const derived = deriveResponse(await agent.request('GET', `${server.url}/big`));
    const reason = await new Promise<BodyEndReason>((resolve) =>
      derived.deliverBody({
        makeConnection: (t) => t.stopProducing(),
        dataReceived() {},
        connectionLost: resolve,
      }),
    );
    expect(reason).toMatchObject({ code: 'STRAND_CANCELLED' });
    expect(await eventually(() => server.openSockets() < before + 1 && Object.values(agent.pool.stats()).every((s) => s.inUse === 0))).toBe(true);
  });

  it('calls onEnd once with how the body ended, and gives the consumer what it returns', async () => {
    const ends: BodyEndReason[] = [];
    const derived = deriveResponse(await agent.request('GET', `${server.url}/small`), {
      onEnd: (reason) => {
        ends.push(reason);
        return new PotentialDataLoss();
      },
    });
    const seen = await new Promise<BodyEndReason>((resolve) => derived.deliverBody({ dataReceived() {}, connectionLost: resolve }));
    expect(ends).toHaveLength(1);
    expect(ends[0]).toBeInstanceOf(ResponseDone);
    expect(seen).toBeInstanceOf(PotentialDataLoss);
  });

  it('carries the source trailers', async () => {
    const derived = deriveResponse(await agent.request('GET', `${server.url}/trailers`));
    expect((await readBody(derived)).toString()).toBe('abc');
    expect(derived.trailers.get('x-sum')).toBe('3');
  });

  it('keeps the source alive while it is reachable, and frees the socket once both are dropped unread', async () => {
    let derived: Response | null = deriveResponse(await agent.request('GET', `${server.url}/big`));
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // Held through the derived response: still waiting for a reader, not cancelled.
    expect(Object.values(agent.pool.stats()).some((s) => s.inUse === 1)).toBe(true);
    expect((await readBody(derived)).length).toBe(BIG);
    derived = null;
    await (async () => {
      deriveResponse(await agent.request('GET', `${server.url}/big`));
    })();
    const freed = await eventually(() => {
      gc();
      return Object.values(agent.pool.stats()).every((s) => s.inUse === 0);
    }, 5000);
    expect(freed).toBe(true);
  });
});
