import type * as http from 'node:http';
import { MemoryCacheStore } from '@strand/core';
import { HTTPClient } from '@strand/client';
import { type TestServer, startServer } from './support/servers';

let server: TestServer;
let seen: http.IncomingHttpHeaders[];

beforeEach(async () => {
  seen = [];
  server = await startServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(200, { 'Cache-Control': 'max-age=600', 'Last-Modified': 'Mon, 01 Jun 2026 00:00:00 GMT', 'Content-Type': 'text/plain' }).end(`answer ${seen.length}`);
  });
});
afterEach(() => server.close());

describe('the cache option', () => {
  it('cache: true answers a second GET for a fresh response from memory', async () => {
    await using client = new HTTPClient({ cache: true, persistent: false });
    expect(await (await client.get(`${server.url}/a`)).text()).toBe('answer 1');
    const second = await client.get(`${server.url}/a`);
    expect(await second.text()).toBe('answer 1');
    expect(second.headers.get('cache-status')).toMatch(/^Strand;hit;ttl=\d+$/);
    expect(seen).toHaveLength(1);
  });

  it('cache: a store keeps the responses in that store, shared by two clients', async () => {
    const store = new MemoryCacheStore();
    await using first = new HTTPClient({ cache: store, persistent: false });
    await using second = new HTTPClient({ cache: store, persistent: false });
    await (await first.get(`${server.url}/b`)).text();
    expect(store.count).toBe(1);
    expect(await (await second.get(`${server.url}/b`)).text()).toBe('answer 1');
    expect(seen).toHaveLength(1);
  });

  it('without cache, every request goes to the server', async () => {
    await using client = new HTTPClient({ persistent: false });
    await (await client.get(`${server.url}/c`)).text();
    const second = await client.get(`${server.url}/c`);
    expect(await second.text()).toBe('answer 2');
    expect(second.headers.get('cache-status')).toBeUndefined();
  });

  it('cacheMode picks a Fetch cache mode per request: no-store bypasses the cache, only-if-cached never sends', async () => {
    await using client = new HTTPClient({ cache: true, persistent: false });
    await (await client.get(`${server.url}/d`)).text();
    expect(await (await client.get(`${server.url}/d`, { cacheMode: 'no-store' })).text()).toBe('answer 2');
    const missing = await client.get(`${server.url}/never`, { cacheMode: 'only-if-cached', throwForStatus: false });
    expect(missing.code).toBe(504);
    expect(seen).toHaveLength(2);
  });

  it('rejects a cache option that is neither a boolean nor a store, naming the option', () => {
    expect(() => new HTTPClient({ cache: 'yes' as never })).toThrow(expect.objectContaining({ code: 'STRAND_INVALID_ARGUMENT', message: expect.stringContaining('cache') }));
  });
});

describe('the ifModifiedSince option', () => {
  it('sends If-Modified-Since as an HTTP-date from a Date or from ms since the epoch', async () => {
    await using client = new HTTPClient({ persistent: false });
    await (await client.get(`${server.url}/e`, { ifModifiedSince: new Date(Date.UTC(2026, 5, 1, 12, 30, 5)) })).text();
    await (await client.get(`${server.url}/e`, { ifModifiedSince: Date.UTC(2026, 0, 2) })).text();
    expect(seen.map((h) => h['if-modified-since'])).toEqual(['Mon, 01 Jun 2026 12:30:05 GMT', 'Fri, 02 Jan 2026 00:00:00 GMT']);
  });

  it('rejects a value that is not a valid date', () => {
    const client = new HTTPClient({ persistent: false });
    return expect(client.get(`${server.url}/e`, { ifModifiedSince: new Date(Number.NaN) })).rejects.toMatchObject({ code: 'STRAND_INVALID_ARGUMENT', message: expect.stringContaining('ifModifiedSince') });
  });
});
