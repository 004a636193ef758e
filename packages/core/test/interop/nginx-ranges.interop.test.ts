import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { HttpAgent, HTTPConnectionPool, checkRangeResponse, formatRange, ifRangeValidator, normalizeRanges, readBody, readByteRanges } from '../../src/index.js';
import { type NginxServer, nginxAvailable, startNginx } from '../support/nginx.js';
import { patterned } from '../support/range-server.js';

const available = nginxAvailable();
const describeNginx = available ? describe : describe.skip;

const SIZE = 1 << 20;

describeNginx('interop: byte ranges against nginx', () => {
  let nginx: NginxServer;
  let agent: HttpAgent;
  const file = patterned(SIZE);
  const text = Buffer.from('a line of text that compresses well\n'.repeat(2000));

  beforeAll(async () => {
    nginx = await startNginx(
      (port, dir) => `
    listen 127.0.0.1:${port};
    root ${dir}/www;
    location /no-ranges/ {
      alias ${dir}/www/;
      max_ranges 0;
    }
    location /one-range/ {
      alias ${dir}/www/;
      max_ranges 1;
    }
    location /gz/ {
      alias ${dir}/www/;
      gzip on;
      gzip_min_length 1;
      gzip_types application/octet-stream;
    }
    `,
      (dir) => {
        fs.writeFileSync(path.join(dir, 'www', 'file.bin'), file);
        fs.writeFileSync(path.join(dir, 'www', 'text.txt'), text);
      },
    );
  });
  beforeEach(() => {
    agent = new HttpAgent({ pool: new HTTPConnectionPool() });
  });
  afterEach(async () => {
    await agent.pool.destroy();
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  const url = (p: string): string => `http://127.0.0.1:${nginx.port}${p}`;

  it('answers one range with a 206 whose Content-Range is the one asked, with a strong validator', async () => {
    for (const [init, start, end] of [
      [{ start: 1000, end: 1999 }, 1000, 1999],
      [{ start: SIZE - 10 }, SIZE - 10, SIZE - 1],
      [{ suffix: 4096 }, SIZE - 4096, SIZE - 1],
      [{ start: SIZE - 5, end: SIZE + 100 }, SIZE - 5, SIZE - 1],
    ] as const) {
      const asked = normalizeRanges(init);
      const response = await agent.request('GET', url('/file.bin'), { Range: formatRange(asked) });
      expect(checkRangeResponse(response, asked)).toEqual({ kind: 'partial', start, end, completeLength: SIZE });
      expect((await readBody(response)).equals(file.subarray(start, end + 1))).toBe(true);
      expect(ifRangeValidator(response.headers)).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    }
    // Every response was read to its end on one kept-alive connection.
    expect(Object.values(agent.pool.stats())[0]).toMatchObject({ open: 1, idle: 1 });
  });

  it('answers several ranges with multipart/byteranges, read part by part as it streams', async () => {
    const asked = normalizeRanges([{ start: 0, end: 9 }, { start: 500_000, end: 699_999 }, { suffix: 3 }]);
    const response = await agent.request('GET', url('/file.bin'), { Range: formatRange(asked) });
    const outcome = checkRangeResponse(response, asked);
    if (outcome.kind !== 'multipart') throw new Error(`expected multipart, got ${outcome.kind}`);
    const parts: Array<[number, number, number | undefined, boolean, string | undefined]> = [];
    for await (const part of readByteRanges(response, outcome.boundary)) {
      const bytes = await part.bytes();
      parts.push([part.start, part.end, part.completeLength, bytes.equals(file.subarray(part.start, part.end + 1)), part.headers.get('content-type')]);
    }
    expect(parts).toEqual([
      [0, 9, SIZE, true, 'application/octet-stream'],
      [500_000, 699_999, SIZE, true, 'application/octet-stream'],
      [SIZE - 3, SIZE - 1, SIZE, true, 'application/octet-stream'],
    ]);
    expect(Object.values(agent.pool.stats())[0]).toMatchObject({ idle: 1, inUse: 0 });
  });

  it('sends the whole file (200) when If-Range names another version, and the range when it matches', async () => {
    const first = await agent.request('GET', url('/file.bin'), { Range: 'bytes=0-0' });
    const validator = ifRangeValidator(first.headers) as string;
    await readBody(first);
    const asked = normalizeRanges({ start: 100 });
    const stale = await agent.request('GET', url('/file.bin'), { Range: formatRange(asked), 'If-Range': '"not-the-etag"' });
    expect(checkRangeResponse(stale, asked)).toEqual({ kind: 'full' });
    expect((await readBody(stale)).length).toBe(SIZE);
    const fresh = await agent.request('GET', url('/file.bin'), { Range: formatRange(asked), 'If-Range': validator });
    expect(checkRangeResponse(fresh, asked)).toMatchObject({ kind: 'partial', start: 100 });
    expect((await readBody(fresh)).length).toBe(SIZE - 100);
  });

  it('answers a range past the end with 416 and the length', async () => {
    const asked = normalizeRanges({ start: SIZE });
    const response = await agent.request('GET', url('/file.bin'), { Range: formatRange(asked) });
    expect(checkRangeResponse(response, asked)).toEqual({ kind: 'unsatisfiable', completeLength: SIZE });
    await readBody(response);
  });

  it('sends the whole file (200) where ranges are off (max_ranges 0), reported as the full body', async () => {
    const asked = normalizeRanges({ start: 100, end: 199 });
    const response = await agent.request('GET', url('/no-ranges/file.bin'), { Range: formatRange(asked) });
    expect(checkRangeResponse(response, asked)).toEqual({ kind: 'full' });
    expect((await readBody(response)).equals(file)).toBe(true);
  });

  it('sends the whole file for more ranges than max_ranges allows', async () => {
    const asked = normalizeRanges([{ start: 0, end: 9 }, { start: 100, end: 109 }]);
    const response = await agent.request('GET', url('/one-range/file.bin'), { Range: formatRange(asked) });
    expect(checkRangeResponse(response, asked)).toEqual({ kind: 'full' });
    expect((await readBody(response)).length).toBe(SIZE);
  });

  it('ignores Range when it compresses the answer: why ranged requests ask for identity', async () => {
    const asked = normalizeRanges({ start: 10 });
    const gzipped = await agent.request('GET', url('/gz/text.txt'), { Range: formatRange(asked), 'Accept-Encoding': 'gzip' });
    expect(gzipped.headers.get('content-encoding')).toBe('gzip');
    expect(checkRangeResponse(gzipped, asked)).toEqual({ kind: 'full' });
    expect(gunzipSync(await readBody(gzipped)).equals(text)).toBe(true);
    const identity = await agent.request('GET', url('/gz/text.txt'), { Range: formatRange(asked), 'Accept-Encoding': 'identity' });
    expect(checkRangeResponse(identity, asked)).toMatchObject({ kind: 'partial', start: 10, end: text.length - 1 });
    expect((await readBody(identity)).equals(text.subarray(10))).toBe(true);
  });
});
