// The server the README examples talk to (they say http://127.0.0.1:8080; the runners point them
// here). Run on its own it listens on a free port of 127.0.0.1, prints its URL on the first line
// of stdout and stops when its stdin closes or on SIGTERM/SIGINT.
//
//   GET  /            a line of text
//   GET  /items       JSON { page, items }            POST /items   201, JSON { id, ...body }
//   POST /login       a form; 303 to /welcome with a session cookie
//   GET  /welcome     JSON { welcome, session }
//   GET  /old-page    301 to /new-page                 GET  /new-page  gzip-encoded HTML when asked
//   GET  /health      "ok"                             anything else   404
//   GET  /cached      text with Cache-Control: max-age=60 and ETag "c1" (304 to If-None-Match: "c1")
//   GET  /file.bin    100,000 bytes (byte i is i % 251), ETag "v1": Range (one or several, as
//                     multipart/byteranges), If-Range, 416 past the end
import * as http from 'node:http';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

function send(res, status, headers, body = '') {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  res.writeHead(status, { 'content-length': String(bytes.length), ...headers });
  res.end(bytes);
}

function json(res, status, value, headers = {}) {
  send(res, status, { 'content-type': 'application/json', ...headers }, JSON.stringify(value));
}

function handle(req, res, body) {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /':
      return send(res, 200, { 'content-type': 'text/plain; charset=utf-8' }, 'hello from the example server\n');
    case 'GET /items':
      return json(res, 200, { page: Number(url.searchParams.get('page') ?? 1), items: [{ id: 1, name: 'strand' }] });
    case 'POST /items': {
      let item = {};
      try {
        item = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        return json(res, 400, { error: 'expected JSON' });
      }
      return json(res, 201, { id: 2, ...item });
    }
    case 'POST /login': {
      const form = new URLSearchParams(body.toString('utf8'));
      const user = form.get('user') ?? 'nobody';
      return send(res, 303, { location: '/welcome', 'set-cookie': `session=${encodeURIComponent(user)}-s3ss10n; Path=/; HttpOnly` });
    }
    case 'GET /welcome': {
      const session = /(?:^|;\s*)session=([^;]*)/.exec(req.headers.cookie ?? '')?.[1] ?? null;
      return json(res, 200, { welcome: session ? decodeURIComponent(session).split('-')[0] : null, session });
    }
    case 'GET /old-page':
      return send(res, 301, { location: '/new-page' });
    case 'GET /new-page': {
      const page = Buffer.from('<!doctype html><title>new page</title><p>moved here</p>\n');
      if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
        return send(res, 200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': 'gzip' }, gzipSync(page));
      }
      return send(res, 200, { 'content-type': 'text/html; charset=utf-8' }, page);
    }
    case 'GET /cached':
      // Fresh for a minute, with a validator; a matching If-None-Match gets a 304.
      if (req.headers['if-none-match'] === '"c1"') return send(res, 304, { etag: '"c1"', 'cache-control': 'max-age=60' });
      return send(res, 200, { 'content-type': 'text/plain; charset=utf-8', etag: '"c1"', 'cache-control': 'max-age=60' }, 'a cacheable page\n');
    case 'GET /health':
      return send(res, 200, { 'content-type': 'text/plain' }, 'ok');
    case 'GET /file.bin':
      return sendRanges(req, res, FILE, '"v1"');
    default:
      return send(res, 404, { 'content-type': 'text/plain' }, `no route for ${route}\n`);
  }
}

const FILE = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));

/** Serves `file` with its ETag, honouring Range and If-Range (RFC 9110 §14) as a static server does. */
function sendRanges(req, res, file, etag) {
  const headers = { etag, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
  const match = /^bytes=(.+)$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  if (match === null || (ifRange !== undefined && ifRange !== etag)) return send(res, 200, headers, file);
  const n = file.length;
  const ranges = [];
  for (const spec of match[1].split(',')) {
    const [, a, b] = /^\s*(\d*)-(\d*)\s*$/.exec(spec) ?? [];
    if (a === undefined) return send(res, 200, headers, file);
    if (a === '') ranges.push([Math.max(0, n - Number(b)), n - 1]);
    else if (Number(a) < n) ranges.push([Number(a), b === '' ? n - 1 : Math.min(Number(b), n - 1)]);
  }
  if (ranges.length === 0) return send(res, 416, { 'content-range': `bytes */${n}` });
  if (ranges.length === 1) {
    const [start, end] = ranges[0];
    return send(res, 206, { ...headers, 'content-range': `bytes ${start}-${end}/${n}` }, file.subarray(start, end + 1));
  }
  const boundary = 'example-boundary';
  const parts = ranges.flatMap(([start, end]) => [
    Buffer.from(`\r\n--${boundary}\r\ncontent-type: application/octet-stream\r\ncontent-range: bytes ${start}-${end}/${n}\r\n\r\n`),
    file.subarray(start, end + 1),
  ]);
  return send(res, 206, { etag, 'content-type': `multipart/byteranges; boundary=${boundary}` }, Buffer.concat([...parts, Buffer.from(`\r\n--${boundary}--\r\n`)]));
}

/** Starts the example server on a free port; resolves to its URL and a close function. */
export async function startExampleServer() {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url, close } = await startExampleServer();
  process.stdout.write(`${url}\n`);
  const stop = () => void close().then(() => process.exit(0));
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
