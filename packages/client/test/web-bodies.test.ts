/**
 * The web platform's body types through the client, on a loopback server: Blob, File, FormData,
 * URLSearchParams and ReadableStream as request bodies, and `response.body` as a WHATWG
 * ReadableStream (buffered and unbuffered, with back-pressure, cancellation and errors).
 */
import { type HTTPConnectionPool, ResponseFailedError } from '@strand/core';
import type { HTTPClient } from '@strand/client';
import { eventually, pressureRoute, pressureState, redirectRoute, routes, startLoopback, stopLoopback, truncatedRoute } from './support/routes';
import type { TestServer } from './support/servers';

let server: TestServer;
let pool: HTTPConnectionPool;
let client: HTTPClient;

/** State of the /pressure endpoint: it writes 64 MiB, honouring the socket's back-pressure. */
const pressure = pressureState();

const handler = routes({
  '/307': redirectRoute(307, '/target'),
  '/bytes': (_req, res, _body, url) => {
    const size = Number(url.searchParams.get('size') ?? '0');
    res.writeHead(200, { 'content-length': String(size) });
    res.end(Buffer.alloc(size, 'x'));
  },
  '/truncated': truncatedRoute('only part of it'),
  '/pressure': pressureRoute(pressure),
});

beforeEach(async () => {
  ({ server, pool, client } = await startLoopback(handler));
});

afterEach(() => stopLoopback({ server, pool }));

function seen(index = 0): { headers: Record<string, string | string[] | undefined>; body: Buffer } {
  const request = server.requests[index];
  if (request === undefined) throw new Error(`no request ${index}`);
  return request;
}

/** The multipart body the server got, parsed by the platform's own parser (undici's `formData()`). */
async function parsedForm(index = 0): Promise<FormData> {
  const { headers, body } = seen(index);
  return new Response(body, { headers: { 'content-type': String(headers['content-type']) } }).formData();
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('Blob and File bodies', () => {
  it('sends a Blob with its size as Content-Length and its type as Content-Type', async () => {
    await client.post(server.url, { data: new Blob(['hello ', 'blob'], { type: 'text/plain;charset=utf-8' }) });
    expect(seen().headers['content-length']).toBe('10');
    expect(seen().headers['content-type']).toBe('text/plain;charset=utf-8');
    expect(seen().headers['transfer-encoding']).toBeUndefined();
    expect(seen().body.toString()).toBe('hello blob');
  });

  it('sends a Blob without a type with no Content-Type, and a File like a Blob', async () => {
    await client.post(server.url, { data: new Blob([new Uint8Array([1, 2, 3])]) });
    await client.put(server.url, { data: new File(['{"a":1}'], 'a.json', { type: 'application/json' }) });
    expect(seen(0).headers['content-type']).toBeUndefined();
    expect([...seen(0).body]).toEqual([1, 2, 3]);
    expect(seen(1).headers['content-type']).toBe('application/json');
    expect(seen(1).body.toString()).toBe('{"a":1}');
  });

  it('sends a Blob body again after a 307 redirect (it can be replayed)', async () => {
    const response = await client.post(`${server.url}/307`, { data: new Blob(['replayed'], { type: 'text/plain' }) });
    expect(response.code).toBe(200);
    expect(server.requests.map((r) => [r.url, r.body.toString(), r.headers['content-length']])).toEqual([
      ['/307', 'replayed', '8'],
      ['/target', 'replayed', '8'],
    ]);
  });
});

describe('FormData bodies', () => {
  it('sends a FormData as multipart/form-data with its text fields and its files (name and type), with Content-Length', async () => {
    const form = new FormData();
    form.append('title', 'two\nlines');
    form.append('photo', new File([Buffer.from('PNGDATA')], 'cat.png', { type: 'image/png' }));
    form.append('notes', new File(['# notes'], 'notes.md'));
    form.append('raw', new Blob(['bytes']));
    form.append('title', 'again');
    await client.post(server.url, { data: form });
    const { headers } = seen();
    expect(headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(headers['content-length']).toBe(String(seen().body.length));
    const parsed = await parsedForm();
    expect(parsed.getAll('title')).toEqual(['two\r\nlines', 'again']);
    const photo = parsed.get('photo') as File;
    expect([photo.name, photo.type, Buffer.from(await photo.arrayBuffer()).toString()]).toEqual(['cat.png', 'image/png', 'PNGDATA']);
    // A File without a type gets one from its name (mime-types); a Blob is named "blob" by FormData.
    const notes = parsed.get('notes') as File;
    expect([notes.name, notes.type, await notes.text()]).toEqual(['notes.md', 'text/markdown', '# notes']);
    const raw = parsed.get('raw') as File;
    expect([raw.name, raw.type, await raw.text()]).toEqual(['blob', 'application/octet-stream', 'bytes']);
  });

  it('puts a FormData given as data before the files option', async () => {
    const form = new FormData();
    form.append('a', '1');
    await client.post(server.url, { data: form, files: { b: { content: 'B', filename: 'b.txt' } } });
    const parsed = await parsedForm();
    expect([...parsed.keys()]).toEqual(['a', 'b']);
    expect(await (parsed.get('b') as File).text()).toBe('B');
  });

  it('accepts a Blob or a File in files, with its name and type', async () => {
    await client.post(server.url, {
      files: { doc: new File(['%PDF'], 'report.pdf', { type: 'application/pdf' }), blob: new Blob(['b']), spelled: { content: new File(['x'], 'x.csv'), filename: 'renamed.csv' } },
    });
    const parsed = await parsedForm();
    const doc = parsed.get('doc') as File;
    const blob = parsed.get('blob') as File;
    const spelled = parsed.get('spelled') as File;
    expect([doc.name, doc.type]).toEqual(['report.pdf', 'application/pdf']);
    expect([blob.name, blob.type, await blob.text()]).toEqual(['blob', 'application/octet-stream', 'b']);
    expect([spelled.name, spelled.type, await spelled.text()]).toEqual(['renamed.csv', 'text/csv', 'x']);
  });
});

describe('URLSearchParams and ReadableStream bodies', () => {
  it('sends a URLSearchParams as an urlencoded form', async () => {
    await client.post(server.url, { data: new URLSearchParams([['q', 'a b'], ['q', '&']]) });
    expect(seen().headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen().body.toString()).toBe('q=a+b&q=%26');
  });

  it('streams a WHATWG ReadableStream chunked, reading it as the connection takes it', async () => {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 3) controller.close();
        else controller.enqueue(new TextEncoder().encode(`part${pulled};`));
      },
    });
    await client.post(server.url, { data: stream });
    expect(seen().headers['transfer-encoding']).toBe('chunked');
    expect(seen().body.toString()).toBe('part1;part2;part3;');
  });
});

