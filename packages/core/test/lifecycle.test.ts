/**
 * close(), destroy() and `await using` on pools and agents: idle connections close, requests in
 * flight finish (close) or fail (destroy), and later requests get a clear ClosedError.
 */
import type * as http from 'node:http';
import { ClosedError, ContentDecoderAgent, EnvProxyAgent, HTTPConnectionPool, HttpAgent, ProxyAgent, RedirectAgent, RetryAgent, readBody } from '../src/index.js';
import { type TestServer, eventually, startHttpServer } from './support/servers.js';

let server: TestServer;
const held: http.ServerResponse[] = [];

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    if (req.url === '/hold') {
      // The head now, the body when the test releases it.
      res.writeHead(200, { 'Content-Length': 4 });
      res.write('he');
      held.push(res);
      return;
    }
    res.end('ok');
  });
});
afterEach(() => {
  for (const res of held.splice(0)) res.end('ld');
});
afterAll(() => server.close());

describe('HTTPConnectionPool.close', () => {
  it('closes idle connections and refuses later requests with ClosedError', async () => {
    const pool = new HTTPConnectionPool();
    const agent = new HttpAgent({ pool });
    expect((await readBody(await agent.request('GET', `${server.url}/`))).toString()).toBe('ok');
    expect(server.openSockets()).toBe(1);
    await pool.close();
    expect(pool.closed).toBe(true);
    expect(pool.stats()).toEqual({});
    expect(await eventually(() => server.openSockets() === 0)).toBe(true);
    const error = await agent.request('GET', `${server.url}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClosedError);
    expect(error).toMatchObject({ code: 'STRAND_CLOSED', message: expect.stringContaining('make a new pool') });
  });

  it('lets a request in flight finish, then closes its connection before resolving', async () => {
    const pool = new HTTPConnectionPool();
    const agent = new HttpAgent({ pool });
    const response = await agent.request('GET', `${server.url}/hold`);
    let closed = false;
    const closing = pool.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false);
    const body = readBody(response);
    for (const res of held.splice(0)) res.end('ld');
    expect((await body).toString()).toBe('held');
    await closing;
    expect(pool.stats()).toEqual({});
  });

  it('fails requests queued for a connection', async () => {
    const pool = new HTTPConnectionPool({ maxConnectionsPerHost: 1 });
    const agent = new HttpAgent({ pool });
    const first = await agent.request('GET', `${server.url}/hold`);
    const queued = agent.request('GET', `${server.url}/`).catch((e: unknown) => e);
    await eventually(() => Object.values(pool.stats()).some((s) => s.queued === 1));
    const closing = pool.close();
    expect(await queued).toBeInstanceOf(ClosedError);
    for (const res of held.splice(0)) res.end('ld');
    await readBody(first);
    await closing;
  });
});

describe('HTTPConnectionPool.destroy', () => {
  it('fails the body in flight with ClosedError and closes every socket now', async () => {
    const pool = new HTTPConnectionPool();
    const agent = new HttpAgent({ pool });
    const response = await agent.request('GET', `${server.url}/hold`);
    const body = readBody(response).catch((e: unknown) => e);
    await pool.destroy();
    expect(await body).toBeInstanceOf(ClosedError);
    expect(pool.stats()).toEqual({});
    expect(await eventually(() => server.openSockets() === 0)).toBe(true);
  });
});

describe('HttpAgent.close', () => {
  it('closes the pool it made, and refuses later requests', async () => {
    const agent = new HttpAgent();
    await readBody(await agent.request('GET', `${server.url}/`));
    await agent.close();
    expect(agent.pool.closed).toBe(true);
    await expect(agent.request('GET', `${server.url}/`)).rejects.toMatchObject({ code: 'STRAND_CLOSED', message: expect.stringContaining('agent is closed') });
  });

  it('leaves a pool it was given open for its owner', async () => {
    const pool = new HTTPConnectionPool();
    const agent = new HttpAgent({ pool });
    await agent.close();
    expect(pool.closed).toBe(false);
    expect((await readBody(await new HttpAgent({ pool }).request('GET', `${server.url}/`))).toString()).toBe('ok');
    await pool.close();
  });

  it('closes at the end of an `await using` scope', async () => {
    let kept: HttpAgent;
    {
      await using agent = new HttpAgent();
      kept = agent;
      expect((await readBody(await agent.request('GET', `${server.url}/`))).toString()).toBe('ok');
    }
    expect(kept.pool.closed).toBe(true);
    expect(await eventually(() => server.openSockets() === 0)).toBe(true);
  });
});

describe('wrapper agents', () => {
  it('pass close() down the stack: the base agent closes its pool and later requests fail', async () => {
    const base = new HttpAgent();
    const stack = new ContentDecoderAgent(new RedirectAgent(new RetryAgent(base)));
    await readBody(await stack.request('GET', `${server.url}/`));
    await stack.close();
    expect(base.pool.closed).toBe(true);
    await expect(stack.request('GET', `${server.url}/`)).rejects.toBeInstanceOf(ClosedError);
  });

  it('pass destroy() down: the body in flight fails now', async () => {
    const base = new HttpAgent();
    const stack = new RedirectAgent(base);
    const body = readBody(await stack.request('GET', `${server.url}/hold`)).catch((e: unknown) => e);
    await stack.destroy();
    expect(await body).toBeInstanceOf(ClosedError);
  });

  it('close a ProxyAgent and an EnvProxyAgent with the pools they made, not one they were given', async () => {
    const proxy = new ProxyAgent('http://127.0.0.1:9');
    await proxy.close();
    expect(proxy.pool.closed).toBe(true);
    await expect(proxy.request('GET', 'http://example.test/')).rejects.toBeInstanceOf(ClosedError);
    const shared = new HTTPConnectionPool();
    const env = new EnvProxyAgent({ env: {}, pool: shared });
    await env.close();
    expect(shared.closed).toBe(false);
    await expect(env.request('GET', `${server.url}/`)).rejects.toBeInstanceOf(ClosedError);
    await shared.close();
  });
});
