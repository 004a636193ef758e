import { mkdtempSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BytesProducer, FileBodyProducer, HTTPConnectionPool, UNKNOWN_LENGTH, type BodyConsumer } from '@strand/core';
import { HTTPClient, MultipartProducer, guessContentType } from '@strand/client';
import { type TestServer, echo, startServer } from './support/servers';

interface Part {
  headers: Record<string, string>;
  body: string;
}

/** A small multipart/form-data parser, independent of the client's code. */
function parseMultipart(contentType: string, body: Buffer): Part[] {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  if (boundary === undefined) throw new Error(`no boundary in ${contentType}`);
  const text = body.toString('latin1');
  expect(text.endsWith(`--${boundary}--\r\n`)).toBe(true);
  const sections = text.split(`--${boundary}`).slice(1, -1);
  return sections.map((section) => {
    expect(section.startsWith('\r\n')).toBe(true);
    expect(section.endsWith('\r\n')).toBe(true);
    const [head, ...rest] = section.slice(2, -2).split('\r\n\r\n');
    const headers: Record<string, string> = {};
    for (const line of (head ?? '').split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { headers, body: Buffer.from(rest.join('\r\n\r\n'), 'latin1').toString('utf8') };
  });
}

let server: TestServer;
let pool: HTTPConnectionPool;
let client: HTTPClient;
let dir: string;

beforeEach(async () => {
  server = await startServer(echo);
  pool = new HTTPConnectionPool();
  client = new HTTPClient({ pool });
  dir = mkdtempSync(join(tmpdir(), 'strand-multipart-'));
});

afterEach(async () => {
  await pool.closeCachedConnections();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function seen(): { contentType: string; length: string | undefined; chunked: boolean; parts: Part[] } {
  const request = server.requests[0];
  if (request === undefined) throw new Error('no request');
  const contentType = request.headers['content-type'] ?? '';
  return { contentType, length: request.headers['content-length'], chunked: request.headers['transfer-encoding'] === 'chunked', parts: parseMultipart(contentType, request.body) };
}

describe('files (multipart/form-data)', () => {
  it('streams files from paths with field names, file names, guessed types, and Content-Length', async () => {
    const notes = join(dir, 'notes.txt');
    const data = join(dir, 'data.json');
    writeFileSync(notes, 'hello\r\n--not a boundary\r\n');
    writeFileSync(data, '{"a":1}');
    await client.post(server.url, { files: { notes, data } });
    const { contentType, length, chunked, parts } = seen();
    expect(contentType).toMatch(/^multipart\/form-data; boundary=----StrandFormBoundary[0-9a-f]{32}$/);
    expect(chunked).toBe(false);
    expect(Number(length)).toBe(server.requests[0]?.body.length);
    expect(parts).toEqual([
      { headers: { 'content-disposition': 'form-data; name="notes"; filename="notes.txt"', 'content-type': 'text/plain' }, body: 'hello\r\n--not a boundary\r\n' },
      { headers: { 'content-disposition': 'form-data; name="data"; filename="data.json"', 'content-type': 'application/json' }, body: '{"a":1}' },
    ]);
  });

  it('sends data form fields first as plain parts', async () => {
    await client.post(server.url, { data: { title: 'Ünïcode', n: 3 }, files: { f: Buffer.from('xyz') } });
    const { parts } = seen();
    expect(parts.map((p) => [p.headers['content-disposition'], p.headers['content-type'], p.body])).toEqual([
      ['form-data; name="title"', undefined, 'Ünïcode'],
      ['form-data; name="n"', undefined, '3'],
      ['form-data; name="f"; filename="f"', 'application/octet-stream', 'xyz'],
    ]);
  });

  it('takes file name, content type and content from a FileField, and repeats a field for an array', async () => {
    await client.post(server.url, {
      files: {
        images: [
          { content: Buffer.from('PNGDATA'), filename: 'a.png' },
          { content: 'text as a file', filename: 'b "quoted".txt', contentType: 'text/x-custom' },
        ],
        bare: { content: 'no file name', filename: null },
      },
    });
    const { parts } = seen();
    expect(parts.map((p) => [p.headers['content-disposition'], p.headers['content-type'], p.body])).toEqual([
      ['form-data; name="images"; filename="a.png"', 'image/png', 'PNGDATA'],
      ['form-data; name="images"; filename="b %22quoted%22.txt"', 'text/x-custom', 'text as a file'],
      ['form-data; name="bare"', 'application/octet-stream', 'no file name'],
    ]);
  });

  it('sends a body with a stream part chunked, naming a file stream after its path', async () => {
    const path = join(dir, 'stream.csv');
    writeFileSync(path, 'a,b\n1,2\n');
    await client.post(server.url, { files: [['csv', createReadStream(path)], ['gen', Readable.from(['x', 'y'])]] });
    const { chunked, parts } = seen();
    expect(chunked).toBe(true);
    expect(parts.map((p) => [p.headers['content-disposition'], p.headers['content-type'], p.body])).toEqual([
      ['form-data; name="csv"; filename="stream.csv"', 'text/csv', 'a,b\n1,2\n'],
      ['form-data; name="gen"; filename="gen"', 'application/octet-stream', 'xy'],
    ]);
  });

  it('sends a Content-Length when a stream part declares its length', async () => {
    await client.post(server.url, { files: { s: { content: Readable.from([Buffer.from('12345')]), length: 5, filename: 's.bin' } } });
    const { chunked, parts } = seen();
    expect(chunked).toBe(false);
    expect(parts[0]?.body).toBe('12345');
  });

  it('names the field in errors about a file', async () => {
    await expect(client.post(server.url, { files: { avatar: { path: join(dir, 'missing.png') } } })).rejects.toThrow(/files\.avatar: cannot read ".*missing\.png": no such file/);
    await expect(client.post(server.url, { files: { a: { path: 'x', content: 'y' } as never } })).rejects.toThrow(/files\.a needs exactly one of path and content/);
    await expect(client.post(server.url, { files: { a: { content: 'x', contentType: 'text/plain\r\nX: y' } } })).rejects.toThrow(/files\.a\.contentType must be/);
    await expect(client.post(server.url, { files: { a: { content: 'x', size: 1 } as never } })).rejects.toThrow(/files\.a\.size is not a file option/);
    await expect(client.post(server.url, { files: 'x' as never })).rejects.toThrow(/files must be an object/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('MultipartProducer', () => {
  const collect = async (producer: MultipartProducer): Promise<Buffer> => {
    const chunks: Uint8Array[] = [];
    const consumer: BodyConsumer = { write: (c) => void chunks.push(c) };
    await producer.startProducing(consumer);
    return Buffer.concat(chunks);
  };

  it('writes exactly length bytes, and the same bytes again when replayed', async () => {
    const producer = new MultipartProducer([{ name: 'a', filename: 'a.txt', contentType: 'text/plain', content: new BytesProducer('hello') }], 'fixed-boundary');
    expect(producer.replayable).toBe(true);
    const first = await collect(producer);
    expect(first.length).toBe(producer.length);
    expect(first.toString()).toBe('--fixed-boundary\r\nContent-Disposition: form-data; name="a"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--fixed-boundary--\r\n');
    expect((await collect(producer)).equals(first)).toBe(true);
  });

  it('is one-shot and of unknown length with a stream part', () => {
    const producer = new MultipartProducer([{ name: 's', filename: null, contentType: null, content: new FileBodyProducer(Readable.from(['x'])) }]);
    expect(producer.length).toBe(UNKNOWN_LENGTH);
    expect(producer.replayable).toBe(false);
    producer.stopProducing();
  });

  it('stops between parts while paused and continues when resumed', async () => {
    const producer = new MultipartProducer([{ name: 'a', filename: null, contentType: null, content: new BytesProducer('x') }], 'b');
    const chunks: string[] = [];
    const run = producer.startProducing({
      write: (c) => {
        chunks.push(Buffer.from(c).toString());
        if (chunks.length === 1) producer.pauseProducing();
      },
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(chunks).toHaveLength(1);
    producer.resumeProducing();
    await run;
    expect(chunks.join('')).toBe('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--b--\r\n');
  });

  it('refuses a boundary that is not RFC 2046 characters', () => {
    expect(() => new MultipartProducer([], 'has space')).toThrow(/multipart boundary/);
  });

  it('guesses content types from extensions', () => {
    expect(guessContentType('photo.JPG')).toBe('image/jpeg');
    expect(guessContentType('archive.unknown')).toBe('application/octet-stream');
    expect(guessContentType(null)).toBe('application/octet-stream');
  });

  it('knows the types of the mime-db table, not only a short list (HEIC photos, Office documents, fonts)', () => {
    expect(guessContentType('IMG_0001.HEIC')).toBe('image/heic');
    expect(guessContentType('report.docx')).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    expect(guessContentType('font.woff2')).toBe('font/woff2');
    expect(guessContentType('notes.md')).toBe('text/markdown');
  });

  it('gives a name without an extension no type of the extension it spells ("png" is not a PNG)', () => {
    expect(guessContentType('png')).toBe('application/octet-stream');
    expect(guessContentType('/tmp/dir.d/README')).toBe('application/octet-stream');
  });
});
