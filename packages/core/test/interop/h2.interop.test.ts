/**
 * Http2Agent against real HTTP/2 servers from Debian: nginx (1.22: `listen ... ssl http2`, and
 * h2c with prior knowledge on a cleartext `listen ... http2`) and h2o (2.2). The same behaviours
 * run against both: many streams on one connection (the server's access log names the
 * connection of every request), a large download held back by flow control while its reader is
 * paused, request bodies, HEAD, redirects and decoding over h2, h2c, and a script that exits by
 * itself when done. nginx also sends GOAWAY after `keepalive_requests`: no request is lost.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import {
  type Agent,
  BrowserLikePolicyForHTTPS,
  BytesProducer,
  ContentDecoderAgent,
  Http2Agent,
  type Http2AgentOptions,
  type Http2OriginStats,
  ProxyAgent,
  RedirectAgent,
  ResponseDone,
  type BodyTransport,
  readBody,
} from '../../src/index.js';
import { bundleScript, runUntilExit } from '../support/child-script.js';
import { type H2oServer, h2oAvailable, startH2o } from '../support/h2o.js';
import { until, untilStalled } from '../support/h2-servers.js';
import { type NginxServer, nginxAvailable, startNginx } from '../support/nginx.js';
import { startTinyproxy, tinyproxyAvailable } from '../support/agents-tinyproxy.js';

const FIXTURES = path.resolve(__dirname, '../fixtures/tls');
const CERTS = { cert: path.join(FIXTURES, 'localhost.pem'), key: path.join(FIXTURES, 'localhost.key') };
const CA = fs.readFileSync(path.join(FIXTURES, 'ca.pem'));

const LARGE_SIZE = 8 * 1024 * 1024;
const LARGE = Buffer.alloc(LARGE_SIZE);
for (let i = 0; i < LARGE.length; i += 4096) LARGE.writeUInt32BE(i, i);
const LARGE_DIGEST = createHash('sha256').update(LARGE).digest('hex');
const PAGE = 'a static page\n';
/** Text long enough for both servers to compress it. */
const TEXT = 'strand speaks HTTP/2 to real servers. '.repeat(200);

/** How long a child that is done may take to exit: far below the servers' idle timeouts. */
const EXIT_WITHIN = 5000;

/** The files every server serves from its document root. */
function writeFiles(dir: string): void {
  fs.writeFileSync(path.join(dir, 'www', 'page.txt'), PAGE);
  fs.writeFileSync(path.join(dir, 'www', 'text.txt'), TEXT);
  fs.writeFileSync(path.join(dir, 'www', 'large.bin'), LARGE);
  // nginx's workers drop root for 'nobody' when started as root: let them write uploads.
  fs.mkdirSync(path.join(dir, 'uploads'));
  fs.chmodSync(path.join(dir, 'uploads'), 0o777);
}

/** One access log line: `<connection> <protocol> <method> <path?query> <status>`. */
interface LogLine {
  connection: string;
  protocol: string;
  method: string;
  target: string;
  status: number;
}

function parseLog(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [connection = '', protocol = '', method = '', target = '', status = '0'] = line.trim().split(/\s+/);
      return { connection, protocol, method, target, status: Number(status) };
    });
}

/** A real HTTP/2 server under test, as the shared tests see it. */
interface H2Origin {
  /** `https://localhost:<port>`: h2 chosen by ALPN. */
  readonly tls: string;
  /** `http://127.0.0.1:<port>`: h2c with prior knowledge. */
  readonly h2c: string;
  /** The access log so far, parsed. */
  log(): LogLine[];
  /** Sends `body` to the server and resolves with the bytes it stored or echoed. */
  upload(agent: Agent, body: Buffer): Promise<Buffer>;
  stop(): Promise<void>;
}

/** A new Http2Agent trusting the test CA. */
function h2Agent(options: Http2AgentOptions = {}): Http2Agent {
  return new Http2Agent({ tlsPolicy: new BrowserLikePolicyForHTTPS({ ca: CA }), ...options });
}

