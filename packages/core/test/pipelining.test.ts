import type * as net from 'node:net';
import { CancelledError, ResponseNeverReceivedError, TimeoutError } from '../src/errors.js';
import { HttpAgent } from '../src/http-agent.js';
import { BytesProducer } from '../src/message/producers.js';
import { type Response, readBody } from '../src/message/response.js';
import { HTTPConnectionPool } from '../src/pool/pool.js';
import { ManualClock } from '../src/time/clock.js';
import { type TestServer, eventually, startHttpServer, startRawServer } from './support/servers.js';

/**
 * A raw server that collects request heads per connection and lets the test answer them: each
 * connection's heads arrive in `heads`, and `answer(n, bytes)` writes to the connection that
 * carried the n-th head overall.
 */
interface PipelineServer {
  server: TestServer;
  /** Every request head seen, in order, with the connection it came on. */
  heads: Array<{ head: string; socket: net.Socket; connection: number }>;
  /** The request line of every head, e.g. `GET /a`. */
  lines(): string[];
}

async function startPipelineServer(): Promise<PipelineServer> {
  const heads: PipelineServer['heads'] = [];
  let connections = 0;
  const server = await startRawServer((socket) => {
    const connection = ++connections;
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end + 4);
        buffered = buffered.slice(end + 4);
        // A request with a body announces it; these tests send small ones whole.
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (length !== null) buffered = buffered.slice(Number(length[1]));
        heads.push({ head, socket, connection });
      }
    });
  });
  return { server, heads, lines: () => heads.map(({ head }) => head.split(' ').slice(0, 2).join(' ')) };
}

function ok(body: string, extra = ''): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

