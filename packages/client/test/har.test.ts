import * as zlib from 'node:zlib';
import { BytesProducer, HttpAgent, readBody } from '@strand/core';
import { type HarEntry, HTTPClient, HarFormatError, HarRecorder, REDACTED, emptyHar, harResponseBody, parseHar, redactEntry, harRedaction, serializeHar } from '@strand/client';
import { type TestServer, startServer } from './support/servers';

let server: TestServer;
let agent: HttpAgent;

beforeAll(async () => {
  server = await startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/gzip') {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Encoding': 'gzip' });
      res.end(zlib.gzipSync('squeezed text'));
    } else if (url.pathname === '/chunked') {
      res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Sum' });
      res.write('one,');
      setImmediate(() => {
        res.write('two');
        res.addTrailers({ 'X-Sum': '7' });
        res.end();
      });
    } else if (url.pathname === '/login') {
      res.writeHead(302, { Location: '/home?token=s3cr3t-loc', 'Set-Cookie': 'sid=s3cr3t-cookie; Path=/; HttpOnly' });
      res.end();
    } else if (url.pathname === '/early') {
      res.writeEarlyHints({ link: '</style.css>; rel=preload' });
      res.end('after hints');
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, got: body.toString() }));
    }
  });
});

afterAll(() => server.close());

beforeEach(() => {
  agent = new HttpAgent();
});

afterEach(() => agent.close());

function recorder(entries: HarEntry[], redact?: false): HarRecorder {
  return new HarRecorder(agent, redact === false ? { onEntry: (e) => entries.push(e), redact: false } : { onEntry: (e) => entries.push(e) });
}

