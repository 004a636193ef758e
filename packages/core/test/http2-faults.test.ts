/**
 * Http2Agent when things go wrong: GOAWAY and REFUSED_STREAM (the request is sent again on a
 * new session, whatever its method), a stream reset mid-body, cancellation, the phase timeouts
 * (on a ManualClock), and flow-control back-pressure from a paused body consumer.
 */
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  type BodyProducer,
  type BodyTransport,
  BytesProducer,
  CancelledError,
  FileBodyProducer,
  ManualClock,
  ResponseDone,
  ResponseFailedError,
  ResponseNeverReceivedError,
  TimeoutError,
  UNKNOWN_LENGTH,
  UnprocessedRequestError,
  readBody,
} from '../src/index.js';
import { answer, h2TestBench, requestBody, until, untilStalled } from './support/h2-servers.js';

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_INTERNAL_ERROR, NGHTTP2_CANCEL } = http2.constants;

const { agent, server } = h2TestBench();

describe('requests the server did not process are sent again', () => {
  test('a GOAWAY mid-flight: the streams above its last stream id are sent again on a new session, a POST included', async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const srv = await server((stream, headers, session) => {
      void requestBody(stream).then((body) => {
        if (session !== srv.sessions[0]) {
          answer(stream, `second session: ${String(headers[':path'])} ${body.toString()}`);
          return;
        }
        held.push(stream);
        if (held.length < 3) return;
        // Three streams open on the first session: only the first will be processed.
        const first = held[0] as http2.ServerHttp2Stream;
        session.goaway(http2.constants.NGHTTP2_NO_ERROR, first.id);
        answer(first, `first session: ${String(headers[':path'])}`);
      });
    });
    const a = agent();
    const [one, two, three] = await Promise.all([
      a.request('GET', `${srv.origin}/one`),
      a.request('POST', `${srv.origin}/two`, null, new BytesProducer('payload two')),
      a.request('POST', `${srv.origin}/three`, null, new BytesProducer('payload three')),
    ]);
    const bodies = await Promise.all([one, two, three].map(async (r) => (r === undefined ? '' : (await readBody(r)).toString())));
    expect(bodies[0]).toMatch(/^first session: /);
    expect(bodies.slice(1).sort()).toEqual(['second session: /three payload three', 'second session: /two payload two']);
    expect(srv.sessions).toHaveLength(2);
  });

  test('REFUSED_STREAM: a POST the server refused is sent again and answered', async () => {
    let refused = 0;
    const srv = await server((stream) => {
      if (refused === 0) {
        refused++;
        stream.close(NGHTTP2_REFUSED_STREAM);
        return;
      }
      void requestBody(stream).then((body) => answer(stream, `got ${body.toString()}`));
    });
    const response = await agent().request('POST', `${srv.origin}/refuse-once`, null, new BytesProducer('replayable body'));
    expect((await readBody(response)).toString()).toBe('got replayable body');
    expect(srv.streams.map((s) => s.method)).toEqual(['POST', 'POST']);
  });

  test('a server that serves 2 requests per connection, then GOAWAY and REFUSED_STREAM for the rest (as nginx at keepalive_requests), answers all 12 concurrent requests, round after round', async () => {
    const served = new Map<http2.ServerHttp2Session, number>();
    const srv = await server((stream, headers, session) => {
      const count = (served.get(session) ?? 0) + 1;
      served.set(session, count);
      if (count > 2) {
        stream.close(NGHTTP2_REFUSED_STREAM);
        return;
      }
      answer(stream, `answered ${String(headers[':path'])}`);
      if (count === 2) session.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
    });
    const a = agent();
    const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => a.request('GET', `${srv.origin}/r${i}`)));
    const bodies = await Promise.all(responses.map(async (r) => (await readBody(r)).toString()));
    expect(bodies).toEqual(Array.from({ length: 12 }, (_, i) => `answered /r${i}`));
    // Six rounds: more than the resends allowed to a server that processes nothing.
    expect(srv.sessions).toHaveLength(6);
  });

  test('a server that refuses every stream fails the request with UnprocessedRequestError after a bounded number of attempts', async () => {
    const srv = await server((stream) => stream.close(NGHTTP2_REFUSED_STREAM));
    const failure = agent().request('GET', `${srv.origin}/never`);
    await expect(failure).rejects.toBeInstanceOf(UnprocessedRequestError);
    await expect(failure).rejects.toMatchObject({ code: 'STRAND_H2_UNPROCESSED' });
    expect(srv.streams).toHaveLength(4);
  });

  test('a refused request whose replayable body does not settle after being stopped is not sent again: UnprocessedRequestError after sendIdle', async () => {
    let serverClosed = false;
    const srv = await server((stream) => {
      stream.on('close', () => {
        serverClosed = true;
      });
      stream.close(NGHTTP2_REFUSED_STREAM);
    });
    const stubborn: BodyProducer = {
      length: UNKNOWN_LENGTH,
      replayable: true,
      startProducing(consumer) {
        consumer.write(Buffer.from('some bytes'));
        return new Promise<void>(() => {});
      },
      pauseProducing() {},
      resumeProducing() {},
      stopProducing() {},
    };
    const clock = new ManualClock();
    let outcome: unknown;
    void agent({ clock, timeouts: { sendIdle: 1000 } })
      .request('POST', `${srv.origin}/`, null, stubborn)
      .then(
        () => (outcome = 'resolved'),
        (error: unknown) => (outcome = error),
      );
    await until(() => serverClosed, 'the server refused the stream');
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 0; i < 50 && outcome === undefined; i++) {
      clock.advance(100);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(outcome).toBeInstanceOf(UnprocessedRequestError);
    expect(srv.streams).toHaveLength(1);
  });

  test('a refused request whose one-shot body had started is not sent again: the caller gets UnprocessedRequestError', async () => {
    const srv = await server((stream) => stream.close(NGHTTP2_REFUSED_STREAM));
    const oneShot = new FileBodyProducer(
      (async function* () {
        yield 'cannot be read twice';
      })(),
    );
    await expect(agent().request('POST', `${srv.origin}/`, null, oneShot)).rejects.toBeInstanceOf(UnprocessedRequestError);
    expect(srv.streams).toHaveLength(1);
  });
});

