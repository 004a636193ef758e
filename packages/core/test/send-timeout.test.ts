/**
 * The `sendIdle` timeout: a request whose body stops moving fails instead of waiting for ever.
 * Regression: a server that accepted the head and then read nothing kept a 32 MiB PUT in the
 * `sending` state with no deadline at all (the headers timeout is armed only after the last
 * body byte), until a `total` timeout, which has no default.
 */
import type * as net from 'node:net';
import { BytesProducer, FileBodyProducer, HttpAgent, HTTPConnectionPool, ManualClock, TimeoutError, readBody, resolveTimeouts, DEFAULT_TIMEOUTS } from '../src/index.js';
import { type TestServer, delay, eventually, onRequestHead, startRawServer } from './support/servers.js';

const MIB = 1024 * 1024;

/** Advances `clock` by `step` ms at a time, letting I/O run between steps, until `done` or `steps` ran out. */
async function runClock(clock: ManualClock, step: number, steps: number, done: () => boolean): Promise<void> {
  for (let i = 0; i < steps && !done(); i++) {
    clock.advance(step);
    await delay(3);
  }
}

describe('the sendIdle timeout', () => {
  let raw: TestServer;
  let stalled: net.Socket[] = [];

  afterEach(async () => {
    stalled = [];
    await raw.close();
  });

  it('fails an upload the server stopped reading, frees the socket, and leaves the pool healthy', async () => {
    let requests = 0;
    raw = await startRawServer((socket) =>
      onRequestHead(socket, (head) => {
        requests++;
        if (head.startsWith('PUT')) {
          // Accept the head, then read nothing more.
          socket.pause();
          stalled.push(socket);
          return;
        }
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }),
    );
    const clock = new ManualClock();
    const agent = new HttpAgent({ pool: new HTTPConnectionPool({ clock }), timeouts: { sendIdle: 1000 } });
    let settled = false;
    const upload = agent.request('PUT', `${raw.url}/upload`, null, new BytesProducer(Buffer.alloc(32 * MIB, 1))).then(
      () => null,
      (error: unknown) => error,
    );
    void upload.finally(() => (settled = true));
    expect(await eventually(() => stalled.length === 1)).toBe(true);
    await runClock(clock, 100, 400, () => settled);
    const error = await upload;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'STRAND_SEND_TIMEOUT', phase: 'sendIdle', sent: true, timeout: 1000 });
    // The client closed its socket: the server sees it once it reads again.
    for (const socket of stalled) socket.resume();
    expect(await eventually(() => raw.openSockets() === 0)).toBe(true);
    expect(agent.pool.stats()).toEqual({});
    // The pool serves the next request.
    expect((await readBody(await agent.request('GET', `${raw.url}/next`))).toString()).toBe('ok');
    expect(requests).toBe(2);
    await agent.pool.closeCachedConnections();
  });

  it('counts from the last progress, so a slow reader that keeps reading is never timed out', async () => {
    const size = 32 * MIB;
    let received = 0;
    let burstStart = 0;
    raw = await startRawServer((socket) =>
      onRequestHead(socket, (_head, rest) => {
        received = rest.length;
        socket.pause();
        stalled.push(socket);
        socket.on('data', (chunk: Buffer) => {
          received += chunk.length;
          // At most about 1 MiB per burst, so the upload takes many bursts.
          if (received - burstStart >= MIB) socket.pause();
          if (received >= size) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone');
        });
      }),
    );
    const clock = new ManualClock();
    const agent = new HttpAgent({ pool: new HTTPConnectionPool({ clock }), timeouts: { sendIdle: 1000 } });
    let settled = false;
    const upload = agent.request('PUT', `${raw.url}/slow`, null, new BytesProducer(Buffer.alloc(size, 2))).finally(() => (settled = true));
    expect(await eventually(() => stalled.length === 1)).toBe(true);
    const socket = stalled[0] as net.Socket;
    // Each step: the server reads some more, the client gets to write again, then nothing while
    // 250 ms pass on the clock. Far more than the 1000 ms timeout passes in all, never 1000 ms
    // without progress (the client's progress may show a step late on a loaded machine).
    for (let step = 0; step < 4000 && !settled; step++) {
      const before = received;
      burstStart = received;
      socket.resume();
      await eventually(() => received > before || settled, 1000);
      socket.pause();
      await delay(5);
      clock.advance(250);
    }
    const response = await upload;
    // The upload spanned several timeouts' worth of clock time.
    expect(clock.now()).toBeGreaterThan(5000);
    expect(response.code).toBe(200);
    expect((await readBody(response)).toString()).toBe('done');
    await agent.pool.closeCachedConnections();
  });

  it('fails an upload whose body source stalls', async () => {
    raw = await startRawServer((socket) => onRequestHead(socket, () => stalled.push(socket)));
    const clock = new ManualClock();
    const agent = new HttpAgent({ pool: new HTTPConnectionPool({ clock }), timeouts: { sendIdle: 1000 } });
    let release: () => void = () => {};
    const source = (async function* () {
      yield 'first part';
      await new Promise<void>((resolve) => (release = resolve));
      yield 'never sent';
    })();
    let settled = false;
    const upload = agent.request('POST', `${raw.url}/stream`, null, new FileBodyProducer(source)).then(
      () => null,
      (error: unknown) => error,
    );
    void upload.finally(() => (settled = true));
    expect(await eventually(() => stalled.length === 1)).toBe(true);
    await runClock(clock, 100, 100, () => settled);
    expect(await upload).toMatchObject({ code: 'STRAND_SEND_TIMEOUT', phase: 'sendIdle' });
    release();
    expect(await eventually(() => raw.openSockets() === 0)).toBe(true);
  });

  it('is a phase of its own: 300 s by default, validated like the others', () => {
    expect(DEFAULT_TIMEOUTS.sendIdle).toBe(300_000);
    expect(resolveTimeouts(DEFAULT_TIMEOUTS, { sendIdle: 50 }).sendIdle).toBe(50);
    expect(() => resolveTimeouts(DEFAULT_TIMEOUTS, { sendIdle: 0 })).toThrow('timeout.sendIdle must be a positive number');
  });
});
