/**
 * Http2Agent against Node's own http2 server on loopback (h2c with prior knowledge): responses,
 * request bodies and headers, trailers, multiplexing and the session pool.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { type BodyConsumer, type BodyProducer, BytesProducer, type EndpointFactory, ManualClock, FileBodyProducer, ResponseFailedError, InvalidHeaderError, Response, ResponseDone, UNKNOWN_LENGTH, readBody } from '../src/index.js';
import { recordChannels } from './support/channel-events.js';
import { answer, h2TestBench, requestBody, until, untilStalled } from './support/h2-servers.js';

/** A body of `total` bytes written in 16 KiB pieces, as fast as allowed; it records whether it is paused. */
class CountingProducer implements BodyProducer {
  readonly replayable = false;
  written = 0;
  paused = false;
  private consumer: BodyConsumer | null = null;
  private done: (() => void) | null = null;
  private stopped = false;

  constructor(readonly length: number) {}

  startProducing(consumer: BodyConsumer): Promise<void> {
    this.consumer = consumer;
    return new Promise((resolve) => {
      this.done = resolve;
      this.pump();
    });
  }

  pauseProducing(): void {
    this.paused = true;
  }

  resumeProducing(): void {
    this.paused = false;
    setImmediate(() => this.pump());
  }

  stopProducing(): void {
    this.stopped = true;
    this.done?.();
  }

  private pump(): void {
    const piece = Buffer.alloc(16 * 1024, 0x62);
    while (!this.paused && !this.stopped && this.written < this.length) {
      this.written += piece.length;
      this.consumer?.write(piece);
    }
    if (this.written >= this.length) this.done?.();
  }
}

const { agent, server } = h2TestBench();

/** Endpoints that connect every URL to 127.0.0.1:`port` over plain TCP, recording the host of each connection in `hosts`. */
function loopbackEndpoints(port: number, hosts: string[]): EndpointFactory {
  return {
    endpointForURI: (uri) => ({
      key: `test+${uri.host}`,
      connect: () => {
        hosts.push(uri.host);
        return new Promise((resolve, reject) => {
          const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
          socket.once('error', reject);
        });
      },
    }),
  };
}

