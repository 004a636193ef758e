/**
 * Expect: 100-continue. A large upload answered early (401/413/417) is not sent at all: the body
 * waits for the server's 100, a final answer, or a short timeout.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { BytesProducer, FileBodyProducer, HttpAgent, readBody } from '../src/index.js';
import { type TestServer, eventually, onRequestHead, startRawServer } from './support/servers.js';

const BIG = Buffer.alloc(4 * 1024 * 1024, 5);

/** Node's own server; `decide` answers the expectation (undefined: Node's default, a 100). */
async function nodeServer(decide?: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let received = 0;
  const server = http.createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (received += chunk.length));
    req.on('end', () => res.end(String(received)));
  });
  if (decide !== undefined) server.on('checkContinue', decide);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('Expect: 100-continue', () => {
  it('sends the body after the server says 100 Continue', async () => {
    const server = await nodeServer();
    try {
      const infos: number[] = [];
      const agent = new HttpAgent();
      const response = await agent.request('PUT', `${server.url}/up`, { Expect: '100-continue' }, new BytesProducer(BIG), { onInformational: (i) => void infos.push(i.code) });
      expect((await readBody(response)).toString()).toBe(String(BIG.length));
      expect(infos).toEqual([100]);
      await agent.close();
    } finally {
      await server.close();
    }
  });

  it('does not send the body when the server answers first (413), and closes the connection', async () => {
    let bodyBytes = -1;
    const raw: TestServer = await startRawServer((socket) =>
      onRequestHead(socket, (_head, rest) => {
        bodyBytes = rest.length;
        socket.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
        socket.write('HTTP/1.1 413 Content Too Large\r\nContent-Length: 9\r\n\r\ntoo large');
        // Keep reading whatever the client still sends, until it closes.
        socket.resume();
      }),
    );
    try {
      const agent = new HttpAgent();
      const response = await agent.request('PUT', `${raw.url}/up`, { Expect: '100-continue' }, new BytesProducer(BIG));
      expect(response.code).toBe(413);
      expect((await readBody(response)).toString()).toBe('too large');
      expect(await eventually(() => raw.openSockets() === 0)).toBe(true);
      expect(bodyBytes).toBe(0);
      expect(agent.pool.stats()).toEqual({});
      await agent.close();
    } finally {
      await raw.close();
    }
  });

  it('sends the body after the timeout to a server that ignores the expectation', async () => {
    let sawBody = 0;
    const raw: TestServer = await startRawServer((socket) =>
      onRequestHead(socket, (_head, rest) => {
        const answer = (): void => void (sawBody === 5 && socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
        sawBody = rest.length;
        answer();
        socket.on('data', (chunk: Buffer) => {
          sawBody += chunk.length;
          answer();
        });
      }),
    );
    try {
      const agent = new HttpAgent();
      const response = await agent.request('POST', raw.url, { Expect: '100-continue' }, new BytesProducer('hello'), { expectContinueTimeout: 50 });
      expect((await readBody(response)).toString()).toBe('ok');
      expect(sawBody).toBe(5);
      await agent.close();
    } finally {
      await raw.close();
    }
  });

  it('retries once without the expectation after a 417, even with a one-shot body that was never sent', async () => {
    const heads: string[] = [];
    const raw: TestServer = await startRawServer((socket) => {
      const serve = (): void =>
        onRequestHead(socket, (head, rest) => {
          heads.push(head);
          if (/expect: 100-continue/i.test(head)) {
            socket.write('HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
            socket.end();
            return;
          }
          let body = rest.toString();
          const done = (): void => void socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
          if (body.length >= 8) return done();
          socket.on('data', (chunk: Buffer) => {
            body += chunk.toString();
            if (body.length >= 8) done();
          });
        });
      serve();
    });
    try {
      const agent = new HttpAgent();
      const oneShot = new FileBodyProducer(Readable.from([Buffer.from('one-shot')]), { length: 8 });
      const response = await agent.request('POST', raw.url, { Expect: '100-continue' }, oneShot);
      expect(response.code).toBe(200);
      expect((await readBody(response)).toString()).toBe('one-shot');
      expect(heads).toHaveLength(2);
      expect(heads[1]).not.toMatch(/expect:/i);
      await agent.close();
    } finally {
      await raw.close();
    }
  });

  it('leaves requests without a body or without the header as they were', async () => {
    const server = await nodeServer();
    try {
      const agent = new HttpAgent();
      expect((await readBody(await agent.request('POST', `${server.url}/`, null, new BytesProducer('abc')))).toString()).toBe('3');
      expect((await readBody(await agent.request('GET', `${server.url}/`, { Expect: '100-continue' }))).toString()).toBe('3');
      await agent.close();
    } finally {
      await server.close();
    }
  });
});
