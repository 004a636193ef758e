import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { HTTPConnectionPool } from '@strand/core';
import { ConnectionRefusedError, HTTPClient } from '../src/index.js';

// A proxy that is not running (a stale ALL_PROXY, a wrong port) must not read like the target
// server's fault: the error keeps its class and code, and its message names the proxy.
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a proxy that refuses the connection', () => {
  it.each(['http', 'socks5h', 'socks5'])('is named in the error, as a ConnectionRefusedError (%s proxy)', async (scheme) => {
    const port = await closedPort();
    const pool = new HTTPConnectionPool();
    const client = new HTTPClient({ pool, trustEnv: false });
    try {
      const error: unknown = await client.get('http://127.0.0.1:9/target', { proxy: `${scheme}://127.0.0.1:${port}` }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionRefusedError);
      expect((error as ConnectionRefusedError).code).toBe('STRAND_CONNECTION_REFUSED');
      expect((error as Error).message).toContain(`the proxy ${scheme}://127.0.0.1:${port} refused the connection`);
    } finally {
      await client.close();
      await pool.close();
    }
  });
});
