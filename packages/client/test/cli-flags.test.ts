import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildCli, runCli } from './support/cli';
import { type TestServer, echo, startServer } from './support/servers';

let cli: string;
let server: TestServer;
let dir: string;
let flaky = 0;
const whole = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

beforeAll(() => {
  cli = buildCli();
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-cli-flags-'));
  flaky = 0;
  server = await startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/text':
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.end('hello\n');
        return;
      case '/gzip':
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
        res.end(gzipSync('unzipped'));
        return;
      case '/flaky':
        if (flaky++ === 0) {
          res.writeHead(503);
          res.end('busy');
          return;
        }
        res.end('fine now');
        return;
      case '/set-cookies':
        res.setHeader('set-cookie', ['session=s1; Path=/', 'keep=k1; Max-Age=3600; HttpOnly', 'only=secure; Secure']);
        res.end('set');
        return;
      case '/moved':
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/text' });
        res.end();
        return;
      case '/resource.bin': {
        // A resource with a strong validator; honours Range with If-Range as RFC 9110 says.
        const etag = '"v2"';
        res.setHeader('etag', etag);
        res.setHeader('last-modified', 'Tue, 01 Jul 2025 00:00:00 GMT');
        res.setHeader('accept-ranges', 'bytes');
        const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
        const ifRange = req.headers['if-range'];
        if (range !== null && (ifRange === undefined || ifRange === etag)) {
          const start = Number(range[1]);
          if (start >= whole.length) {
            res.writeHead(416, { 'content-range': `bytes */${whole.length}` });
            res.end();
            return;
          }
          res.writeHead(206, { 'content-range': `bytes ${start}-${whole.length - 1}/${whole.length}`, 'content-length': String(whole.length - start) });
          res.end(whole.subarray(start));
          return;
        }
        res.writeHead(200, { 'content-length': String(whole.length) });
        res.end(whole);
        return;
      }
      default:
        echo(req, res, body);
    }
  });
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Echoed {
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
  body: string;
}

const echoed = (stdout: Buffer): Echoed => JSON.parse(stdout.toString()) as Echoed;

describe('-s / -S', () => {
  it('-s prints no error line, -sS does, and both keep the exit code', async () => {
    const silent = await runCli(cli, ['-s', 'http://127.0.0.1:1/']);
    expect(silent.code).toBe(7);
    expect(silent.stderr).toBe('');
    const shown = await runCli(cli, ['-sS', 'http://127.0.0.1:1/']);
    expect(shown.code).toBe(7);
    expect(shown.stderr).toMatch(/^strand: connection refused.*\[STRAND_CONNECTION_REFUSED\]\n$/);
  });

  it('-s still writes the body', async () => {
    const result = await runCli(cli, ['-s', `${server.url}/text`]);
    expect(result.stdout.toString()).toBe('hello\n');
  });
});

describe('-I / -i', () => {
  it('-I sends HEAD and prints the head only', async () => {
    const result = await runCli(cli, ['-I', `${server.url}/text`]);
    expect(result.code).toBe(0);
    expect(server.requests[0]?.method).toBe('HEAD');
    const out = result.stdout.toString();
    expect(out.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(out).toContain('content-type: text/plain; charset=utf-8\r\n');
    expect(out.endsWith('\r\n\r\n')).toBe(true);
  });

  it('-I with -d is a usage error', async () => {
    const result = await runCli(cli, ['-I', '-d', 'a=1', `${server.url}/text`]);
    expect(result.code).toBe(2);
  });

  it('-i writes every head of a redirect chain, then the body, into the output (a file with -o too)', async () => {
    const result = await runCli(cli, ['-i', '-L', `${server.url}/moved`]);
    const out = result.stdout.toString();
    expect(out.startsWith('HTTP/1.1 302 Found\r\n')).toBe(true);
    expect(out).toContain('\r\n\r\nHTTP/1.1 200 OK\r\n');
    expect(out.endsWith('\r\n\r\nhello\n')).toBe(true);
    const file = join(dir, 'out.txt');
    await runCli(cli, ['-i', '-o', file, `${server.url}/text`]);
    expect(readFileSync(file, 'utf8')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nhello\n$/);
  });

  it('-i means --include in strand download too: the head goes into each file', async () => {
    const result = await runCli(cli, ['download', '-i', '-P', dir, `${server.url}/text`]);
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, 'text'), 'utf8')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nhello\n$/);
  });

  it('strand download -i FILE (a wget habit) says to use --input', async () => {
    const list = join(dir, 'urls.txt');
    writeFileSync(list, `${server.url}/text\n`);
    const result = await runCli(cli, ['download', '-i', 'urls.txt'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/"urls\.txt" is a local file, not a URL: to read URLs from it use --input urls\.txt \(-i is --include, as in curl\)/);
  });
});

