import { HttpAgent, readBody } from '../src/index.js';
import { gc } from './support/gc.js';
import { type TestServer, delay, eventually, startHttpServer } from './support/servers.js';

let server: TestServer;

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? '10');
    res.setHeader('content-length', size);
    res.end(Buffer.alloc(size, 120));
  });
});
afterAll(() => server.close());

describe('abandoning a response body', () => {
  it('returns a connection to the pool when a small body is dumped', async () => {
    const agent = new HttpAgent();
    const response = await agent.request('GET', `${server.url}/?size=200000`);
    await response.dump();
    expect(Object.values(agent.pool.stats())).toEqual([{ open: 1, idle: 1, inUse: 0, queued: 0 }]);
    await agent.pool.closeCachedConnections();
  });

  it('closes the connection instead of reading a body larger than the dump limit', async () => {
    const agent = new HttpAgent();
    const response = await agent.request('GET', `${server.url}/?size=3000000`);
    await response.dump(64 * 1024);
    expect(agent.pool.stats()).toEqual({});
    expect(await eventually(() => server.openSockets() === 0)).toBe(true);
  });

  it('frees the socket of a response that was dropped unread once it is garbage-collected', async () => {
    const agent = new HttpAgent();
    await (async () => {
      // The body is larger than one socket read, so the connection is held for the reader.
      await agent.request('GET', `${server.url}/?size=2000000`);
    })();
    expect(Object.values(agent.pool.stats())[0]).toMatchObject({ inUse: 1 });
    const freed = await eventually(() => {
      gc();
      return Object.keys(agent.pool.stats()).length === 0;
    }, 5000);
    expect(freed).toBe(true);
    // The pool is healthy afterwards.
    expect((await readBody(await agent.request('GET', `${server.url}/?size=5`))).length).toBe(5);
    await agent.pool.closeCachedConnections();
    await delay(1);
  });
});
