import { Cookie } from 'tough-cookie';
import { createCookieJar } from '../src/cookies';
import { UsageError, closestOption, normalizeContinue } from '../src/cli/common';
import { COOKIE_FILE_HEADER, formatCookieFile, loadCookieFile, parseCookieFile } from '../src/cli/cookie-file';
import { planDownloads } from '../src/cli/download';
import { netrcCredentials, parseNetrc } from '../src/netrc';
import { ProgressModel, RateMeter, formatEta, formatRate } from '../src/cli/progress';
import { parseHeader } from '../src/cli/session';
import { commandLineUrl, withScheme } from '../src/cli/urls';
import { type TransferReport, parseWriteOut, renderWriteOut } from '../src/cli/write-out';

describe('.netrc', () => {
  const text = [
    '# a comment',
    'machine api.example.com login ann password "two words \\" quoted"',
    'macdef init',
    'cd /pub',
    'get file',
    '',
    'machine API.other.org',
    '  account acct login bob password b0b',
    'default login anon password guest',
  ].join('\n');

  it('finds the entry of a host (case-insensitive), quoted passwords and all, skipping macros and accounts', () => {
    const entries = parseNetrc(text);
    expect(netrcCredentials(entries, 'api.example.com')).toEqual(['ann', 'two words " quoted']);
    expect(netrcCredentials(entries, 'api.other.org')).toEqual(['bob', 'b0b']);
  });

  it('falls back to the default entry, or to nothing without one', () => {
    expect(netrcCredentials(parseNetrc(text), 'elsewhere.net')).toEqual(['anon', 'guest']);
    expect(netrcCredentials(parseNetrc('machine a login x password y'), 'b')).toBeUndefined();
    expect(netrcCredentials(parseNetrc('machine a password y'), 'a')).toBeUndefined();
  });

  it('reads an entry with a login and no password as an empty password, as requests does (one parser for the CLI and the netrc option)', () => {
    expect(netrcCredentials(parseNetrc('machine a login x'), 'a')).toEqual(['x', '']);
  });

  it('matches an IPv6 host given in brackets', () => {
    expect(netrcCredentials(parseNetrc('machine ::1 login v6 password p'), '[::1]')).toEqual(['v6', 'p']);
  });
});

describe('Netscape cookie files', () => {
  const now = Date.UTC(2030, 0, 1);
  const inOneHour = Math.floor(now / 1000) + 3600;

  it('reads host-only and domain cookies, Secure, #HttpOnly_ and session cookies; drops expired and malformed lines', () => {
    const cookies = parseCookieFile(
      [
        '# Netscape HTTP Cookie File',
        `.example.com\tTRUE\t/\tTRUE\t${inOneHour}\tdomain\td`,
        `#HttpOnly_www.example.com\tFALSE\t/app\tFALSE\t0\thost\th`,
        `www.example.com\tFALSE\t/\tFALSE\t1000\told\to`,
        'not\tenough\tfields',
        `www.example.com\tFALSE\t/\tFALSE\tsoon\tbad\tb`,
        `www.example.com\tFALSE\t/\tFALSE\t0\tempty`,
      ].join('\n'),
      now,
    );
    expect(cookies.map((c) => [c.key, c.value, c.domain, c.hostOnly, c.path, c.secure, c.httpOnly])).toEqual([
      ['domain', 'd', 'example.com', false, '/', true, false],
      ['host', 'h', 'www.example.com', true, '/app', false, true],
      ['empty', '', 'www.example.com', true, '/', false, false],
    ]);
    expect(cookies[0]?.expires).toEqual(new Date(inOneHour * 1000));
    expect(cookies[1]?.expires).toBe('Infinity');
  });

  it('writes what it reads, line for line', async () => {
    const lines = [`.example.com\tTRUE\t/\tTRUE\t${inOneHour}\tdomain\td`, `#HttpOnly_www.example.com\tFALSE\t/app\tFALSE\t0\thost\th`];
    const jar = createCookieJar();
    expect(await loadCookieFile(jar, lines.join('\n'))).toBe(2);
    expect(await formatCookieFile(jar, now)).toBe(`${COOKIE_FILE_HEADER}${lines.join('\n')}\n`);
  });

  it('writes a Max-Age cookie with its expiry counted from when it was set, and leaves out expired ones', async () => {
    const jar = createCookieJar();
    await jar.store.putCookie(new Cookie({ key: 'age', value: '1', domain: 'a.example', path: '/', hostOnly: true, maxAge: 60, creation: new Date(now) }));
    await jar.store.putCookie(new Cookie({ key: 'gone', value: '1', domain: 'a.example', path: '/', hostOnly: true, expires: new Date(now - 1000) }));
    expect(await formatCookieFile(jar, now)).toBe(`${COOKIE_FILE_HEADER}a.example\tFALSE\t/\tFALSE\t${now / 1000 + 60}\tage\t1\n`);
  });

  it('gives the jar cookies that it then sends by the file\'s scope', async () => {
    const jar = createCookieJar();
    await loadCookieFile(jar, `.example.com\tTRUE\t/\tFALSE\t0\tdomain\td\nwww.example.com\tFALSE\t/app\tFALSE\t0\thost\th\n`);
    expect(await jar.getCookieString('http://sub.example.com/')).toBe('domain=d');
    expect(await jar.getCookieString('http://www.example.com/app/x')).toBe('host=h; domain=d');
    expect(await jar.getCookieString('http://www.example.com/')).toBe('domain=d');
  });
});