describe('failures map onto the typed errors of HTTP/1.1', () => {
  test('a stream reset mid-body fails the body with ResponseFailedError naming the HTTP/2 error code', async () => {
    const srv = await server((stream) => {
      stream.respond({ ':status': 200 });
      // A server that fails mid-body resets the stream with INTERNAL_ERROR.
      stream.write('part of the body', () => stream.destroy(new Error('the handler failed')));
    });
    const response = await agent().request('GET', `${srv.origin}/reset`);
    const failure = readBody(response);
    await expect(failure).rejects.toBeInstanceOf(ResponseFailedError);
    await expect(failure).rejects.toThrow(/INTERNAL_ERROR/);
  });

  test('a stream reset before the head fails with ResponseNeverReceivedError', async () => {
    const srv = await server((stream) => stream.close(NGHTTP2_INTERNAL_ERROR));
    await expect(agent().request('POST', `${srv.origin}/`, null, new BytesProducer('x'))).rejects.toBeInstanceOf(ResponseNeverReceivedError);
    // Not an unprocessed stream: a POST is not sent again.
    expect(srv.streams).toHaveLength(1);
  });

  test('an abort while waiting for the head rejects with CancelledError and resets the stream with CANCEL', async () => {
    let closedWith: number | undefined;
    const srv = await server((stream) => {
      stream.on('close', () => {
        closedWith = stream.rstCode;
      });
    });
    const controller = new AbortController();
    const pending = agent().request('GET', `${srv.origin}/hang`, null, null, { signal: controller.signal });
    await until(() => srv.streams.length === 1, 'the server has the stream');
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    await until(() => closedWith !== undefined, 'the server saw the stream close');
    expect(closedWith).toBe(NGHTTP2_CANCEL);
  });

  test('an abort while the body is read fails the body with CancelledError; the session serves the next request', async () => {
    const srv = await server((stream, headers) => {
      if (headers[':path'] === '/next') {
        answer(stream, 'next');
        return;
      }
      stream.respond({ ':status': 200 });
      stream.write('first part');
    });
    const a = agent();
    const controller = new AbortController();
    const response = await a.request('GET', `${srv.origin}/slow`, null, null, { signal: controller.signal });
    const reading = readBody(response);
    controller.abort();
    await expect(reading).rejects.toBeInstanceOf(CancelledError);
    expect((await readBody(await a.request('GET', `${srv.origin}/next`))).toString()).toBe('next');
    expect(srv.sessions).toHaveLength(1);
  });

  test('a session that dies with a stream open fails it with ResponseNeverReceivedError, and the next request opens a new session', async () => {
    const srv = await server((stream, headers, session) => {
      if (headers[':path'] === '/die') {
        session.destroy();
        return;
      }
      answer(stream, 'alive');
    });
    const a = agent();
    await expect(a.request('POST', `${srv.origin}/die`, null, new BytesProducer('x'))).rejects.toBeInstanceOf(ResponseNeverReceivedError);
    expect((await readBody(await a.request('GET', `${srv.origin}/ok`))).toString()).toBe('alive');
    expect(srv.sessions).toHaveLength(2);
  });
});

