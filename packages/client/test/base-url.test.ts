import { HTTPConnectionPool, InvalidArgumentError } from '@strand/core';
import { HTTPClient } from '@strand/client';
import { type TestServer, echo, startServer } from './support/servers';

let server: TestServer;
let other: TestServer;
let pool: HTTPConnectionPool;

beforeEach(async () => {
  server = await startServer(echo);
  other = await startServer(echo);
  pool = new HTTPConnectionPool();
});

afterEach(async () => {
  await pool.closeCachedConnections();
  await server.close();
  await other.close();
});

async function pathOf(client: HTTPClient, url: string): Promise<string> {
  const response = await client.get(url);
  return (await response.json<{ url: string }>()).url;
}

describe('HTTPClient baseUrl', () => {
  it('appends relative paths to the base path, with or without slashes on either side', async () => {
    for (const base of [`${server.url}/api`, `${server.url}/api/`, `${server.url}/api//`]) {
      const client = new HTTPClient({ pool, baseUrl: base });
      expect(await pathOf(client, 'users')).toBe('/api/users');
      expect(await pathOf(client, '/users/7?full=1')).toBe('/api/users/7?full=1');
      expect(await pathOf(client, '')).toBe('/api');
    }
  });

  it('takes a URL object and a bare origin', async () => {
    expect(await pathOf(new HTTPClient({ pool, baseUrl: new URL(`${server.url}/v2`) }), 'items')).toBe('/v2/items');
    expect(await pathOf(new HTTPClient({ pool, baseUrl: server.url }), 'items')).toBe('/items');
  });

  it('merges params into a relative URL like any other', async () => {
    const client = new HTTPClient({ pool, baseUrl: `${server.url}/api` });
    const response = await client.get('search', { params: { q: 'strand' } });
    expect((await response.json<{ url: string }>()).url).toBe('/api/search?q=strand');
  });

  it('sends an absolute URL where it says, not under the base', async () => {
    const client = new HTTPClient({ pool, baseUrl: `${server.url}/api` });
    const response = await client.get(`${other.url}/elsewhere`);
    expect((await response.json<{ url: string }>()).url).toBe('/elsewhere');
    expect(other.requests).toHaveLength(1);
    expect(server.requests).toHaveLength(0);
  });

  it('keeps a protocol-relative path under the base instead of letting it name another host', async () => {
    const client = new HTTPClient({ pool, baseUrl: `${server.url}/api` });
    expect(await pathOf(client, '//evil.example/x')).toBe('/api/evil.example/x');
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ['not a url', /absolute http: or https: URL/],
    ['ftp://files.example/', /http: or https: URL, got ftp:/],
    ['http://127.0.0.1/api?key=1', /cannot have a query or a fragment/],
    ['http://127.0.0.1/api#top', /cannot have a query or a fragment/],
    [42, /baseUrl must be a string or a URL, got number/],
  ])('refuses baseUrl %j when the client is made', (baseUrl, message) => {
    expect(() => new HTTPClient({ baseUrl: baseUrl as string })).toThrow(InvalidArgumentError);
    expect(() => new HTTPClient({ baseUrl: baseUrl as string })).toThrow(message);
  });
});