describe('-w formats', () => {
  const report: TransferReport = {
    url: 'http://h/start',
    effectiveUrl: 'http://h/end',
    code: 201,
    contentType: 'text/plain',
    redirects: 2,
    namelookup: 0.001,
    connect: 0.0025,
    appconnect: 0,
    starttransfer: 0.01,
    total: 0.0123456789,
    sizeDownload: 42,
    exitCode: 0,
    errorMessage: '',
  };

  it('renders variables, %% and the backslash escapes curl knows', () => {
    const format = parseWriteOut('%{http_code} %{time_total}s %{size_download}B %{url_effective} 100%% \\t|\\n\\r\\\\ \\x');
    expect(renderWriteOut(format, report)).toBe('201 0.012346s 42B http://h/end 100% \t|\n\r\\ \\x');
  });

  it('prints 000 and the asked URL when there was no response', () => {
    const failed: TransferReport = { ...report, code: null, effectiveUrl: null, exitCode: 7, errorMessage: 'refused' };
    expect(renderWriteOut(parseWriteOut('%{http_code} %{url_effective} %{exitcode} %{errormsg}'), failed)).toBe('000 http://h/start 7 refused');
  });

  it('refuses unknown variables and an unclosed %{', () => {
    expect(() => parseWriteOut('%{nope}')).toThrow(UsageError);
    expect(() => parseWriteOut('%{http_code')).toThrow(/without a closing/);
  });
});

describe('progress numbers', () => {
  it('measures a rate over the recent window', () => {
    const meter = new RateMeter(0, 5000);
    expect(meter.rate(0)).toBeNull();
    meter.add(1000, 500);
    meter.add(1000, 1000);
    expect(meter.rate(1000)).toBe(2000);
    meter.add(5000, 9000);
    expect(meter.rate(9000)).toBe(1000); // only the last 5 s count
  });

  it('formats ETAs and rates', () => {
    expect(formatEta(null)).toBe('--:--');
    expect(formatEta(7.2)).toBe('0:08');
    expect(formatEta(754)).toBe('12:34');
    expect(formatEta(3723)).toBe('1:02:03');
    expect(formatRate(null)).toBe('-- B/s');
    expect(formatRate(1536)).toBe('1.5 KiB/s');
  });

  it('gives each file its bytes, share, speed and ETA, and the whole its own', () => {
    const model = new ProgressModel(4, 0);
    model.start(0, 'a.bin', 4096, 1024, 0);
    model.add(0, 1024, 1000);
    expect(model.fileLine(0, 1000)).toBe('a.bin  2.0 KiB/4.0 KiB  50%  1.0 KiB/s  ETA 0:02');
    model.start(1, 'b.bin', null, 0, 0);
    model.add(1, 100, 1000);
    expect(model.fileLine(1, 1000)).toBe('b.bin  100 B  100 B/s  ETA --:--');
    model.finish(1, false);
    // 1 file done of 4, plus half of a.bin: 1.5/4 of the work in 1 s.
    expect(model.fraction()).toBe(0.375);
    expect(model.overallLine(1000)).toBe('1/4 files  1.1 KiB  1.1 KiB/s  ETA 0:02  1 failed');
  });
});

describe('command-line details', () => {
  it('suggests the closest long option, or a unique prefix', () => {
    const known = ['location', 'max-time', 'max-redirs', 'output', 'header'];
    expect(closestOption('locaton', known)).toBe('location');
    expect(closestOption('max-t', known)).toBe('max-time');
    expect(closestOption('hedaer', known)).toBe('header');
    expect(closestOption('zzz', known)).toBeNull();
  });

  it('reads curl\'s -C - forms as --continue and refuses offsets', () => {
    expect(normalizeContinue(['-C', '-', '-o', 'f', 'u'])).toEqual(['--continue', '-o', 'f', 'u']);
    expect(normalizeContinue(['--continue-at', '-', 'u', '-C-', '--continue-at=-'])).toEqual(['--continue', 'u', '--continue', '--continue']);
    expect(normalizeContinue(['-C', '-P', 'dir'])).toEqual(['--continue', '-P', 'dir']);
    expect(normalizeContinue(['--', '-C', '-'])).toEqual(['--', '-C', '-']);
    expect(() => normalizeContinue(['-C', '100'])).toThrow(/only "-C -" is supported/);
    expect(() => normalizeContinue(['-C100'])).toThrow(UsageError);
  });

  it('reads -H as curl does', () => {
    expect(parseHeader('X-A: 1')).toEqual(['X-A', '1']);
    expect(parseHeader('X-A:')).toEqual(['X-A', null]);
    expect(parseHeader('X-A;')).toEqual(['X-A', '']);
    expect(() => parseHeader('no colon')).toThrow(UsageError);
  });

  it('adds http:// to a URL without a scheme (host:port included) and checks the rest', () => {
    expect(withScheme('example.com/x')).toBe('http://example.com/x');
    expect(withScheme('localhost:8080/x')).toBe('http://localhost:8080/x');
    expect(withScheme('https://example.com')).toBe('https://example.com');
    expect(commandLineUrl(' 127.0.0.1:8080 ')).toBe('http://127.0.0.1:8080');
    expect(() => commandLineUrl('http://')).toThrow(expect.objectContaining({ exitCode: 3 }));
    expect(() => commandLineUrl('file:///etc/passwd')).toThrow(expect.objectContaining({ exitCode: 1 }));
  });

  it('never gives a download the name of another one\'s temporary files', () => {
    const plan = planDownloads(['http://h/x.part', 'http://h/x', 'http://h/x', 'http://h/y.part.json', 'http://h/y'], 'd');
    expect(plan.map((p) => p.file)).toEqual(['d/x.part', 'd/x.1', 'd/x.2', 'd/y.part.json', 'd/y.1']);
  });
});
