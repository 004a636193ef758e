/**
 * ContentDecoderAgent over @strand/testing's fake agent (the real HttpAgent and parser on
 * in-memory connections to Node's own HTTP server, with real zlib bytes): every coding, corrupt
 * streams, bodies cut short by the transport's `truncate` fault, and back-pressure observed on
 * the server's side. Two cases the fake's server cannot produce (a close-delimited body cut
 * short, a consumer's pause seen by the inner body) use the AgentSpy. The loopback-server tests
 * of the same agent are in agents-decode.test.ts.
 *
 * zlib works on Node's thread pool, so how many event-loop turns a gzip body takes is not
 * fixed: those tests wait on the body's end (a promise), never on a count of turns. The
 * back-pressure tests count what the server sent at given moments, so they use a synchronous
 * coding of their own (`x-xor`), with which everything happens on the event loop and
 * `fake.flush()` means "nothing moves any more".
 */
import { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { AgentSpy, type FakeAgent, type Reply, type Route, createFakeAgent, strandMatchers } from '@strand/testing';
import {
  type BodyEndReason,
  type BodyTransport,
  BodyTooLargeError,
  type ContentDecoder,
  ContentDecoderAgent,
  DecodingError,
  PotentialDataLoss,
  type Response,
  ResponseDone,
  ResponseFailedError,
  UNKNOWN_LENGTH,
  readBody,
} from '../src/index.js';
import { trackFakeAgents } from './support/fake-agents.js';
import { failureOf } from './support/failures.js';

expect.extend(strandMatchers);

/** About 190 KiB of JSON lines: compressible, and long enough to span many chunks. */
const ORIGINAL = Buffer.from(
  Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: i, name: `item ${i}`, tags: ['strand', 'decoder', String(i % 7)] })).join('\n'),
);

/** `size` bytes that do not compress (a fixed linear congruential sequence), so encoded size ≈ decoded size. */
function noise(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  let state = 0x2545f491;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

const track = trackFakeAgents();

function serve(routes: readonly Route[]): FakeAgent {
  return track(createFakeAgent(routes));
}

/**
 * A body consumer that records what it got, and exposes its transport to pause, resume or stop
 * the body. `paused`: pause as soon as it is attached.
 */
class Collector {
  readonly chunks: Buffer[] = [];
  readonly transport: BodyTransport;
  /** Settles with how the body ended. */
  readonly done: Promise<BodyEndReason>;
  /** Settles at the first chunk (or the end). */
  readonly started: Promise<void>;
  ended: BodyEndReason | null = null;

  constructor(response: Response, paused = false) {
    let transport: BodyTransport | null = null;
    let finish!: (reason: BodyEndReason) => void;
    let start!: () => void;
    this.done = new Promise((resolve) => (finish = resolve));
    this.started = new Promise((resolve) => (start = resolve));
    response.deliverBody({
      makeConnection: (t) => void (transport = t),
      dataReceived: (chunk) => {
        this.chunks.push(chunk);
        start();
      },
      connectionLost: (reason) => {
        this.ended = reason;
        start();
        finish(reason);
      },
    });
    if (transport === null) throw new Error('deliverBody did not call makeConnection');
    this.transport = transport;
    // Paused here, after deliverBody returned: a pause from inside makeConnection is not kept
    // (reported to the lead: BodyPipe.attach resumes after makeConnection).
    if (paused) this.transport.pauseProducing();
  }

  get bytes(): number {
    return this.chunks.reduce((sum, c) => sum + c.length, 0);
  }

  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** A synchronous content-coding for the back-pressure tests: every byte XORed with 0x5a. */
function xor(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] as number) ^ 0x5a;
  return out;
}

const xorDecoder: ContentDecoder = {
  name: 'x-xor',
  createDecoder: () =>
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        callback(null, xor(chunk));
      },
    }),
};

interface CodingCase {
  name: string;
  header: string;
  encode: (data: Buffer) => Buffer;
}

