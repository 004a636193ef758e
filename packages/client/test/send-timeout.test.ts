import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { HttpAgent, TimeoutError } from '@strand/core';
import { HTTPClient } from '@strand/client';

describe('the client timeout option', () => {
  it('passes sendIdle to core: an upload the server stopped reading fails with phase sendIdle', async () => {
    // Accepts the connection and never reads from it.
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      socket.pause();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const agent = new HttpAgent();
    const client = new HTTPClient({ agent });
    try {
      const error = await client.put(`http://127.0.0.1:${port}/upload`, { data: Buffer.alloc(32 * 1024 * 1024), timeout: { sendIdle: 200 } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error).toMatchObject({ code: 'STRAND_SEND_TIMEOUT', phase: 'sendIdle' });
      expect(agent.pool.stats()).toEqual({});
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  it('refuses a sendIdle that is not a positive number, naming the option', async () => {
    const client = new HTTPClient({ agent: new HttpAgent() });
    await expect(client.get('http://127.0.0.1:1/', { timeout: { sendIdle: -1 } })).rejects.toThrow('timeout.sendIdle must be a positive number');
  });
});
