import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HTTPConnectionPool, RangeMismatchError } from '@strand/core';
import { DownloadError, HTTPClient, HTTPStatusError, download } from '../src/index';
import { type Served, type SeenRequest, patterned, rangeHandler } from '../../core/test/support/range-server';
import { type TestServer, startServer } from './support/servers';

let dir: string;
let pool: HTTPConnectionPool;
let client: HTTPClient;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'strand-download-'));
  pool = new HTTPConnectionPool();
  client = new HTTPClient({ pool });
});

afterEach(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

const v1: Served = { body: patterned(50_000), etag: '"v1"', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT' };

/** A server that answers the first request with only `cut` bytes of the body (then closes), and ranges after that. */
async function flakyServer(served: () => Served, cut: number, seen: SeenRequest[]): Promise<TestServer> {
  const ranges = rangeHandler(served, seen);
  let first = true;
  return startServer((req, res) => {
    if (!first) return ranges(req, res);
    first = false;
    const { body, etag, lastModified } = served();
    seen.push({ range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined, acceptEncoding: req.headers['accept-encoding'] });
    res.writeHead(200, { 'Content-Length': body.length, ETag: etag, 'Last-Modified': lastModified });
    res.write(body.subarray(0, cut), () => res.socket?.destroy());
  });
}

describe('download()', () => {
  it('into a directory that does not exist fails with a DownloadError that says so', async () => {
    const server = await startServer(rangeHandler(() => v1, []));
    try {
      const error: unknown = await download(`${server.url}/f.bin`, join(dir, 'no-such-dir', 'f.bin'), { client }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DownloadError);
      expect((error as DownloadError).code).toBe('STRAND_DOWNLOAD_WRITE_FAILED');
      expect((error as Error).message).toMatch(/cannot write ".*no-such-dir.*": its directory does not exist \(ENOENT\)/);
    } finally {
      await server.close();
    }
  });

  it('downloads a file whole under its name, with nothing left beside it', async () => {
    const seen: SeenRequest[] = [];
    const server = await startServer(rangeHandler(() => v1, seen));
    try {
      const path = join(dir, 'f.bin');
      const result = await download(`${server.url}/f.bin`, path, { client });
      expect(result).toMatchObject({ outcome: 'downloaded', resumedFrom: 0, written: 50_000, size: 50_000 });
      expect(readFileSync(path).equals(v1.body)).toBe(true);
      expect(existsSync(`${path}.part`) || existsSync(`${path}.part.json`)).toBe(false);
      expect(seen[0]).toEqual({ range: undefined, ifRange: undefined, acceptEncoding: 'identity' });
    } finally {
      await server.close();
    }
  });

  it('leaves a .part file when the body is cut, and resumes it with Range and If-Range', async () => {
    const seen: SeenRequest[] = [];
    const server = await flakyServer(() => v1, 20_000, seen);
    try {
      const path = join(dir, 'f.bin');
      await expect(download(`${server.url}/f.bin`, path, { client, resume: true })).rejects.toMatchObject({ code: 'STRAND_RESPONSE_FAILED' });
      expect(existsSync(path)).toBe(false);
      expect(readFileSync(`${path}.part`).equals(v1.body.subarray(0, 20_000))).toBe(true);

      const result = await download(`${server.url}/f.bin`, path, { client, resume: true });
      expect(result).toMatchObject({ outcome: 'resumed', resumedFrom: 20_000, written: 30_000, size: 50_000 });
      expect(seen[1]).toEqual({ range: 'bytes=20000-', ifRange: '"v1"', acceptEncoding: 'identity' });
      expect(readFileSync(path).equals(v1.body)).toBe(true);
      expect(existsSync(`${path}.part`) || existsSync(`${path}.part.json`)).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('starts over cleanly when the file changed on the server (If-Range no longer matches: 200)', async () => {
    const seen: SeenRequest[] = [];
    let served = v1;
    const server = await flakyServer(() => served, 20_000, seen);
    try {
      const path = join(dir, 'f.bin');
      await expect(download(`${server.url}/f.bin`, path, { client, resume: true })).rejects.toThrow();
      served = { body: Buffer.alloc(30_000, 7), etag: '"v2"', lastModified: 'Wed, 02 Dec 2026 10:00:00 GMT' };
      const result = await download(`${server.url}/f.bin`, path, { client, resume: true });
      expect(result).toMatchObject({ outcome: 'restarted', resumedFrom: 20_000, written: 30_000, size: 30_000 });
      expect(seen[1]?.ifRange).toBe('"v1"');
      expect(readFileSync(path).equals(served.body)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('finds an already complete file complete (416 with its length) and writes nothing', async () => {
    const server = await startServer(rangeHandler(() => v1));
    try {
      const path = join(dir, 'f.bin');
      writeFileSync(path, v1.body);
      const result = await download(`${server.url}/f.bin`, path, { client, resume: true });
      expect(result).toMatchObject({ outcome: 'complete', resumedFrom: 50_000, written: 0, size: 50_000 });
      expect(readFileSync(path).equals(v1.body)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('refuses a 416 whose length is not the partial file’s, and keeps the file', async () => {
    const server = await startServer(rangeHandler(() => ({ ...v1, body: v1.body.subarray(0, 100) })));
    try {
      const path = join(dir, 'f.bin');
      writeFileSync(`${path}.part`, v1.body.subarray(0, 200));
      const error = await download(`${server.url}/f.bin`, path, { client, resume: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DownloadError);
      expect(error).toMatchObject({ code: 'STRAND_RESUME_MISMATCH' });
      expect(readFileSync(`${path}.part`).length).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('rewrites the file from the start against a server that ignores Range', async () => {
    const seen: string[] = [];
    const server = await startServer((req, res) => {
      seen.push(String(req.headers.range));
      res.writeHead(200, { 'Content-Length': v1.body.length, ETag: '"v1"' });
      res.end(v1.body);
    });
    try {
      const path = join(dir, 'f.bin');
      writeFileSync(`${path}.part`, Buffer.alloc(10_000, 0xff));
      const result = await download(`${server.url}/f.bin`, path, { client, resume: true });
      expect(seen).toEqual(['bytes=10000-']);
      expect(result).toMatchObject({ outcome: 'restarted', written: 50_000, size: 50_000 });
      expect(readFileSync(path).equals(v1.body)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('never appends a range sent in another coding than the partial file', async () => {
    const server = await startServer((req, res) => {
      // A server that compresses whatever is asked: the range of the gzip representation.
      const gz = gzipSync(randomBytes(20_000));
      res.writeHead(206, { 'Content-Encoding': 'gzip', 'Content-Range': `bytes 1000-${gz.length - 1}/${gz.length}`, 'Content-Length': gz.length - 1000 });
      res.end(gz.subarray(1000));
    });
    try {
      const path = join(dir, 'f.bin');
      writeFileSync(`${path}.part`, v1.body.subarray(0, 1000));
      const error = await download(`${server.url}/f.bin`, path, { client, resume: true }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'STRAND_RESUME_MISMATCH' });
      expect((error as Error).message).toContain('Content-Encoding gzip');
      expect(readFileSync(`${path}.part`).equals(v1.body.subarray(0, 1000))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('refuses a 206 that does not start where the file ends', async () => {
    const server = await startServer((req, res) => {
      res.writeHead(206, { 'Content-Range': `bytes 0-99/${v1.body.length}`, 'Content-Length': 100 });
      res.end(v1.body.subarray(0, 100));
    });
    try {
      const path = join(dir, 'f.bin');
      writeFileSync(`${path}.part`, v1.body.subarray(0, 1000));
      const error = await download(`${server.url}/f.bin`, path, { client, resume: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeMismatchError);
      expect(readFileSync(`${path}.part`).length).toBe(1000);
    } finally {
      await server.close();
    }
  });

  it('fails with the HTTPStatusError of a 404 and writes nothing', async () => {
    const server = await startServer((req, res) => {
      res.writeHead(404);
      res.end('not here');
    });
    try {
      const path = join(dir, 'f.bin');
      const error = await download(`${server.url}/f.bin`, path, { client }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HTTPStatusError);
      expect(existsSync(path) || existsSync(`${path}.part`)).toBe(false);
    } finally {
      await server.close();
    }
  });
});
