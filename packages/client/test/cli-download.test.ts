import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { buildSync } from 'esbuild';
import { main } from '../src/cli/main';
import { buildCli, runCli } from './support/cli';
import { type TestServer, startServer } from './support/servers';

let cli: string;
let dir: string;

beforeAll(() => {
  cli = buildCli();
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'strand-cli-download-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const content = Buffer.from('A'.repeat(3000) + 'B'.repeat(3000));

/**
 * Serves `/file.bin` with a strong ETag; honours Range + If-Range. While `cut` is set, a full
 * answer stops after `cut` bytes (the connection is destroyed).
 */
async function rangeServer(options: { etag: string; cut?: number | undefined }): Promise<TestServer> {
  return startServer((req, res) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    res.setHeader('etag', options.etag);
    if (range !== null && (ifRange === undefined || ifRange === options.etag)) {
      const start = Number(range[1]);
      res.writeHead(206, { 'content-range': `bytes ${start}-${content.length - 1}/${content.length}`, 'content-length': String(content.length - start) });
      res.end(content.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': String(content.length) });
    if (options.cut === undefined) {
      res.end(content);
      return;
    }
    res.write(content.subarray(0, options.cut));
    setTimeout(() => res.socket?.destroy(), 50);
  });
}

describe('strand download writes nothing partial under the final name, and resumes with validators', () => {
  it('leaves a cut download as NAME.part with its validator, never as NAME (exit 18)', async () => {
    const server = await rangeServer({ etag: '"one"', cut: 2000 });
    try {
      const result = await runCli(cli, ['download', '-P', dir, `${server.url}/file.bin`]);
      expect(result.code).toBe(18);
      expect(readdirSync(dir).sort()).toEqual(['file.bin.part', 'file.bin.part.json']);
      expect(readFileSync(join(dir, 'file.bin.part')).equals(content.subarray(0, 2000))).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, 'file.bin.part.json'), 'utf8'))).toEqual({ url: `${server.url}/file.bin`, etag: '"one"' });
      expect(result.stderr).toMatch(/^downloaded 0 of 1 files, .*; 1 failed:\n {2}.*\/file\.bin: .*\[STRAND_RESPONSE_FAILED\]\n$/);
    } finally {
      await server.close();
    }
  });

  it('--continue sends Range and If-Range with the kept ETag, appends the 206 and renames the file', async () => {
    writeFileSync(join(dir, 'file.bin.part'), content.subarray(0, 2000));
    const server = await rangeServer({ etag: '"one"' });
    try {
      writeFileSync(join(dir, 'file.bin.part.json'), JSON.stringify({ url: `${server.url}/file.bin`, etag: '"one"' }));
      const result = await runCli(cli, ['download', '--continue', '-P', dir, `${server.url}/file.bin`]);
      expect(result.code).toBe(0);
      expect(server.requests[0]?.headers.range).toBe('bytes=2000-');
      expect(server.requests[0]?.headers['if-range']).toBe('"one"');
      expect(readdirSync(dir)).toEqual(['file.bin']);
      expect(readFileSync(join(dir, 'file.bin')).equals(content)).toBe(true);
      expect(result.stderr).toMatch(/, 1 resumed\n$/);
    } finally {
      await server.close();
    }
  });

  it('--continue starts over when the resource changed (If-Range fails, the server sends it all)', async () => {
    writeFileSync(join(dir, 'file.bin.part'), Buffer.alloc(2000, 0x5a));
    const server = await rangeServer({ etag: '"two"' });
    try {
      writeFileSync(join(dir, 'file.bin.part.json'), JSON.stringify({ url: `${server.url}/file.bin`, etag: '"one"' }));
      const result = await runCli(cli, ['download', '-C', '-P', dir, `${server.url}/file.bin`]);
      expect(result.code).toBe(0);
      expect(server.requests[0]?.headers['if-range']).toBe('"one"');
      expect(readFileSync(join(dir, 'file.bin')).equals(content)).toBe(true);
      expect(result.stderr).not.toMatch(/resumed/);
    } finally {
      await server.close();
    }
  });

  it('does not resume a .part that came from another URL', async () => {
    writeFileSync(join(dir, 'file.bin.part'), Buffer.alloc(2000, 0x5a));
    writeFileSync(join(dir, 'file.bin.part.json'), JSON.stringify({ url: 'http://elsewhere.test/file.bin', etag: '"one"' }));
    const server = await rangeServer({ etag: '"one"' });
    try {
      const result = await runCli(cli, ['download', '-C', '-', '-P', dir, `${server.url}/file.bin`]);
      expect(result.code).toBe(0);
      expect(server.requests[0]?.headers.range).toBeUndefined();
      expect(readFileSync(join(dir, 'file.bin')).equals(content)).toBe(true);
      expect(readdirSync(dir)).toEqual(['file.bin']);
    } finally {
      await server.close();
    }
  });

  it('cut, then resumed: the two runs together give the whole file', async () => {
    const behaviour: { etag: string; cut?: number | undefined } = { etag: '"same"', cut: 3500 };
    const server = await rangeServer(behaviour);
    try {
      const first = await runCli(cli, ['download', '-P', dir, `${server.url}/file.bin`]);
      expect(first.code).toBe(18);
      expect(existsSync(join(dir, 'file.bin'))).toBe(false);
      behaviour.cut = undefined;
      const second = await runCli(cli, ['download', '-C', '-P', dir, `${server.url}/file.bin`]);
      expect(second.code).toBe(0);
      expect(server.requests.at(-1)?.headers.range).toBe('bytes=3500-');
      expect(server.requests.at(-1)?.headers['if-range']).toBe('"same"');
      expect(readFileSync(join(dir, 'file.bin')).equals(content)).toBe(true);
      expect(readdirSync(dir)).toEqual(['file.bin']);
    } finally {
      await server.close();
    }
  });
});

