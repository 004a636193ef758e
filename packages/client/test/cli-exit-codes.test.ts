import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  ConnectionRefusedError,
  DNSLookupError,
  DecodingError,
  InvalidRequestError,
  ParseError,
  ProxyError,
  RequestTransmissionFailedError,
  ResponseFailedError,
  ResponseNeverReceivedError,
  TLSHandshakeError,
  TLSHostnameMismatchError,
  TLSUnknownCAError,
  TimeoutError,
} from '@strand/core';
import { DOWNLOAD_OPTIONS } from '../src/cli/download';
import { CommandError, EXIT_TABLE, exitCodeFor } from '../src/cli/exit-codes';
import { FETCH_OPTIONS } from '../src/cli/fetch';
import { buildCli, runCli } from './support/cli';
import { type TestServer, startServer, startTLSServer } from './support/servers';

let cli: string;
let dir: string;

beforeAll(() => {
  cli = buildCli();
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'strand-cli-exit-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A loopback TCP server that runs `onConnection` for each socket; closed after the test. */
async function rawServer(onConnection: (socket: net.Socket) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Answers each request once its head is in, with `reply`. */
function afterHead(reply: (socket: net.Socket) => void): (socket: net.Socket) => void {
  return (socket) => {
    let seen = '';
    socket.on('data', (chunk: Buffer) => {
      if (seen.includes('\r\n\r\n')) return;
      seen += chunk.toString('latin1');
      if (seen.includes('\r\n\r\n')) reply(socket);
    });
  };
}

describe('the exit-code table', () => {
  const url = 'http://127.0.0.1:1/x';
  it.each([
    ['refused', new ConnectionRefusedError('refused', { url }), 7],
    ['DNS', new DNSLookupError('no such host', { url }), 6],
    ['connect timeout', new TimeoutError('connect', 100, false, { url }), 28],
    ['headers timeout', new TimeoutError('headers', 100, true, { url }), 28],
    ['total timeout', new TimeoutError('total', 100, true, { url }), 28],
    ['bad URL', new InvalidRequestError('invalid URL: it contains SP', { url }), 3],
    ['unknown CA', new TLSUnknownCAError('self-signed', { url }), 60],
    ['host name mismatch', new TLSHostnameMismatchError('wrong name', { url }), 60],
    ['TLS handshake', new TLSHandshakeError('wrong version number', { url }), 35],
    ['parse error', new ParseError('INVALID_STATUS_LINE', 'garbage', { url }), 8],
    ['partial body', new ResponseFailedError('cut short', { url }), 18],
    ['empty reply', new ResponseNeverReceivedError('closed', 0, { url }), 52],
    ['reply cut in the head', new ResponseNeverReceivedError('closed', 12, { url }), 56],
    ['send failure', new RequestTransmissionFailedError('reset while sending', { url }), 55],
    ['proxy refused CONNECT', new ProxyError('403', 403, null, { url }), 56],
    ['bad content encoding', new DecodingError('gzip', 'corrupt', { url }), 61],
    ['write error', new CommandError('cannot write', 23), 23],
    ['anything else', new Error('surprise'), 1],
  ])('maps %s to %i', (_name, error, code) => {
    expect(exitCodeFor(error)).toBe(code);
  });

  it('maps a DNS failure to 5 when a proxy is in use (the only name looked up is the proxy\'s)', () => {
    expect(exitCodeFor(new DNSLookupError('no such host'), { proxy: true })).toBe(5);
  });

  it('is in the README\'s CLI section, every row of it, next to every flag of both sub-commands', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## The `strand` command'), readme.indexOf('## Errors'));
    for (const row of EXIT_TABLE) expect(section).toContain(`| ${row.exit} | ${row.curl} |`);
    for (const name of new Set([...Object.keys(FETCH_OPTIONS), ...Object.keys(DOWNLOAD_OPTIONS)])) expect(section).toMatch(new RegExp(`--${name}(?![a-z-])`));
  });

  it('is printed by --help, every row of it', async () => {
    const help = (await runCli(cli, ['--help'])).stdout.toString();
    for (const row of EXIT_TABLE) expect(help).toContain(`${String(row.exit).padStart(2)}  ${row.curl}`);
    const downloadHelp = (await runCli(cli, ['download', '--help'])).stdout.toString();
    for (const row of EXIT_TABLE) expect(downloadHelp).toContain(`${String(row.exit).padStart(2)}  ${row.curl}`);
  });
});

describe('strand exits with curl\'s code for each cause', () => {
  it('1: a scheme that is not http or https', async () => {
    const result = await runCli(cli, ['ftp://127.0.0.1/file']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('strand: unsupported protocol "ftp" in "ftp://127.0.0.1/file" (strand speaks http and https)\n');
  });

  it('3: a URL that does not parse, without its password in the message', async () => {
    const result = await runCli(cli, ['http://ann:hunter2@exa mple/']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^strand: malformed URL/);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('5: a proxy whose host name does not resolve', async () => {
    const result = await runCli(cli, ['-x', 'proxy.invalid:3128', 'http://127.0.0.1:1/']);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/\[STRAND_DNS_LOOKUP_FAILED\]\n$/);
  });

  it('6: a host name that does not resolve', async () => {
    const result = await runCli(cli, ['http://no-such-host.invalid/']);
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/^strand: .*no-such-host\.invalid.*\[STRAND_DNS_LOOKUP_FAILED\]\n$/);
  });

  it('7: a refused connection (a loopback port with nothing listening)', async () => {
    const closed = await startServer(() => {});
    await closed.close();
    const result = await runCli(cli, [`${closed.url}/`]);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/\[STRAND_CONNECTION_REFUSED\]\n$/);
  });

  it('8: a reply that is not HTTP', async () => {
    const server = await rawServer(afterHead((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n')));
    try {
      const result = await runCli(cli, [`${server.url}/`]);
      expect(result.code).toBe(8);
      expect(result.stderr).toMatch(/\[STRAND_PARSE_ERROR\]\n$/);
    } finally {
      await server.close();
    }
  });

  it('18: a body shorter than its Content-Length, after writing what came', async () => {
    const server = await rawServer(afterHead((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b')));
    try {
      const result = await runCli(cli, [`${server.url}/`]);
      expect(result.code).toBe(18);
      expect(result.stdout.toString()).toBe('only ten b');
      expect(result.stderr).toMatch(/\[STRAND_RESPONSE_FAILED\]\n$/);
    } finally {
      await server.close();
    }
  });

  it('22: an HTTP error status with -f', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(503, 'Service Unavailable');
      res.end('later');
    });
    try {
      const result = await runCli(cli, ['-f', `${server.url}/busy`]);
      expect(result.code).toBe(22);
      expect(result.stdout.length).toBe(0);
      expect(result.stderr).toBe(`strand: HTTP 503 Service Unavailable (${server.url}/busy)\n`);
    } finally {
      await server.close();
    }
  });

  describe('with a server', () => {
    let server: TestServer;
    beforeEach(async () => {
      server = await startServer((req, res) => {
        if (req.url === '/loop') {
          res.writeHead(302, { location: '/loop' });
          res.end();
          return;
        }
        if (req.url === '/bad-gzip') {
          const good = gzipSync('x'.repeat(1000));
          res.writeHead(200, { 'content-encoding': 'gzip' });
          res.end(Buffer.concat([good.subarray(0, 10), Buffer.alloc(50, 0xff)]));
          return;
        }
        if (req.url === '/hang') return;
        res.end('body\n');
      });
    });
    afterEach(() => server.close());

    it('23: a body that cannot be written (-o into a missing directory)', async () => {
      const result = await runCli(cli, [`${server.url}/x`, '-o', join(dir, 'missing', 'out.txt')]);
      expect(result.code).toBe(23);
      expect(result.stderr).toMatch(/^strand: cannot write ".*out\.txt\.part": its directory does not exist \(ENOENT\)\n$/);
    });

    it('23: a cookie jar that cannot be written', async () => {
      const result = await runCli(cli, [`${server.url}/x`, '-c', join(dir, 'missing', 'jar.txt')]);
      expect(result.stdout.toString()).toBe('body\n');
      expect(result.code).toBe(23);
      expect(result.stderr).toMatch(/^strand: cannot write the cookie jar ".*jar\.txt": its directory does not exist \(ENOENT\)\n$/);
    });

    it('28: a server that never answers, with -m 0.3', async () => {
      const result = await runCli(cli, ['-m', '0.3', `${server.url}/hang`]);
      expect(result.code).toBe(28);
      expect(result.stderr).toMatch(/timed out after 300 ms .*\[STRAND_TOTAL_TIMEOUT\]\n$/);
    });

    it('28: a connection that does not open in --connect-timeout (a name that never resolves)', async () => {
      const result = await runCli(cli, ['--connect-timeout', '0.2', 'http://slow.hang.test/']);
      expect(result.code).toBe(28);
      expect(result.stderr).toMatch(/\[STRAND_CONNECT_TIMEOUT\]\n$/);
    });

    it('47: more redirects than --max-redirs', async () => {
      const result = await runCli(cli, ['-L', '--max-redirs', '2', `${server.url}/loop`]);
      expect(result.code).toBe(47);
      expect(result.stderr).toMatch(/more than 2 redirects.*\[STRAND_TOO_MANY_REDIRECTS\]\n$/);
    });

    it('61: a compressed body that does not decode', async () => {
      const result = await runCli(cli, [`${server.url}/bad-gzip`]);
      expect(result.code).toBe(61);
      expect(result.stderr).toMatch(/\[STRAND_DECODING_FAILED\]\n$/);
    });
  });

  it('33: a resume answered with a range that does not continue the file', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(206, { 'content-range': 'bytes 0-3/10', 'content-length': '4' });
      res.end('abcd');
    });
    try {
      writeFileSync(join(dir, 'f.bin.part'), 'abcde');
      const result = await runCli(cli, ['-C', '-', '-o', join(dir, 'f.bin'), `${server.url}/f.bin`]);
      expect(result.code).toBe(33);
      expect(result.stderr).toMatch(/cannot resume .* at byte 5: the server answered with Content-Range bytes 0-3\/10/);
    } finally {
      await server.close();
    }
  });

  it('35: a TLS handshake with a server that does not speak TLS', async () => {
    const plain = await startServer((_req, res) => res.end('plain'));
    try {
      const result = await runCli(cli, [plain.url.replace('http:', 'https:')]);
      expect(result.code).toBe(35);
      expect(result.stderr).toMatch(/\[STRAND_TLS_HANDSHAKE_FAILED\]\n$/);
    } finally {
      await plain.close();
    }
  });

  it('52: a server that closes without a byte of response', async () => {
    const server = await rawServer(afterHead((socket) => socket.end()));
    try {
      const result = await runCli(cli, [`${server.url}/`]);
      expect(result.code).toBe(52);
      expect(result.stderr).toMatch(/\[STRAND_RESPONSE_NEVER_RECEIVED\]\n$/);
    } finally {
      await server.close();
    }
  });

  it('56: a proxy that refuses the CONNECT tunnel', async () => {
    const proxy = http.createServer((_req, res) => res.end());
    proxy.on('connect', (_req, socket: net.Socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as AddressInfo;
    try {
      const result = await runCli(cli, ['-x', `127.0.0.1:${port}`, 'https://secure.test/']);
      expect(result.code).toBe(56);
      expect(result.stderr).toMatch(/\[STRAND_PROXY_TUNNEL_FAILED\]\n$/);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('60: a self-signed certificate', async () => {
    const secure = await startTLSServer((_req, res) => res.end('secret'));
    try {
      const result = await runCli(cli, [`${secure.url}/`]);
      expect(result.code).toBe(60);
      expect(result.stderr).toMatch(/\[STRAND_TLS_UNKNOWN_CA\]\n$/);
    } finally {
      await secure.close();
    }
  });
});