describe('HarRecorder', () => {
  test('records an exchange once its body was read, and the caller still gets the body', async () => {
    const entries: HarEntry[] = [];
    const response = await recorder(entries).request('POST', `${server.url}/echo?b=2&a=1`, { 'Content-Type': 'text/plain', 'X-Trace': 'abc' }, new BytesProducer('hello'));
    expect(entries).toHaveLength(0);
    expect(JSON.parse((await readBody(response)).toString())).toEqual({ method: 'POST', got: 'hello' });
    expect(entries).toHaveLength(1);
    const [entry] = entries as [HarEntry];
    expect(entry.request.method).toBe('POST');
    expect(entry.request.url).toBe(`${server.url}/echo?b=2&a=1`);
    expect(entry.request.queryString).toEqual([
      { name: 'b', value: '2' },
      { name: 'a', value: '1' },
    ]);
    expect(entry.request.headers).toContainEqual({ name: 'X-Trace', value: 'abc' });
    expect(entry.request.postData).toEqual({ mimeType: 'text/plain', text: 'hello' });
    expect(entry.response.status).toBe(200);
    expect(entry.response.content.text).toBe('{"method":"POST","got":"hello"}');
    expect(entry._strand?.end).toBe('done');
  });

  test('keeps a compressed body as transferred, in base64', async () => {
    const entries: HarEntry[] = [];
    await readBody(await recorder(entries).request('GET', `${server.url}/gzip`));
    const [entry] = entries as [HarEntry];
    expect(entry.response.content.encoding).toBe('base64');
    expect(zlib.gunzipSync(harResponseBody(entry)).toString()).toBe('squeezed text');
  });

  test('keeps the pieces and trailers of a chunked body, and interim responses', async () => {
    const entries: HarEntry[] = [];
    const chunked = await recorder(entries).request('GET', `${server.url}/chunked`);
    expect((await readBody(chunked)).toString()).toBe('one,two');
    expect(chunked.trailers.get('x-sum')).toBe('7');
    const early: number[] = [];
    await readBody(await recorder(entries).request('GET', `${server.url}/early`, null, null, { onInformational: (i) => early.push(i.code) }));
    expect(early).toEqual([103]);
    const [first, second] = entries as [HarEntry, HarEntry];
    expect(first._strand?.chunks?.reduce((a, b) => a + b, 0)).toBe(7);
    expect(first._strand?.trailers).toEqual([{ name: 'X-Sum', value: '7' }]);
    expect(second._strand?.informational).toEqual([{ status: 103, statusText: 'Early Hints', headers: [{ name: 'Link', value: '</style.css>; rel=preload' }] }]);
  });

  test('redacts credentials, cookies and token parameters by default, and says where', async () => {
    const entries: HarEntry[] = [];
    const url = `http://user:pa55word@127.0.0.1:${server.port}/login?access_token=s3cr3t-query&page=2`;
    await readBody(await recorder(entries).request('GET', url, { Authorization: 'Bearer s3cr3t-auth', Cookie: 'a=s3cr3t-c1; b=s3cr3t-c2' }));
    const text = serializeHar({ log: { ...emptyHar().log, entries } });
    expect(text).not.toMatch(/s3cr3t|pa55word/);
    const [entry] = entries as [HarEntry];
    expect(entry.request.headers).toContainEqual({ name: 'Authorization', value: `Bearer ${REDACTED}` });
    expect(entry.request.headers).toContainEqual({ name: 'Cookie', value: `a=${REDACTED}; b=${REDACTED}` });
    expect(entry.response.headers).toContainEqual({ name: 'Set-Cookie', value: `sid=${REDACTED}; Path=/; HttpOnly` });
    expect(entry.response.redirectURL).toBe(`/home?token=${REDACTED}`);
    expect(new URL(entry.request.url).searchParams.get('page')).toBe('2');
    expect(entry._strand?.redacted).toEqual(expect.arrayContaining(['request.headers.authorization', 'request.url.password', 'request.url.query.access_token', 'response.headers.set-cookie', 'response.headers.location.query.token']));
  });

  test('redact: false keeps secrets; more names can be redacted by option', async () => {
    const entries: HarEntry[] = [];
    await readBody(await recorder(entries, false).request('GET', `${server.url}/echo?session=abc`, { 'X-Custom-Secret': 'zzz' }));
    const [entry] = entries as [HarEntry];
    expect(entry.request.headers).toContainEqual({ name: 'X-Custom-Secret', value: 'zzz' });
    const more = redactEntry(entry, harRedaction({ headers: ['X-Custom-Secret'], params: ['session'] }, 'test'));
    expect(more.request.headers).toContainEqual({ name: 'X-Custom-Secret', value: REDACTED });
    expect(more.request.url).toBe(`${server.url}/echo?session=${REDACTED}`);
  });

  test('an HTTPClient over the recorder records each redirect hop', async () => {
    const entries: HarEntry[] = [];
    const client = new HTTPClient({ agent: recorder(entries) });
    const response = await client.get(`${server.url}/login`);
    expect(response.code).toBe(200);
    expect(entries.map((e) => `${e.response.status} ${new URL(e.request.url).pathname}`)).toEqual(['302 /login', '200 /home']);
  });

  test('bad options are an InvalidArgumentError naming them', () => {
    expect(() => new HarRecorder(agent, {} as never)).toThrow(/onEntry must be a function/);
    expect(() => new HarRecorder(agent, { onEntry: () => {}, redact: { header: [] } as never })).toThrow(/unknown redact option "header"/);
  });
});

describe('parseHar and serializeHar', () => {
  test('a written log reads back the same', async () => {
    const entries: HarEntry[] = [];
    await readBody(await recorder(entries).request('GET', `${server.url}/gzip`));
    const har = { log: { ...emptyHar().log, entries } };
    expect(parseHar(serializeHar(har))).toEqual(har);
  });

  test.each([
    ['not json', /not JSON/],
    ['{"log":{"version":"1.2","entries":[{}]}}', /log.entries\[0\].startedDateTime must be a string/],
    ['{"log":{"version":"1.2","entries":[{"startedDateTime":"x","request":{"method":"GET","url":"/rel","headers":[]}}]}}', /request.url must be an absolute URL/],
  ])('%s is a HarFormatError naming the field', (text, message) => {
    expect(() => parseHar(text)).toThrow(HarFormatError);
    expect(() => parseHar(text)).toThrow(message);
  });
});
