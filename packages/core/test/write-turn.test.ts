import * as net from 'node:net';
import { setImmediate as realSetImmediate } from 'node:timers';
import { Writable } from 'node:stream';
import type { Duplex } from 'node:stream';
import { HTTPConnectionPool, HttpAgent, readBody } from '../src/index.js';
import { writeInTurn } from '../src/http1/write-turn.js';

/** A socket stand-in that records what is written to it, and when (in write order). */
function recorder(log: string[], name: string): Duplex {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      log.push(`${name}:${chunk.toString('latin1')}`);
      callback();
    },
  }) as unknown as Duplex;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('request heads started in one event-loop turn', () => {
  test('the first head of a turn is written at once and the others at the turn end, in the order they were started', async () => {
    const log: string[] = [];
    const [a, b, c] = [recorder(log, 'a'), recorder(log, 'b'), recorder(log, 'c')];
    writeInTurn(a, 'GET /1');
    writeInTurn(b, 'GET /2');
    writeInTurn(c, 'GET /3');
    writeInTurn(a, 'GET /4');
    expect(log).toEqual(['a:GET /1']);
    await nextTurn();
    expect(log).toEqual(['a:GET /1', 'b:GET /2', 'c:GET /3', 'a:GET /4']);
  });

  test('a head started in a later turn is written at once again', async () => {
    const log: string[] = [];
    const [a, b] = [recorder(log, 'a'), recorder(log, 'b')];
    writeInTurn(a, 'one');
    writeInTurn(b, 'two');
    await nextTurn();
    writeInTurn(b, 'three');
    expect(log).toEqual(['a:one', 'b:two', 'b:three']);
    await nextTurn();
  });

  test('a socket destroyed before its turn ends is skipped without an error, and the others still get their heads', async () => {
    const log: string[] = [];
    const [a, b, c] = [recorder(log, 'a'), recorder(log, 'b'), recorder(log, 'c')];
    const errors: unknown[] = [];
    b.on('error', (error) => errors.push(error));
    writeInTurn(a, 'x');
    writeInTurn(b, 'y');
    writeInTurn(c, 'z');
    b.destroy();
    await nextTurn();
    await nextTurn();
    expect(log).toEqual(['a:x', 'c:z']);
    expect(errors).toEqual([]);
  });
});

describe('many connections started in one turn over loopback', () => {
  test('60 GETs started in one turn on 60 connections each get their own answer, and the pool is left idle', async () => {
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      let pending = '';
      socket.on('data', (data: Buffer) => {
        pending += data.toString('latin1');
        let end: number;
        while ((end = pending.indexOf('\r\n\r\n')) !== -1) {
          const path = pending.slice(0, end).split(' ')[1]!;
          pending = pending.slice(end + 4);
          socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${path.length}\r\n\r\n${path}`);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const pool = new HTTPConnectionPool({ maxPersistentPerHost: 100 });
    const agent = new HttpAgent({ pool });
    try {
      for (let round = 0; round < 3; round++) {
        const bodies = await Promise.all(
          Array.from({ length: 60 }, async (_, i) => (await readBody(await agent.request('GET', `http://127.0.0.1:${port}/r${round}-${i}`))).toString()),
        );
        expect(bodies).toEqual(Array.from({ length: 60 }, (_, i) => `/r${round}-${i}`));
      }
      expect(connections).toBe(60);
      expect(pool.stats()[`http://127.0.0.1:${port}`]).toMatchObject({ open: 60, idle: 60, inUse: 0 });
    } finally {
      await pool.closeCachedConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('request heads under fake timers', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  test('with jest fake timers installed, heads started in one turn are all written at its end (the turn end is not a faked timer)', async () => {
    jest.useFakeTimers();
    const log: string[] = [];
    const [a, b] = [recorder(log, 'a'), recorder(log, 'b')];
    writeInTurn(a, 'one');
    writeInTurn(b, 'two');
    await new Promise<void>((resolve) => realSetImmediate(resolve));
    writeInTurn(a, 'three');
    expect(log).toEqual(['a:one', 'b:two', 'a:three']);
  });
});
