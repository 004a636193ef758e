/**
 * strandFetch and createFetch against the fetch standard's semantics, on a loopback server:
 * status, statusText, headers, url, redirected; redirect modes; abort before and during the
 * body; a body read twice; request bodies of every kind; network errors as TypeErrors whose
 * cause is Strand's typed error; streaming with back-pressure.
 */
import { gzipSync } from 'node:zlib';
import { type HTTPConnectionPool, RedirectError, StrandError } from '@strand/core';
import { HTTPClient, createFetch, getGlobalPool, strandFetch } from '@strand/client';
import { eventually, pressureRoute, pressureState, redirectRoute, rejection, routes, startLoopback, stopLoopback, truncatedRoute } from './support/routes';
import { type Echo, type TestServer, echo, startServer } from './support/servers';

let server: TestServer;
let pool: HTTPConnectionPool;
let fetchOnPool: typeof strandFetch;

/** State of /pressure: it writes 64 MiB, honouring the socket's back-pressure. */
const pressure = pressureState();

const handler = routes({
  '/teapot': (_req, res) => {
    res.writeHead(418, 'I Am A Teapot', { 'content-type': 'text/plain', 'x-multi': ['a', 'b'], 'set-cookie': 's=1' });
    res.end('short and stout');
  },
  '/redirect': (req, res, body, url) => redirectRoute(Number(url.searchParams.get('code') ?? '302'), '/landed#frag', 'moving')(req, res, body, url),
  '/no-content': (_req, res) => {
    res.writeHead(204);
    res.end();
  },
  '/gzip': (_req, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
    res.end(gzipSync('unzipped text'));
  },
  '/slow-body': (_req, res) => {
    res.writeHead(200, { 'content-length': '10' });
    // The rest never comes: the test aborts while the body is being read.
    res.write('first');
  },
  '/truncated': truncatedRoute('part'),
  '/pressure': pressureRoute(pressure),
});

beforeEach(async () => {
  const loopback = await startLoopback(handler, { cookieJar: null });
  ({ server, pool } = loopback);
  fetchOnPool = createFetch(loopback.client);
});

afterEach(async () => {
  await stopLoopback({ server, pool });
  await getGlobalPool().closeCachedConnections();
});

async function causeOf(promise: Promise<unknown>): Promise<{ error: unknown; cause: unknown }> {
  const error = await rejection(promise);
  return { error, cause: (error as { cause?: unknown }).cause };
}

describe('the response', () => {
  it('is the platform Response with the status, statusText, headers, url and body', async () => {
    const response = await strandFetch(`${server.url}/teapot`);
    expect(response).toBeInstanceOf(Response);
    expect([response.status, response.statusText, response.ok]).toEqual([418, 'I Am A Teapot', false]);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(response.headers.get('x-multi')).toBe('a, b');
    expect(response.headers.getSetCookie()).toEqual(['s=1']);
    expect([response.url, response.redirected, response.type]).toEqual([`${server.url}/teapot`, false, 'basic']);
    expect(await response.text()).toBe('short and stout');
  });

  it('refuses to read a body twice, as fetch does', async () => {
    const response = await fetchOnPool(server.url);
    expect(response.bodyUsed).toBe(false);
    await response.text();
    expect(response.bodyUsed).toBe(true);
    // (undici's TypeError is of Node's realm, not jest's: compare names.)
    await expect(response.text()).rejects.toMatchObject({ name: 'TypeError' });
  });

  it('has a null body for HEAD and for a 204', async () => {
    const head = await fetchOnPool(server.url, { method: 'HEAD' });
    const empty = await fetchOnPool(`${server.url}/no-content`);
    expect([head.status, head.body, empty.status, empty.body]).toEqual([200, null, 204, null]);
  });

  it('decodes a compressed body (Strand asks for and decodes gzip, br, zstd, deflate)', async () => {
    const response = await fetchOnPool(`${server.url}/gzip`);
    expect(await response.text()).toBe('unzipped text');
    expect(server.requests[0]?.headers['accept-encoding']).toMatch(/gzip/);
  });

  it('streams the body with back-pressure: an unread body holds the server back', async () => {
    const response = await fetchOnPool(`${server.url}/pressure`);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = (await reader.read()).value?.byteLength ?? 0;
    expect(await eventually(() => pressure.blocked)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const sentWhileUnread = pressure.sent;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(pressure.sent).toBe(sentWhileUnread);
    expect(pressure.sent).toBeLessThan(pressure.total / 2);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
    }
    expect(received).toBe(pressure.total);
  });
});