const codings: CodingCase[] = [
  { name: 'gzip', header: 'gzip', encode: (d) => zlib.gzipSync(d) },
  { name: 'x-gzip (an alias of gzip)', header: 'x-gzip', encode: (d) => zlib.gzipSync(d) },
  { name: 'br', header: 'br', encode: (d) => zlib.brotliCompressSync(d) },
  { name: 'deflate, zlib-wrapped as RFC 9110 says', header: 'deflate', encode: (d) => zlib.deflateSync(d) },
  { name: 'deflate sent raw, as some servers do', header: 'deflate', encode: (d) => zlib.deflateRawSync(d) },
  { name: 'gzip then br, undone in reverse order', header: 'gzip, br', encode: (d) => zlib.brotliCompressSync(zlib.gzipSync(d)) },
  { name: 'GZIP in capitals, with identity around it', header: 'identity, GZIP', encode: (d) => zlib.gzipSync(d) },
];

describe('ContentDecoderAgent over the fake agent: decoding', () => {
  it.each(codings)('decodes $name to the original bytes and drops the encoding headers', async ({ header, encode }) => {
    const encoded = encode(ORIGINAL);
    const f = serve([{ path: '/data', reply: { headers: { 'Content-Encoding': header, 'Content-Type': 'application/x-ndjson' }, body: encoded } }]);
    const agent = new ContentDecoderAgent(f);
    const response = await agent.request('GET', 'http://cdn.test/data');
    expect(response.headers.get('content-encoding')).toBeUndefined();
    expect(response.headers.get('content-length')).toBeUndefined();
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    expect(response.length).toBe(UNKNOWN_LENGTH);
    expect((await readBody(response)).equals(ORIGINAL)).toBe(true);
    expect(f).toHaveReceivedRequest({ method: 'GET', path: '/data', headers: { 'accept-encoding': agent.acceptEncoding } });
  });

  it('decodes a gzip body streamed in small chunks and keeps its trailers', async () => {
    const encoded = zlib.gzipSync(ORIGINAL);
    async function* pieces(): AsyncGenerator<Buffer> {
      for (let at = 0; at < encoded.length; at += 777) yield encoded.subarray(at, at + 777);
    }
    const f = serve([{ path: '/stream', reply: () => ({ headers: { 'Content-Encoding': 'gzip' }, body: pieces(), trailers: { 'X-Checksum': 'c0ffee' } }) }]);
    const response = await new ContentDecoderAgent(f).request('GET', 'http://cdn.test/stream');
    const collected = new Collector(response);
    expect(await collected.done).toBeInstanceOf(ResponseDone);
    expect(collected.body.equals(ORIGINAL)).toBe(true);
    expect(collected.chunks.length).toBeGreaterThan(1);
    expect(response.trailers.get('x-checksum')).toBe('c0ffee');
  });

  it("sends the caller's own Accept-Encoding instead of its list", async () => {
    const f = serve([{ path: '/', reply: { headers: { 'Content-Encoding': 'gzip' }, body: zlib.gzipSync('plain') } }]);
    const response = await new ContentDecoderAgent(f).request('GET', 'http://cdn.test/', { 'Accept-Encoding': 'gzip;q=1.0' });
    expect((await readBody(response)).toString()).toBe('plain');
    expect(f).toHaveReceivedRequestTimes({ headers: { 'accept-encoding': 'gzip;q=1.0' } }, 1);
  });

  it('leaves a coding it has no decoder for, and a HEAD answer, exactly as they came', async () => {
    const f = serve([
      { method: 'GET', path: '/packed', reply: { headers: { 'Content-Encoding': 'x-custom' }, body: 'opaque!' } },
      { method: 'HEAD', path: '/head', reply: { headers: { 'Content-Encoding': 'gzip' }, body: zlib.gzipSync(ORIGINAL) } },
    ]);
    const agent = new ContentDecoderAgent(f);
    const packed = await agent.request('GET', 'http://cdn.test/packed');
    expect(packed.headers.get('content-encoding')).toBe('x-custom');
    expect(packed.headers.get('content-length')).toBe('7');
    expect((await readBody(packed)).toString()).toBe('opaque!');
    const head = await agent.request('HEAD', 'http://cdn.test/head');
    expect(head.headers.get('content-encoding')).toBe('gzip');
    expect(head.headers.get('content-length')).toBe(String(zlib.gzipSync(ORIGINAL).length));
    expect((await readBody(head)).length).toBe(0);
  });
});