describe('Http2Agent over h2c', () => {
  test('a GET is answered with a core Response of version 2.0 whose headers carry no pseudo-headers', async () => {
    const srv = await server((stream, headers) => answer(stream, `hello ${String(headers[':path'])}`, { 'x-multi': ['a', 'b'], 'set-cookie': ['a=1', 'b=2'] }));
    const response = await agent().request('GET', `${srv.origin}/greet?x=1`);
    expect(response).toBeInstanceOf(Response);
    expect(response.version).toEqual([2, 0]);
    expect(response.code).toBe(200);
    expect([...response.headers].map(([name]) => name).filter((name) => name.startsWith(':'))).toEqual([]);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(response.headers.getAll('set-cookie')).toEqual(['a=1', 'b=2']);
    expect(response.headers.getAll('x-multi')).toEqual(['a', 'b']);
    expect((await readBody(response)).toString()).toBe('hello /greet?x=1');
    expect(response.timings?.head).toBeDefined();
    expect(response.timings?.end).toBeDefined();
  });

  test('a POST sends its body with content-length, and a body of unknown length without one', async () => {
    const srv = await server((stream, headers) => {
      void requestBody(stream).then((body) => answer(stream, `${String(headers['content-length'])}:${body.toString()}`));
    });
    const a = agent();
    const known = await a.request('POST', `${srv.origin}/known`, null, new BytesProducer('posted bytes'));
    expect((await readBody(known)).toString()).toBe('12:posted bytes');
    const streamed = new FileBodyProducer(
      (async function* () {
        yield 'one,';
        yield 'two';
      })(),
    );
    expect(streamed.length).toBe(UNKNOWN_LENGTH);
    const unknown = await a.request('POST', `${srv.origin}/unknown`, null, streamed);
    expect((await readBody(unknown)).toString()).toBe('undefined:one,two');
  });

  test('request headers are sent in lower case, Host becomes :authority and connection-specific fields are dropped', async () => {
    const srv = await server((stream) => answer(stream, 'ok'));
    const response = await agent().request('GET', `${srv.origin}/h`, {
      'X-Custom': 'Value',
      Host: 'api.example:8443',
      Connection: 'keep-alive, X-Hop',
      'Keep-Alive': 'timeout=5',
      'Proxy-Connection': 'keep-alive',
      Upgrade: 'websocket',
      'X-Hop': 'dropped because Connection names it',
      TE: 'gzip',
    });
    await readBody(response);
    const seen = srv.streams[0]?.headers as http2.IncomingHttpHeaders;
    expect(seen[':authority']).toBe('api.example:8443');
    expect(seen['x-custom']).toBe('Value');
    for (const name of ['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'x-hop', 'te', 'host']) expect(seen[name]).toBeUndefined();
  });

  test('TE: trailers is the one TE value sent', async () => {
    const srv = await server((stream) => answer(stream, 'ok'));
    await readBody(await agent().request('GET', `${srv.origin}/te`, { TE: 'trailers' }));
    expect(srv.streams[0]?.headers['te']).toBe('trailers');
  });

  test('a header value with CR or LF is refused before any stream is opened', async () => {
    const srv = await server((stream) => answer(stream, 'ok'));
    await expect(agent().request('GET', `${srv.origin}/`, { 'X-Bad': 'a\r\nInjected: 1' })).rejects.toBeInstanceOf(InvalidHeaderError);
    expect(srv.sessions).toHaveLength(0);
  });

  test('trailers are on the response once its body has ended', async () => {
    const srv = await server((stream) => {
      stream.respond({ ':status': 200 }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': 'abc123' }));
      stream.end('body with trailers');
    });
    const response = await agent().request('GET', `${srv.origin}/t`);
    expect((await readBody(response)).toString()).toBe('body with trailers');
    expect(response.trailers.get('x-checksum')).toBe('abc123');
  });

  test('a HEAD response and a 204 have no body and end at once', async () => {
    const srv = await server((stream, headers) => {
      if (headers[':path'] === '/empty') {
        stream.respond({ ':status': 204 }, { endStream: true });
        return;
      }
      stream.respond({ ':status': 200, 'content-length': '5' }, { endStream: true });
    });
    const a = agent();
    const head = await a.request('HEAD', `${srv.origin}/h`);
    expect(head.length).toBe(0);
    expect(head.headers.get('content-length')).toBe('5');
    expect(await readBody(head)).toHaveLength(0);
    const empty = await a.request('GET', `${srv.origin}/empty`);
    expect(empty.code).toBe(204);
    expect(await readBody(empty)).toHaveLength(0);
  });

  test('fifty concurrent requests are multiplexed on one session', async () => {
    const srv = await server((stream, headers) => answer(stream, String(headers[':path'])));
    const a = agent();
    const paths = Array.from({ length: 50 }, (_, i) => `/r${i}`);
    const bodies = await Promise.all(paths.map(async (path) => (await readBody(await a.request('GET', `${srv.origin}${path}`))).toString()));
    expect(bodies).toEqual(paths);
    expect(srv.sessions).toHaveLength(1);
    // A later request reuses the idle session.
    await readBody(await a.request('GET', `${srv.origin}/again`));
    expect(srv.sessions).toHaveLength(1);
  });

  test('a second session opens when the first carries the server’s SETTINGS_MAX_CONCURRENT_STREAMS', async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const srv = await server(
      (stream) => {
        held.push(stream);
        // Answer only once four streams are open at the same time: two sessions of two.
        if (held.length === 4) for (const s of held) answer(s, 'ok');
      },
      { maxConcurrentStreams: 2 },
    );
    const a = agent();
    const responses = await Promise.all([1, 2, 3, 4].map((i) => a.request('GET', `${srv.origin}/${i}`)));
    await Promise.all(responses.map((r) => readBody(r)));
    expect(srv.sessions).toHaveLength(2);
    expect(srv.streams.map((s) => s.session).sort()).toEqual([0, 0, 1, 1]);
  });

  test('interim 103 responses reach onInformational and the final head reaches onHead before the promise resolves', async () => {
    const srv = await server((stream) => {
      stream.additionalHeaders({ ':status': 103, link: '</style.css>; rel=preload' });
      answer(stream, 'final');
    });
    const seen: string[] = [];
    const response = await agent().request('GET', `${srv.origin}/hints`, null, null, {
      onInformational: (info) => seen.push(`${info.code} ${info.headers.get('link') ?? ''}`),
      onHead: (head) => seen.push(`head ${head.code} ${head.version.join('.')}`),
    });
    seen.push('resolved');
    expect(seen).toEqual(['103 </style.css>; rel=preload', 'head 200 2.0', 'resolved']);
    expect((await readBody(response)).toString()).toBe('final');
  });

  test('an onHead callback that throws fails the request with ResponseFailedError and resets the stream', async () => {
    let closedWith: number | undefined;
    const srv = await server((stream) => {
      stream.on('close', () => {
        closedWith = stream.rstCode;
      });
      stream.respond({ ':status': 200 });
      stream.write('more to come');
    });
    const failure = agent().request('GET', `${srv.origin}/`, null, null, {
      onHead: () => {
        throw new Error('rejected by the callback');
      },
    });
    await expect(failure).rejects.toBeInstanceOf(ResponseFailedError);
    await until(() => closedWith !== undefined, 'the server saw the stream close');
    expect(closedWith).toBe(http2.constants.NGHTTP2_CANCEL);
  });

  test('a response head larger than maxHeaderBytes fails with ParseError HEADERS_TOO_LARGE and its stream is released', async () => {
    const srv = await server((stream, headers) => {
      if (headers[':path'] === '/big') stream.respond({ ':status': 200, 'x-big': 'a'.repeat(2000) });
      else stream.respond({ ':status': 200 });
      stream.end('the body');
    });
    const a = agent({ maxHeaderBytes: 1024 });
    await expect(a.request('GET', `${srv.origin}/big`)).rejects.toMatchObject({ code: 'STRAND_PARSE_ERROR', kind: 'HEADERS_TOO_LARGE' });
    // The session goes on serving; the bench checks no stream is left open.
    expect((await readBody(await a.request('GET', `${srv.origin}/small`))).toString()).toBe('the body');
  });

  test('a request body is written with back-pressure: the producer is paused while the server does not read', async () => {
    let server2: http2.ServerHttp2Stream | null = null;
    const srv = await server((stream) => {
      server2 = stream;
      // Do not read the body yet: the stream's flow-control window fills up.
      stream.pause();
    });
    const total = 8 * 1024 * 1024;
    const producer = new CountingProducer(total);
    const pending = agent().request('PUT', `${srv.origin}/upload`, null, producer);
    // The stream's flow-control window (64 KiB) and the session's buffers are all that goes out.
    const stalledAt = await untilStalled(() => producer.written, () => producer.paused && server2 !== null, 'the producer stays paused');
    expect(producer.paused).toBe(true);
    expect(stalledAt).toBeLessThan(1024 * 1024);
    const stream = server2 as unknown as http2.ServerHttp2Stream;
    void requestBody(stream).then((body) => answer(stream, String(body.length)));
    stream.resume();
    expect((await readBody(await pending)).toString()).toBe(String(total));
  });

  test('the diagnostics channels tell the life of an HTTP/2 request in order, with one request object throughout', async () => {
    const srv = await server((stream) => {
      void requestBody(stream).then(() => answer(stream, 'ok'));
    });
    const names = ['strand:request:create', 'strand:client:beforeConnect', 'strand:client:connected', 'strand:client:sendHeaders', 'strand:request:bodySent', 'strand:request:headers', 'strand:request:trailers', 'strand:request:error'];
    const events = await recordChannels(names, async () => {
      await readBody(await agent().request('POST', `${srv.origin}/diag`, { 'X-Tag': 'a' }, new BytesProducer('body')));
    });
    expect(events.map(([name]) => name)).toEqual(names.slice(0, -1));
    const requests = new Set(events.filter(([, message]) => 'request' in message).map(([, message]) => message['request']));
    expect(requests.size).toBe(1);
    expect(events.find(([name]) => name === 'strand:client:sendHeaders')?.[1]['headers']).toMatch(/^:method: POST\r\n.*x-tag: a\r\n/s);
  });

  test('a SETTINGS frame that lowers the stream limit mid-session sends the next concurrent requests to a second session', async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const srv = await server((stream, headers, session) => {
      if (headers[':path'] === '/first') {
        // From now on this session takes one stream at a time.
        session.settings({ maxConcurrentStreams: 1 }, () => answer(stream, 'first'));
        return;
      }
      held.push(stream);
      if (held.length === 2) for (const s of held) answer(s, 'ok');
    });
    const a = agent();
    await readBody(await a.request('GET', `${srv.origin}/first`));
    await until(() => Object.values(a.sessionStats())[0]?.streams === 0, 'the first stream closed');
    const responses = await Promise.all([a.request('GET', `${srv.origin}/a`), a.request('GET', `${srv.origin}/b`)]);
    await Promise.all(responses.map((r) => readBody(r)));
    expect(srv.sessions).toHaveLength(2);
    expect(srv.streams.slice(1).map((s) => s.session).sort()).toEqual([0, 1]);
  });

  test('a body read with deliverBody ends with ResponseDone', async () => {
    const srv = await server((stream) => answer(stream, 'x'.repeat(100_000)));
    const response = await agent().request('GET', `${srv.origin}/big`);
    const result = await new Promise<{ size: number; reason: unknown }>((resolve) => {
      let size = 0;
      response.deliverBody({
        dataReceived: (chunk) => {
          size += chunk.length;
        },
        connectionLost: (reason) => resolve({ size, reason }),
      });
    });
    expect(result.size).toBe(100_000);
    expect(result.reason).toBeInstanceOf(ResponseDone);
  });

  test('close() closes the idle sessions and later requests fail with STRAND_CLOSED', async () => {
    const srv = await server((stream) => answer(stream, 'ok'));
    const a = agent();
    await readBody(await a.request('GET', `${srv.origin}/`));
    const closed = new Promise<void>((resolve) => srv.sessions[0]?.once('close', () => resolve()));
    await a.close();
    await closed;
    await expect(a.request('GET', `${srv.origin}/`)).rejects.toMatchObject({ code: 'STRAND_CLOSED' });
    expect(a.sessionStats()).toEqual({});
  });

  test('http: without h2c goes over HTTP/1.1', async () => {
    const plain = http.createServer((_req, res) => res.end(`HTTP/${_req.httpVersion}`));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', () => resolve()));
    try {
      const a = agent({ h2c: false });
      const response = await a.request('GET', `http://127.0.0.1:${(plain.address() as AddressInfo).port}/`);
      expect(response.version).toEqual([1, 1]);
      expect((await readBody(response)).toString()).toBe('HTTP/1.1');
    } finally {
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  test('an endpointFactory gives the sessions their sockets: a plain one speaks h2 with prior knowledge even for an https: URL', async () => {
    const srv = await server((stream, headers) => answer(stream, `${String(headers[':scheme'])} ${String(headers[':authority'])}`));
    const port = Number(new URL(srv.origin).port);
    const keys: string[] = [];
    const endpointFactory = loopbackEndpoints(port, keys);
    const a = agent({ h2c: false, endpointFactory });
    const responses = await Promise.all([1, 2, 3].map(() => a.request('GET', 'https://api.internal.test/')));
    expect(responses.map((r) => r.version)).toEqual([[2, 0], [2, 0], [2, 0]]);
    expect(await Promise.all(responses.map(async (r) => (await readBody(r)).toString()))).toEqual(Array(3).fill('https api.internal.test'));
    expect(keys).toEqual(['api.internal.test']);
    expect(() => agent({ endpointFactory: {} as EndpointFactory })).toThrow(/endpointFactory must be an EndpointFactory/);
  });

  test('the default HTTP/1.1 agent connects through the given endpointFactory too: http: without h2c does not go around it', async () => {
    const plain = http.createServer((req, res) => res.end(`h1 ${String(req.headers.host)}`));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (plain.address() as AddressInfo).port;
      const hosts: string[] = [];
      const endpointFactory = loopbackEndpoints(port, hosts);
      const response = await agent({ h2c: false, endpointFactory }).request('GET', 'http://api.internal.test/');
      expect(response.version).toEqual([1, 1]);
      expect((await readBody(response)).toString()).toBe('h1 api.internal.test');
      expect(hosts).toEqual(['api.internal.test']);
    } finally {
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});

describe('Expect: 100-continue over HTTP/2', () => {
  /** A server that records how many body bytes each stream had received when it chose to answer. */
  function bodyCounter(stream: http2.ServerHttp2Stream): () => number {
    let received = 0;
    stream.on('data', (chunk: Buffer) => (received += chunk.length));
    return () => received;
  }

  test('the body waits for the server’s 100 and is sent after it', async () => {
    let beforeContinue = -1;
    const srv = await server((stream, headers) => {
      const received = bodyCounter(stream);
      setTimeout(() => {
        beforeContinue = received();
        stream.additionalHeaders({ ':status': 100 });
        void requestBody(stream).then(() => answer(stream, `got ${received()} expect=${String(headers['expect'])}`));
      }, 50);
    });
    const response = await agent().request('PUT', `${srv.origin}/upload`, { Expect: '100-continue' }, new BytesProducer('the body'), { expectContinueTimeout: 30_000 });
    expect((await readBody(response)).toString()).toBe('got 8 expect=100-continue');
    expect(beforeContinue).toBe(0);
  });

  test('a final answer before the 100: the body is never sent, and the stream is freed once the response ends', async () => {
    let received: () => number = () => -1;
    let closed: Promise<void> | null = null;
    const srv = await server((stream) => {
      received = bodyCounter(stream);
      closed = new Promise((resolve) => stream.on('close', () => resolve()));
      stream.respond({ ':status': 401 });
      stream.end('log in first');
    });
    const producer = new CountingProducer(64 * 1024);
    const a = agent();
    const response = await a.request('PUT', `${srv.origin}/upload`, { Expect: '100-continue' }, producer, { expectContinueTimeout: 30_000 });
    expect(response.code).toBe(401);
    expect((await readBody(response)).toString()).toBe('log in first');
    await closed;
    expect(producer.written).toBe(0);
    expect(received()).toBe(0);
  });

  test('no 100 within expectContinueTimeout: the body is sent anyway (on the agent’s clock)', async () => {
    const clock = new ManualClock();
    let received: () => number = () => -1;
    const srv = await server((stream) => {
      received = bodyCounter(stream);
      void requestBody(stream).then((body) => answer(stream, `late body: ${body.toString()}`));
    });
    const pending = agent({ clock }).request('POST', `${srv.origin}/x`, { Expect: '100-continue' }, new BytesProducer('held'), { expectContinueTimeout: 500 });
    await until(() => srv.streams.length === 1, 'the request head arrived');
    clock.advance(499);
    // A real pause in which a body sent too early would arrive (the test's clock does not move).
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received()).toBe(0);
    clock.advance(1);
    expect((await readBody(await pending)).toString()).toBe('late body: held');
  });

  test('a 417 answer sends the request once more without the expectation, its body included', async () => {
    const srv = await server((stream, headers) => {
      if (headers['expect'] !== undefined) {
        stream.respond({ ':status': 417 });
        stream.end();
        return;
      }
      void requestBody(stream).then((body) => answer(stream, `no expectation: ${body.toString()}`));
    });
    const response = await agent().request('POST', `${srv.origin}/strict`, { Expect: '100-continue' }, new BytesProducer('replayable'), { expectContinueTimeout: 30_000 });
    expect(response.code).toBe(200);
    expect((await readBody(response)).toString()).toBe('no expectation: replayable');
    expect(srv.streams.map((s) => s.headers['expect'])).toEqual(['100-continue', undefined]);
  });
});

