import * as net from 'node:net';
import { HTTPConnectionPool, type ResponseHeadInfo } from '@strand/core';
import { HTTPClient } from '../src/index';

/**
 * Heads as they come, through the client: `onInformational` and `onHead` are called before a
 * buffered request's promise resolves (its body is still to come), and `waitForTrailers()` gives
 * the trailers once the body has ended.
 */
let server: net.Server;
let url: string;
const sockets = new Set<net.Socket>();
/** Sends the held body of the latest request. */
let release: (() => void) | null = null;

beforeAll(async () => {
  server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const path = head.split(' ')[1];
      head = '';
      if (path === '/old') {
        socket.write('HTTP/1.1 302 Found\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      socket.write('HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n');
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: Server-Timing\r\n\r\n');
      release = () => socket.write('5\r\nhello\r\n0\r\nServer-Timing: db;dur=53\r\n\r\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('onHead, onInformational and waitForTrailers through the client', () => {
  let pool: HTTPConnectionPool;
  let client: HTTPClient;
  beforeEach(() => {
    pool = new HTTPConnectionPool();
    client = new HTTPClient({ pool });
    release = null;
  });
  afterEach(async () => {
    await pool.destroy();
  });

  it('calls onInformational and onHead while a buffered body has not arrived yet', async () => {
    const events: string[] = [];
    const heads: ResponseHeadInfo[] = [];
    const promise = client.get(`${url}/new`, {
      onInformational: (info) => events.push(`info ${info.code}`),
      onHead: (head) => {
        heads.push(head);
        // The body is still held by the server: it is sent only now that the head was seen.
        events.push(`head ${head.code} body held:${String(release !== null)}`);
        release?.();
      },
    });
    const response = await promise;
    expect(events).toEqual(['info 103', 'head 200 body held:true']);
    expect(heads[0]?.headers.get('trailer')).toBe('Server-Timing');
    expect(await response.text()).toBe('hello');
  });

  it('reports each hop of a redirect chain followed by the client', async () => {
    const codes: number[] = [];
    const response = await client.get(`${url}/old`, {
      onHead: (head) => {
        codes.push(head.code);
        if (head.code === 200) release?.();
      },
    });
    expect(codes).toEqual([302, 200]);
    expect(response.url).toBe(`${url}/new`);
  });

  it('resolves waitForTrailers once an unbuffered body has been read, and at once for a buffered one', async () => {
    const streamed = await client.get(`${url}/new`, { unbuffered: true, onHead: () => release?.() });
    const trailers = streamed.waitForTrailers();
    let settled = false;
    void trailers.then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    expect(await streamed.text()).toBe('hello');
    expect((await trailers).get('server-timing')).toBe('db;dur=53');

    const buffered = await client.get(`${url}/new`, { onHead: () => release?.() });
    expect((await buffered.waitForTrailers()).get('server-timing')).toBe('db;dur=53');
  });
});