describe('redirect modes', () => {
  it("'follow' (the default) follows, and says so in url (without the fragment) and redirected", async () => {
    const response = await fetchOnPool(`${server.url}/redirect`);
    expect([response.status, response.url, response.redirected]).toEqual([200, `${server.url}/landed`, true]);
  });

  it("'follow' turns a POST answered by a 302 into a GET without its body, and keeps it on a 307", async () => {
    const turned = await fetchOnPool(`${server.url}/redirect?code=302`, { method: 'POST', body: 'x' });
    const kept = await fetchOnPool(`${server.url}/redirect?code=307`, { method: 'POST', body: 'x' });
    expect([(await turned.json()) as Echo].map((e) => [e.method, e.body])).toEqual([['GET', '']]);
    expect([(await kept.json()) as Echo].map((e) => [e.method, e.body])).toEqual([['POST', 'x']]);
  });

  it("'manual' returns the 3xx response itself", async () => {
    const response = await fetchOnPool(`${server.url}/redirect?code=301`, { redirect: 'manual' });
    expect([response.status, response.headers.get('location'), response.redirected, response.url]).toEqual([301, '/landed#frag', false, `${server.url}/redirect?code=301`]);
    expect(await response.text()).toBe('moving');
    expect(server.requests).toHaveLength(1);
  });

  it("'error' rejects with a TypeError on a redirect, its cause a RedirectError", async () => {
    const { error, cause } = await causeOf(fetchOnPool(`${server.url}/redirect?code=308`, { redirect: 'error' }));
    expect(error).toBeInstanceOf(TypeError);
    expect(cause).toBeInstanceOf(RedirectError);
    expect((cause as RedirectError).code).toBe('STRAND_REDIRECT_NOT_ALLOWED');
    expect(server.requests).toHaveLength(1);
  });

  it('rejects an unknown redirect mode with a TypeError', async () => {
    await expect(fetchOnPool(server.url, { redirect: 'sometimes' as never })).rejects.toBeInstanceOf(TypeError);
  });
});

