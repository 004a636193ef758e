import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMain } from './support/cli';
import { type TestServer, startServer } from './support/servers';

let server: TestServer;
let dir: string;
let seen: { url: string; inm: string | undefined }[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-cli-cache-'));
  seen = [];
  server = await startServer((req, res) => {
    seen.push({ url: req.url ?? '', inm: req.headers['if-none-match'] });
    if (req.url === '/fresh') {
      res.writeHead(200, { 'Cache-Control': 'max-age=600', 'Content-Type': 'text/plain' }).end(`fresh ${seen.length}`);
    } else if (req.headers['if-none-match'] === '"v1"') {
      res.writeHead(304, { ETag: '"v1"', 'Cache-Control': 'no-cache' }).end();
    } else {
      res.writeHead(200, { ETag: '"v1"', 'Cache-Control': 'no-cache', 'Content-Type': 'text/plain' }).end(`validated ${seen.length}`);
    }
  });
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});


describe('strand --cache DIR', () => {
  test('a second run answers a fresh response from the cache directory without a request', async () => {
    const cache = join(dir, 'cache');
    expect(await runMain(['--cache', cache, `${server.url}/fresh`])).toMatchObject({ code: 0, stdout: 'fresh 1' });
    const second = await runMain(['-i', '--cache', cache, `${server.url}/fresh`]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/cache-status: Strand;hit;ttl=\d+/i);
    expect(second.stdout.endsWith('fresh 1')).toBe(true);
    expect(seen).toHaveLength(1);
  });

  test('a later run validates a no-cache response with its ETag and prints the stored body on a 304', async () => {
    const cache = join(dir, 'cache');
    expect(await runMain(['--cache', cache, `${server.url}/checked`])).toMatchObject({ code: 0, stdout: 'validated 1' });
    expect(await runMain(['--cache', cache, `${server.url}/checked`])).toMatchObject({ code: 0, stdout: 'validated 1' });
    expect(seen.map((s) => s.inm)).toEqual([undefined, '"v1"']);
  });

  test('an empty --cache is a usage error', async () => {
    const result = await runMain(['--cache', '', `${server.url}/fresh`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--cache needs a directory');
    expect(seen).toHaveLength(0);
  });
});
