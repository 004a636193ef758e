import { CancelledError, HttpAgent, HTTPConnectionPool, RedirectAgent, ResponseFailedError, type ResponseHeadInfo, deriveResponse, readBody } from '../src/index.js';
import { type TestServer, onRequestHead, startRawServer } from './support/servers.js';

/**
 * Heads as they come: `onInformational` for each 1xx and `onHead` for each final head, called
 * from the connection as the head is parsed, before the request's promise resolves and before
 * any body byte is read.
 */
describe('onHead and onInformational', () => {
  let server: TestServer;
  let agent: HttpAgent;
  /** Sockets waiting for the test to send the body. */
  const pending: Array<(body: string) => void> = [];

  beforeAll(async () => {
    server = await startRawServer((socket) =>
      onRequestHead(socket, (head) => {
        const path = head.split(' ')[1];
        if (path === '/moved') {
          socket.write('HTTP/1.1 301 Moved\r\nLocation: /slow\r\nContent-Length: 0\r\n\r\n');
          onRequestHead(socket, () => {
            socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
            socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n');
            pending.push((body) => socket.end(`${body.length.toString(16)}\r\n${body}\r\n0\r\nX-Sum: 42\r\n\r\n`));
          });
          return;
        }
        socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n');
        pending.push((body) => socket.end(`${body.length.toString(16)}\r\n${body}\r\n0\r\nX-Sum: 42\r\n\r\n`));
      }),
    );
  });
  beforeEach(() => {
    agent = new HttpAgent({ pool: new HTTPConnectionPool() });
  });
  afterEach(async () => {
    await agent.pool.destroy();
  });
  afterAll(async () => {
    await server.close();
  });

  /** Resolves once the server holds a response whose body it has not sent yet. */
  async function serverHoldsBody(): Promise<(body: string) => void> {
    for (let i = 0; i < 200 && pending.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const send = pending.shift();
    if (send === undefined) throw new Error('the server never got the request');
    return send;
  }

  it('reports the 1xx and then the final head before the promise resolves, while the body is still unsent', async () => {
    const events: string[] = [];
    let seen: ResponseHeadInfo | null = null;
    const promise = agent.request('GET', `${server.url}/slow`, null, null, {
      onInformational: (info) => events.push(`${info.code} ${info.headers.get('link') ?? ''}`),
      onHead: (head) => {
        seen = head;
        events.push(`head ${head.code}`);
      },
    });
    void promise.then(() => events.push('resolved'));
    const sendBody = await serverHoldsBody();
    const response = await promise;
    expect(events).toEqual(['103 </style.css>; rel=preload', 'head 200', 'resolved']);
    expect(seen).toMatchObject({ code: 200, phrase: 'OK', version: [1, 1], url: `${server.url}/slow` });
    expect((seen as unknown as ResponseHeadInfo).headers.get('trailer')).toBe('X-Sum');
    // The head came with no body byte: the body is sent only now.
    sendBody('hello');
    expect((await readBody(response)).toString()).toBe('hello');
    expect(response.trailers.get('x-sum')).toBe('42');
  });

  it('reports every hop of a redirect chain, the last being the response returned', async () => {
    const heads: number[] = [];
    const promise = new RedirectAgent(agent).request('GET', `${server.url}/moved`, null, null, { onHead: (head) => heads.push(head.code) });
    (await serverHoldsBody())('x');
    const response = await promise;
    await readBody(response);
    expect(heads).toEqual([301, 200]);
    expect(response.code).toBe(200);
  });

  it('resolves waitForTrailers with the trailers only once the body has been read, through a derived response too', async () => {
    const promise = agent.request('GET', `${server.url}/slow`);
    const sendBody = await serverHoldsBody();
    const response = await promise;
    const derived = deriveResponse(response, { code: 299 });
    const trailers = derived.waitForTrailers();
    const original = response.waitForTrailers();
    let settled = false;
    void trailers.then(() => (settled = true));
    sendBody('hello');
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The body arrived but nobody has read it: the trailers are not known yet.
    expect(settled).toBe(false);
    expect((await readBody(derived)).toString()).toBe('hello');
    expect((await trailers).get('x-sum')).toBe('42');
    expect((await original).get('x-sum')).toBe('42');
    // Asked again after the end: at once.
    expect((await derived.waitForTrailers()).get('x-sum')).toBe('42');
  });

  it('rejects waitForTrailers with the error of an abandoned body', async () => {
    const promise = agent.request('GET', `${server.url}/slow`);
    await serverHoldsBody();
    const response = await promise;
    const trailers = response.waitForTrailers();
    // The consumer gives the body up before any of it came.
    response.deliverBody({ makeConnection: (transport) => transport.stopProducing(), dataReceived() {}, connectionLost() {} });
    await expect(trailers).rejects.toBeInstanceOf(CancelledError);
    pending.length = 0;
  });

  it('fails the request with a ResponseFailedError when onHead throws, and closes the connection', async () => {
    const thrown = new Error('no thanks');
    const promise = agent.request('GET', `${server.url}/slow`, null, null, {
      onHead: () => {
        throw thrown;
      },
    });
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseFailedError);
    expect((error as Error).cause).toBe(thrown);
    expect(Object.values(agent.pool.stats()).reduce((open, host) => open + host.open, 0)).toBe(0);
    pending.length = 0;
  });
});
