// Sockets from Strand's endpoints read through Node's `onread`: into one scratch buffer shared by
// every socket, or straight into a body consumer's own buffer. These tests pin what that must
// never break: chunks a consumer keeps are never overwritten by later reads, bytes after a body
// never land in the body, and the socket still behaves as a socket for anyone else.
import { createHash } from 'node:crypto';
import type * as http from 'node:http';
import type * as net from 'node:net';
import {
  type BodyEndReason,
  type BodyProtocol,
  BrowserLikePolicyForHTTPS,
  type ConnectionOwner,
  HTTP11Connection,
  HTTPConnectionPool,
  HttpAgent,
  type Response,
  ResponseDone,
  StandardEndpointFactory,
  TCPEndpoint,
  readBody,
} from '../src/index.js';
import { type TestServer, eventually, onRequestHead, startHttpServer, startRawServer } from './support/servers.js';
import { type LoopbackServer, pem, serverCert, startHttpsServer } from './fixtures/tls/servers.js';

/** `size` bytes that differ from one body to the next and from one offset to the next. */
function pattern(seed: number, size: number): Buffer {
  const body = Buffer.allocUnsafe(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    body[i] = x >>> 24;
  }
  return body;
}

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Serves /pattern?seed=S&size=N[&piece=P] in writes of P bytes (default 8 KiB), yielding to the
 * event loop between them, so reads of concurrent responses interleave.
 */
const patternHandler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  const url = new URL(req.url ?? '/', 'http://x');
  const body = pattern(Number(url.searchParams.get('seed')), Number(url.searchParams.get('size')));
  const pieceSize = Number(url.searchParams.get('piece') ?? 8192);
  res.setHeader('content-length', body.length);
  let offset = 0;
  const pump = (): void => {
    if (offset >= body.length) {
      res.end();
      return;
    }
    const piece = body.subarray(offset, offset + pieceSize);
    offset += piece.length;
    if (res.write(piece)) setImmediate(pump);
    else res.once('drain', pump);
  };
  pump();
};

/** A protocol that keeps every chunk it is given, as given (no copy), like most streaming consumers. */
class KeepingProtocol implements BodyProtocol {
  readonly chunks: Buffer[] = [];
  readonly ended: Promise<BodyEndReason>;
  private resolveEnd!: (reason: BodyEndReason) => void;
  constructor() {
    this.ended = new Promise((resolve) => (this.resolveEnd = resolve));
  }
  dataReceived(chunk: Buffer): void {
    this.chunks.push(chunk);
  }
  connectionLost(reason: BodyEndReason): void {
    this.resolveEnd(reason);
  }
}