describe('-o / -O / --output-dir and several URLs', () => {
  it('-O saves under the last path segment in the current directory', async () => {
    const result = await runCli(cli, ['-O', `${server.url}/text`], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(0);
    expect(readFileSync(join(dir, 'text'), 'utf8')).toBe('hello\n');
    expect(readdirSync(dir)).toEqual(['text']);
  });

  it('pairs the n-th -o/-O with the n-th URL, the rest going to stdout', async () => {
    const result = await runCli(cli, ['-o', join(dir, 'first'), `${server.url}/text`, '-O', `${server.url}/echo/second`, `${server.url}/gzip`, '--output-dir', dir]);
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, 'first'), 'utf8')).toBe('hello\n');
    expect(echoed(readFileSync(join(dir, 'second'))).url).toBe('/echo/second');
    expect(result.stdout.toString()).toBe('unzipped');
  });

  it('--remote-name-all saves every URL; -o - is stdout', async () => {
    const result = await runCli(cli, ['--remote-name-all', '-o', '-', `${server.url}/gzip`, `${server.url}/text`], { cwd: dir });
    expect(result.stdout.toString()).toBe('unzipped');
    expect(readdirSync(dir)).toEqual(['text']);
  });

  it('refuses more -o than URLs', async () => {
    const result = await runCli(cli, ['-o', 'a', '-o', 'b', `${server.url}/text`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/2 -o\/-O for 1 URL/);
  });

  it('fetches several URLs in order, goes on after a failure and exits with the first failure\'s code', async () => {
    const result = await runCli(cli, [`${server.url}/text`, 'http://127.0.0.1:1/', `${server.url}/gzip`, 'no-such-host.invalid']);
    expect(result.stdout.toString()).toBe('hello\nunzipped');
    expect(result.code).toBe(7);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/\[STRAND_DNS_LOOKUP_FAILED\]$/);
  });

  it('--fail-early stops at the first failure', async () => {
    const result = await runCli(cli, ['--fail-early', '-f', `${server.url}/missing-is-echoed`, 'http://127.0.0.1:1/', `${server.url}/text`]);
    expect(result.code).toBe(7);
    expect(result.stdout.toString()).not.toContain('hello');
  });

  it('reads a URL without a scheme as http://, as curl does', async () => {
    const result = await runCli(cli, [`127.0.0.1:${server.port}/text`]);
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toBe('hello\n');
  });

  it('takes a method word in capitals before the URLs, and refuses a method that is not a token', async () => {
    const put = await runCli(cli, ['PUT', `${server.url}/echo`, '-d', 'x=1']);
    expect(echoed(put.stdout).method).toBe('PUT');
    const bad = await runCli(cli, ['-X', 'BAD METHOD', `${server.url}/echo`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/"BAD METHOD" is not a valid method name/);
  });
});

