import { HTTPConnectionPool, HttpAgent, type Agent } from '@strand/core';
import * as strand from '@strand/client';
import { HTTPClient, agentForPool, defaultPool, getGlobalPool, setGlobalPool } from '@strand/client';
import { type TestServer, echo, startServer } from './support/servers';

let server: TestServer;
let pool: HTTPConnectionPool;
let original: HTTPConnectionPool;

beforeAll(() => {
  original = getGlobalPool();
});

beforeEach(async () => {
  server = await startServer(echo);
  pool = new HTTPConnectionPool();
  setGlobalPool(pool);
});

afterEach(async () => {
  await pool.closeCachedConnections();
  await server.close();
});

afterAll(async () => {
  setGlobalPool(original);
  await original.closeCachedConnections();
});

describe('module functions', () => {
  it.each(['get', 'head', 'post', 'put', 'patch', 'delete'] as const)('%s sends its verb on the global pool', async (verb) => {
    const response = await strand[verb](`${server.url}/x`);
    expect(response.code).toBe(200);
    expect(server.requests[0]?.method).toBe(verb.toUpperCase());
    expect(Object.keys(pool.stats())).toEqual([`http://127.0.0.1:${server.port}`]);
  });

  it('request takes any method', async () => {
    await strand.request('PROPFIND', server.url);
    expect(server.requests[0]?.method).toBe('PROPFIND');
  });

  it('reuses one connection of the global pool for consecutive requests', async () => {
    await strand.get(server.url);
    await strand.get(server.url);
    expect(Object.values(pool.stats())[0]?.open).toBe(1);
  });

  it('uses a new non-persistent pool with persistent: false (Connection: close)', async () => {
    await strand.get(server.url, { persistent: false });
    expect(server.requests[0]?.headers.connection).toBe('close');
    expect(pool.stats()).toEqual({});
  });

  it('uses the pool option instead of the global pool', async () => {
    const own = new HTTPConnectionPool();
    await strand.get(server.url, { pool: own });
    expect(Object.keys(own.stats())).toHaveLength(1);
    expect(pool.stats()).toEqual({});
    await own.closeCachedConnections();
  });

  it('sends through the agent option', async () => {
    const seen: string[] = [];
    const base = new HttpAgent({ pool });
    const spy: Agent = {
      request(method, uri, headers, body, options) {
        seen.push(`${method} ${String(uri)}`);
        return base.request(method, uri, headers, body, options);
      },
    };
    await strand.get(`${server.url}/via-agent`, { agent: spy });
    expect(seen).toEqual([`GET ${server.url}/via-agent`]);
  });

  it('refuses pool together with agent', async () => {
    await expect(strand.get(server.url, { agent: new HttpAgent(), pool })).rejects.toThrow(/cannot be used together with agent/);
  });
});

describe('pool rules', () => {
  it('creates the global pool lazily as a persistent pool and returns the same one', () => {
    expect(getGlobalPool()).toBe(pool);
    expect(original.persistent).toBe(true);
  });

  it('follows treq default_pool: the given pool, a new non-persistent one, or the global one', () => {
    const given = new HTTPConnectionPool();
    expect(defaultPool(given, false)).toBe(given);
    const fresh = defaultPool(undefined, false);
    expect(fresh.persistent).toBe(false);
    expect(fresh).not.toBe(pool);
    expect(defaultPool()).toBe(pool);
  });

  it('makes one HttpAgent per pool', () => {
    expect(agentForPool(pool)).toBe(agentForPool(pool));
    expect(agentForPool(pool).pool).toBe(pool);
  });

  it('refuses something that is not a pool', () => {
    expect(() => setGlobalPool({} as HTTPConnectionPool)).toThrow(/must be an HTTPConnectionPool/);
  });
});

describe('HTTPClient on an agent of your choice', () => {
  it('sends every request through the given agent, with the client stack around it', async () => {
    const calls: string[] = [];
    const base = new HttpAgent({ pool });
    const agent: Agent = {
      request(method, uri, headers, body, options) {
        calls.push(String(uri));
        return base.request(method, uri, headers, body, options);
      },
    };
    const client = new HTTPClient({ agent, headers: { 'X-Client': 'yes' } });
    const response = await client.get(`${server.url}/one`, { params: { q: 1 } });
    expect(response.code).toBe(200);
    expect(calls).toEqual([`${server.url}/one?q=1`]);
    expect(server.requests[0]?.headers['x-client']).toBe('yes');
    expect(client.agent).toBe(agent);
  });

  it('gives the default agent its own non-persistent pool with persistent: false', async () => {
    const client = new HTTPClient({ persistent: false });
    await client.get(server.url);
    expect(server.requests[0]?.headers.connection).toBe('close');
  });
});
