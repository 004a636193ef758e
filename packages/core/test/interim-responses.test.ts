/**
 * Interim (1xx) responses are bounded per exchange. Regression: a server sending `100 Continue`
 * heads for ever kept the client parsing (millions of heads, hundreds of MiB) until the 300 s
 * headers timeout.
 */
import { HttpAgent, ParseError, readBody } from '../src/index.js';
import { type TestServer, eventually, onRequestHead, startRawServer } from './support/servers.js';

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

let raw: TestServer;
afterEach(() => raw.close());

describe('interim responses', () => {
  it('fail the exchange with a ParseError past the cap when a server sends them endlessly, and free the socket', async () => {
    let written = 0;
    raw = await startRawServer((socket) =>
      onRequestHead(socket, () => {
        // As many 100 Continue heads as the client will take.
        const flood = Buffer.from(CONTINUE.repeat(1000));
        const pump = (): void => {
          while (!socket.destroyed && written < 64 * 1024 * 1024) {
            written += flood.length;
            if (!socket.write(flood)) {
              socket.once('drain', pump);
              return;
            }
          }
        };
        pump();
      }),
    );
    const agent = new HttpAgent();
    const infos: number[] = [];
    const error = await agent.request('GET', raw.url, null, null, { onInformational: (info) => void infos.push(info.code) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParseError);
    expect(error).toMatchObject({ code: 'STRAND_PARSE_ERROR', kind: 'TOO_MANY_INTERIM_RESPONSES' });
    expect(infos).toHaveLength(10);
    expect(agent.pool.stats()).toEqual({});
    expect(await eventually(() => raw.openSockets() === 0)).toBe(true);
  });

  it('are counted per exchange: a kept-alive connection takes the cap on each request', async () => {
    raw = await startRawServer((socket) => {
      const serve = (): void =>
        onRequestHead(socket, () => {
          socket.write(CONTINUE + CONTINUE + 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
          serve();
        });
      serve();
    });
    const agent = new HttpAgent({ maxInterimResponses: 3 });
    for (let i = 0; i < 2; i++) {
      expect((await readBody(await agent.request('GET', raw.url))).toString()).toBe('ok');
    }
    expect(raw.accepted).toBe(1);
    await agent.pool.closeCachedConnections();
  });

  it('take their cap from the agent option maxInterimResponses', async () => {
    raw = await startRawServer((socket) => onRequestHead(socket, () => socket.write(CONTINUE.repeat(3) + 'HTTP/1.1 204 No Content\r\n\r\n')));
    const strict = new HttpAgent({ maxInterimResponses: 2 });
    await expect(strict.request('GET', raw.url)).rejects.toMatchObject({ kind: 'TOO_MANY_INTERIM_RESPONSES' });
    expect(() => new HttpAgent({ maxInterimResponses: 0 })).toThrow('maxInterimResponses must be a positive integer');
  });
});