describe('direct socket reads over TCP', () => {
  let server: TestServer;
  let agent: HttpAgent;

  beforeAll(async () => {
    server = await startHttpServer(patternHandler);
  });
  afterAll(() => server.close());
  beforeEach(() => {
    agent = new HttpAgent({ pool: new HTTPConnectionPool() });
  });
  afterEach(() => agent.pool.closeCachedConnections());

  it('never overwrites the chunks a streaming consumer keeps while other sockets go on reading', async () => {
    const seeds = [1, 2, 3, 4];
    const size = 600_000;
    // Small and large writes: reads that fill a read buffer and reads that do not.
    const responses = await Promise.all(seeds.map((seed) => agent.request('GET', `${server.url}/pattern?seed=${seed}&size=${size}&piece=${seed % 2 === 0 ? 8192 : 200_000}`)));
    const protocols = responses.map((response) => {
      const protocol = new KeepingProtocol();
      response.deliverBody(protocol);
      return protocol;
    });
    const reasons = await Promise.all(protocols.map((p) => p.ended));
    for (const reason of reasons) expect(reason).toBeInstanceOf(ResponseDone);
    protocols.forEach((protocol, i) => {
      expect(protocol.chunks.length).toBeGreaterThan(1);
      expect(sha(Buffer.concat(protocol.chunks))).toBe(sha(pattern(seeds[i] as number, size)));
    });
  });

  it('reads concurrent bodies of known length with readBody, each exactly as sent', async () => {
    const seeds = [11, 12, 13];
    const size = 1_000_003;
    const bodies = await Promise.all(seeds.map(async (seed) => readBody(await agent.request('GET', `${server.url}/pattern?seed=${seed}&size=${size}`))));
    bodies.forEach((body, i) => {
      expect(body.length).toBe(size);
      expect(sha(body)).toBe(sha(pattern(seeds[i] as number, size)));
    });
  });

  it('reads the rest of a body straight into the buffer a consumer offers', async () => {
    const size = 512 * 1024;
    const response = await agent.request('GET', `${server.url}/pattern?seed=7&size=${size}`);
    const target = Buffer.alloc(size);
    let filled = 0;
    let inPlace = 0;
    const ended = new Promise<BodyEndReason>((resolve) => {
      response.deliverBody({
        receiveBuffer: () => target.subarray(filled),
        dataReceived(chunk) {
          if (chunk.buffer === target.buffer && chunk.byteOffset === target.byteOffset + filled) inPlace += chunk.length;
          else chunk.copy(target, filled);
          filled += chunk.length;
        },
        connectionLost: resolve,
      });
    });
    expect(await ended).toBeInstanceOf(ResponseDone);
    expect(filled).toBe(size);
    expect(sha(target)).toBe(sha(pattern(7, size)));
    // The first bytes came with the head, through the shared buffer; most of the rest in place.
    expect(inPlace).toBeGreaterThan(size / 2);
  });

  it('keeps a body that came with its head intact after later reads on other sockets', async () => {
    const first = await agent.request('GET', `${server.url}/pattern?seed=21&size=100`);
    const early = await readBody(first);
    // Many more reads through the shared buffer.
    await Promise.all([22, 23, 24].map(async (seed) => readBody(await agent.request('GET', `${server.url}/pattern?seed=${seed}&size=5000`))));
    expect(sha(early)).toBe(sha(pattern(21, 100)));
  });
});

describe('direct socket reads: streaming consumers', () => {
  it('gives consumers of a chunked body every byte, in order, kept chunk by chunk or read whole', async () => {
    const body = pattern(51, 300_000);
    const server = await startHttpServer((_req, res) => {
      res.setHeader('transfer-encoding', 'chunked');
      let offset = 0;
      const pump = (): void => {
        if (offset >= body.length) {
          res.end();
          return;
        }
        const piece = body.subarray(offset, offset + 5000 + (offset % 7919));
        offset += piece.length;
        if (res.write(piece)) setImmediate(pump);
        else res.once('drain', pump);
      };
      pump();
    });
    const agent = new HttpAgent({ pool: new HTTPConnectionPool() });
    try {
      const [a, b, c] = await Promise.all([agent.request('GET', `${server.url}/a`), agent.request('GET', `${server.url}/b`), agent.request('GET', `${server.url}/c`)]);
      const keepA = new KeepingProtocol();
      const keepB = new KeepingProtocol();
      a.deliverBody(keepA);
      b.deliverBody(keepB);
      const whole = readBody(c);
      expect(await keepA.ended).toBeInstanceOf(ResponseDone);
      expect(await keepB.ended).toBeInstanceOf(ResponseDone);
      expect(sha(Buffer.concat(keepA.chunks))).toBe(sha(body));
      expect(sha(Buffer.concat(keepB.chunks))).toBe(sha(body));
      expect(sha(await whole)).toBe(sha(body));
    } finally {
      await agent.pool.closeCachedConnections();
      await server.close();
    }
  });

  it('keeps a body that trickles in small reads in small buffers, not one read buffer per chunk', async () => {
    const pieces = 60;
    const rest = Buffer.alloc(100_000, 0x2e);
    const server = await startRawServer((socket) => {
      onRequestHead(socket, () => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${pieces * 10 + rest.length}\r\n\r\n`);
        let sent = 0;
        const timer = setInterval(() => {
          socket.write('0123456789');
          if (++sent < pieces) return;
          clearInterval(timer);
          socket.write(rest);
        }, 2);
        socket.on('close', () => clearInterval(timer));
      });
    });
    const agent = new HttpAgent({ pool: new HTTPConnectionPool() });
    try {
      const response = await agent.request('GET', `${server.url}/`);
      const keep = new KeepingProtocol();
      response.deliverBody(keep);
      expect(await keep.ended).toBeInstanceOf(ResponseDone);
      expect(Buffer.concat(keep.chunks).equals(Buffer.concat([Buffer.from('0123456789'.repeat(pieces)), rest]))).toBe(true);
      const small = keep.chunks.filter((chunk) => chunk.length <= 100);
      expect(small.length).toBeGreaterThan(10);
      // Memory the small chunks hold on to: far less than a 64 KiB read buffer each.
      const held = [...new Set(small.map((chunk) => chunk.buffer))].reduce((sum, buffer) => sum + buffer.byteLength, 0);
      expect(held).toBeLessThan(small.length * 16 * 1024);
    } finally {
      await agent.pool.closeCachedConnections();
      await server.close();
    }
  });
});

describe('direct socket reads: framing edges', () => {
  it('never lets bytes after a Content-Length body into the body, and closes the connection they arrived on', async () => {
    const size = 200_000;
    const body = pattern(31, size);
    const server = await startRawServer((socket) => {
      onRequestHead(socket, () => {
        // Head, body and stray bytes in writes that do not line up with the body's end.
        const all = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`), body, Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmuggled')]);
        socket.write(all.subarray(0, 70_000));
        setTimeout(() => socket.write(all.subarray(70_000)), 20);
      });
    });
    const agent = new HttpAgent({ pool: new HTTPConnectionPool() });
    try {
      const received = await readBody(await agent.request('GET', `${server.url}/`));
      expect(received.length).toBe(size);
      expect(sha(received)).toBe(sha(body));
      expect(await eventually(() => server.openSockets() === 0)).toBe(true);
      expect(agent.pool.stats()[`http://127.0.0.1:${server.port}`]?.open ?? 0).toBe(0);
    } finally {
      await agent.pool.closeCachedConnections();
      await server.close();
    }
  });
});