/** The sessions `agent` holds once every stream closed (a stream closes just after its body ends). */
async function sessionsWhenIdle(agent: Http2Agent): Promise<number> {
  const stats = (): Http2OriginStats[] => Object.values(agent.sessionStats());
  await until(() => stats().every((s) => s.streams === 0), 'every stream closed');
  return stats().reduce((n, s) => n + s.sessions, 0);
}

const ONE_REQUEST = `
import { Http2Agent, readBody } from '@strand/core';
// The server keeps the session open far longer than the child may take: only an unref'd idle session lets it exit.
const agent = new Http2Agent({ sessionIdleTimeout: 600_000 });
void (async () => {
  const response = await agent.request('GET', process.argv[2] as string);
  const body = (await readBody(response)).toString();
  process.stdout.write(JSON.stringify({ body, version: response.version, sessions: Object.values(agent.sessionStats())[0]?.sessions }));
})();
`;

/** The behaviours every HTTP/2 server must show with Http2Agent. */
function sharedBehaviours(server: () => H2Origin): void {
  const agents: Http2Agent[] = [];
  const agent = (options: Http2AgentOptions = {}): Http2Agent => {
    const made = h2Agent(options);
    agents.push(made);
    return made;
  };
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.close()));
  });

  it('carries 100 concurrent requests on one session: one connection in the server log, all HTTP/2', async () => {
    const a = agent();
    const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => a.request('GET', `${server().tls}/page.txt?many=${i}`)));
    const bodies = await Promise.all(responses.map((r) => readBody(r)));
    expect(responses.every((r) => r.code === 200 && r.version[0] === 2)).toBe(true);
    expect(bodies.every((b) => b.toString() === PAGE)).toBe(true);
    expect(await sessionsWhenIdle(a)).toBe(1);
    const lines = server()
      .log()
      .filter((l) => l.target.includes('many='));
    expect(lines).toHaveLength(100);
    expect(new Set(lines.map((l) => l.connection)).size).toBe(1);
    expect(lines.every((l) => l.protocol.startsWith('HTTP/2'))).toBe(true);
  });

  it('downloads 8 MiB with a paused reader: flow control holds the server back, then the exact bytes arrive', async () => {
    const a = agent();
    const response = await a.request('GET', `${server().tls}/large.bin`);
    expect(response.length).toBe(LARGE_SIZE);
    const hash = createHash('sha256');
    let received = 0;
    let transport: BodyTransport | null = null;
    const ended = new Promise<unknown>((resolve) =>
      response.deliverBody({
        makeConnection: (t) => {
          transport = t;
        },
        dataReceived(chunk) {
          if (received === 0) transport?.pauseProducing();
          received += chunk.length;
          hash.update(chunk);
        },
        connectionLost: resolve,
      }),
    );
    const stalledAt = await untilStalled(() => received, () => received > 0, 'the paused body stops growing', 300);
    // Paused: nothing past the first delivery; the rest waits on the server (stream window 256 KiB).
    expect(stalledAt).toBeLessThan(LARGE_SIZE / 4);
    (transport as BodyTransport | null)?.resumeProducing();
    expect(await ended).toBeInstanceOf(ResponseDone);
    expect(received).toBe(LARGE_SIZE);
    expect(hash.digest('hex')).toBe(LARGE_DIGEST);
  });

  it('sends a 1 MiB request body (larger than the stream window) and the server gets the exact bytes', async () => {
    const body = LARGE.subarray(0, 1024 * 1024);
    const got = await server().upload(agent(), body);
    expect(got.length).toBe(body.length);
    expect(got.equals(body)).toBe(true);
  });

  it('answers HEAD with the length of the file and no body', async () => {
    const response = await agent().request('HEAD', `${server().tls}/large.bin`);
    expect(response.code).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(LARGE_SIZE));
    expect((await readBody(response)).length).toBe(0);
  });

  it('RedirectAgent follows a 302 on the same session', async () => {
    const a = agent();
    const response = await new RedirectAgent(a).request('GET', `${server().tls}/redirect?follow=1`);
    expect(response.code).toBe(200);
    expect((await readBody(response)).toString()).toBe(PAGE);
    const log = server().log();
    const at = log.findIndex((l) => l.target === '/redirect?follow=1');
    expect(log[at]?.status).toBe(302);
    const followed = log.slice(at + 1).find((l) => l.target.startsWith('/page.txt'));
    expect(followed?.status).toBe(200);
    expect(followed?.connection).toBe(log[at]?.connection);
    expect(await sessionsWhenIdle(a)).toBe(1);
  });

  it('ContentDecoderAgent decodes the gzip body the server compressed on the fly', async () => {
    const a = agent();
    const raw = await a.request('GET', `${server().tls}/text.txt`, { 'accept-encoding': 'gzip' });
    expect(raw.headers.get('content-encoding')).toBe('gzip');
    const compressed = await readBody(raw);
    expect(compressed.length).toBeLessThan(TEXT.length / 4);
    const decoded = await new ContentDecoderAgent(a).request('GET', `${server().tls}/text.txt`);
    expect((await readBody(decoded)).toString()).toBe(TEXT);
  });

  it('speaks h2c with prior knowledge on the cleartext port', async () => {
    const response = await agent({ h2c: true }).request('GET', `${server().h2c}/page.txt?h2c=1`);
    expect(response.version).toEqual([2, 0]);
    expect((await readBody(response)).toString()).toBe(PAGE);
    const line = server()
      .log()
      .find((l) => l.target === '/page.txt?h2c=1');
    expect(line?.protocol.startsWith('HTTP/2')).toBe(true);
  });

  it('lets a script exit by itself once its request is done, the session still open on the server', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-h2-interop-exit-'));
    try {
      const script = bundleScript(dir, 'h2-interop-one-request', ONE_REQUEST);
      const run = await runUntilExit(script, [`${server().tls}/page.txt`], EXIT_WITHIN, { NODE_EXTRA_CA_CERTS: path.join(FIXTURES, 'ca.pem') });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ body: PAGE, version: [2, 0], sessions: 1 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

const NGINX_LOG = "log_format strand_h2 '$connection $server_protocol $request_method $request_uri $status';";

/** An nginx server block serving the shared files over h2 (TLS) and h2c, logging every request. */
function nginxServer(extra: string): (port: number, dir: string, tlsPort: number) => string {
  return (port, dir, tlsPort) => `
    listen 127.0.0.1:${port} http2;
    listen 127.0.0.1:${tlsPort} ssl http2;
    ssl_certificate ${CERTS.cert};
    ssl_certificate_key ${CERTS.key};
    access_log ${dir}/access.log strand_h2;
    root ${dir}/www;
    types { text/plain txt; }
    gzip on;
    gzip_types text/plain;
    gzip_min_length 0;
    location = /redirect { return 302 /page.txt; }
    location /uploads/ { alias ${dir}/uploads/; dav_methods PUT; client_max_body_size 16m; }
    ${extra}
  `;
}

function nginxOrigin(nginx: NginxServer): H2Origin {
  let uploads = 0;
  return {
    tls: `https://localhost:${nginx.tlsPort}`,
    h2c: `http://127.0.0.1:${nginx.port}`,
    log: () => parseLog(fs.existsSync(path.join(nginx.dir, 'access.log')) ? fs.readFileSync(path.join(nginx.dir, 'access.log'), 'utf8') : ''),
    // nginx's DAV module stores a PUT; reading the file back shows what arrived.
    async upload(agent, body) {
      const target = `https://localhost:${nginx.tlsPort}/uploads/${++uploads}.bin`;
      const put = await agent.request('PUT', target, null, new BytesProducer(body));
      await readBody(put);
      expect(put.code).toBe(201);
      return fs.readFileSync(path.join(nginx.dir, 'uploads', `${uploads}.bin`));
    },
    stop: () => nginx.stop(),
  };
}

(nginxAvailable() ? describe : describe.skip)('interop: HTTP/2 with nginx', () => {
  let origin: H2Origin;
  beforeAll(async () => {
    origin = nginxOrigin(await startNginx(nginxServer('keepalive_requests 100000;'), writeFiles, NGINX_LOG));
  });
  afterAll(async () => {
    await origin?.stop();
  });

  sharedBehaviours(() => origin);

  (tinyproxyAvailable() ? it : it.skip)('ProxyAgent({ http2: true }) reaches nginx over h2 through tinyproxy’s CONNECT tunnel: 20 concurrent requests on one connection', async () => {
    const proxy = await startTinyproxy({ connectPorts: [Number(new URL(origin.tls).port)] });
    const agent = new ProxyAgent(proxy.url, { http2: true, tlsPolicy: new BrowserLikePolicyForHTTPS({ ca: CA }) });
    try {
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => agent.request('GET', `${origin.tls}/page.txt?tunnel=${i}`)));
      expect(responses.every((r) => r.version[0] === 2)).toBe(true);
      expect((await Promise.all(responses.map((r) => readBody(r)))).every((b) => b.toString() === PAGE)).toBe(true);
      const lines = origin.log().filter((l) => l.target.includes('tunnel='));
      expect(lines).toHaveLength(20);
      expect(new Set(lines.map((l) => l.connection)).size).toBe(1);
    } finally {
      await agent.close();
      await proxy.stop();
    }
  });

  describe('with keepalive_requests 10 (nginx ends each connection with GOAWAY after 10 requests)', () => {
    let limited: H2Origin;
    beforeAll(async () => {
      limited = nginxOrigin(await startNginx(nginxServer('keepalive_requests 10;'), writeFiles, NGINX_LOG));
    });
    afterAll(async () => {
      await limited?.stop();
    });

    it('re-sends the requests past the GOAWAY on new sessions: 60 concurrent requests, none lost', async () => {
      const agent = h2Agent();
      try {
        const results = await Promise.allSettled(
          Array.from({ length: 60 }, async (_, i) => {
            const response = await agent.request(i % 2 === 0 ? 'GET' : 'POST', `${limited.tls}/page.txt?goaway=${i}`, null, i % 2 === 0 ? null : new BytesProducer(`post ${i}`));
            return { code: response.code, body: (await readBody(response)).toString() };
          }),
        );
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        // nginx answers a POST to a static file with 405; what matters is that every request got its answer.
        expect(results.map((r) => (r.status === 'fulfilled' ? r.value.code : 0))).toEqual(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? 200 : 405)));
        const lines = limited.log().filter((l) => l.target.includes('goaway='));
        expect(lines).toHaveLength(60);
        const perConnection = new Map<string, number>();
        for (const l of lines) perConnection.set(l.connection, (perConnection.get(l.connection) ?? 0) + 1);
        expect(perConnection.size).toBeGreaterThanOrEqual(6);
        expect(Math.max(...perConnection.values())).toBeLessThanOrEqual(10);
      } finally {
        await agent.close();
      }
    });

    it('keeps going across GOAWAYs for 35 sequential requests on one agent', async () => {
      const agent = h2Agent();
      try {
        for (let i = 0; i < 35; i++) {
          const response = await agent.request('GET', `${limited.tls}/page.txt?seq=${i}`);
          expect((await readBody(response)).toString()).toBe(PAGE);
        }
        expect(new Set(limited.log().filter((l) => l.target.includes('seq=')).map((l) => l.connection)).size).toBe(4);
      } finally {
        await agent.close();
      }
    });
  });
});

(h2oAvailable() ? describe : describe.skip)('interop: HTTP/2 with h2o', () => {
  let origin: H2Origin;
  let h2o: H2oServer;
  beforeAll(async () => {
    h2o = await startH2o(
      CERTS,
      '%{connection-id}x %H %m %U%q %s',
      (dir) => `      /redirect:
        redirect:
          url: /page.txt
          status: 302
      /echo:
        mruby.handler: |
          Proc.new do |env|
            [200, {"content-type" => "application/octet-stream"}, [env["rack.input"].read]]
          end
      /:
        file.dir: ${dir}/www
        compress: ON`,
      writeFiles,
    );
    origin = {
      tls: `https://localhost:${h2o.tlsPort}`,
      h2c: `http://127.0.0.1:${h2o.port}`,
      log: () => parseLog(h2o.accessLog()),
      // h2o's mruby handler echoes the body.
      async upload(agent, body) {
        const response = await agent.request('POST', `https://localhost:${h2o.tlsPort}/echo`, null, new BytesProducer(body));
        expect(response.code).toBe(200);
        return readBody(response);
      },
      stop: () => h2o.stop(),
    };
  });
  afterAll(async () => {
    await origin?.stop();
  });

  sharedBehaviours(() => origin);
});