function chunked(body: string): string {
  return `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
}

let ps: PipelineServer;
let pool: HTTPConnectionPool;
let agent: HttpAgent;

beforeEach(async () => {
  ps = await startPipelineServer();
  pool = new HTTPConnectionPool({ maxConnectionsPerHost: 1, pipelining: 4 });
  agent = new HttpAgent({ pool });
});

afterEach(async () => {
  await pool.destroy();
  await ps.server.close();
});

async function text(response: Promise<Response>): Promise<string> {
  return (await readBody(await response)).toString();
}

describe('HTTP/1.1 pipelining (opt-in per pool)', () => {
  it('writes idempotent requests behind the first one before any response, and hands out the responses in order', async () => {
    const a = agent.request('GET', `${ps.server.url}/a`);
    expect(await eventually(() => ps.heads.length === 1)).toBe(true);
    const b = agent.request('GET', `${ps.server.url}/b`);
    const c = agent.request('HEAD', `${ps.server.url}/c`);
    expect(await eventually(() => ps.heads.length === 3)).toBe(true);
    expect(ps.lines()).toEqual(['GET /a', 'GET /b', 'HEAD /c']);
    expect(new Set(ps.heads.map((h) => h.connection)).size).toBe(1);
    // All three answers in one write: one read ends a response and starts the next. The HEAD
    // answer announces a length but has no body.
    (ps.heads[0] as { socket: net.Socket }).socket.write(ok('first') + chunked('second') + 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n');
    expect(await text(a)).toBe('first');
    expect(await text(b)).toBe('second');
    const head = await c;
    expect(head.code).toBe(200);
    expect((await readBody(head)).length).toBe(0);
    expect(ps.server.accepted).toBe(1);
  });

  it('keeps a request with a body off a busy connection: it waits until the pipeline drained', async () => {
    const a = agent.request('GET', `${ps.server.url}/a`);
    expect(await eventually(() => ps.heads.length === 1)).toBe(true);
    const post = agent.request('POST', `${ps.server.url}/p`, null, new BytesProducer(Buffer.from('data')));
    const b = agent.request('GET', `${ps.server.url}/b`);
    expect(await eventually(() => ps.heads.length === 2)).toBe(true);
    expect(ps.lines()).toEqual(['GET /a', 'GET /b']);
    const socket = (ps.heads[0] as { socket: net.Socket }).socket;
    socket.write(ok('a') + ok('b'));
    expect(await text(a)).toBe('a');
    expect(await text(b)).toBe('b');
    expect(await eventually(() => ps.heads.length === 3)).toBe(true);
    expect(ps.lines()[2]).toBe('POST /p');
    socket.write(ok('posted'));
    expect(await text(post)).toBe('posted');
  });

  it('sends the pipelined requests a closing server never answered again, on a new connection, and stops pipelining to that origin', async () => {
    const a = agent.request('GET', `${ps.server.url}/a`);
    expect(await eventually(() => ps.heads.length === 1)).toBe(true);
    const b = agent.request('GET', `${ps.server.url}/b`);
    const c = agent.request('GET', `${ps.server.url}/c`);
    expect(await eventually(() => ps.heads.length === 3)).toBe(true);
    // The server answers the first and closes: /b and /c were never answered.
    (ps.heads[0] as { socket: net.Socket }).socket.end(ok('a', 'Connection: close\r\n'));
    expect(await text(a)).toBe('a');
    // They come again on a second connection, one at a time now.
    expect(await eventually(() => ps.heads.length === 4)).toBe(true);
    expect(ps.heads[3]?.connection).toBe(2);
    expect(ps.lines()[3]).toBe('GET /b');
    const second = (ps.heads[3] as { socket: net.Socket }).socket;
    second.write(ok('b'));
    expect(await text(b)).toBe('b');
    expect(await eventually(() => ps.heads.length === 5)).toBe(true);
    expect(ps.lines()[4]).toBe('GET /c');
    const d = agent.request('GET', `${ps.server.url}/d`);
    second.write(ok('c'));
    expect(await text(c)).toBe('c');
    expect(await eventually(() => ps.heads.length === 6)).toBe(true);
    // /d was not written before /c's answer: pipelining is off for this origin now.
    expect(ps.lines()[5]).toBe('GET /d');
    second.write(ok('d'));
    expect(await text(d)).toBe('d');
  });

  it('never sends again a request whose response had started: a close mid-response fails it', async () => {
    const a = agent.request('GET', `${ps.server.url}/a`);
    expect(await eventually(() => ps.heads.length === 1)).toBe(true);
    const b = agent.request('GET', `${ps.server.url}/b`);
    const bFailed = b.then(
      () => null,
      (error: unknown) => error,
    );
    expect(await eventually(() => ps.heads.length === 2)).toBe(true);
    const socket = (ps.heads[0] as { socket: net.Socket }).socket;
    socket.end(ok('a') + 'HTTP/1.1 200 OK\r\nContent-Len');
    expect(await text(a)).toBe('a');
    const error = await bFailed;
    expect(error).toBeInstanceOf(ResponseNeverReceivedError);
    expect((error as ResponseNeverReceivedError).bytesReceived).toBeGreaterThan(0);
    // One connection only: /b was not sent again.
    expect(ps.lines()).toEqual(['GET /a', 'GET /b']);
  });

  it('rejects a queued request whose signal aborts at once; the request ahead still completes and the connection then closes', async () => {
    const a = agent.request('GET', `${ps.server.url}/a`);
    expect(await eventually(() => ps.heads.length === 1)).toBe(true);
    const controller = new AbortController();
    const b = agent.request('GET', `${ps.server.url}/b`, null, null, { signal: controller.signal });
    expect(await eventually(() => ps.heads.length === 2)).toBe(true);
    controller.abort();
    await expect(b).rejects.toBeInstanceOf(CancelledError);
    const socket = (ps.heads[0] as { socket: net.Socket }).socket;
    socket.write(ok('a'));
    expect(await text(a)).toBe('a');
    // /b's answer would come next on that connection: it is closed rather than read.
    expect(await eventually(() => ps.server.openSockets() === 0)).toBe(true);
    expect(pool.stats()).toEqual({});
  });

  it('fails a request that waits in the pipeline past its total timeout, and nothing else', async () => {
    await pool.destroy();
    const clock = new ManualClock();
    pool = new HTTPConnectionPool({ maxConnectionsPerHost: 1, pipelining: 2, clock });
    agent = new HttpAgent({ pool });
    const a = agent.request('GET', `${ps.server.url}/a`);
    expect(await eventually(() => ps.heads.length === 1)).toBe(true);
    const b = agent.request('GET', `${ps.server.url}/b`, null, null, { timeout: { total: 1000 } });
    expect(await eventually(() => ps.heads.length === 2)).toBe(true);
    clock.advance(1000);
    const error: unknown = await b.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).phase).toBe('total');
    (ps.heads[0] as { socket: net.Socket }).socket.write(ok('a'));
    expect(await text(a)).toBe('a');
  });

  it('is off by default: a second request waits for the connection instead of being written behind the first', async () => {
    await pool.destroy();
    pool = new HTTPConnectionPool({ maxConnectionsPerHost: 1 });
    agent = new HttpAgent({ pool });
    const a = agent.request('GET', `${ps.server.url}/a`);
    expect(await eventually(() => ps.heads.length === 1)).toBe(true);
    const b = agent.request('GET', `${ps.server.url}/b`);
    // Give the client every chance to write /b early.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ps.heads).toHaveLength(1);
    const socket = (ps.heads[0] as { socket: net.Socket }).socket;
    socket.write(ok('a'));
    expect(await text(a)).toBe('a');
    expect(await eventually(() => ps.heads.length === 2)).toBe(true);
    socket.write(ok('b'));
    expect(await text(b)).toBe('b');
  });

  it("rejects a pipelining option that is not a whole number of at least 1", () => {
    for (const bad of [0, -1, 1.5, Infinity, Number.NaN]) expect(() => new HTTPConnectionPool({ pipelining: bad })).toThrow(/pipelining/);
  });
});

describe('pipelining against Node’s HTTP server', () => {
  let server: TestServer;
  let seen: string[];
  beforeEach(async () => {
    seen = [];
    server = await startHttpServer((req, res) => {
      seen.push(req.url ?? '');
      // Answer later requests sooner: Node still writes the responses in request order.
      setTimeout(() => res.end(`answer ${req.url}`), req.url === '/1' ? 30 : 1);
    });
  });
  afterEach(() => server.close());

  it('gets every response, in order, for many requests on one connection', async () => {
    const urls = Array.from({ length: 40 }, (_, i) => `${server.url}/${i}`);
    const bodies = await Promise.all(urls.map((url) => agent.request('GET', url).then((r) => readBody(r)).then((b) => b.toString())));
    expect(bodies).toEqual(urls.map((_, i) => `answer /${i}`));
    expect(server.accepted).toBe(1);
    expect(seen).toHaveLength(40);
  });

});
