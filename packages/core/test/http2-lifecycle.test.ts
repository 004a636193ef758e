/**
 * Http2Agent's lifecycle and composition: an idle session never keeps the process alive (a
 * child script exits by itself while the server keeps the session open), a stream in flight
 * does; idle sessions close after `sessionIdleTimeout`; the wrapper agents work on top unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ContentDecoderAgent, Http2Agent, ManualClock, RedirectAgent, readBody } from '../src/index.js';
import { bundleScript, runUntilExit } from './support/child-script.js';
import { gc } from './support/gc.js';
import { serverCert } from './fixtures/tls/servers.js';
import { type H2TestServer, answer, startH2TlsServer, startH2cServer, until } from './support/h2-servers.js';

/** How long a child that is done may take to exit: far below any idle timeout, generous for a loaded machine. */
const EXIT_WITHIN = 5000;
const DELAY = 1000;

const ONE_REQUEST = `
import { Http2Agent, readBody } from '@strand/core';
// The idle timeout is far longer than the wait below: only unref'd idle sessions let the child exit.
// https: URLs go over h2 by ALPN (the test CA is trusted through NODE_EXTRA_CA_CERTS).
const agent = new Http2Agent({ h2c: true, sessionIdleTimeout: 600_000 });
void (async () => {
  const response = await agent.request('GET', process.argv[2] as string);
  const body = (await readBody(response)).toString();
  process.stdout.write(JSON.stringify({ body, version: response.version, stats: Object.values(agent.sessionStats()) }));
})();
`;

let srv: H2TestServer;
let tlsSrv: H2TestServer;
let dir: string;
let oneRequest: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-h2-exit-'));
  oneRequest = bundleScript(dir, 'h2-one-request', ONE_REQUEST);
  srv = await startH2cServer((stream, headers) => {
    const url = new URL(String(headers[':path']), 'http://x');
    const wait = Number(url.searchParams.get('delay') ?? 0);
    setTimeout(() => answer(stream, `hello ${url.pathname}`), wait);
  });
  tlsSrv = await startH2TlsServer(serverCert('localhost'), (stream, headers) => answer(stream, `hello tls ${String(headers[':path'])}`));
});

afterAll(async () => {
  await srv.close();
  await tlsSrv.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a script whose HTTP/2 requests are done exits by itself', () => {
  it('exits at once after one request, its session left idle (and open on the server)', async () => {
    const run = await runUntilExit(oneRequest, [`${srv.origin}/one`], EXIT_WITHIN);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ body: 'hello /one', version: [2, 0], stats: [{ sessions: 1 }] });
  });

  it('exits at once after one request over h2 on TLS', async () => {
    const run = await runUntilExit(oneRequest, [`${tlsSrv.origin}/tls`], EXIT_WITHIN, { NODE_EXTRA_CA_CERTS: join(__dirname, 'fixtures', 'tls', 'ca.pem') });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ body: 'hello tls /tls', version: [2, 0], stats: [{ sessions: 1 }] });
  });

  it('stays alive for a response the server delays, then exits', async () => {
    const run = await runUntilExit(oneRequest, [`${srv.origin}/slow?delay=${DELAY}`], DELAY + EXIT_WITHIN);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ body: 'hello /slow' });
  });
});

describe('idle sessions', () => {
  it('closes a session that stayed idle for sessionIdleTimeout, and opens a new one for the next request', async () => {
    const clock = new ManualClock();
    const agent = new Http2Agent({ h2c: true, clock, sessionIdleTimeout: 10_000 });
    try {
      const before = srv.sessions.length;
      await readBody(await agent.request('GET', `${srv.origin}/a`));
      expect(srv.sessions.length).toBe(before + 1);
      const session = srv.sessions[before] as http2.ServerHttp2Session;
      const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
      // The stream closes just after its body ended: the session is idle from then on.
      await until(() => Object.values(agent.sessionStats())[0]?.streams === 0, 'the stream closed');
      clock.advance(9_999);
      expect(session.closed || session.destroyed).toBe(false);
      clock.advance(1);
      await closed;
      await until(() => Object.keys(agent.sessionStats()).length === 0, 'the agent forgot the session');
      await readBody(await agent.request('GET', `${srv.origin}/b`));
      expect(srv.sessions.length).toBe(before + 2);
    } finally {
      await agent.destroy();
    }
  });
});

