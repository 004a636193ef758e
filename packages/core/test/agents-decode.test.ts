/**
 * ContentDecoderAgent through a real loopback server with real zlib: every coding, stacking,
 * limits (zip bombs), corrupt and truncated data, back-pressure, and what is left alone.
 */
import { createHash, randomBytes } from 'node:crypto';
import type * as http from 'node:http';
import { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import {
  type BodyTransport,
  BodyTooLargeError,
  CancelledError,
  ContentDecoderAgent,
  DEFAULT_MAX_DECODED_BYTES,
  DecodingError,
  HTTPConnectionPool,
  Headers,
  HttpAgent,
  InvalidArgumentError,
  type Response,
  ResponseDone,
  UNKNOWN_LENGTH,
  defaultDecoders,
  gzipDecoder,
  readBody,
  zstdDecoder,
} from '../src/index.js';
import { text } from './support/agents-helpers.js';
import { type AgentTestServer, startOrigin } from './support/agents-servers.js';
import { pressureState, writeWithBackPressure } from './support/back-pressure.js';
import { eventually } from './support/servers.js';

const ORIGINAL = Buffer.from(Array.from({ length: 20000 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog\n`).join(''));

const zstdCompress = (zlib as unknown as Record<string, unknown>)['zstdCompressSync'] as ((b: Buffer) => Buffer) | undefined;

function encode(coding: string, data: Buffer): Buffer {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gzipSync(data);
    case 'deflate':
      return zlib.deflateSync(data);
    case 'deflate-raw':
      return zlib.deflateRawSync(data);
    case 'br':
      return zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } });
    case 'zstd':
      return (zstdCompress as (b: Buffer) => Buffer)(data);
    default:
      throw new Error(`no encoder for ${coding}`);
  }
}

/** State of the back-pressure endpoint, shared with the test. */
const pressure = pressureState();
let pressureBody = Buffer.alloc(0);

const handler: http.RequestListener = (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const codings = (url.searchParams.get('codings') ?? '').split(',').filter((c) => c !== '');
  switch (url.pathname) {
    case '/encoded': {
      // Applies the codings in order, so "gzip,br" means br(gzip(data)).
      let data: Buffer = ORIGINAL;
      for (const coding of codings) data = encode(coding, data);
      const header = url.searchParams.get('header') ?? codings.map((c) => (c === 'deflate-raw' ? 'deflate' : c)).join(', ');
      res.writeHead(Number(url.searchParams.get('status') ?? '200'), { 'Content-Encoding': header, 'Content-Length': data.length, 'X-Other': 'kept' });
      res.end(req.method === 'HEAD' ? undefined : data);
      return;
    }
    case '/echo-accept':
      res.end(req.headers['accept-encoding'] ?? '(none)');
      return;
    case '/plain':
      res.writeHead(200, { 'Content-Length': ORIGINAL.length });
      res.end(ORIGINAL);
      return;
    case '/not-modified':
      res.writeHead(304, { 'Content-Encoding': 'gzip' });
      res.end();
      return;
    case '/no-content':
      res.writeHead(204, { 'Content-Encoding': 'gzip' });
      res.end();
      return;
    case '/empty':
      res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': 0 });
      res.end();
      return;
    case '/bomb': {
      // About 100 KiB of gzip that inflates to 100 MiB of zeros, streamed chunked.
      const bomb = zlib.gzipSync(Buffer.alloc(100 * 1024 * 1024), { level: 9 });
      res.writeHead(200, { 'Content-Encoding': 'gzip' });
      res.end(bomb);
      return;
    }
    case '/corrupt': {
      const data = Buffer.from(zlib.gzipSync(ORIGINAL));
      data.fill(0x55, 2000, 2100);
      res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': data.length });
      res.end(data);
      return;
    }
    case '/truncated': {
      const coding = codings[0] ?? 'gzip';
      const data = encode(coding, ORIGINAL);
      const cut = data.subarray(0, data.length - 40);
      // Correct framing for the truncated bytes: the HTTP layer sees a complete body.
      res.writeHead(200, { 'Content-Encoding': coding, 'Content-Length': cut.length });
      res.end(cut);
      return;
    }
    case '/trailers': {
      res.writeHead(200, { 'Content-Encoding': 'gzip', 'Transfer-Encoding': 'chunked', Trailer: 'X-Digest' });
      res.write(zlib.gzipSync(ORIGINAL));
      res.addTrailers({ 'X-Digest': 'abc' });
      res.end();
      return;
    }
    case '/pressure':
      res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': pressureBody.length });
      writeWithBackPressure(res, pressureBody, pressure);
      return;
    default:
      res.writeHead(404);
      res.end();
  }
};

let server: AgentTestServer;
let pool: HTTPConnectionPool;
let agent: ContentDecoderAgent;

beforeAll(async () => {
  server = await startOrigin(handler);
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  pool = new HTTPConnectionPool();
  agent = new ContentDecoderAgent(new HttpAgent({ pool }));
});

afterEach(async () => {
  await pool.closeCachedConnections();
});

function url(path: string): string {
  return `${server.url}${path}`;
}

describe('ContentDecoderAgent: decoding', () => {
  it.each(['gzip', 'x-gzip', 'deflate', 'deflate-raw', 'br'])('decodes %s into the original bytes', async (coding) => {
    const response = await agent.request('GET', url(`/encoded?codings=${coding}`));
    expect(response.headers.has('content-encoding')).toBe(false);
    expect(response.headers.has('content-length')).toBe(false);
    expect(response.headers.get('x-other')).toBe('kept');
    expect(response.length).toBe(UNKNOWN_LENGTH);
    const body = await readBody(response, { requireFraming: true });
    expect(body.equals(ORIGINAL)).toBe(true);
  });

  (zstdDecoder === null ? it.skip : it)('decodes zstd (this Node has zlib.createZstdDecompress)', async () => {
    const body = await readBody(await agent.request('GET', url('/encoded?codings=zstd')));
    expect(body.equals(ORIGINAL)).toBe(true);
  });

  it('offers zstd exactly when this Node can decode it', () => {
    const offered = new ContentDecoderAgent(new HttpAgent()).acceptEncoding.split(', ');
    expect(offered.includes('zstd')).toBe(typeof (zlib as unknown as Record<string, unknown>)['createZstdDecompress'] === 'function');
    expect(offered).toEqual(expect.arrayContaining(['gzip', 'deflate', 'br']));
  });

  it('undoes stacked codings in reverse order', async () => {
    const response = await agent.request('GET', url('/encoded?codings=gzip,br'));
    expect(response.headers.has('content-encoding')).toBe(false);
    expect((await readBody(response)).equals(ORIGINAL)).toBe(true);
    const three = await readBody(await agent.request('GET', url('/encoded?codings=deflate,gzip,br')));
    expect(three.equals(ORIGINAL)).toBe(true);
  });

  it('skips identity in the list of codings', async () => {
    const response = await agent.request('GET', url(`/encoded?codings=gzip&header=${encodeURIComponent('identity, gzip')}`));
    expect((await readBody(response)).equals(ORIGINAL)).toBe(true);
  });

  it('refuses more than three stacked codings with a DecodingError', async () => {
    const error = await agent.request('GET', url('/encoded?codings=gzip,gzip,gzip,gzip')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecodingError);
    expect((error as DecodingError).message).toMatch(/4 content codings/);
  });

  it('decodes more stacked codings when allowed to', async () => {
    const lenient = new ContentDecoderAgent(new HttpAgent({ pool }), defaultDecoders(), { maxEncodings: 4 });
    expect((await readBody(await lenient.request('GET', url('/encoded?codings=gzip,gzip,gzip,gzip')))).equals(ORIGINAL)).toBe(true);
  });

  it('keeps the trailers of a decoded chunked body', async () => {
    const response = await agent.request('GET', url('/trailers'));
    expect((await readBody(response)).equals(ORIGINAL)).toBe(true);
    expect(response.trailers.get('x-digest')).toBe('abc');
  });

  it('uses a decoder of your own, and advertises it', async () => {
    const upper = {
      name: 'x-upper',
      createDecoder: () =>
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            callback(null, Buffer.from(chunk.toString('latin1').toUpperCase(), 'latin1'));
          },
        }),
    };
    const custom = new ContentDecoderAgent(new HttpAgent({ pool }), [upper, gzipDecoder]);
    expect(await text(await custom.request('GET', url('/echo-accept')))).toBe('x-upper, gzip');
    const response = await custom.request('GET', url(`/encoded?codings=gzip&header=${encodeURIComponent('x-upper, gzip')}`));
    expect((await readBody(response)).toString()).toBe(ORIGINAL.toString().toUpperCase());
  });
});

describe('ContentDecoderAgent: Accept-Encoding', () => {
  it('sends Accept-Encoding for its decoders', async () => {
    expect(await text(await agent.request('GET', url('/echo-accept')))).toBe(agent.acceptEncoding);
  });

  it("keeps the caller's own Accept-Encoding", async () => {
    expect(await text(await agent.request('GET', url('/echo-accept'), { 'accept-encoding': 'identity' }))).toBe('identity');
  });

  it('passes on a Headers that asks for encodings already, and copies one that does not rather than change it', async () => {
    const inner = new HttpAgent({ pool });
    const seen: unknown[] = [];
    const decoding = new ContentDecoderAgent({
      request: (method, uri, headers, ...rest) => {
        seen.push(headers);
        return inner.request(method, uri, headers, ...rest);
      },
    });
    const asking = new Headers({ 'Accept-Encoding': 'gzip', 'X-Trace': '1' });
    const plain = new Headers({ 'X-Trace': '2' });
    await readBody(await decoding.request('GET', url('/echo-accept'), asking));
    expect(await text(await decoding.request('GET', url('/echo-accept'), plain))).toBe(decoding.acceptEncoding);
    expect(seen[0]).toBe(asking);
    expect(seen[1]).not.toBe(plain);
    expect(plain.has('accept-encoding')).toBe(false);
  });
});

describe('ContentDecoderAgent: what is left alone', () => {
  it('hands back the very response of the inner agent when there is no Content-Encoding', async () => {
    const inner = new HttpAgent({ pool });
    const seen: Response[] = [];
    const decoding = new ContentDecoderAgent({
      request: async (...args) => {
        const response = await inner.request(...args);
        seen.push(response);
        return response;
      },
    });
    const response = await decoding.request('GET', url('/plain'));
    expect(response).toBe(seen[0]);
    expect((await readBody(response)).equals(ORIGINAL)).toBe(true);
    const decoded = await decoding.request('GET', url('/encoded?codings=gzip'));
    expect(decoded).not.toBe(seen[1]);
    expect((await readBody(decoded)).equals(ORIGINAL)).toBe(true);
  });

  it('returns a body without Content-Encoding untouched, Content-Length included', async () => {
    const response = await agent.request('GET', url('/plain'));
    expect(response.length).toBe(ORIGINAL.length);
    expect(response.headers.get('content-length')).toBe(String(ORIGINAL.length));
    expect((await readBody(response)).equals(ORIGINAL)).toBe(true);
  });

  it('leaves a coding it has no decoder for as it came', async () => {
    const onlyBr = new ContentDecoderAgent(new HttpAgent({ pool }), defaultDecoders().filter((d) => d.name === 'br'));
    const response = await onlyBr.request('GET', url('/encoded?codings=gzip'));
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(zlib.gunzipSync(await readBody(response)).equals(ORIGINAL)).toBe(true);
  });

  it('leaves HEAD, 204 and 304 responses alone', async () => {
    const head = await agent.request('HEAD', url('/encoded?codings=gzip'));
    expect(head.headers.get('content-encoding')).toBe('gzip');
    expect(head.headers.has('content-length')).toBe(true);
    await head.dump();
    for (const path of ['/no-content', '/not-modified']) {
      const response = await agent.request('GET', url(path));
      expect(response.headers.get('content-encoding')).toBe('gzip');
      expect((await readBody(response)).length).toBe(0);
    }
  });

  it('turns an empty body with a Content-Encoding into an empty body, not an error', async () => {
    const response = await agent.request('GET', url('/empty'));
    expect((await readBody(response)).length).toBe(0);
  });
});

describe('ContentDecoderAgent: bounds and errors', () => {
  it('stops a gzip bomb with BodyTooLargeError once the output passes the default 64 MiB', async () => {
    const response = await agent.request('GET', url('/bomb'));
    let delivered = 0;
    const error = await new Promise<unknown>((resolve) => {
      response.deliverBody({
        dataReceived(chunk) {
          delivered += chunk.length;
        },
        connectionLost: resolve,
      });
    });
    expect(error).toBeInstanceOf(BodyTooLargeError);
    expect((error as BodyTooLargeError).limit).toBe(DEFAULT_MAX_DECODED_BYTES);
    expect(delivered).toBeLessThanOrEqual(DEFAULT_MAX_DECODED_BYTES);
    expect(delivered).toBeGreaterThan(DEFAULT_MAX_DECODED_BYTES - 1024 * 1024);
  });

  it('honours a smaller maxDecodedBytes', async () => {
    const strict = new ContentDecoderAgent(new HttpAgent({ pool }), defaultDecoders(), { maxDecodedBytes: 100_000 });
    await expect(readBody(await strict.request('GET', url('/encoded?codings=gzip')))).rejects.toMatchObject({ code: 'STRAND_BODY_TOO_LARGE', limit: 100_000 });
  });

  it('fails a corrupt stream with a DecodingError, never a short body', async () => {
    const error = await readBody(await agent.request('GET', url('/corrupt'))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecodingError);
    expect((error as DecodingError).encoding).toBe('gzip');
  });

  it.each(['gzip', 'deflate', 'br'])('fails a truncated %s stream with a DecodingError even when the HTTP framing is complete', async (coding) => {
    const error = await readBody(await agent.request('GET', url(`/truncated?codings=${coding}`))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecodingError);
    expect((error as DecodingError).message).toMatch(/truncated/);
  });

  it('checks the default decoders once and a list it is given every time', () => {
    // Agents built without a list share one checked table of the defaults; a list is checked per agent.
    const first = new ContentDecoderAgent(new HttpAgent());
    const second = new ContentDecoderAgent(new HttpAgent(), undefined, { maxDecodedBytes: 10 });
    const expected = defaultDecoders()
      .map((d) => d.name)
      .join(', ');
    expect(first.acceptEncoding).toBe(expected);
    expect(second.acceptEncoding).toBe(expected);
    expect(second.maxDecodedBytes).toBe(10);
    expect(new ContentDecoderAgent(new HttpAgent(), [gzipDecoder]).acceptEncoding).toBe('gzip');
    expect(() => new ContentDecoderAgent(new HttpAgent(), [{ name: 'bad name', createDecoder: () => new Transform() }])).toThrow(/token/);
    expect(new ContentDecoderAgent(new HttpAgent()).acceptEncoding).toBe(expected);
  });

  it('rejects bad options by name', () => {
    expect(() => new ContentDecoderAgent(new HttpAgent(), [])).toThrow(InvalidArgumentError);
    expect(() => new ContentDecoderAgent(new HttpAgent(), defaultDecoders(), { maxDecodedBytes: 0 })).toThrow(/maxDecodedBytes/);
    expect(() => new ContentDecoderAgent(new HttpAgent(), defaultDecoders(), { maxEncodings: 0 })).toThrow(/maxEncodings/);
    expect(() => new ContentDecoderAgent(new HttpAgent(), [{ name: 'bad name', createDecoder: () => new Transform() }])).toThrow(/token/);
  });
});

describe('ContentDecoderAgent: flow control', () => {
  beforeAll(() => {
    // Incompressible data: the compressed body is as large as the decoded one.
    pressureBody = zlib.gzipSync(randomBytes(24 * 1024 * 1024), { level: 1 });
  });

  it('pauses the server while the consumer is paused, then delivers everything', async () => {
    const response = await agent.request('GET', url('/pressure'));
    const hash = createHash('sha256');
    let transport: BodyTransport | null = null;
    let received = 0;
    let paused = false;
    const ended = new Promise<unknown>((resolve) => {
      response.deliverBody({
        makeConnection(t) {
          transport = t;
        },
        dataReceived(chunk) {
          received += chunk.length;
          hash.update(chunk);
          if (!paused && received > 256 * 1024) {
            paused = true;
            transport?.pauseProducing();
          }
        },
        connectionLost: resolve,
      });
    });
    expect(await eventually(() => paused && pressure.blocked, 5000)).toBe(true);
    const receivedWhilePaused = received;
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Still blocked: nothing drained the socket while the consumer was paused.
    expect(pressure.blocked).toBe(true);
    expect(pressure.finished).toBe(false);
    expect(pressure.sent).toBeLessThan(pressure.total / 2);
    expect(received - receivedWhilePaused).toBeLessThan(1024 * 1024);
    (transport as BodyTransport | null)?.resumeProducing();
    expect(await ended).toBeInstanceOf(ResponseDone);
    expect(pressure.finished).toBe(true);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(zlib.gunzipSync(pressureBody)).digest('hex'));
  });

  it('closes the connection when the consumer abandons the decoded body', async () => {
    const response = await agent.request('GET', url('/pressure'));
    const error = await new Promise<unknown>((resolve) => {
      let transport: BodyTransport | null = null;
      response.deliverBody({
        makeConnection(t) {
          transport = t;
        },
        dataReceived() {
          transport?.stopProducing();
        },
        connectionLost: resolve,
      });
    });
    expect(error).toBeInstanceOf(CancelledError);
    expect(await eventually(() => Object.keys(pool.stats()).length === 0)).toBe(true);
  });
});