/** A stream that keeps what is written to it; a terminal when `tty`. */
class Capture extends Writable {
  text = '';
  readonly isTTY: boolean;
  readonly columns = 160;

  constructor(tty: boolean) {
    super();
    this.isTTY = tty;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('strand download on a terminal', () => {
  let server: TestServer;
  let release: () => void;

  beforeEach(async () => {
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    server = await startServer((req, res) => {
      if (req.url === '/slow.bin') {
        res.writeHead(200, { 'content-length': '2048' });
        res.write(Buffer.alloc(1024, 0x61));
        void held.then(() => res.end(Buffer.alloc(1024, 0x62)));
        return;
      }
      res.end('quick');
    });
  });

  afterEach(async () => {
    release();
    await server.close();
  });

  const run = (stderr: Capture): Promise<number> =>
    main(['download', '-P', dir, `${server.url}/slow.bin`, `${server.url}/quick.txt`], { stdin: Readable.from([]), stdout: new Capture(false), stderr, stderrIsTTY: true });

  it('shows each file\'s bytes, speed and ETA, and the overall ones, with cli-progress', async () => {
    const stderr = new Capture(true);
    const done = run(stderr);
    await waitFor(() => /slow\.bin {2}1\.0 KiB\/2\.0 KiB {2}50% {2}[\d.]+ (B|KiB|MiB)\/s {2}ETA \d+:\d\d/.test(stderr.text));
    await waitFor(() => /downloading {2}1\/2 files {2}[\d.]+ (B|KiB) {2}[\d.]+ (B|KiB|MiB)\/s {2}ETA (\d+:\d\d|--:--)/.test(stderr.text));
    release();
    expect(await done).toBe(0);
    expect(readFileSync(join(dir, 'slow.bin')).length).toBe(2048);
    expect(stderr.text).toMatch(/downloaded 2 of 2 files, 2\.0 KiB in \d+\.\d\d s \([\d.]+ (B|KiB|MiB)\/s\)\n$/);
  });

  it('draws a one-line status when cli-progress is not installed', async () => {
    jest.resetModules();
    jest.doMock('cli-progress', () => {
      throw new Error("Cannot find module 'cli-progress'");
    });
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy, after the mock
      const isolated = require('../src/cli/main') as { main: typeof main };
      const stderr = new Capture(true);
      const done = isolated.main(['download', '-P', dir, `${server.url}/slow.bin`, `${server.url}/quick.txt`], { stdin: Readable.from([]), stdout: new Capture(false), stderr, stderrIsTTY: true });
      // eslint-disable-next-line no-control-regex -- the line is redrawn with CR + erase-line
      await waitFor(() => /\r\x1b\[K1\/2 files {2}[\d.]+ (B|KiB) {2}[\d.]+ (B|KiB|MiB)\/s {2}ETA \S+ \| slow\.bin {2}1\.0 KiB\/2\.0 KiB {2}50%/.test(stderr.text)).catch(() => { throw new Error(JSON.stringify(stderr.text.slice(-500))); });
      release();
      expect(await done).toBe(0);
      // eslint-disable-next-line no-control-regex
      expect(stderr.text).toMatch(/\r\x1b\[Kdownloaded 2 of 2 files/);
    } finally {
      jest.dontMock('cli-progress');
    }
  });

  it('draws nothing with --no-progress or -s, and -s leaves out the summary too', async () => {
    release();
    const plain = new Capture(true);
    expect(await main(['download', '--no-progress', '-P', dir, `${server.url}/quick.txt`], { stdin: Readable.from([]), stdout: new Capture(false), stderr: plain, stderrIsTTY: true })).toBe(0);
    expect(plain.text).toMatch(/^downloaded 1 of 1 files/);
    const silent = new Capture(true);
    expect(await main(['download', '-s', '-P', join(dir, 'again'), `${server.url}/quick.txt`], { stdin: Readable.from([]), stdout: new Capture(false), stderr: silent, stderrIsTTY: true })).toBe(0);
    expect(silent.text).toBe('');
    const failing = new Capture(true);
    expect(await main(['download', '-sS', '-P', join(dir, 'third'), 'http://127.0.0.1:1/x'], { stdin: Readable.from([]), stdout: new Capture(false), stderr: failing, stderrIsTTY: true })).toBe(7);
    expect(failing.text).toMatch(/^ {2}http:\/\/127\.0\.0\.1:1\/x: .*\[STRAND_CONNECTION_REFUSED\]\n$/);
  });
});

describe('cli-progress is the command\'s, not the library\'s', () => {
  const reporter = join(__dirname, 'support', 'report-cli-progress.cjs');

  it('is not loaded by a fetch, nor by a download without a terminal', async () => {
    const server = await startServer((_req, res) => res.end('x'));
    try {
      const fetched = await runCli(cli, [`${server.url}/a`], { require: [reporter] });
      expect(fetched.stderr).toBe('cli-progress loaded: false\n');
      const downloaded = await runCli(cli, ['download', '-P', dir, `${server.url}/b`], { require: [reporter] });
      expect(downloaded.code).toBe(0);
      expect(downloaded.stderr).toMatch(/cli-progress loaded: false\n$/);
    } finally {
      await server.close();
    }
  });

  it('(the reporter does see it when it is loaded)', async () => {
    const result = await runCli(cli, ['--version'], { require: [reporter, require.resolve('cli-progress', { paths: [join(__dirname, '..')] })] });
    expect(result.stderr).toBe('cli-progress loaded: true\n');
  });

  it('is not in the library bundle, and the command imports it only lazily', () => {
    const root = join(__dirname, '..');
    const library = buildSync({
      entryPoints: [join(root, 'src', 'index.ts')],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      alias: { '@strand/core': join(root, '..', 'core', 'src', 'index.ts') },
      logLevel: 'error',
    });
    expect(library.outputFiles[0]?.text).not.toContain('cli-progress');
    const command = readFileSync(cli, 'utf8');
    expect(command).not.toMatch(/require\("cli-progress"\)/);
    expect(command).toMatch(/import\("cli-progress"\)/);
  });

  it('is an optional peer of @strand/client, not one of its dependencies', () => {
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependencies?: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    };
    expect(manifest.dependencies['cli-progress']).toBeUndefined();
    expect(manifest.dependencies['tough-cookie']).toBeDefined();
    expect(manifest.peerDependencies?.['cli-progress']).toBeDefined();
    expect(manifest.peerDependenciesMeta?.['cli-progress']?.optional).toBe(true);
  });
});
