import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import {
  type BodyProducer,
  type BodyTransport,
  BytesProducer,
  CancelledError,
  ConnectionRefusedError,
  FileBodyProducer,
  HttpAgent,
  HTTPConnectionPool,
  InvalidHeaderError,
  InvalidRequestError,
  PotentialDataLoss,
  RequestGenerationFailedError,
  ResponseDone,
  UNKNOWN_LENGTH,
  readBody,
} from '../src/index.js';
import { type TestServer, delay, eventually, startHttpServer, startRawServer } from './support/servers.js';

let server: TestServer;
let agent: HttpAgent;

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://x');
      switch (url.pathname) {
        case '/echo':
          res.setHeader('content-type', 'application/json');
          res.end(
            JSON.stringify({
              method: req.method,
              url: req.url,
              headers: req.headers,
              rawHeaders: req.rawHeaders,
              body: body.toString('latin1'),
              length: body.length,
            }),
          );
          return;
        case '/big': {
          const size = Number(url.searchParams.get('size') ?? '1048576');
          res.setHeader('content-length', size);
          const piece = Buffer.alloc(65536, 97);
          let left = size;
          const pump = (): void => {
            while (left > 0) {
              const n = Math.min(left, piece.length);
              left -= n;
              if (!res.write(piece.subarray(0, n))) {
                res.once('drain', pump);
                return;
              }
            }
            res.end();
          };
          pump();
          return;
        }
        case '/chunked':
          res.write('hello ');
          setTimeout(() => res.end('world'), 5);
          return;
        case '/trailers':
          res.writeHead(200, { 'transfer-encoding': 'chunked', trailer: 'x-checksum' });
          res.write('abc');
          res.addTrailers({ 'x-checksum': 'c0ffee' });
          res.end();
          return;
        case '/early-hints':
          res.writeEarlyHints({ link: '</style.css>; rel=preload' });
          res.end('after hints');
          return;
        case '/slow-head': {
          const timer = setTimeout(() => res.end('late'), 2000);
          res.on('close', () => clearTimeout(timer));
          return;
        }
        case '/slow-body': {
          res.writeHead(200, { 'content-length': '10' });
          res.write('12345');
          const timer = setTimeout(() => res.end('67890'), 2000);
          res.on('close', () => clearTimeout(timer));
          return;
        }
        default:
          res.end('ok');
      }
    });
  });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  agent = new HttpAgent({ pool: new HTTPConnectionPool() });
});

afterEach(async () => {
  await agent.pool.closeCachedConnections();
});

async function json(response: Awaited<ReturnType<HttpAgent['request']>>): Promise<Record<string, unknown>> {
  return JSON.parse((await readBody(response)).toString('utf8')) as Record<string, unknown>;
}