describe('ContentDecoderAgent over the fake agent: corrupt and cut-short bodies', () => {
  it.each([
    ['gzip', Buffer.from('this was never gzip, it is plain text')],
    ['br', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x02, 0x03])],
    ['deflate', Buffer.from('\x78\x9cnot a deflate stream at all', 'latin1')],
  ])('fails a corrupt %s stream with a DecodingError, never a body', async (coding, bytes) => {
    const f = serve([{ path: '/bad', reply: { headers: { 'Content-Encoding': coding }, body: bytes } }]);
    const response = await new ContentDecoderAgent(f).request('GET', 'http://cdn.test/bad');
    const error = await failureOf(readBody(response));
    expect(error).toBeInstanceOf(DecodingError);
    expect((error as DecodingError).code).toBe('STRAND_DECODING_FAILED');
    expect((error as DecodingError).message).toContain(coding);
  });

  it('fails a gzip body whose checksum is wrong even though every byte decoded', async () => {
    const encoded = Buffer.from(zlib.gzipSync(ORIGINAL));
    encoded[encoded.length - 6] = (encoded[encoded.length - 6] as number) ^ 0xff; // inside the CRC-32 trailer
    const f = serve([{ path: '/crc', reply: { headers: { 'Content-Encoding': 'gzip' }, body: encoded } }]);
    const response = await new ContentDecoderAgent(f).request('GET', 'http://cdn.test/crc');
    const collected = new Collector(response);
    expect(await collected.done).toBeInstanceOf(DecodingError);
    expect(collected.bytes).toBeLessThanOrEqual(ORIGINAL.length);
  });

  it.each([
    ['with Content-Length', false],
    ['chunked', true],
  ])('reports a gzip body %s cut short by the transport as a failed response, not as a shorter body', async (_framing, chunked) => {
    const encoded = zlib.gzipSync(ORIGINAL);
    const cut: Reply = { headers: { 'Content-Encoding': 'gzip' }, body: encoded, chunked, fault: { type: 'truncate', bodyBytes: Math.floor(encoded.length / 2) } };
    const f = serve([
      { path: '/cut', times: 1, reply: cut },
      { path: '/cut', reply: { headers: { 'Content-Encoding': 'gzip' }, body: encoded } },
    ]);
    const agent = new ContentDecoderAgent(f);
    const collected = new Collector(await agent.request('GET', 'http://cdn.test/cut'));
    expect(await collected.done).toBeInstanceOf(ResponseFailedError);
    expect(collected.bytes).toBeLessThan(ORIGINAL.length);

    // The connection that was cut is not reused; the next request gets the whole body on a new one.
    const second = await agent.request('GET', 'http://cdn.test/cut');
    expect((await readBody(second)).equals(ORIGINAL)).toBe(true);
    expect(f.connectionsOpened).toBe(2);
    expect(f.requests.map((r) => r.connectionId)).toEqual([1, 2]);
  });

  it('reports a close-delimited gzip body that ends early as truncated (DecodingError)', async () => {
    // Node's HTTP server never sends a close-delimited body to an HTTP/1.1 client: the spy does.
    const spy = new AgentSpy();
    const encoded = zlib.gzipSync(ORIGINAL);
    const pending = new ContentDecoderAgent(spy).request('GET', 'http://cdn.test/old-server');
    const inner = (await spy.nextCall()).respondStreaming({ headers: { 'Content-Encoding': 'gzip', Connection: 'close' } });
    const collected = new Collector(await pending);
    inner.write(encoded.subarray(0, encoded.length - 100));
    inner.end('potential-data-loss'); // what a close-delimited body ends with
    const reason = await collected.done;
    expect(reason).toBeInstanceOf(DecodingError);
    expect((reason as DecodingError).message).toContain('truncated');
  });

  it('passes a complete close-delimited gzip body through as PotentialDataLoss, the same as undecoded', async () => {
    const spy = new AgentSpy();
    const pending = new ContentDecoderAgent(spy).request('GET', 'http://cdn.test/old-server');
    const inner = (await spy.nextCall()).respondStreaming({ headers: { 'Content-Encoding': 'gzip' } });
    const collected = new Collector(await pending);
    inner.write(zlib.gzipSync(ORIGINAL));
    inner.end('potential-data-loss');
    expect(await collected.done).toBeInstanceOf(PotentialDataLoss);
    expect(collected.body.equals(ORIGINAL)).toBe(true);
  });
});

