import * as zlib from 'node:zlib';
import { http, HttpResponse, passthrough } from 'msw';
import { BytesProducer, InvalidArgumentError, readBody } from '@strand/core';
import { HTTPClient } from '@strand/client';
import { type FakeAgent, UnexpectedRequestError, createMswAgent } from '@strand/testing';

let fake: FakeAgent | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const handlers = [
  http.get('http://api.test/users/:id', ({ params, request }) => HttpResponse.json({ id: params['id'], accept: request.headers.get('accept') })),
  http.post('http://api.test/users', async ({ request }) => HttpResponse.json({ created: await request.json() }, { status: 201, statusText: 'Made' })),
  http.get('http://api.test/login', () => {
    const headers = new Headers([
      ['Set-Cookie', 'sid=1; Path=/'],
      ['Set-Cookie', 'theme=dark; Path=/'],
    ]);
    return new HttpResponse(null, { status: 204, headers });
  }),
  http.get('http://api.test/me', ({ request }) => HttpResponse.text(request.headers.get('cookie') ?? '')),
  http.get('http://api.test/stream', () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('one,'));
        controller.enqueue(new TextEncoder().encode('two'));
        controller.close();
      },
    });
    return new HttpResponse(stream, { headers: { 'Content-Type': 'text/plain' } });
  }),
  http.get('http://api.test/gzip', () => new HttpResponse(zlib.gzipSync('unzipped by Strand'), { headers: { 'Content-Encoding': 'gzip', 'Content-Length': String(zlib.gzipSync('unzipped by Strand').length) } })),
  http.get('http://api.test/broken', () => HttpResponse.error()),
  http.get('http://api.test/elsewhere', () => passthrough()),
];

describe('msw handlers through the real stack', () => {
  test('answer an HTTPClient: path params, request headers, JSON bodies, status text', async () => {
    fake = createMswAgent(handlers);
    const client = new HTTPClient({ agent: fake });
    const user = await client.get('http://api.test/users/7', { headers: { Accept: 'application/json' } });
    expect(await user.json()).toEqual({ id: '7', accept: 'application/json' });
    const created = await client.post('http://api.test/users', { json: { name: 'ada' } });
    expect([created.code, created.phrase]).toEqual([201, 'Made']);
    expect(await created.json()).toEqual({ created: { name: 'ada' } });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /users/7', 'POST /users']);
    fake.assertNoPending();
  });

  test("each Set-Cookie reaches the client's cookie jar", async () => {
    fake = createMswAgent(handlers);
    const client = new HTTPClient({ agent: fake });
    await (await client.get('http://api.test/login')).text();
    expect(await (await client.get('http://api.test/me')).text()).toBe('sid=1; theme=dark');
  });

  test('a streamed body arrives chunked, and a gzip body is decoded by the client', async () => {
    fake = createMswAgent(handlers);
    const response = await fake.request('GET', 'http://api.test/stream');
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect((await readBody(response)).toString()).toBe('one,two');
    const client = new HTTPClient({ agent: fake });
    expect(await (await client.get('http://api.test/gzip')).text()).toBe('unzipped by Strand');
  });

  test('HttpResponse.error() resets the connection', async () => {
    fake = createMswAgent(handlers);
    await expect(fake.request('GET', 'http://api.test/broken')).rejects.toMatchObject({ code: expect.stringMatching(/^STRAND_/) });
  });

  test('a request no handler answers gets a 599 and assertNoPending() throws an error listing the handlers', async () => {
    fake = createMswAgent(handlers);
    const response = await fake.request('DELETE', 'http://api.test/users/7', null, new BytesProducer(''));
    expect(response.code).toBe(599);
    await readBody(response);
    expect(() => fake?.assertNoPending()).toThrow(UnexpectedRequestError);
    expect(() => fake?.assertNoPending()).toThrow(/no msw handler answered DELETE http:\/\/api.test\/users\/7\nhandlers:\n {2}GET http:\/\/api.test\/users\/:id/);
  });

  test('passthrough() has nowhere to go and is reported as unhandled; onUnhandledRequest: "not-found" answers 404', async () => {
    fake = createMswAgent(handlers);
    expect((await fake.request('GET', 'http://api.test/elsewhere')).code).toBe(599);
    expect(() => fake?.assertNoPending()).toThrow(/called passthrough\(\)/);
    await fake.close();
    fake = createMswAgent(handlers, { onUnhandledRequest: 'not-found' });
    const missing = await fake.request('GET', 'http://api.test/nothing');
    expect(missing.code).toBe(404);
    await readBody(missing);
    fake.assertNoPending();
  });

  test('bad arguments are InvalidArgumentErrors naming them', () => {
    expect(() => createMswAgent('handlers' as never)).toThrow(/handlers must be an array/);
    expect(() => createMswAgent([], { onUnhandledRequest: 'warn' as never })).toThrow(InvalidArgumentError);
    expect(() => createMswAgent([], { unmatched: 'fail' } as never)).toThrow(/unknown option/);
  });
});
