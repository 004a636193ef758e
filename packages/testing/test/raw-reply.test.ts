import * as net from 'node:net';
import { InvalidArgumentError, PotentialDataLoss, readBody } from '@strand/core';
import { type FakeAgent, StubServer, createFakeAgent } from '@strand/testing';

let fake: FakeAgent | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const CHUNKED = Buffer.from(
  'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n' +
    'HTTP/1.1 200 Fine Thanks\r\nx-B: 1\r\nTransfer-Encoding: chunked\r\nx-a: 2\r\n\r\n' +
    '3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 9\r\n\r\n',
);

describe('a reply given as raw bytes', () => {
  test('arrives as written: the 1xx, the phrase, header order and spelling, chunks and trailers', async () => {
    fake = createFakeAgent(() => ({ raw: CHUNKED }));
    const interim: string[] = [];
    const response = await fake.request('GET', 'http://api.test/x', null, null, { onInformational: (info) => interim.push(`${info.code} ${info.headers.get('link') ?? ''}`) });
    expect(interim).toEqual(['103 </a.css>; rel=preload']);
    expect(response.phrase).toBe('Fine Thanks');
    expect([...response.headers]).toEqual([
      ['x-B', '1'],
      ['Transfer-Encoding', 'chunked'],
      ['x-a', '2'],
    ]);
    expect((await readBody(response)).toString()).toBe('abcde');
    expect(response.trailers.get('x-sum')).toBe('9');
    fake.assertNoPending();
  });

  test('keeps the connection for the next request, whose reply Node writes as usual', async () => {
    let n = 0;
    fake = createFakeAgent(() => (n++ === 0 ? { raw: CHUNKED } : { status: 201, body: 'normal' }));
    expect((await readBody(await fake.request('GET', 'http://api.test/1'))).toString()).toBe('abcde');
    const second = await fake.request('GET', 'http://api.test/2');
    expect(second.code).toBe(201);
    expect((await readBody(second)).toString()).toBe('normal');
    expect(fake.connectionsOpened).toBe(1);
  });

  test('with close: true, a body delimited by the close ends with PotentialDataLoss and the next request opens a new connection', async () => {
    fake = createFakeAgent(() => ({ raw: Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'), close: true }));
    const response = await fake.request('GET', 'http://api.test/stream');
    let end: unknown;
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve) => {
      response.deliverBody({
        dataReceived: (chunk) => chunks.push(chunk),
        connectionLost: (reason) => {
          end = reason;
          resolve();
        },
      });
    });
    expect(Buffer.concat(chunks).toString()).toBe('until the end');
    expect(end).toBeInstanceOf(PotentialDataLoss);
    await readBody(await fake.request('GET', 'http://api.test/stream'));
    expect(fake.connectionsOpened).toBe(2);
  });

  test('reaches a real socket unchanged through the stub server', async () => {
    const server = await StubServer.start(() => ({ raw: Buffer.from('HTTP/1.1 299 Odd\r\nX-Y: z\r\nContent-Length: 2\r\n\r\nok') }));
    try {
      const received = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(server.port, '127.0.0.1');
        let text = '';
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          if (text.endsWith('ok')) {
            socket.destroy();
            resolve(text);
          }
        });
        socket.on('error', reject);
        socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      expect(received).toBe('HTTP/1.1 299 Odd\r\nX-Y: z\r\nContent-Length: 2\r\n\r\nok');
    } finally {
      await server.stop();
    }
  });

  test('is the whole response: a status or body beside it is an error naming the field', () => {
    expect(() => createFakeAgent([{ path: '/', reply: { raw: Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), status: 201 } }])).toThrow(InvalidArgumentError);
    expect(() => createFakeAgent([{ path: '/', reply: { raw: Buffer.from('x'), body: 'y' } }])).toThrow(/give body inside its bytes/);
    expect(() => createFakeAgent([{ path: '/', reply: { raw: 'text' as unknown as Uint8Array } }])).toThrow(/raw must be a Uint8Array/);
    expect(() => createFakeAgent([{ path: '/', reply: { close: 'yes' as unknown as boolean } }])).toThrow(/close must be a boolean/);
  });
});