describe('ContentDecoderAgent over the fake agent: back-pressure and limits', () => {
  const DATA = noise(2 * 1024 * 1024);
  const ENCODED = xor(DATA);
  const CHUNK = 16 * 1024;
  const CHUNKS = ENCODED.length / CHUNK;

  /** A route streaming ENCODED (x-xor) in 16 KiB chunks, counting the chunks the server sent. */
  function countingRoute(): { route: Route; sent: () => number } {
    let sent = 0;
    async function* body(): AsyncGenerator<Buffer> {
      for (let i = 0; i < CHUNKS; i++) {
        yield ENCODED.subarray(i * CHUNK, (i + 1) * CHUNK);
        sent++;
      }
    }
    return { route: { path: '/stream', reply: () => ({ headers: { 'Content-Encoding': 'x-xor' }, body: body() }) }, sent: () => sent };
  }

  it('holds the server back while the consumer of the decoded body is paused, then delivers everything', async () => {
    const { route, sent } = countingRoute();
    const f = serve([route]);
    const response = await new ContentDecoderAgent(f, [xorDecoder]).request('GET', 'http://cdn.test/stream');
    const collected = new Collector(response, true);
    await f.flush();
    const [sentWhilePaused, receivedWhilePaused] = [sent(), collected.bytes];
    await f.flush();
    expect([sent(), collected.bytes]).toEqual([sentWhilePaused, receivedWhilePaused]); // nothing moves while paused...
    expect(sentWhilePaused).toBeLessThan(CHUNKS / 4); // ...long before the end of the body

    collected.transport.resumeProducing();
    expect(await collected.done).toBeInstanceOf(ResponseDone);
    expect(sent()).toBe(CHUNKS);
    expect(collected.body.equals(DATA)).toBe(true);
  });

  it("pauses the inner body when the decoded body's consumer pauses, and resumes it after", async () => {
    const spy = new AgentSpy();
    const pending = new ContentDecoderAgent(spy).request('GET', 'http://cdn.test/');
    const inner = (await spy.nextCall()).respondStreaming({ headers: { 'Content-Encoding': 'gzip' } });
    const collected = new Collector(await pending, true);
    expect(inner.paused).toBe(true);
    collected.transport.resumeProducing();
    expect(inner.paused).toBe(false);
    inner.write(zlib.gzipSync('hello'));
    inner.end();
    expect(await collected.done).toBeInstanceOf(ResponseDone);
    expect(collected.body.toString()).toBe('hello');
  });

  it('stops reading from the server once the decoded size passes maxDecodedBytes, and closes the connection', async () => {
    const { route, sent } = countingRoute();
    const f = serve([route]);
    const response = await new ContentDecoderAgent(f, [xorDecoder], { maxDecodedBytes: 64 * 1024 }).request('GET', 'http://cdn.test/stream');
    const error = await failureOf(readBody(response));
    expect(error).toBeInstanceOf(BodyTooLargeError);
    await f.flush();
    expect(sent()).toBeLessThan(CHUNKS / 4);
    expect(f.openConnections).toBe(0);
  });

  it('stops a gzip bomb with BodyTooLargeError, the decoded bytes never past the limit', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(32 * 1024 * 1024)); // 32 MiB of zeros in about 32 KiB
    const f = serve([{ path: '/bomb', reply: { headers: { 'Content-Encoding': 'gzip' }, body: bomb } }]);
    const collected = new Collector(await new ContentDecoderAgent(f, undefined, { maxDecodedBytes: 1024 * 1024 }).request('GET', 'http://cdn.test/bomb'));
    expect(await collected.done).toBeInstanceOf(BodyTooLargeError);
    expect(collected.bytes).toBeLessThanOrEqual(1024 * 1024);
  });

  it('closes the connection when the decoded body is abandoned, so the next request opens another', async () => {
    const { route, sent } = countingRoute();
    const f = serve([route, { path: '/next', reply: 'next' }]);
    const agent = new ContentDecoderAgent(f, [xorDecoder]);
    const collected = new Collector(await agent.request('GET', 'http://cdn.test/stream'));
    await collected.started;
    collected.transport.stopProducing();
    await f.flush();
    expect(sent()).toBeLessThan(CHUNKS / 4);
    expect(f.openConnections).toBe(0);
    expect((await readBody(await agent.request('GET', 'http://cdn.test/next'))).toString()).toBe('next');
    expect(f.requests.map((r) => r.connectionId)).toEqual([1, 2]);
  });
});
