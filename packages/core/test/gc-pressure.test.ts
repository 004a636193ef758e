/**
 * Regression: a body that has a consumer is never cancelled by garbage collection.
 *
 * The connection watches a response handed out unread, and frees its socket if the caller drops
 * it (a FinalizationRegistry). It used to keep watching after a consumer attached, so reading a
 * large body through `readBody(await agent.request(url))`, or any idiom that keeps no reference
 * to the `Response`, failed with "the response was dropped without reading its body" as soon as
 * the collector ran. Every public idiom reads large bodies here while `gc()` runs in a loop.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type BodyEndReason, HttpAgent, type Response, ResponseDone, readBody } from '../src/index.js';
import { gcLoop, underGcLoop } from './support/gc.js';
import { type TestServer, eventually, startHttpServer } from './support/servers.js';

const BODY_BYTES = 4 * 1024 * 1024;
const ROUNDS = 4;
const body = Buffer.alloc(BODY_BYTES, 97);

let server: TestServer;
let agent: HttpAgent;

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    res.setHeader('content-length', body.length);
    // Written in pieces so the body spans many socket reads.
    let offset = 0;
    const next = (): void => {
      while (offset < body.length) {
        const piece = body.subarray(offset, offset + 256 * 1024);
        offset += piece.length;
        if (!res.write(piece)) {
          res.once('drain', next);
          return;
        }
      }
      res.end();
    };
    next();
  });
  agent = new HttpAgent();
});
afterAll(async () => {
  await agent.pool.closeCachedConnections();
  await server.close();
});

/** The idioms, each written so that nothing keeps the `Response` once its reader started. */
const idioms: Record<string, (url: string) => Promise<number>> = {
  async readBody(url) {
    return (await readBody(await agent.request('GET', url))).length;
  },
  async 'return readBody from a helper'(url) {
    const fetchBytes = async (): Promise<Buffer> => {
      const response = await agent.request('GET', url);
      return readBody(response);
    };
    return (await fetchBytes()).length;
  },
  async 'for await'(url) {
    let total = 0;
    for await (const chunk of await agent.request('GET', url)) total += chunk.length;
    return total;
  },
  async 'pipeline(toReadable(), sink)'(url) {
    let total = 0;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        total += chunk.length;
        // Slow the sink a little so back-pressure pauses and resumes the body.
        setImmediate(callback);
      },
    });
    await pipeline((await agent.request('GET', url)).toReadable(), sink);
    return total;
  },
  async 'toReadable().pipe'(url) {
    const readable = (await agent.request('GET', url)).toReadable();
    return new Promise<number>((resolve, reject) => {
      let total = 0;
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          total += chunk.length;
          callback();
        },
      });
      sink.on('finish', () => resolve(total));
      readable.on('error', reject);
      readable.pipe(sink);
    });
  },
  async deliverBody(url) {
    return countThroughProtocol(await agent.request('GET', url));
  },
};

/** Attaches a counting protocol; nothing refers to `response` once this returns. */
function countThroughProtocol(response: Response): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let total = 0;
    response.deliverBody({
      dataReceived: (chunk) => {
        total += chunk.length;
      },
      connectionLost: (reason: BodyEndReason) => (reason instanceof ResponseDone ? resolve(total) : reject(reason)),
    });
  });
}

describe('large bodies read while the garbage collector runs in a loop', () => {
  for (const [name, read] of Object.entries(idioms)) {
    it(`are never cancelled when read through ${name}`, async () => {
      const { results, collections } = await underGcLoop(ROUNDS, () => read(`${server.url}/`));
      const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
      expect(failures).toEqual([]);
      expect(results.map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual(Array(ROUNDS).fill(BODY_BYTES));
      // The collector really ran while the bodies were being read.
      expect(collections).toBeGreaterThan(1);
      // Every connection went back to the pool: nothing is still held by a reader.
      expect(await eventually(() => Object.values(agent.pool.stats()).every((s) => s.inUse === 0))).toBe(true);
    });
  }

  it('still frees the socket of a response dropped unread', async () => {
    const stop = gcLoop();
    try {
      await (async () => {
        await agent.request('GET', `${server.url}/`);
      })();
      expect(await eventually(() => Object.values(agent.pool.stats()).every((s) => s.inUse === 0), 5000)).toBe(true);
    } finally {
      stop();
    }
    expect((await readBody(await agent.request('GET', `${server.url}/`))).length).toBe(BODY_BYTES);
  });
});
