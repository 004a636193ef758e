import type * as net from 'node:net';
import {
  HttpAgent,
  HTTPConnectionPool,
  ParseError,
  ResponseFailedError,
  ResponseNeverReceivedError,
  type StrandError,
  readBody,
} from '../src/index.js';
import { type TestServer, eventually, onRequestHead, startRawServer } from './support/servers.js';

/** Each case: what the server does after reading the request head, and what the client must report. */
interface FaultCase {
  name: string;
  serve: (socket: net.Socket) => void;
  phase: 'head' | 'body';
  error: new (...args: never[]) => StrandError;
  code: string;
  kind?: string;
}

const cases: FaultCase[] = [
  {
    name: 'a garbage status line is a parse error',
    serve: (s) => s.write('HTTP/1.1 2OO OK\r\n\r\n'),
    phase: 'head',
    error: ParseError,
    code: 'STRAND_PARSE_ERROR',
  },
  {
    name: 'a reset before any response byte is "response never received"',
    serve: (s) => s.resetAndDestroy(),
    phase: 'head',
    error: ResponseNeverReceivedError,
    code: 'STRAND_RESPONSE_NEVER_RECEIVED',
  },
  {
    name: 'a close in the middle of the head is "response never received"',
    serve: (s) => s.end('HTTP/1.1 200 OK\r\nContent-Le'),
    phase: 'head',
    error: ResponseNeverReceivedError,
    code: 'STRAND_RESPONSE_NEVER_RECEIVED',
  },
  {
    name: 'a reset in the middle of the head is "response never received"',
    serve: (s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Le');
      setTimeout(() => s.resetAndDestroy(), 10);
    },
    phase: 'head',
    error: ResponseNeverReceivedError,
    code: 'STRAND_RESPONSE_NEVER_RECEIVED',
  },
  {
    name: 'a close before Content-Length bytes arrived is a partial response',
    serve: (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this'),
    phase: 'body',
    error: ResponseFailedError,
    code: 'STRAND_RESPONSE_FAILED',
  },
  {
    name: 'a reset in the middle of a chunked body is a partial response',
    serve: (s) => {
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
      setTimeout(() => s.resetAndDestroy(), 10);
    },
    phase: 'body',
    error: ResponseFailedError,
    code: 'STRAND_RESPONSE_FAILED',
  },
  {
    name: 'a close before the last chunk is a partial response, not a short body',
    serve: (s) => s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'),
    phase: 'body',
    error: ResponseFailedError,
    code: 'STRAND_RESPONSE_FAILED',
  },
  {
    name: 'both Content-Length and Transfer-Encoding are refused as a smuggling attempt',
    serve: (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'),
    phase: 'head',
    error: ParseError,
    code: 'STRAND_PARSE_ERROR',
    kind: 'CONFLICTING_FRAMING',
  },
  {
    name: 'an unrequested 101 Switching Protocols is refused',
    serve: (s) => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n'),
    phase: 'head',
    error: ParseError,
    code: 'STRAND_PARSE_ERROR',
    kind: 'UNEXPECTED_UPGRADE',
  },
  {
    name: 'a header block past the limit is refused without waiting for its end',
    serve: (s) => s.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(20000)}`),
    phase: 'head',
    error: ParseError,
    code: 'STRAND_PARSE_ERROR',
    kind: 'HEADERS_TOO_LARGE',
  },
  {
    name: 'a bad chunk size in the body is a parse error delivered to the body',
    serve: (s) => s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'),
    phase: 'body',
    error: ParseError,
    code: 'STRAND_PARSE_ERROR',
    kind: 'INVALID_CHUNK',
  },
];

describe('HttpAgent: malformed and broken responses', () => {
  let server: TestServer;
  let serve: (socket: net.Socket) => void = () => {};
  let agent: HttpAgent;

  beforeAll(async () => {
    server = await startRawServer((socket) => onRequestHead(socket, () => serve(socket)));
  });
  afterAll(() => server.close());
  beforeEach(() => {
    agent = new HttpAgent({ pool: new HTTPConnectionPool() });
  });

  it.each(cases)('$name', async (c) => {
    serve = c.serve;
    const url = `${server.url}/fault`;
    let error: unknown;
    if (c.phase === 'head') {
      error = await agent.request('GET', url).catch((e: unknown) => e);
    } else {
      const response = await agent.request('GET', url);
      error = await readBody(response).catch((e: unknown) => e);
    }
    expect(error).toBeInstanceOf(c.error);
    expect(error).toMatchObject({ code: c.code, url });
    if (c.kind !== undefined) expect(error).toMatchObject({ kind: c.kind });
    // The socket was freed: nothing is left open or pooled on either side.
    expect(agent.pool.stats()).toEqual({});
    expect(await eventually(() => server.openSockets() === 0)).toBe(true);
  });

  it('does not reuse a connection that received bytes after a complete response', async () => {
    serve = (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA');
    const response = await agent.request('GET', server.url);
    expect((await readBody(response)).toString()).toBe('ok');
    expect(agent.pool.stats()).toEqual({});
  });

  it('drops a pooled connection the server closed while idle and opens a fresh one', async () => {
    serve = (s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      setTimeout(() => s.end(), 10);
    };
    const before = server.accepted;
    await readBody(await agent.request('GET', server.url));
    expect(await eventually(() => Object.keys(agent.pool.stats()).length === 0)).toBe(true);
    serve = (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew');
    expect((await readBody(await agent.request('GET', server.url))).toString()).toBe('new');
    expect(server.accepted - before).toBe(2);
    await agent.pool.closeCachedConnections();
  });
});