describe('headers: -A, -e, -H', () => {
  it('-A sets the User-Agent and -e the Referer', async () => {
    const result = await runCli(cli, ['-A', 'curl-habits/1.0', '-e', 'http://from.example/', `${server.url}/echo`]);
    const { headers } = echoed(result.stdout);
    expect(headers['user-agent']).toBe('curl-habits/1.0');
    expect(headers['referer']).toBe('http://from.example/');
  });

  it('-A "" sends no User-Agent; -H wins over -A', async () => {
    expect(echoed((await runCli(cli, ['-A', '', `${server.url}/echo`])).stdout).headers['user-agent']).toBeUndefined();
    expect(echoed((await runCli(cli, ['-A', 'a', '-H', 'User-Agent: b', `${server.url}/echo`])).stdout).headers['user-agent']).toBe('b');
  });

  it('-H "Name:" removes a header Strand would send, -H "Name;" sends it empty', async () => {
    const result = await runCli(cli, ['-H', 'User-Agent:', '-H', 'X-Empty;', `${server.url}/echo`]);
    const { headers } = echoed(result.stdout);
    expect(headers['user-agent']).toBeUndefined();
    expect(headers['x-empty']).toBe('');
  });
});

describe('bodies: -G, --data-raw, --compressed', () => {
  it('-G puts the -d data in the query of a GET', async () => {
    const result = await runCli(cli, ['-G', '-d', 'q=strand', '-d', 'page=2', `${server.url}/echo?lang=en`]);
    const request = echoed(result.stdout);
    expect(request.method).toBe('GET');
    expect(request.url).toBe('/echo?lang=en&q=strand&page=2');
    expect(request.body).toBe('');
  });

  it('--data-raw sends @ as it is, in command-line order with -d', async () => {
    const result = await runCli(cli, ['-d', 'a=1', '--data-raw', '@not-a-file', '-d', 'c=3', `${server.url}/echo`]);
    expect(echoed(result.stdout).body).toBe('a=1&@not-a-file&c=3');
  });

  it('--compressed asks for and decodes a compressed body (the default); with --raw it is a usage error', async () => {
    const result = await runCli(cli, ['--compressed', `${server.url}/gzip`]);
    expect(result.stdout.toString()).toBe('unzipped');
    expect(server.requests[0]?.headers['accept-encoding']).toMatch(/gzip/);
    expect((await runCli(cli, ['--compressed', '--raw', `${server.url}/gzip`])).code).toBe(2);
  });
});