describe('direct-read sockets outside a connection', () => {
  it('deliver what they read as data events to anyone who listens the usual way', async () => {
    const server = await startRawServer((socket) => socket.write('greetings'));
    const socket = (await new TCPEndpoint('127.0.0.1', server.port).connect()) as net.Socket;
    try {
      const text = await new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
      expect(text).toBe('greetings');
    } finally {
      socket.destroy();
      await server.close();
    }
  });

  it('hand bytes read before a connection attached to that connection, which closes on unsolicited bytes', async () => {
    const server = await startRawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const socket = (await new TCPEndpoint('127.0.0.1', server.port).connect()) as net.Socket;
    try {
      expect(await eventually(() => socket.readableLength > 0)).toBe(true);
      const events: string[] = [];
      const owner: ConnectionOwner = {
        connectionIdle: () => events.push('idle'),
        connectionClosed: () => events.push('closed'),
      };
      const connection = new HTTP11Connection(socket, 'test', owner);
      expect(await eventually(() => events.includes('closed'))).toBe(true);
      expect(connection.state).toBe('closed');
      expect(events).toEqual(['closed']);
    } finally {
      socket.destroy();
      await server.close();
    }
  });
});

describe('direct socket reads over TLS', () => {
  let server: LoopbackServer;
  let agent: HttpAgent;

  beforeAll(async () => {
    server = await startHttpsServer(serverCert('localhost'), patternHandler);
  });
  afterAll(() => server.close());
  beforeEach(() => {
    const tlsPolicy = new BrowserLikePolicyForHTTPS({ ca: pem('ca.pem') });
    agent = new HttpAgent({ pool: new HTTPConnectionPool(), endpointFactory: new StandardEndpointFactory({ tlsPolicy }) });
  });
  afterEach(() => agent.pool.closeCachedConnections());

  it('reads concurrent bodies with readBody and with kept chunks, each exactly as sent', async () => {
    const size = 400_000;
    const url = (seed: number): string => `https://localhost:${server.port}/pattern?seed=${seed}&size=${size}`;
    const [a, b] = await Promise.all([agent.request('GET', url(41)), agent.request('GET', url(42))]);
    const keeping = new KeepingProtocol();
    (b as Response).deliverBody(keeping);
    const [bodyA, reason] = await Promise.all([readBody(a), keeping.ended]);
    expect(reason).toBeInstanceOf(ResponseDone);
    expect(sha(bodyA)).toBe(sha(pattern(41, size)));
    expect(sha(Buffer.concat(keeping.chunks))).toBe(sha(pattern(42, size)));
  });
});
