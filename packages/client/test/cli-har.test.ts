import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseHar } from '@strand/client';
import { runMain } from './support/cli';
import { type TestServer, startServer } from './support/servers';

let server: TestServer;
let dir: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-cli-har-'));
  server = await startServer((req, res) => {
    if (req.url === '/start') {
      res.writeHead(302, { Location: '/zipped', 'Set-Cookie': 'sid=s3cret-cookie; Path=/' });
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Type': 'text/plain' });
    res.end(gzipSync('unzipped'));
  });
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});


describe('strand --har FILE', () => {
  test('writes each exchange of the run, redirect hops included, as a redacted HAR log', async () => {
    const file = join(dir, 'run.har');
    const result = await runMain(['-L', '-H', 'Authorization: Bearer s3cret-token', '--har', file, `${server.url}/start`]);
    expect(result).toMatchObject({ code: 0, stdout: 'unzipped' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('s3cret');
    const har = parseHar(text);
    expect(har.log.creator.name).toBe('strand');
    expect(har.log.entries.map((e) => `${e.response.status} ${new URL(e.request.url).pathname}`)).toEqual(['302 /start', '200 /zipped']);
    const zipped = har.log.entries[1];
    expect(zipped?.response.content.encoding).toBe('base64'); // as transferred: still gzip
    expect(zipped?.request.headers).toContainEqual({ name: 'Authorization', value: 'Bearer REDACTED' });
  });

  test('a file that cannot be written is exit code 23, after the transfer', async () => {
    const result = await runMain(['--har', join(dir, 'missing-dir', 'run.har'), `${server.url}/zipped`]);
    expect(result.stdout).toBe('unzipped');
    expect(result.code).toBe(23);
    expect(result.stderr).toMatch(/cannot write the --har file/);
  });

  test('an empty file name is a usage error', async () => {
    const result = await runMain(['--har', '', `${server.url}/zipped`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--har needs a file name/);
  });
});