describe('-m / --max-time and --connect-timeout values', () => {
  it.each([
    [['-m', 'soon'], /--max-time must be a positive number of seconds, got "soon"/],
    [['--connect-timeout', '0'], /--connect-timeout must be a positive number of seconds/],
    [['-m', '1', '--timeout', '1'], /use either --max-time or --timeout/],
    [['--retry', '-1'], /Option '--retry' argument is ambiguous/],
    [['--retry', 'many'], /--retry must be a non-negative integer, got "many"/],
    [['--retry-delay', '1'], /--retry-delay needs --retry N/],
  ])('refuses %j with exit 2', async (args, message) => {
    const result = await runCli(cli, [...args, `${server.url}/text`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('-m that is long enough lets the transfer finish', async () => {
    const result = await runCli(cli, ['-m', '10', '--connect-timeout', '5', `${server.url}/text`]);
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toBe('hello\n');
  });
});

describe('-w / --write-out', () => {
  it('prints the variables after each transfer', async () => {
    const format = '%{http_code}|%{size_download}|%{url_effective}|%{content_type}|%{num_redirects}|%{exitcode}\\n';
    const result = await runCli(cli, ['-L', '-w', format, `${server.url}/moved`, `${server.url}/text`]);
    expect(result.stdout.toString()).toBe(
      `hello\n200|6|${server.url}/text|text/plain; charset=utf-8|1|0\nhello\n200|6|${server.url}/text|text/plain; charset=utf-8|0|0\n`,
    );
  });

  it('prints the times in seconds with six decimals, each no smaller than the one before', async () => {
    const result = await runCli(cli, ['-o', '/dev/null', '-w', '%{time_namelookup} %{time_connect} %{time_appconnect} %{time_starttransfer} %{time_total}', `${server.url}/text`]);
    const times = result.stdout.toString().split(' ');
    expect(times).toHaveLength(5);
    for (const t of times) expect(t).toMatch(/^\d+\.\d{6}$/);
    const [lookup, connect, app, start, total] = times.map(Number) as [number, number, number, number, number];
    expect(connect).toBeGreaterThanOrEqual(lookup);
    expect(app).toBe(0); // no TLS
    expect(start).toBeGreaterThanOrEqual(connect);
    expect(total).toBeGreaterThanOrEqual(start);
  });

  it('prints 000 and the exit code for a transfer that got no response; reads the format from @file', async () => {
    const file = join(dir, 'format.txt');
    writeFileSync(file, 'code=%{http_code} exit=%{exitcode} url=%{url_effective} 100%%');
    const result = await runCli(cli, ['-s', '-w', `@${file}`, 'http://127.0.0.1:1/x']);
    expect(result.code).toBe(7);
    expect(result.stdout.toString()).toBe('code=000 exit=7 url=http://127.0.0.1:1/x 100%');
  });

  it('refuses an unknown variable before sending anything', async () => {
    const result = await runCli(cli, ['-w', '%{size_header}', `${server.url}/text`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--write-out: unknown variable %\{size_header\}; strand knows http_code/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('--retry', () => {
  it('sends the request again after a 503 and prints the answer that came next', async () => {
    const result = await runCli(cli, ['--retry', '2', '--retry-delay', '0.01', `${server.url}/flaky`]);
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toBe('fine now');
    expect(server.requests.map((r) => r.url)).toEqual(['/flaky', '/flaky']);
  });

  it('without --retry, the 503 is the answer', async () => {
    const result = await runCli(cli, [`${server.url}/flaky`]);
    expect(result.stdout.toString()).toBe('busy');
    expect(server.requests).toHaveLength(1);
  });

  describe('a refused connection (a closed listener\'s port)', () => {
    const countConnects = join(__dirname, 'support', 'count-connects.cjs');
    let refusing: string;

    beforeEach(async () => {
      const closed = await startServer(echo);
      await closed.close();
      refusing = `${closed.url}/refused`;
    });

    it('is not retried by --retry alone, as curl', async () => {
      const result = await runCli(cli, ['-sS', '--retry', '2', '--retry-delay', '0', refusing], { require: [countConnects] });
      expect(result.code).toBe(7);
      expect(result.stderr).toMatch(/\[STRAND_CONNECTION_REFUSED\]\nconnect attempts: 1\n$/);
    });

    it('is retried with --retry-connrefused, then fails with exit code 7', async () => {
      const result = await runCli(cli, ['-sS', '--retry', '2', '--retry-delay', '0', '--retry-connrefused', refusing], { require: [countConnects] });
      expect(result.code).toBe(7);
      expect(result.stderr).toMatch(/\[STRAND_CONNECTION_REFUSED\]\nconnect attempts: 3\n$/);
    });

    it('--retry-connrefused without --retry is a usage error', async () => {
      const result = await runCli(cli, ['--retry-connrefused', refusing], { require: [countConnects] });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--retry-connrefused needs --retry N/);
      expect(result.stderr).toMatch(/connect attempts: 0\n$/);
    });
  });
});

describe('-C - (resume)', () => {
  it('continues FILE.part with Range and If-Range from the kept ETag, then renames it', async () => {
    const file = join(dir, 'resource.bin');
    writeFileSync(`${file}.part`, whole.subarray(0, 10));
    writeFileSync(`${file}.part.json`, JSON.stringify({ url: `${server.url}/resource.bin`, etag: '"v2"' }));
    const result = await runCli(cli, ['-C', '-', '-o', file, `${server.url}/resource.bin`]);
    expect(result.code).toBe(0);
    expect(server.requests[0]?.headers.range).toBe('bytes=10-');
    expect(server.requests[0]?.headers['if-range']).toBe('"v2"');
    expect(readFileSync(file).equals(whole)).toBe(true);
    expect(readdirSync(dir)).toEqual(['resource.bin']);
  });

  it('starts over when the validator no longer matches (the server sends the whole new version)', async () => {
    const file = join(dir, 'resource.bin');
    writeFileSync(`${file}.part`, 'stale bytes');
    writeFileSync(`${file}.part.json`, JSON.stringify({ url: `${server.url}/resource.bin`, etag: '"v1"' }));
    const result = await runCli(cli, ['-C', '-', '-o', file, `${server.url}/resource.bin`]);
    expect(result.code).toBe(0);
    expect(server.requests[0]?.headers['if-range']).toBe('"v1"');
    expect(readFileSync(file).equals(whole)).toBe(true);
    expect(readdirSync(dir)).toEqual(['resource.bin']);
  });

  it('keeps the validators of an interrupted -o transfer next to FILE.part', async () => {
    const cut = await startServer((_req, res) => {
      res.writeHead(200, { etag: '"e1"', 'last-modified': 'Tue, 01 Jul 2025 00:00:00 GMT', 'content-length': '100' });
      res.write('first forty bytes of a hundred..........');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    try {
      const file = join(dir, 'cut.bin');
      const result = await runCli(cli, ['-o', file, `${cut.url}/cut.bin`]);
      expect(result.code).toBe(18);
      expect(existsSync(file)).toBe(false);
      expect(readFileSync(`${file}.part`, 'utf8')).toBe('first forty bytes of a hundred..........');
      expect(JSON.parse(readFileSync(`${file}.part.json`, 'utf8'))).toEqual({ url: `${cut.url}/cut.bin`, etag: '"e1"', lastModified: 'Tue, 01 Jul 2025 00:00:00 GMT' });
    } finally {
      await cut.close();
    }
  });

  it('uses Last-Modified for If-Range when the ETag is weak', async () => {
    const file = join(dir, 'resource.bin');
    writeFileSync(`${file}.part`, whole.subarray(0, 5));
    writeFileSync(`${file}.part.json`, JSON.stringify({ url: `${server.url}/resource.bin`, etag: 'W/"v2"', lastModified: 'Tue, 01 Jul 2025 00:00:00 GMT' }));
    await runCli(cli, ['-C', '-', '-o', file, `${server.url}/resource.bin`]);
    expect(server.requests[0]?.headers['if-range']).toBe('Tue, 01 Jul 2025 00:00:00 GMT');
  });

  it('takes a complete file (416) as done', async () => {
    const file = join(dir, 'resource.bin');
    writeFileSync(file, whole);
    const result = await runCli(cli, ['-C', '-', '-o', file, `${server.url}/resource.bin`]);
    expect(result.code).toBe(0);
    expect(server.requests[0]?.headers.range).toBe(`bytes=${whole.length}-`);
    expect(readFileSync(file).equals(whole)).toBe(true);
    expect(readdirSync(dir)).toEqual(['resource.bin']);
  });

  it.each([
    [['-C', '-', `http://127.0.0.1:1/x`], /-C - resumes a file: give each URL an -o FILE or -O/],
    [['-C', '100', '-o', 'f', `http://127.0.0.1:1/x`], /-C 100: only "-C -" is supported/],
    [['-C', '-', '-i', '-o', 'f', `http://127.0.0.1:1/x`], /-C - cannot be used with --include/],
  ])('refuses %j', async (args, message) => {
    const result = await runCli(cli, args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

describe('-b / -c cookies', () => {
  it('-b "n=v; n2=v2" sends those cookies to the URL\'s origin only, not across a redirect', async () => {
    const other = await startServer(echo);
    try {
      const same = await runCli(cli, ['-b', 'a=1; b=2', `${server.url}/echo`]);
      expect(echoed(same.stdout).headers['cookie']).toBe('a=1; b=2');
      const away = await runCli(cli, ['-L', '-b', 'a=1', `${server.url}/moved?to=${encodeURIComponent(`${other.url}/echo`)}`]);
      expect(echoed(away.stdout).headers['cookie']).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  it('-c writes the cookies in the Netscape format curl writes, session and HttpOnly ones included', async () => {
    const jar = join(dir, 'jar.txt');
    const result = await runCli(cli, ['-c', jar, `${server.url}/set-cookies`]);
    expect(result.code).toBe(0);
    const lines = readFileSync(jar, 'utf8').split('\n');
    expect(lines[0]).toBe('# Netscape HTTP Cookie File');
    expect(lines).toContain('127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\ts1');
    expect(lines.find((l) => l.startsWith('#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t'))).toMatch(/\t\d{10}\tkeep\tk1$/);
    // A Secure cookie set over http: is not stored (Strand keeps Secure cookies for https only).
    expect(lines.some((l) => l.includes('only'))).toBe(false);
  });

  it('-b FILE sends the file\'s cookies that match the URL: host, path, Secure and expiry', async () => {
    const file = join(dir, 'cookies.txt');
    const future = Math.floor(Date.now() / 1000) + 3600;
    writeFileSync(
      file,
      [
        '# Netscape HTTP Cookie File',
        `127.0.0.1\tFALSE\t/\tFALSE\t${future}\tplain\tp`,
        `#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\thidden\th`,
        `127.0.0.1\tFALSE\t/other\tFALSE\t0\twrongpath\tx`,
        `127.0.0.1\tFALSE\t/\tTRUE\t0\tsecureonly\tx`,
        `127.0.0.1\tFALSE\t/\tFALSE\t1000000000\texpired\tx`,
        `example.com\tFALSE\t/\tFALSE\t0\telsewhere\tx`,
        '',
      ].join('\n'),
    );
    const result = await runCli(cli, ['-b', file, `${server.url}/echo`]);
    expect(echoed(result.stdout).headers['cookie']).toBe('plain=p; hidden=h');
  });

  it('-b FILE -c FILE keeps a session across runs, as curl users do', async () => {
    const jar = join(dir, 'jar.txt');
    await runCli(cli, ['-b', jar, '-c', jar, `${server.url}/set-cookies`]);
    const result = await runCli(cli, ['-b', jar, '-c', jar, `${server.url}/echo`]);
    expect(echoed(result.stdout).headers['cookie']).toBe('session=s1; keep=k1');
    expect(readFileSync(jar, 'utf8')).toContain('\tsession\ts1');
  });

  it('-c - writes the jar to stdout after the body', async () => {
    const result = await runCli(cli, ['-c', '-', `${server.url}/set-cookies`]);
    expect(result.stdout.toString()).toMatch(/^set# Netscape HTTP Cookie File\n[\s\S]*\tsession\ts1\n/);
  });

  it('-b FILE that does not exist yet holds no cookies (as curl); one that cannot be read is a usage error', async () => {
    const missing = await runCli(cli, ['-b', join(dir, 'none.txt'), `${server.url}/echo`]);
    expect(missing.code).toBe(0);
    expect(echoed(missing.stdout).headers['cookie']).toBeUndefined();
    const unreadable = await runCli(cli, ['-b', dir, `${server.url}/echo`]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(/--cookie: cannot read ".*": EISDIR/);
  });
});

describe('--netrc', () => {
  let home: string;
  let other: TestServer;

  beforeEach(async () => {
    home = join(dir, 'home');
    mkdirSync(home);
    other = await startServer(echo);
    writeFileSync(
      join(home, '.netrc'),
      ['machine api.test login ann password "secret word"', '', 'machine other.test', '  login bob', '  password hunter2', 'default login anyone password guessable', ''].join('\n'),
    );
  });

  afterEach(() => other.close());

  const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('sends the credentials of the matching machine', async () => {
    const result = await runCli(cli, ['-n', `http://api.test:${server.port}/echo`], { env: { HOME: home } });
    expect(echoed(result.stdout).headers['authorization']).toBe(basic('ann', 'secret word'));
  });

  it('does not send them to another host on a redirect; that host gets its own', async () => {
    const to = `http://other.test:${other.port}/echo`;
    const result = await runCli(cli, ['--netrc', '-L', `http://api.test:${server.port}/moved?to=${encodeURIComponent(to)}`], { env: { HOME: home } });
    expect(server.requests[0]?.headers.authorization).toBe(basic('ann', 'secret word'));
    expect(echoed(result.stdout).headers['authorization']).toBeUndefined();
  });

  it('uses the default entry for another host, --netrc-file instead of ~/.netrc, and -u over both', async () => {
    const viaDefault = await runCli(cli, ['--netrc', `${server.url}/echo`], { env: { HOME: home } });
    expect(echoed(viaDefault.stdout).headers['authorization']).toBe(basic('anyone', 'guessable'));
    const file = join(dir, 'netrc');
    writeFileSync(file, `machine 127.0.0.1 login carol password c4\n`);
    const viaFile = await runCli(cli, ['--netrc-file', file, `${server.url}/echo`]);
    expect(echoed(viaFile.stdout).headers['authorization']).toBe(basic('carol', 'c4'));
    const viaUser = await runCli(cli, ['--netrc-file', file, '-u', 'dan:d5', `${server.url}/echo`]);
    expect(echoed(viaUser.stdout).headers['authorization']).toBe(basic('dan', 'd5'));
  });

  it('sends nothing without --netrc, or when ~/.netrc is missing', async () => {
    expect(echoed((await runCli(cli, [`http://api.test:${server.port}/echo`], { env: { HOME: home } })).stdout).headers['authorization']).toBeUndefined();
    const empty = join(dir, 'empty-home');
    mkdirSync(empty);
    const result = await runCli(cli, ['--netrc', `http://api.test:${server.port}/echo`], { env: { HOME: empty } });
    expect(result.code).toBe(0);
    expect(echoed(result.stdout).headers['authorization']).toBeUndefined();
  });
});

describe('-x / --proxy', () => {
  let proxy: http.Server;
  let proxyPort: number;
  let seen: Array<{ url: string; auth: string | undefined }>;

  beforeEach(async () => {
    seen = [];
    proxy = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', auth: req.headers['proxy-authorization'] });
      res.end(`via proxy: ${req.method} ${req.url}`);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyPort = (proxy.address() as AddressInfo).port;
  });

  afterEach(async () => {
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  it('sends http: requests to the proxy in absolute form (a proxy without a scheme is http://)', async () => {
    const result = await runCli(cli, ['-x', `127.0.0.1:${proxyPort}`, 'http://origin.test/page']);
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toBe('via proxy: GET http://origin.test/page');
    expect(seen[0]?.auth).toBeUndefined();
  });

  it('sends the proxy URL\'s credentials as Proxy-Authorization', async () => {
    await runCli(cli, ['--proxy', `http://pat:pw@127.0.0.1:${proxyPort}`, 'http://origin.test/']);
    expect(seen[0]?.auth).toBe(`Basic ${Buffer.from('pat:pw').toString('base64')}`);
  });

  it('refuses a proxy scheme it cannot speak', async () => {
    const result = await runCli(cli, ['-x', 'gopher://127.0.0.1:1080', 'http://origin.test/']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^strand: --proxy: /);
  });
});

describe('unknown options', () => {
  it.each([
    [['--locaton'], /unknown option --locaton; did you mean --location\?/],
    [['--max-tim', '3'], /unknown option --max-tim; did you mean --max-time\?/],
    [['--concurrency', '3'], /unknown option --concurrency; it is an option of strand download/],
    [['-Z'], /unknown option -Z \(see strand --help\)/],
  ])('strand %j says what was meant', async (args, message) => {
    const result = await runCli(cli, [...args, 'http://127.0.0.1:1/']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it.each([
    [['--concurency', '3'], /unknown option --concurency; did you mean --concurrency\?/],
    [['--location'], /unknown option --location; it is an option of strand \[URL\.\.\.\]/],
  ])('strand download %j says what was meant', async (args, message) => {
    const result = await runCli(cli, ['download', ...args, 'http://127.0.0.1:1/']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('strand download -c N says -c is the cookie jar now', async () => {
    const result = await runCli(cli, ['download', '-c', '4', 'http://127.0.0.1:1/']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/-c is --cookie-jar FILE, as in curl; for 4 downloads at once use --concurrency 4/);
  });
});