describe('timeouts on a ManualClock', () => {
  test('no response head within timeouts.headers fails with a headers TimeoutError', async () => {
    const srv = await server(() => {});
    const clock = new ManualClock();
    const pending = agent({ clock, timeouts: { headers: 1000 } }).request('GET', `${srv.origin}/hang`);
    const settled = pending.then(
      () => null,
      (error: unknown) => error,
    );
    await until(() => srv.streams.length === 1, 'the server has the stream');
    clock.advance(999);
    clock.advance(600);
    const error = await settled;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ phase: 'headers', code: 'STRAND_HEADERS_TIMEOUT', sent: true });
  });

  test('a body that stops arriving while the consumer reads fails with a bodyIdle TimeoutError', async () => {
    const srv = await server((stream) => {
      stream.respond({ ':status': 200 });
      stream.write('some');
    });
    const clock = new ManualClock();
    const response = await agent({ clock, timeouts: { bodyIdle: 500 } }).request('GET', `${srv.origin}/stall`);
    let received = '';
    const ended = new Promise<unknown>((resolve) => {
      response.deliverBody({
        dataReceived: (chunk) => {
          received += chunk.toString();
        },
        connectionLost: resolve,
      });
    });
    await until(() => received === 'some', 'the first bytes arrived');
    clock.advance(1000);
    expect(await ended).toMatchObject({ phase: 'bodyIdle', code: 'STRAND_BODY_TIMEOUT' });
  });

  test('a server that accepts TCP but never speaks HTTP/2 fails with a connect TimeoutError', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    try {
      const clock = new ManualClock();
      const pending = agent({ clock, timeouts: { connect: 2000 } }).request('GET', `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`);
      const settled = pending.then(
        () => null,
        (error: unknown) => error,
      );
      await until(() => sockets.length === 1, 'the server accepted the connection');
      clock.advance(2000);
      expect(await settled).toMatchObject({ phase: 'connect', code: 'STRAND_CONNECT_TIMEOUT', sent: false });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('a request body that stops making progress fails with a sendIdle TimeoutError and the producer is stopped', async () => {
    const srv = await server(() => {});
    let stopped = false;
    const stalling: BodyProducer = {
      length: UNKNOWN_LENGTH,
      replayable: false,
      startProducing(consumer) {
        consumer.write(Buffer.from('a first piece, then nothing'));
        return new Promise<void>(() => {});
      },
      pauseProducing() {},
      resumeProducing() {},
      stopProducing() {
        stopped = true;
      },
    };
    const clock = new ManualClock();
    const settled = agent({ clock, timeouts: { sendIdle: 1000 } })
      .request('POST', `${srv.origin}/upload`, null, stalling)
      .then(
        () => null,
        (error: unknown) => error,
      );
    await until(() => srv.streams.length === 1, 'the server has the stream');
    for (let i = 0; i < 8; i++) clock.advance(250);
    expect(await settled).toMatchObject({ phase: 'sendIdle', code: 'STRAND_SEND_TIMEOUT', sent: true });
    expect(stopped).toBe(true);
  });

  test('timeouts.total covers the whole exchange, the body included', async () => {
    const srv = await server((stream) => {
      stream.respond({ ':status': 200 });
      stream.write('head and a little');
    });
    const clock = new ManualClock();
    const response = await agent({ clock, timeouts: { total: 5000 } }).request('GET', `${srv.origin}/`);
    const reading = readBody(response).then(
      () => null,
      (error: unknown) => error,
    );
    clock.advance(5000);
    expect(await reading).toMatchObject({ phase: 'total', code: 'STRAND_TOTAL_TIMEOUT' });
  });
});

