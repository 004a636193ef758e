import { HTTPConnectionPool, InvalidArgumentError, RangeMismatchError } from '@strand/core';
import { HTTPClient } from '../src/index';
import { type Served, type SeenRequest, patterned, rangeHandler } from '../../core/test/support/range-server';
import { type TestServer, startServer } from './support/servers';

const served: Served = { body: patterned(20_000), etag: '"r1"', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT' };

let server: TestServer;
const seen: SeenRequest[] = [];
let pool: HTTPConnectionPool;
let client: HTTPClient;

beforeAll(async () => {
  server = await startServer(rangeHandler(() => served, seen));
});
beforeEach(() => {
  seen.length = 0;
  pool = new HTTPConnectionPool();
  client = new HTTPClient({ pool });
});
afterEach(async () => {
  await pool.destroy();
});
afterAll(async () => {
  await server.close();
});

describe('the range option', () => {
  it('asks for one range uncompressed and reports the checked 206', async () => {
    const response = await client.get(`${server.url}/f`, { range: { start: 100, end: 199 } });
    expect(seen[0]).toMatchObject({ range: 'bytes=100-199', acceptEncoding: 'identity' });
    expect(response.code).toBe(206);
    expect(response.range).toEqual({ kind: 'partial', partial: true, start: 100, end: 199, completeLength: 20_000, requested: [{ start: 100, end: 199 }] });
    expect((await response.content()).equals(served.body.subarray(100, 200))).toBe(true);
  });

  it('reports a 200 to a range request as the whole representation', async () => {
    const response = await client.get(`${server.url}/f`, { range: { start: 100 }, ifRange: '"an-old-etag"' });
    expect(seen[0]).toMatchObject({ range: 'bytes=100-', ifRange: '"an-old-etag"' });
    expect(response.range).toMatchObject({ kind: 'full', partial: false });
    expect((await response.content()).length).toBe(20_000);
  });

  it('takes If-Range from an earlier response: its strong ETag', async () => {
    const first = await client.get(`${server.url}/f`, { range: { start: 0, end: 0 } });
    const rest = await client.get(`${server.url}/f`, { range: { start: 1 }, ifRange: first });
    expect(seen[1]).toMatchObject({ ifRange: '"r1"' });
    expect(rest.range).toMatchObject({ kind: 'partial', start: 1, end: 19_999 });
  });

  it('reads several ranges as multipart/byteranges parts, buffered or streamed', async () => {
    for (const unbuffered of [false, true]) {
      const response = await client.get(`${server.url}/f`, { range: [{ start: 0, end: 9 }, { suffix: 5 }], unbuffered });
      expect(response.range).toMatchObject({ kind: 'multipart', partial: true });
      const parts: Array<[number, number, boolean]> = [];
      for await (const part of response.byteRanges()) parts.push([part.start, part.end, (await part.bytes()).equals(served.body.subarray(part.start, part.end + 1))]);
      expect(parts).toEqual([
        [0, 9, true],
        [19_995, 19_999, true],
      ]);
    }
  });

  it('reports a 416 with the representation length', async () => {
    const response = await client.get(`${server.url}/f`, { range: { start: 20_000 } });
    expect(response.code).toBe(416);
    expect(response.range).toMatchObject({ kind: 'unsatisfiable', completeLength: 20_000, partial: false });
  });

  it('fails with RangeMismatchError when the 206 is not the range asked, and frees the connection', async () => {
    const liar = await startServer((req, res) => {
      res.writeHead(206, { 'Content-Range': 'bytes 0-3/10', 'Content-Length': 4 });
      res.end('abcd');
    });
    try {
      for (const unbuffered of [false, true]) {
        const error = await client.get(liar.url, { range: { start: 5 }, unbuffered }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RangeMismatchError);
        expect(error).toMatchObject({ code: 'STRAND_RANGE_MISMATCH', kind: 'WRONG_RANGE' });
      }
      expect(Object.values(pool.stats()).every((host) => host.inUse === 0)).toBe(true);
    } finally {
      await liar.close();
    }
  });

  it('rejects a bad range or If-Range before sending anything', async () => {
    await expect(client.get(`${server.url}/f`, { range: { start: 10, end: 5 } })).rejects.toThrow(InvalidArgumentError);
    await expect(client.get(`${server.url}/f`, { range: { start: 0 }, ifRange: 'W/"weak"' })).rejects.toThrow(/ifRange/);
    await expect(client.get(`${server.url}/f`, { ifRange: '"x"' })).rejects.toThrow(/ifRange needs range/);
    expect(seen).toEqual([]);
  });
});
