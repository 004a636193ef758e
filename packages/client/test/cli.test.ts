import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { VERSION } from '@strand/client';
import { buildCli, runCli } from './support/cli';
import { type TestServer, echo, startServer, startTLSServer, testCertificate } from './support/servers';

let cli: string;
let server: TestServer;
let dir: string;
const big = Buffer.alloc(200_000, 0x62);

beforeAll(() => {
  cli = buildCli();
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-cli-'));
  server = await startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/text':
        res.setHeader('content-type', 'text/plain');
        res.setHeader('x-demo', 'yes');
        res.end('hello from the server\n');
        return;
      case '/moved':
        res.writeHead(302, { location: '/text' });
        res.end('moved');
        return;
      case '/gzip':
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end(gzipSync('decoded!'));
        return;
      case '/missing':
        res.writeHead(404, 'Not Found');
        res.end('nothing here');
        return;
      case '/hang':
        return; // never answers
      case '/big.bin': {
        const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
        if (range !== null) {
          const start = Number(range[1]);
          if (start >= big.length) {
            res.writeHead(416, { 'content-range': `bytes */${big.length}` });
            res.end();
            return;
          }
          res.writeHead(206, { 'content-range': `bytes ${start}-${big.length - 1}/${big.length}`, 'content-length': String(big.length - start) });
          res.end(big.subarray(start));
          return;
        }
        res.writeHead(200, { 'content-length': String(big.length), 'accept-ranges': 'bytes' });
        res.end(big);
        return;
      }
      default:
        if (url.pathname.startsWith('/files/')) {
          res.end(`content of ${url.pathname}`);
          return;
        }
        echo(req, res, body);
    }
  });
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('strand URL', () => {
  it('prints the body of a GET to stdout and exits 0', async () => {
    const result = await runCli(cli, [`${server.url}/text`]);
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toBe('hello from the server\n');
    expect(result.stderr).toBe('');
  });

  it('prints the status line and headers with --print-headers, and nothing else with --no-body', async () => {
    const result = await runCli(cli, [`${server.url}/text`, '--print-headers', '--no-body']);
    const out = result.stdout.toString();
    expect(result.code).toBe(0);
    expect(out.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(out).toContain('x-demo: yes\r\n');
    expect(out.endsWith('\r\n\r\n')).toBe(true);
    expect(out).not.toContain('hello');
  });

  it('sends a method, headers and a form body given with -d', async () => {
    const result = await runCli(cli, ['PUT', `${server.url}/echo`, '-H', 'X-One: 1', '-H', 'X-Two: 2', '-d', 'a=1', '-d', 'b=2']);
    expect(result.code).toBe(0);
    const echoed = JSON.parse(result.stdout.toString()) as { method: string; headers: Record<string, string>; body: string };
    expect(echoed.method).toBe('PUT');
    expect(echoed.headers['x-one']).toBe('1');
    expect(echoed.headers['x-two']).toBe('2');
    expect(echoed.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(echoed.body).toBe('a=1&b=2');
  });

  it('POSTs --json with JSON Content-Type and Accept, reading @file', async () => {
    const file = join(dir, 'body.json');
    writeFileSync(file, '{"from":"file"}');
    const result = await runCli(cli, [`${server.url}/echo`, '--json', `@${file}`]);
    const echoed = JSON.parse(result.stdout.toString()) as { method: string; headers: Record<string, string>; body: string };
    expect(echoed.method).toBe('POST');
    expect(echoed.headers['content-type']).toBe('application/json');
    expect(echoed.headers['accept']).toBe('application/json');
    expect(JSON.parse(echoed.body)).toEqual({ from: 'file' });
  });

  it('reads a --data body from stdin with @-', async () => {
    const result = await runCli(cli, [`${server.url}/echo`, '-d', '@-'], { stdin: 'from stdin' });
    expect((JSON.parse(result.stdout.toString()) as { body: string }).body).toBe('from stdin');
  });

  it('does not follow redirects unless -L is given', async () => {
    const without = await runCli(cli, [`${server.url}/moved`]);
    expect(without.stdout.toString()).toBe('moved');
    const withL = await runCli(cli, [`${server.url}/moved`, '-L']);
    expect(withL.stdout.toString()).toBe('hello from the server\n');
  });

  it('decodes gzip unless --raw is given', async () => {
    expect((await runCli(cli, [`${server.url}/gzip`])).stdout.toString()).toBe('decoded!');
    const raw = await runCli(cli, [`${server.url}/gzip`, '--raw']);
    expect(raw.stdout.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  });

  it('writes the body to a file with -o', async () => {
    const out = join(dir, 'out.bin');
    const result = await runCli(cli, [`${server.url}/big.bin`, '-o', out]);
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(0);
    expect(readFileSync(out).equals(big)).toBe(true);
  });

  it('exits 0 on a 404 by default, and 22 with one line on stderr with --fail', async () => {
    const plain = await runCli(cli, [`${server.url}/missing`]);
    expect(plain.code).toBe(0);
    expect(plain.stdout.toString()).toBe('nothing here');
    const failing = await runCli(cli, [`${server.url}/missing`, '--fail']);
    expect(failing.code).toBe(22);
    expect(failing.stdout.length).toBe(0);
    expect(failing.stderr).toBe(`strand: HTTP 404 Not Found (${server.url}/missing)\n`);
  });

  it('gives up after --timeout with a one-line timeout error and exit 28', async () => {
    const result = await runCli(cli, [`${server.url}/hang`, '--timeout', '0.2']);
    expect(result.code).toBe(28);
    expect(result.stderr).toMatch(/^strand: the request timed out after 200 ms \(.*\/hang\) \[STRAND_TOTAL_TIMEOUT\]\n$/);
  });

  it('reports a refused connection as one line and exit 7', async () => {
    const closed = await startServer(() => {});
    const url = closed.url;
    await closed.close();
    const result = await runCli(cli, [url]);
    expect(result.code).toBe(7);
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(result.stderr).toMatch(/\[STRAND_CONNECTION_REFUSED\]\n$/);
  });

  it.each([
    [[], /a URL is required/],
    [['http://x', '--bogus'], /unknown option --bogus/],
    [['http://x', '-H', 'no colon'], /--header must look like "Name: value"/],
    [['http://x', '--timeout', 'soon'], /--timeout must be a positive number of seconds/],
    [['http://x', '--json', '{bad'], /--json is not valid JSON/],
    [['http://x', '-d', '@/no/such/file'], /--data: cannot read "\/no\/such\/file": no such file/],
  ])('refuses bad usage %j with exit 2 and one line', async (args, message) => {
    const result = await runCli(cli, args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses a malformed URL before connecting, with exit 3', async () => {
    const result = await runCli(cli, ['http://exa mple/']);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe('strand: malformed URL "http://exa mple/"\n');
  });

  it('refuses a URL the client cannot send (a space in the path) with exit 3 and its code', async () => {
    const result = await runCli(cli, [`${server.url}/a b`]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/invalid URL.*\[STRAND_INVALID_REQUEST\]/);
  });

  it('prints help and the version', async () => {
    const help = await runCli(cli, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.toString()).toContain('Usage: strand [METHOD] URL... [options]');
    expect(help.stdout.toString()).toMatch(/^ {6}--cacert FILE {7}trust only the CA certificates in FILE/m);
    const version = await runCli(cli, ['--version']);
    expect(version.stdout.toString()).toBe(`strand ${VERSION}\n`);
  });
});

describe('strand URL: TLS and --verbose', () => {
  let secure: TestServer;
  let caFile: string;

  beforeEach(async () => {
    secure = await startTLSServer((req, res) => {
      if (req.url === '/moved') {
        res.writeHead(302, { location: '/hello' });
        res.end();
        return;
      }
      res.end('secret garden\n');
    });
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, testCertificate().cert);
  });

  afterEach(() => secure.close());

  it('refuses a certificate from an unknown CA by default, with one line and exit 60', async () => {
    const result = await runCli(cli, [`${secure.url}/hello`]);
    expect(result.code).toBe(60);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toMatch(/^strand: .*\[STRAND_TLS_UNKNOWN_CA\]\n$/);
  });

  it('trusts the CA certificates of --cacert, and only for this run', async () => {
    const trusted = await runCli(cli, [`${secure.url}/hello`, '--cacert', caFile]);
    expect(trusted.stderr).toBe('');
    expect(trusted.code).toBe(0);
    expect(trusted.stdout.toString()).toBe('secret garden\n');
  });

  it('skips verification with -k, following redirects with the same agent', async () => {
    const result = await runCli(cli, ['-k', '-L', `${secure.url}/moved`]);
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toBe('secret garden\n');
  });

  it.each([
    [['--cacert', '/no/such/ca.pem'], /--cacert: cannot read "\/no\/such\/ca.pem": ENOENT/],
    [['--cacert', __filename], /--cacert: ".*" holds no PEM certificate/],
    [['--cacert', '/no/such/ca.pem', '-k'], /use either --cacert or --insecure, not both/],
  ])('refuses TLS options %j with exit 2 and one line', async (args, message) => {
    const result = await runCli(cli, [`${secure.url}/hello`, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('prints every hop of a redirect chain and the timings to stderr with -v, hiding credentials', async () => {
    const result = await runCli(cli, ['-v', '-L', '-u', 'ann:hunter2', '-H', 'X-Trace: 7', '--cacert', caFile, `${secure.url}/moved`]);
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toBe('secret garden\n');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`> GET ${secure.url}/moved`);
    expect(lines).toContain('> X-Trace: 7');
    expect(lines).toContain('> Authorization: <hidden>');
    expect(lines).toContain('< HTTP/1.1 302 Found');
    expect(lines).toContain(`> GET ${secure.url}/hello`);
    expect(lines).toContain('< HTTP/1.1 200 OK');
    expect(lines.indexOf('< HTTP/1.1 302 Found')).toBeLessThan(lines.indexOf(`> GET ${secure.url}/hello`));
    // The second hop reuses the connection of the first: no dns, connect or tls of its own.
    expect(lines.at(-1)).toMatch(/^\* timings: dns (-|[\d.]+ ms), connect (-|[\d.]+ ms), tls (-|[\d.]+ ms), first byte [\d.]+ ms, body [\d.]+ ms, total [\d.]+ ms$/);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('downloads over https with --cacert, and refuses the unknown CA without it', async () => {
    const saved = await runCli(cli, ['download', '--no-progress', '--cacert', caFile, '-P', dir, `${secure.url}/garden.txt`]);
    expect(saved.code).toBe(0);
    expect(readFileSync(join(dir, 'garden.txt'), 'utf8')).toBe('secret garden\n');
    const refused = await runCli(cli, ['download', '--no-progress', '-P', join(dir, 'other'), `${secure.url}/garden.txt`]);
    expect(refused.code).toBe(60);
    expect(refused.stderr).toContain('STRAND_TLS_UNKNOWN_CA');
  });
});

describe('strand download', () => {
  it('saves every URL from stdin, N at a time, and prints a summary', async () => {
    const list = ['# a comment', `${server.url}/files/a.txt`, '', `${server.url}/files/b.txt`, `${server.url}/files/a.txt`, `${server.url}/`].join('\n');
    const result = await runCli(cli, ['download', '--concurrency', '2', '--dir', dir], { stdin: list });
    expect(result.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['a.txt', 'a.txt.1', 'b.txt', 'index.html']);
    expect(readFileSync(join(dir, 'b.txt'), 'utf8')).toBe('content of /files/b.txt');
    expect(result.stderr).toMatch(/^downloaded 4 of 4 files, \d+ B in \d+\.\d\d s \([\d.]+ (B|KiB|MiB)\/s\)\n$/);
  });

  it('reads URLs from --input and reports failures per URL, exiting with the first failure\'s code', async () => {
    const input = join(dir, 'urls.txt');
    writeFileSync(input, [`${server.url}/files/ok.txt`, `${server.url}/missing`, 'not a url'].join('\n'));
    const out = join(dir, 'out');
    const result = await runCli(cli, ['download', '--input', input, '-P', out]);
    expect(result.code).toBe(22);
    expect(readdirSync(out)).toEqual(['ok.txt']);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^downloaded 1 of 3 files, .*; 2 failed:$/);
    expect(lines[1]).toBe(`  ${server.url}/missing: HTTP 404 Not Found (${server.url}/missing)`);
    expect(lines[2]).toBe('  not a url: malformed URL "not a url"');
  });

  it('resumes a file left under its final name with a Range request when --continue is given', async () => {
    writeFileSync(join(dir, 'big.bin'), big.subarray(0, 50_000));
    const result = await runCli(cli, ['download', '--continue', '-P', dir, `${server.url}/big.bin`]);
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, 'big.bin')).equals(big)).toBe(true);
    expect(result.stderr).toMatch(/1 resumed/);
    expect(server.requests[0]?.headers.range).toBe('bytes=50000-');
  });

  it('treats a complete file as done when the server answers 416 to the resume', async () => {
    writeFileSync(join(dir, 'big.bin'), big);
    const result = await runCli(cli, ['download', '-C', '-P', dir, `${server.url}/big.bin`]);
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, 'big.bin')).equals(big)).toBe(true);
  });

  it('refuses an empty URL list with exit 2', async () => {
    const result = await runCli(cli, ['download', '-P', dir], { stdin: '\n# nothing\n' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no URLs to download/);
  });
});
