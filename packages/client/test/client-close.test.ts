import { ClosedError, HTTPConnectionPool } from '@strand/core';
import { HTTPClient } from '@strand/client';
import { type TestServer, startServer } from './support/servers';

let server: TestServer;
beforeAll(async () => {
  server = await startServer((_req, res) => res.end('ok'));
});
afterAll(() => server.close());

describe('HTTPClient.close', () => {
  it('refuses later requests with ClosedError and closes the pool the client made', async () => {
    const client = new HTTPClient({ persistent: false });
    expect(await (await client.get(`${server.url}/`)).text()).toBe('ok');
    await client.close();
    const error = await client.get(`${server.url}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClosedError);
    expect(error).toMatchObject({ code: 'STRAND_CLOSED', message: expect.stringContaining('HTTPClient is closed') });
  });

  it('leaves a pool it was given open for its owner', async () => {
    const pool = new HTTPConnectionPool();
    const client = new HTTPClient({ pool });
    await client.get(`${server.url}/`);
    await client.close();
    expect(pool.closed).toBe(false);
    expect(await (await new HTTPClient({ pool }).get(`${server.url}/`)).text()).toBe('ok');
    await pool.close();
  });

  it('closes at the end of an `await using` scope', async () => {
    let kept: HTTPClient;
    {
      await using client = new HTTPClient({ persistent: false });
      kept = client;
      await client.get(`${server.url}/`);
    }
    await expect(kept.get(`${server.url}/`)).rejects.toBeInstanceOf(ClosedError);
  });
});