describe('flow control', () => {
  /**
   * Downloads 8 MiB with the consumer paused after its first chunk until the server stalls;
   * returns how much the server had written by then, after checking the whole body arrives on resume.
   */
  async function pausedDownload(options: Parameters<typeof agent>[0] = {}): Promise<number> {
    const total = 8 * 1024 * 1024;
    const piece = Buffer.alloc(16 * 1024, 0x61);
    let written = 0;
    let blocked = false;
    const srv = await server((stream) => {
      stream.respond({ ':status': 200 });
      const pump = (): void => {
        blocked = false;
        while (written < total) {
          written += piece.length;
          const more = stream.write(piece);
          if (written >= total) {
            stream.end();
            return;
          }
          if (!more) {
            blocked = true;
            stream.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    const response = await agent(options).request('GET', `${srv.origin}/large`);
    let transport: BodyTransport | null = null;
    let received = 0;
    const ended = new Promise<unknown>((resolve) => {
      response.deliverBody({
        makeConnection: (t) => {
          transport = t;
        },
        dataReceived: (chunk) => {
          received += chunk.length;
          // Pause after the first chunk, and stay paused.
          if (received === chunk.length) transport?.pauseProducing();
        },
        connectionLost: resolve,
      });
    });
    const stalledAt = await untilStalled(() => written, () => blocked && received > 0, 'the server stays blocked on a full window');
    expect(blocked).toBe(true);
    (transport as BodyTransport | null)?.resumeProducing();
    expect(await ended).toBeInstanceOf(ResponseDone);
    expect(received).toBe(total);
    return stalledAt;
  }

  test('a paused body consumer stalls the server’s writes (HTTP/2 flow control), and the whole body arrives once it resumes', async () => {
    expect(await pausedDownload()).toBeLessThan(1024 * 1024);
  });

  test('streamWindowSize bounds what a paused body lets the server send', async () => {
    const small = await pausedDownload({ streamWindowSize: 128 * 1024 });
    const large = await pausedDownload({ streamWindowSize: 1024 * 1024, sessionWindowSize: 4 * 1024 * 1024 });
    // The window, plus what the server's stream and the client's readable side buffer.
    expect(small).toBeLessThanOrEqual(128 * 1024 + 128 * 1024);
    expect(large).toBeGreaterThan(1024 * 1024 - 64 * 1024);
    expect(large).toBeLessThanOrEqual(1024 * 1024 + 128 * 1024);
  });
});
