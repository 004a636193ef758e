/**
 * A redirect or a retry sends a replayable body again while its first production may still be
 * running. Regression: a 307 that arrived while a FileBodyProducer was still writing made the
 * redirect agent start the same producer again ("startProducing called while already
 * producing"), intermittently; the retry agent had the same race.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResendableBody } from '../src/agents/shared.js';
import { type BodyConsumer, type BodyProducer, BrowserLikeRedirectAgent, BytesProducer, FileBodyProducer, HttpAgent, RetryAgent, readBody } from '../src/index.js';
import { type TestServer, onRequestHead, startRawServer } from './support/servers.js';

const SIZE = 4 * 1024 * 1024;
let dir: string;
let file: string;
let raw: TestServer;
let agent: HttpAgent;
let firstAttempts = 0;

/** Reads a body of `length` bytes after the head, then answers with the count. */
function readAndCount(socket: net.Socket, rest: Buffer, length: number): void {
  let received = rest.length;
  const done = (): void => void socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${String(received).length}\r\nConnection: close\r\n\r\n${received}`);
  if (received >= length) return done();
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received >= length) done();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-replay-'));
  file = join(dir, 'body.bin');
  writeFileSync(file, Buffer.alloc(SIZE, 7));
  raw = await startRawServer((socket) =>
    onRequestHead(socket, (head, rest) => {
      const path = head.split(' ')[1];
      if (path === '/redirect') {
        // Answer at once, before the body: the client is still producing it.
        socket.end('HTTP/1.1 307 Temporary Redirect\r\nLocation: /final\r\nContent-Length: 0\r\n\r\n');
        socket.resume();
      } else if (path === '/flaky' && firstAttempts++ % 2 === 0) {
        // Take a little of the body, then break the connection.
        socket.once('data', () => socket.destroy());
      } else {
        readAndCount(socket, rest, SIZE);
      }
    }),
  );
  agent = new HttpAgent();
});
afterAll(async () => {
  await agent.pool.closeCachedConnections();
  await raw.close();
  rmSync(dir, { recursive: true, force: true });
});

const producers: Record<string, () => BodyProducer> = {
  FileBodyProducer: () => new FileBodyProducer(file),
  BytesProducer: () => new BytesProducer(Buffer.alloc(SIZE, 7)),
};

describe('a replayable body sent again while its first production is still running', () => {
  for (const [name, make] of Object.entries(producers)) {
    it(`is stopped and replayed whole when a 307 arrives mid-upload (${name})`, async () => {
      const redirects = new BrowserLikeRedirectAgent(agent);
      for (let i = 0; i < 15; i++) {
        const response = await redirects.request('PUT', `${raw.url}/redirect`, null, make());
        expect(response.code).toBe(200);
        expect((await readBody(response)).toString()).toBe(String(SIZE));
      }
    });

    it(`is stopped and replayed whole when the retry agent sends it again after a broken upload (${name})`, async () => {
      const retries = new RetryAgent(agent, { baseDelay: 0, maxDelay: 0 });
      for (let i = 0; i < 15; i++) {
        const response = await retries.request('PUT', `${raw.url}/flaky`, null, make());
        expect((await readBody(response)).toString()).toBe(String(SIZE));
      }
    });
  }

  it('ResendableBody starts the next run only once the stopped one has settled, and passes a pause asked meanwhile on to it', async () => {
    // A producer whose stopped run takes a while to wind down, as a file read in flight does.
    const events: string[] = [];
    let runs = 0;
    let finishFirst: () => void = () => {};
    const slow: BodyProducer = {
      length: 3,
      replayable: true,
      startProducing(consumer: BodyConsumer) {
        const run = ++runs;
        events.push(`start ${run}`);
        if (run === 1) return new Promise<void>((resolve) => (finishFirst = () => (events.push('first settled'), resolve())));
        consumer.write(Buffer.from('abc'));
        return Promise.resolve();
      },
      pauseProducing: () => void events.push('pause'),
      resumeProducing: () => void events.push('resume'),
      stopProducing: () => void events.push('stop'),
    };
    const sink: BodyConsumer = { write: () => {} };
    const wrapped = new ResendableBody(slow);
    void wrapped.startProducing(sink);
    const second = wrapped.startProducing(sink);
    wrapped.pauseProducing();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(events).toEqual(['start 1', 'stop']);
    finishFirst();
    await second;
    expect(events).toEqual(['start 1', 'stop', 'first settled', 'start 2', 'pause']);
  });
});
