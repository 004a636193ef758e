/**
 * A body the client is reading is never cancelled by garbage collection, whichever way it is
 * read, with every default wrapper in the stack (decoding, cookies, redirects). Core's regression
 * test for the GC cancellation is core/test/gc-pressure.test.ts; the client's wrappers happened to
 * keep the inner response referenced, so these guard the client's idioms against a wrapper that
 * one day holds only a body pipe.
 */
import { gzipSync } from 'node:zlib';
import { HttpAgent } from '@strand/core';
import { HTTPClient, type ClientResponse } from '@strand/client';
import { underGcLoop } from '../../core/test/support/gc';
import { type TestServer, startServer } from './support/servers';

const BODY_BYTES = 2 * 1024 * 1024;
const ROUNDS = 4;
const body = Buffer.alloc(BODY_BYTES, 98);
const gzipped = gzipSync(Buffer.alloc(BODY_BYTES, 98));

// Full collections back to back make every test here slow by design (decoding most of all).
jest.setTimeout(60_000);

let server: TestServer;
let agent: HttpAgent;
let client: HTTPClient;

beforeAll(async () => {
  server = await startServer((req, res) => {
    const compressed = req.url === '/gzip';
    res.writeHead(200, { 'content-length': compressed ? gzipped.length : body.length, ...(compressed ? { 'content-encoding': 'gzip' } : {}) });
    res.end(compressed ? gzipped : body);
  });
  agent = new HttpAgent();
  client = new HTTPClient({ agent });
});
afterAll(async () => {
  await agent.pool.closeCachedConnections();
  await server.close();
});

async function countChunks(response: ClientResponse): Promise<number> {
  let total = 0;
  await response.collect((chunk) => {
    total += chunk.length;
  });
  return total;
}

const idioms: Record<string, (url: string) => Promise<number>> = {
  async 'get() and content()'(url) {
    return (await (await client.get(url)).content()).length;
  },
  async 'unbuffered content()'(url) {
    return (await (await client.get(url, { unbuffered: true })).content()).length;
  },
  async 'unbuffered collect()'(url) {
    return countChunks(await client.get(url, { unbuffered: true }));
  },
  async 'unbuffered for await'(url) {
    let total = 0;
    for await (const chunk of await client.get(url, { unbuffered: true })) total += chunk.length;
    return total;
  },
};

describe('the client reading large bodies while the garbage collector runs in a loop', () => {
  for (const [name, read] of Object.entries(idioms)) {
    for (const path of ['/plain', '/gzip']) {
      it(`never cancels a ${path.slice(1)} body read through ${name}`, async () => {
        const { results, collections } = await underGcLoop(ROUNDS, () => read(`${server.url}${path}`));
        const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
        expect(failures).toEqual([]);
        expect(results.map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual(Array(ROUNDS).fill(BODY_BYTES));
        expect(collections).toBeGreaterThan(1);
      });
    }
  }
});
