import * as net from 'node:net';
import { Readable } from 'node:stream';
import { HTTPConnectionPool, InvalidArgumentError } from '@strand/core';
import { HTTPClient } from '../src/index';
import { type TestServer, startServer } from './support/servers';

const MiB = 1024 * 1024;

let server: TestServer;
let pool: HTTPConnectionPool;
let client: HTTPClient;

beforeAll(async () => {
  // Node's server answers `Expect: 100-continue` with a 100 by itself.
  server = await startServer((req, res, body) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(String(body.length));
  });
});
beforeEach(() => {
  pool = new HTTPConnectionPool();
  client = new HTTPClient({ pool });
});
afterEach(async () => {
  await pool.destroy();
});
afterAll(async () => {
  await server.close();
});

const expectOf = (i: number): string | undefined => server.requests[server.requests.length - i]?.headers.expect;

describe('the client sends Expect: 100-continue', () => {
  it('for a body of known length larger than 1 MiB, and not for one of 1 MiB', async () => {
    const big = await client.post(server.url, { data: Buffer.alloc(MiB + 1) });
    expect(await big.text()).toBe(String(MiB + 1));
    expect(expectOf(1)).toBe('100-continue');
    await client.post(server.url, { data: Buffer.alloc(MiB) });
    expect(expectOf(1)).toBeUndefined();
  });

  it('never for a stream of unknown length unless asked with expectContinue: true', async () => {
    const stream = (): Readable => Readable.from([Buffer.alloc(MiB), Buffer.alloc(MiB)]);
    await client.post(server.url, { data: stream() });
    expect(expectOf(1)).toBeUndefined();
    const asked = await client.post(server.url, { data: stream(), expectContinue: true });
    expect(await asked.text()).toBe(String(2 * MiB));
    expect(expectOf(1)).toBe('100-continue');
  });

  it('with a threshold of the caller’s, or never with false, from the client or the request', async () => {
    const eager = new HTTPClient({ pool, expectContinue: 10 });
    await eager.post(server.url, { data: 'eleven char' });
    expect(expectOf(1)).toBe('100-continue');
    await eager.post(server.url, { data: 'ten chars!' });
    expect(expectOf(1)).toBeUndefined();
    await client.post(server.url, { data: Buffer.alloc(2 * MiB), expectContinue: false });
    expect(expectOf(1)).toBeUndefined();
  });

  it('keeps an Expect header the caller set, and sends none for a request without a body', async () => {
    await client.post(server.url, { data: 'small', headers: { Expect: '100-continue' } });
    expect(expectOf(1)).toBe('100-continue');
    await client.get(server.url, { expectContinue: true });
    expect(expectOf(1)).toBeUndefined();
  });

  it('rejects a bad expectContinue value', async () => {
    await expect(client.post(server.url, { data: 'x', expectContinue: -1 as never })).rejects.toThrow(InvalidArgumentError);
    await expect(client.post(server.url, { data: 'x', expectContinue: 'yes' as never })).rejects.toThrow(/expectContinue must be/);
  });

  it('does not send a large body a server refuses first (413), and reports the refusal', async () => {
    let bodyBytes = 0;
    const sockets = new Set<net.Socket>();
    const refusing = net.createServer((socket) => {
      sockets.add(socket);
      let head = '';
      socket.on('data', (chunk: Buffer) => {
        if (head.includes('\r\n\r\n')) {
          bodyBytes += chunk.length;
          return;
        }
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        bodyBytes += head.length - end - 4;
        expect(head.toLowerCase()).toContain('expect: 100-continue');
        socket.write('HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n');
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = refusing.address() as net.AddressInfo;
      const response = await client.put(`http://127.0.0.1:${port}/upload`, { data: Buffer.alloc(8 * MiB) });
      expect(response.code).toBe(413);
      expect(bodyBytes).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });
});
