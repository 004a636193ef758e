import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HTTPConnectionPool } from '@strand/core';
import { HTTPClient, download } from '../../src/index';
import { type NginxServer, nginxAvailable, startNginx } from '../../../core/test/support/nginx';
import { patterned } from '../../../core/test/support/range-server';
import { buildCli, runCli } from '../support/cli';

const available = nginxAvailable();
const describeNginx = available ? describe : describe.skip;

const SIZE = 3 * 1024 * 1024 + 17;

describeNginx('interop: resumable downloads from nginx', () => {
  let nginx: NginxServer;
  let dir: string;
  let pool: HTTPConnectionPool;
  let client: HTTPClient;
  const file = patterned(SIZE);

  beforeAll(async () => {
    nginx = await startNginx(
      (port, root) => `
    listen 127.0.0.1:${port};
    root ${root}/www;
    location /gz/ {
      alias ${root}/www/;
      gzip on;
      gzip_min_length 1;
      gzip_types application/octet-stream;
    }
    `,
      (root) => fs.writeFileSync(path.join(root, 'www', 'file.bin'), file),
    );
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'strand-nginx-download-'));
    pool = new HTTPConnectionPool();
    client = new HTTPClient({ pool });
  });
  afterEach(async () => {
    await pool.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  const url = (p: string): string => `http://127.0.0.1:${nginx.port}${p}`;

  /** The `.part` and `.part.json` an interrupted run would have left after `size` bytes, with nginx's real validators. */
  async function leavePart(target: string, size: number, etag?: string): Promise<void> {
    const head = await client.head(url('/file.bin'));
    writeFileSync(`${target}.part`, file.subarray(0, size));
    writeFileSync(`${target}.part.json`, JSON.stringify({ url: url('/file.bin'), etag: etag ?? head.headers.get('etag'), lastModified: head.headers.get('last-modified') }));
  }

  it('continues a partial file with Range + If-Range and ends with the exact file', async () => {
    const target = path.join(dir, 'file.bin');
    await leavePart(target, 1_000_000);
    const result = await download(url('/file.bin'), target, { client, resume: true });
    expect(result).toMatchObject({ outcome: 'resumed', resumedFrom: 1_000_000, written: SIZE - 1_000_000, size: SIZE });
    expect(readFileSync(target).equals(file)).toBe(true);
  });

  it('starts over when the kept ETag is not nginx’s any more', async () => {
    const target = path.join(dir, 'file.bin');
    await leavePart(target, 1_000_000, '"an-old-version"');
    const result = await download(url('/file.bin'), target, { client, resume: true });
    expect(result).toMatchObject({ outcome: 'restarted', written: SIZE, size: SIZE });
    expect(readFileSync(target).equals(file)).toBe(true);
  });

  it('finds a complete file complete (nginx answers 416 with the length)', async () => {
    const target = path.join(dir, 'file.bin');
    writeFileSync(target, file);
    const result = await download(url('/file.bin'), target, { client, resume: true });
    expect(result).toMatchObject({ outcome: 'complete', written: 0, size: SIZE });
    expect(readFileSync(target).equals(file)).toBe(true);
  });

  it('resumes from a compressing location uncompressed, as the bytes already there are', async () => {
    const target = path.join(dir, 'file.bin');
    writeFileSync(`${target}.part`, file.subarray(0, 12345));
    const result = await download(url('/gz/file.bin'), target, { client, resume: true });
    expect(result).toMatchObject({ outcome: 'resumed', resumedFrom: 12345 });
    expect(result.response.headers.get('content-encoding')).toBeUndefined();
    expect(readFileSync(target).equals(file)).toBe(true);
  });

  it('the range option gets a checked 206 from a compressing location (identity asked), and multipart parts', async () => {
    const one = await client.get(url('/gz/file.bin'), { range: { start: 10, end: 19 } });
    expect(one.range).toMatchObject({ kind: 'partial', start: 10, end: 19, completeLength: SIZE });
    expect((await one.content()).equals(file.subarray(10, 20))).toBe(true);
    const several = await client.get(url('/file.bin'), { range: [{ start: 0, end: 4 }, { suffix: 5 }], ifRange: one, unbuffered: true });
    const parts: Array<[number, number, boolean]> = [];
    for await (const part of several.byteRanges()) parts.push([part.start, part.end, (await part.bytes()).equals(file.subarray(part.start, part.end + 1))]);
    expect(parts).toEqual([
      [0, 4, true],
      [SIZE - 5, SIZE - 1, true],
    ]);
  });

  it('strand -C - continues the .part file from nginx and renames it', async () => {
    const cli = buildCli();
    const target = path.join(dir, 'file.bin');
    await leavePart(target, 2_000_000);
    const run = await runCli(cli, ['-C', '-', '-o', target, url('/gz/file.bin')]);
    expect(run.code).toBe(0);
    expect(readFileSync(target).equals(file)).toBe(true);
  });
});