describe('HttpAgent: the seed scenarios of the Twisted client guide', () => {
  it('sends a GET with a custom User-Agent and reads the response head and body', async () => {
    const response = await agent.request('GET', `${server.url}/echo?x=1`, { 'User-Agent': 'Strand test' });
    expect(response.code).toBe(200);
    expect(response.phrase).toBe('OK');
    expect(response.version).toEqual([1, 1]);
    expect(response.headers.get('Content-Type')).toBe('application/json');
    expect(response.request.method).toBe('GET');
    expect(response.request.uri).toBe(`${server.url}/echo?x=1`);
    const echoed = await json(response);
    expect(echoed['url']).toBe('/echo?x=1');
    expect((echoed['headers'] as Record<string, string>)['user-agent']).toBe('Strand test');
    expect((echoed['headers'] as Record<string, string>)['host']).toBe(`127.0.0.1:${server.port}`);
  });

  it('POSTs a body from a BytesProducer with a Content-Length', async () => {
    const response = await agent.request('POST', `${server.url}/echo`, { 'Content-Type': 'text/plain' }, new BytesProducer('hello world'));
    const echoed = await json(response);
    expect(echoed['method']).toBe('POST');
    expect(echoed['body']).toBe('hello world');
    expect((echoed['headers'] as Record<string, string>)['content-length']).toBe('11');
  });

  it('uploads a file from a FileBodyProducer, and a stream of unknown length as chunked', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-agent-'));
    try {
      const file = path.join(dir, 'upload.bin');
      const content = Buffer.alloc(300_000);
      for (let i = 0; i < content.length; i++) content[i] = i % 251;
      fs.writeFileSync(file, content);
      const fromFile = await json(await agent.request('PUT', `${server.url}/echo`, null, new FileBodyProducer(file)));
      expect(fromFile['length']).toBe(content.length);
      expect(Buffer.from(fromFile['body'] as string, 'latin1').equals(content)).toBe(true);
      expect((fromFile['headers'] as Record<string, string>)['content-length']).toBe(String(content.length));

      const fromStream = await json(await agent.request('POST', `${server.url}/echo`, null, new FileBodyProducer(fs.createReadStream(file))));
      expect(fromStream['length']).toBe(content.length);
      expect((fromStream['headers'] as Record<string, string>)['transfer-encoding']).toBe('chunked');
      expect(Buffer.from(fromStream['body'] as string, 'latin1').equals(content)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('streams a body to a protocol that pauses and resumes, delivering nothing while paused', async () => {
    const response = await agent.request('GET', `${server.url}/big?size=2000000`);
    expect(response.length).toBe(2_000_000);
    const events: string[] = [];
    let received = 0;
    let paused = false;
    let deliveredWhilePaused = 0;
    const end = await new Promise<unknown>((resolve) => {
      let transport: BodyTransport;
      response.deliverBody({
        makeConnection(t) {
          transport = t;
        },
        dataReceived(chunk) {
          if (paused) deliveredWhilePaused++;
          received += chunk.length;
          if (events.length === 0) {
            events.push('pause');
            paused = true;
            transport.pauseProducing();
            setTimeout(() => {
              events.push('resume');
              paused = false;
              transport.resumeProducing();
            }, 50);
          }
        },
        connectionLost(reason) {
          resolve(reason);
        },
      });
    });
    expect(end).toBeInstanceOf(ResponseDone);
    expect(events).toEqual(['pause', 'resume']);
    expect(deliveredWhilePaused).toBe(0);
    expect(received).toBe(2_000_000);
  });

  it('reads a whole body with readBody, and refuses one larger than maxBytes', async () => {
    const body = await readBody(await agent.request('GET', `${server.url}/big?size=300000`));
    expect(body.equals(Buffer.alloc(300000, 97))).toBe(true);
    const chunked = await readBody(await agent.request('GET', `${server.url}/chunked`));
    expect(chunked.toString()).toBe('hello world');
    const tooBig = await agent.request('GET', `${server.url}/big?size=100000`);
    await expect(readBody(tooBig, { maxBytes: 1000 })).rejects.toMatchObject({ code: 'STRAND_BODY_TOO_LARGE', limit: 1000 });
  });

  it('cancels a request whose response head is late, and leaves the pool healthy', async () => {
    const controller = new AbortController();
    const pending = agent.request('GET', `${server.url}/slow-head`, null, null, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user gave up')), 30);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CancelledError);
    expect(error).toMatchObject({ code: 'STRAND_CANCELLED' });
    expect(agent.pool.stats()).toEqual({});
    const after = await agent.request('GET', `${server.url}/`);
    expect((await readBody(after)).toString()).toBe('ok');
  });
});

describe('HttpAgent: cancellation in every phase', () => {
  it('rejects at once when the signal is already aborted, opening no connection', async () => {
    const accepted = server.accepted;
    const controller = new AbortController();
    controller.abort();
    await expect(agent.request('GET', `${server.url}/`, null, null, { signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
    expect(server.accepted).toBe(accepted);
  });

  it('fails the body mid-stream with a cancellation error and destroys the socket', async () => {
    const controller = new AbortController();
    const response = await agent.request('GET', `${server.url}/slow-body`, null, null, { signal: controller.signal });
    const iterator = response[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value?.toString()).toBe('12345');
    controller.abort();
    await expect(iterator.next()).rejects.toBeInstanceOf(CancelledError);
    expect(agent.pool.stats()).toEqual({});
  });

  it('cancels while the request body is being sent', async () => {
    const controller = new AbortController();
    let stopped = false;
    const neverEnding: BodyProducer = {
      length: UNKNOWN_LENGTH,
      replayable: false,
      startProducing(consumer) {
        consumer.write(Buffer.from('start'));
        setTimeout(() => controller.abort(), 20);
        return new Promise(() => {});
      },
      pauseProducing() {},
      resumeProducing() {},
      stopProducing() {
        stopped = true;
      },
    };
    await expect(agent.request('POST', `${server.url}/echo`, null, neverEnding, { signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
    expect(stopped).toBe(true);
  });
});

describe('HttpAgent: bodies', () => {
  it('iterates a chunked body with for await and keeps trailers', async () => {
    const response = await agent.request('GET', `${server.url}/trailers`);
    expect(response.length).toBe(UNKNOWN_LENGTH);
    const parts: string[] = [];
    for await (const chunk of response) parts.push(chunk.toString());
    expect(parts.join('')).toBe('abc');
    expect(response.trailers.get('x-checksum')).toBe('c0ffee');
  });

  it('exposes a body as a Node Readable', async () => {
    const response = await agent.request('GET', `${server.url}/chunked`);
    const parts: Buffer[] = [];
    for await (const chunk of response.toReadable()) parts.push(chunk as Buffer);
    expect(Buffer.concat(parts).toString()).toBe('hello world');
  });

  it('refuses to deliver a body twice', async () => {
    const response = await agent.request('GET', `${server.url}/`);
    await readBody(response);
    expect(() => response.deliverBody({ dataReceived() {}, connectionLost() {} })).toThrow(/already been delivered/);
  });

  it('reports interim 1xx responses to onInformational and returns the final one', async () => {
    const infos: number[] = [];
    const response = await agent.request('GET', `${server.url}/early-hints`, null, null, {
      onInformational: (info) => infos.push(info.code) && undefined,
    });
    expect(infos).toEqual([103]);
    expect(response.code).toBe(200);
    expect((await readBody(response)).toString()).toBe('after hints');
  });

  it('treats a HEAD response as bodiless even with a Content-Length, and reuses the connection', async () => {
    const before = server.accepted;
    const head = await agent.request('HEAD', `${server.url}/big?size=5000`);
    expect(head.headers.get('content-length')).toBe('5000');
    expect((await readBody(head)).length).toBe(0);
    const next = await agent.request('GET', `${server.url}/`);
    expect((await readBody(next)).toString()).toBe('ok');
    expect(server.accepted - before).toBe(1);
  });
});

describe('HttpAgent: timings', () => {
  it('records the milestones of an exchange in order, DNS and TCP included for a new connection', async () => {
    const response = await agent.request('GET', `http://localhost:${server.port}/chunked`);
    await readBody(response);
    const t = response.timings;
    expect(t).not.toBeNull();
    const order = [t?.start, t?.connectStart, t?.dnsEnd, t?.tcpEnd, t?.connectEnd, t?.acquired, t?.sent, t?.head, t?.end];
    expect(order.every((v) => typeof v === 'number')).toBe(true);
    for (let i = 1; i < order.length; i++) expect(order[i] as number).toBeGreaterThanOrEqual(order[i - 1] as number);
    expect(t?.tlsEnd).toBeUndefined();
  });

  it('has no connect milestones when an idle connection was reused', async () => {
    await readBody(await agent.request('GET', `${server.url}/`));
    const response = await agent.request('GET', `${server.url}/`);
    await readBody(response);
    expect(response.timings?.connectStart).toBeUndefined();
    expect(response.timings?.tcpEnd).toBeUndefined();
    expect(typeof response.timings?.head).toBe('number');
  });
});

describe('HttpAgent: persistent connections', () => {
  it('reuses one connection for sequential requests once each body was read', async () => {
    const before = server.accepted;
    for (let i = 0; i < 5; i++) {
      const response = await agent.request('GET', `${server.url}/`);
      expect((await readBody(response)).toString()).toBe('ok');
    }
    expect(server.accepted - before).toBe(1);
    expect(Object.values(agent.pool.stats())).toEqual([{ open: 1, idle: 1, inUse: 0, queued: 0 }]);
  });

  it('opens separate connections for concurrent requests and keeps them all', async () => {
    const responses = await Promise.all([1, 2, 3].map(() => agent.request('GET', `${server.url}/`)));
    await Promise.all(responses.map((r) => readBody(r)));
    expect(Object.values(agent.pool.stats())).toEqual([{ open: 3, idle: 3, inUse: 0, queued: 0 }]);
    await agent.pool.closeCachedConnections();
    expect(agent.pool.stats()).toEqual({});
    expect(await eventually(() => server.openSockets() === 0)).toBe(true);
  });

  it('closes each connection after its response when the pool is not persistent', async () => {
    const oneShot = new HttpAgent({ pool: new HTTPConnectionPool({ persistent: false }) });
    const response = await oneShot.request('GET', `${server.url}/echo`);
    const echoed = await json(response);
    expect((echoed['headers'] as Record<string, string>)['connection']).toBe('close');
    expect(oneShot.pool.stats()).toEqual({});
  });
});

describe('HttpAgent: invalid requests are refused before any byte is written', () => {
  it('rejects a CR/LF in a header value, naming the header, without connecting', async () => {
    const before = server.accepted;
    const error = await agent.request('GET', `${server.url}/`, { 'X-Evil': 'a\r\nInjected: yes' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidHeaderError);
    expect(error).toMatchObject({ code: 'STRAND_INVALID_HEADER', headerName: 'X-Evil' });
    await delay(20);
    expect(server.accepted).toBe(before);
  });

  it('rejects a newline smuggled into the URL instead of stripping it', async () => {
    await expect(agent.request('GET', `${server.url}/a\nb`)).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(agent.request('G ET', `${server.url}/`)).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it('fails as request generation when a producer writes fewer bytes than its length', async () => {
    const liar: BodyProducer = {
      length: 10,
      replayable: false,
      async startProducing(consumer) {
        consumer.write(Buffer.from('short'));
      },
      pauseProducing() {},
      resumeProducing() {},
      stopProducing() {},
    };
    const error = await agent.request('POST', `${server.url}/echo`, null, liar).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestGenerationFailedError);
    expect((error as Error).message).toMatch(/wrote 5 bytes but declared 10/);
    expect(agent.pool.stats()).toEqual({});
  });

  it('fails as request generation when a producer writes more bytes than its length', async () => {
    const liar: BodyProducer = {
      length: 2,
      replayable: false,
      async startProducing(consumer) {
        consumer.write(Buffer.from('much too long'));
      },
      pauseProducing() {},
      resumeProducing() {},
      stopProducing() {},
    };
    await expect(agent.request('POST', `${server.url}/echo`, null, liar)).rejects.toBeInstanceOf(RequestGenerationFailedError);
  });

  it('fails as request generation when the producer throws, keeping the cause', async () => {
    const boom = new Error('disk on fire');
    const failing = new FileBodyProducer(
      Readable.from(
        (async function* () {
          yield Buffer.from('part');
          throw boom;
        })(),
      ),
    );
    const error = await agent.request('POST', `${server.url}/echo`, null, failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestGenerationFailedError);
    expect((error as Error).cause).toBe(boom);
  });
});

describe('HttpAgent: connection failures are typed', () => {
  it('reports a refused connection as ConnectionRefusedError with the URL', async () => {
    const closed = await startRawServer(() => {});
    const url = `${closed.url}/x`;
    await closed.close();
    const error = await agent.request('GET', url.replace('http://', 'http://user:pw@')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionRefusedError);
    expect((error as Error).message).not.toContain('pw');
  });

  it('ends a close-delimited body with PotentialDataLoss', async () => {
    const raw = await startRawServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it'));
    });
    try {
      const response = await agent.request('GET', raw.url);
      const reasons: unknown[] = [];
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve) =>
        response.deliverBody({
          dataReceived: (c) => chunks.push(c),
          connectionLost: (r) => {
            reasons.push(r);
            resolve();
          },
        }),
      );
      expect(Buffer.concat(chunks).toString()).toBe('all of it');
      expect(reasons[0]).toBeInstanceOf(PotentialDataLoss);
      expect(agent.pool.stats()).toEqual({});
    } finally {
      await raw.close();
    }
  });
});