describe('response.body, a WHATWG ReadableStream', () => {
  it('streams a buffered body from memory, and the body can still be read as text afterwards', async () => {
    const response = await client.get(`${server.url}/bytes?size=5`);
    expect(response.body).toBe(response.body);
    expect((await readAll(response.body)).toString()).toBe('xxxxx');
    expect(await response.text()).toBe('xxxxx');
  });

  it('streams an unbuffered body as it arrives', async () => {
    const response = await client.get(`${server.url}/bytes?size=300000`, { unbuffered: true });
    expect((await readAll(response.body)).length).toBe(300000);
    expect(client.inFlight).toBe(0);
  });

  it('holds the server back while the stream is not read, then delivers every byte', async () => {
    const response = await client.get(`${server.url}/pressure`, { unbuffered: true });
    const reader = response.body.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    expect(await eventually(() => pressure.blocked)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const sentWhileUnread = pressure.sent;
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Nothing drained the socket while nobody read the stream (read on, it would take all 64 MiB).
    expect(pressure.sent).toBe(sentWhileUnread);
    expect(pressure.blocked).toBe(true);
    expect(pressure.sent).toBeLessThan(pressure.total / 2);
    let received = first.value?.byteLength ?? 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
    }
    expect(received).toBe(pressure.total);
    expect(pressure.finished).toBe(true);
  });

  it('abandons the body when the stream is cancelled: the connection is closed and the request ends', async () => {
    const response = await client.get(`${server.url}/pressure`, { unbuffered: true });
    const reader = response.body.getReader();
    await reader.read();
    await reader.cancel();
    expect(await eventually(() => client.inFlight === 0)).toBe(true);
    expect(await eventually(() => Object.values(pool.stats()).every((host) => host.open === 0))).toBe(true);
    expect(pressure.finished).toBe(false);
  });

  it('errors the stream with the StrandError of a body cut short', async () => {
    const response = await client.get(`${server.url}/truncated`, { unbuffered: true });
    await expect(readAll(response.body)).rejects.toBeInstanceOf(ResponseFailedError);
  });

  it('fails for a response of the redirect history, whose body is not kept', async () => {
    const response = await client.post(`${server.url}/307`, { data: 'x' });
    const [hop] = response.history();
    await expect(readAll((hop as typeof response).body)).rejects.toMatchObject({ code: 'STRAND_BODY_UNAVAILABLE' });
  });
});