describe('liveness after idle periods', () => {
  it('checks a session idle for pingAfterIdle with a PING before the next request, and keeps it when it answers', async () => {
    const clock = new ManualClock();
    const agent = new Http2Agent({ h2c: true, clock, pingAfterIdle: 5_000, sessionIdleTimeout: 60_000 });
    try {
      const before = srv.sessions.length;
      await readBody(await agent.request('GET', `${srv.origin}/before`));
      const session = srv.sessions[before] as http2.ServerHttp2Session;
      let pings = 0;
      session.on('ping', () => pings++);
      await until(() => Object.values(agent.sessionStats())[0]?.streams === 0, 'the stream closed');
      await readBody(await agent.request('GET', `${srv.origin}/soon`));
      expect(pings).toBe(0);
      await until(() => Object.values(agent.sessionStats())[0]?.streams === 0, 'the stream closed');
      clock.advance(5_000);
      expect((await readBody(await agent.request('GET', `${srv.origin}/after`))).toString()).toBe('hello /after');
      expect(pings).toBe(1);
      expect(srv.sessions.length).toBe(before + 1);
    } finally {
      await agent.destroy();
    }
  });

  it('drops a session whose peer does not answer the PING and sends the request on a new one', async () => {
    // A TCP relay to the h2c server that can stop relaying: a peer gone without a word.
    const relayed: { client: net.Socket; upstream: net.Socket }[] = [];
    const relay = net.createServer((client) => {
      const upstream = net.connect(Number(new URL(srv.origin).port), '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      relayed.push({ client, upstream });
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', () => resolve()));
    const origin = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
    const clock = new ManualClock();
    const agent = new Http2Agent({ h2c: true, clock, pingAfterIdle: 5_000, sessionIdleTimeout: 60_000, timeouts: { connect: 2_000 } });
    try {
      await readBody(await agent.request('GET', `${origin}/first`));
      await until(() => Object.values(agent.sessionStats())[0]?.streams === 0, 'the stream closed');
      const frozen = relayed[0] as { client: net.Socket; upstream: net.Socket };
      frozen.client.unpipe(frozen.upstream);
      clock.advance(5_000);
      const pending = agent.request('GET', `${origin}/second`);
      // The PING goes nowhere; its wait is the connect timeout.
      await new Promise((resolve) => setTimeout(resolve, 50));
      clock.advance(2_000);
      expect((await readBody(await pending)).toString()).toBe('hello /second');
      expect(relayed).toHaveLength(2);
      expect(Object.values(agent.sessionStats())).toMatchObject([{ sessions: 1 }]);
    } finally {
      await agent.destroy();
      for (const { client, upstream } of relayed) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((resolve) => relay.close(resolve));
    }
  });
});

describe('a response dropped unread', () => {
  it('frees its stream once it is garbage-collected, and the session serves the next request', async () => {
    const agent = new Http2Agent({ h2c: true });
    try {
      await (async () => {
        await agent.request('GET', `${srv.origin}/dropped`);
      })();
      // The stream stays open for a reader that never comes, until the response is collected.
      const streams = (): number | undefined => Object.values(agent.sessionStats())[0]?.streams;
      expect(streams()).toBe(1);
      await until(() => {
        gc();
        return streams() === 0;
      }, 'the dropped response is collected and its stream closed');
      expect((await readBody(await agent.request('GET', `${srv.origin}/after`))).toString()).toBe('hello /after');
    } finally {
      await agent.destroy();
    }
  });
});

describe('wrapper agents work on top of Http2Agent unchanged', () => {
  let wrapped: H2TestServer;
  const text = 'a body worth compressing '.repeat(200);

  beforeAll(async () => {
    wrapped = await startH2cServer((stream, headers) => {
      switch (headers[':path']) {
        case '/gzip':
          stream.respond({ ':status': 200, 'content-encoding': 'gzip', 'content-type': 'text/plain' });
          stream.end(gzipSync(text));
          return;
        case '/moved':
          stream.respond({ ':status': 302, location: '/target' });
          stream.end();
          return;
        default:
          answer(stream, `at ${String(headers[':path'])}`);
      }
    });
  });

  afterAll(() => wrapped.close());

  it('ContentDecoderAgent decodes a gzip body', async () => {
    const agent = new ContentDecoderAgent(new Http2Agent({ h2c: true }));
    try {
      const response = await agent.request('GET', `${wrapped.origin}/gzip`);
      expect(response.version).toEqual([2, 0]);
      expect((await readBody(response)).toString()).toBe(text);
      expect(wrapped.streams.find((s) => s.path === '/gzip')?.headers['accept-encoding']).toMatch(/gzip/);
    } finally {
      await agent.close();
    }
  });

  it('RedirectAgent follows a 302 on the same session', async () => {
    const agent = new RedirectAgent(new Http2Agent({ h2c: true }));
    const sessionsBefore = wrapped.sessions.length;
    try {
      const response = await agent.request('GET', `${wrapped.origin}/moved`);
      expect(response.code).toBe(200);
      expect((await readBody(response)).toString()).toBe('at /target');
      expect(response.previousResponse?.code).toBe(302);
      expect(wrapped.sessions.length).toBe(sessionsBefore + 1);
    } finally {
      await agent.close();
    }
  });
});