describe('abort', () => {
  it('rejects with an AbortError DOMException when the signal was aborted before the call, and sends nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await fetchOnPool(server.url, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
    expect(server.requests).toHaveLength(0);
  });

  it("rejects with the signal's reason when abort(reason) gave one", async () => {
    const reason = new Error('user went away');
    await expect(fetchOnPool(server.url, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it('errors the body stream with an AbortError when the signal is aborted while the body is read', async () => {
    const controller = new AbortController();
    const response = await fetchOnPool(`${server.url}/slow-body`, { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(Buffer.from((await reader.read()).value ?? []).toString()).toBe('first');
    controller.abort();
    const error = await reader.read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
  });
});

describe('the request', () => {
  it('sends the method (the six standard ones upper-cased) and headers given as Headers, a record or pairs', async () => {
    const fromHeaders = await fetchOnPool(server.url, { method: 'post', headers: new Headers({ 'X-A': '1' }) });
    const fromRecord = await fetchOnPool(server.url, { method: 'delete', headers: { 'X-B': '2' } });
    const fromPairs = await fetchOnPool(server.url, { headers: [['X-C', '3'], ['X-C', '4']] });
    expect([(await fromHeaders.json()) as Echo, (await fromRecord.json()) as Echo, (await fromPairs.json()) as Echo].map((e) => [e.method, e.headers['x-a'] ?? e.headers['x-b'] ?? e.headers['x-c']])).toEqual([
      ['POST', '1'],
      ['DELETE', '2'],
      ['GET', '3, 4'],
    ]);
    expect(server.requests[0]?.headers['accept']).toBe('*/*');
  });

  it("sends each kind of body with fetch's Content-Type: string, bytes, Blob, URLSearchParams, FormData, ReadableStream", async () => {
    const form = new FormData();
    form.append('field', 'value');
    form.append('file', new File(['contents'], 'a.txt', { type: 'text/plain' }));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    await fetchOnPool(server.url, { method: 'POST', body: 'text' });
    await fetchOnPool(server.url, { method: 'POST', body: new Uint8Array([104, 105]) });
    await fetchOnPool(server.url, { method: 'POST', body: new Blob(['blob'], { type: 'application/x-blob' }) });
    await fetchOnPool(server.url, { method: 'POST', body: new URLSearchParams({ a: 'b c' }) });
    await fetchOnPool(server.url, { method: 'POST', body: form });
    await fetchOnPool(server.url, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    const seen = server.requests.map((r) => [r.headers['content-type'], r.headers['content-length'] ?? r.headers['transfer-encoding']]);
    expect(seen.slice(0, 4)).toEqual([
      ['text/plain;charset=UTF-8', '4'],
      [undefined, '2'],
      ['application/x-blob', '4'],
      ['application/x-www-form-urlencoded;charset=UTF-8', '5'],
    ]);
    expect(server.requests.slice(0, 4).map((r) => r.body.toString())).toEqual(['text', 'hi', 'blob', 'a=b+c']);
    const multipart = server.requests[4];
    const parsed = await new Response(multipart?.body, { headers: { 'content-type': String(multipart?.headers['content-type']) } }).formData();
    expect([parsed.get('field'), (parsed.get('file') as File).name, await (parsed.get('file') as File).text()]).toEqual(['value', 'a.txt', 'contents']);
    expect(seen[5]).toEqual([undefined, 'chunked']);
    expect(server.requests[5]?.body.toString()).toBe('streamed');
  });

  it('reads a Request object: its URL, method, headers, body and signal', async () => {
    const request = new Request(server.url, { method: 'PUT', headers: { 'X-From': 'request' }, body: 'from a Request' });
    const echoed = (await (await fetchOnPool(request)).json()) as Echo;
    expect([echoed.method, echoed.headers['x-from'], echoed.body]).toEqual(['PUT', 'request', 'from a Request']);
  });

  it('rejects what fetch rejects with a TypeError, before sending: a relative URL, a body on GET, a stream without duplex, a forbidden method', async () => {
    await expect(fetchOnPool('/relative')).rejects.toBeInstanceOf(TypeError);
    await expect(fetchOnPool(server.url, { body: 'x' })).rejects.toThrow(/GET\/HEAD method cannot have body/);
    await expect(fetchOnPool(server.url, { method: 'POST', body: new ReadableStream() })).rejects.toThrow(/duplex/);
    await expect(fetchOnPool(server.url, { method: 'TRACE' })).rejects.toBeInstanceOf(TypeError);
    await expect(fetchOnPool(server.url.replace('http://', 'http://user:pw@'))).rejects.toBeInstanceOf(TypeError);
    expect(server.requests).toHaveLength(0);
  });
});

describe('errors', () => {
  it("rejects a network error with a TypeError whose cause is Strand's typed error", async () => {
    const closed = await startServer(echo);
    const url = closed.url;
    await closed.close();
    const { error, cause } = await causeOf(fetchOnPool(url));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('fetch failed');
    expect(cause).toBeInstanceOf(StrandError);
    expect((cause as StrandError).code).toBe('STRAND_CONNECTION_REFUSED');
  });

  it("errors the body stream with a TypeError whose cause is Strand's error when the body is cut short", async () => {
    const response = await fetchOnPool(`${server.url}/truncated`);
    const error = await response.arrayBuffer().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as { cause?: unknown }).cause).toBeInstanceOf(StrandError);
  });
});

describe('createFetch', () => {
  it("runs on the client's stack: its default headers, timeouts and hooks apply", async () => {
    const seen: string[] = [];
    const myFetch = createFetch(new HTTPClient({ pool, headers: { 'X-Client': 'mine' }, hooks: { beforeRequest: [(r) => void seen.push(r.url.pathname)] } }));
    const echoed = (await (await myFetch(`${server.url}/via-client`)).json()) as Echo;
    expect(echoed.headers['x-client']).toBe('mine');
    expect(seen).toEqual(['/via-client']);
    expect(() => createFetch({} as HTTPClient)).toThrow(TypeError);
  });
});
