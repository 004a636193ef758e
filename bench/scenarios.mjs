// The workloads. Every client runs the same scenario against the same server: N independent
// loops (N = `connections`), each doing request -> read the whole body -> next request.

/** A ~100-byte JSON document, served by /json. */
export const JSON_DOC = '{"id":4242,"name":"strand","tags":["http","client","bench"],"ok":true,"items":[1,2,3,4,5,6,7,8,9]}\n';

/** The 1 KiB JSON request body of `post-1kib-json`. */
export const POST_BODY = makeJsonBody(1024);

export const SMALL_BODY = 'hello world\n';
export const CHUNK_SIZE = 1024;
export const CHUNK_COUNT = 16;
export const MIB = 1024 * 1024;

/**
 * name -> { path, method, connections, warmupRequests, https?, body?, contentType?, chunked?, stream?,
 *           nodeServer? (always served by bench/node-server.mjs), expectBytes, about, inMemory?,
 *           concurrency? (requests in flight; default: connections), pipelining? (per connection),
 *           default? }
 * `default: false` scenarios run only when named in `--scenario`.
 */
export const SCENARIOS = {
  'small-1': { path: '/small', method: 'GET', connections: 1, warmupRequests: 20000, expectBytes: SMALL_BODY.length, about: `GET /small (${SMALL_BODY.length}-byte body), 1 connection: per-request latency and overhead` },
  'small-50': { path: '/small', method: 'GET', connections: 50, warmupRequests: 30000, expectBytes: SMALL_BODY.length, about: `GET /small (${SMALL_BODY.length}-byte body), 50 connections: requests/s` },
  'json-50': { path: '/json', method: 'GET', connections: 50, warmupRequests: 30000, expectBytes: JSON_DOC.length, default: false, about: `GET /json (${JSON_DOC.length}-byte JSON, read as bytes), 50 connections` },
  'large-1mib': { path: '/1mib', method: 'GET', connections: 4, warmupRequests: 200, expectBytes: MIB, about: 'GET a 1 MiB static file, 4 connections, whole body buffered: MB/s' },
  'large-1mib-stream': { path: '/1mib', method: 'GET', connections: 4, warmupRequests: 200, stream: true, expectBytes: MIB, about: "GET a 1 MiB static file, 4 connections, body streamed and counted, not kept (each library's streaming way): MB/s, like for like with the raw sockets" },
  'large-64mib': { path: '/64mib', method: 'GET', connections: 1, warmupRequests: 4, expectBytes: 64 * MIB, about: 'GET a 64 MiB static file, 1 connection, whole body buffered: MB/s' },
  'post-1kib-json': { path: '/post', method: 'POST', connections: 50, warmupRequests: 30000, body: POST_BODY, contentType: 'application/json', expectBytes: 3, about: `POST a ${POST_BODY.length}-byte JSON body (Content-Length), 3-byte answer, 50 connections` },
  // Served by the Node server even when nginx runs: nginx makes chunked bodies only through SSI
  // subrequests, which capped it near 6k req/s here (server-bound, every client alike).
  chunked: { path: '/chunked', method: 'GET', connections: 50, warmupRequests: 20000, expectBytes: CHUNK_SIZE * CHUNK_COUNT, chunked: true, nodeServer: true, about: `GET a chunked body (${CHUNK_COUNT} chunks of ${CHUNK_SIZE} bytes, one res.write each, from the Node server), 50 connections` },
  'https-small-50': { path: '/small', method: 'GET', connections: 50, warmupRequests: 30000, https: true, expectBytes: SMALL_BODY.length, about: 'GET /small over TLS (self-signed cert passed as CA), 50 connections' },
  // HTTP/1.1 pipelining: 40 requests in flight over 4 connections, with each client's pool set
  // to pipelining 1 (requests queue for a free connection) or 10 (written behind busy ones).
  // Only clients with a pipelining option run them (Strand, undici's Pool and Agent).
  'pipeline-1': { path: '/small', method: 'GET', connections: 4, concurrency: 40, pipelining: 1, warmupRequests: 30000, expectBytes: SMALL_BODY.length, default: false, about: 'GET /small, 40 requests in flight on 4 connections, pipelining 1 (queued in the pool)' },
  'pipeline-10': { path: '/small', method: 'GET', connections: 4, concurrency: 40, pipelining: 10, warmupRequests: 30000, expectBytes: SMALL_BODY.length, default: false, about: 'GET /small, 40 requests in flight on 4 connections, pipelining 10 (each connection carries up to 10)' },
  'fake-agent': { inMemory: true, path: '/small', method: 'GET', connections: 1, warmupRequests: 20000, expectBytes: SMALL_BODY.length, about: `@strand/testing's fake agent (createFakeAgent: real HttpAgent, parser and pool over in-memory connections to an http.Server in the same process) answering like /small, 1 loop; Strand clients only, and the client's CPU includes the in-process server` },
};

export const DEFAULT_SCENARIOS = Object.keys(SCENARIOS).filter((name) => SCENARIOS[name].default !== false);

function makeJsonBody(size) {
  const head = '{"user":"strand-bench","items":[';
  const tail = ']}';
  const items = [];
  let length = head.length + tail.length;
  for (let i = 0; ; i++) {
    const item = `${i === 0 ? '' : ','}{"id":${i},"v":"abcdefgh"}`;
    if (length + item.length > size) break;
    items.push(item);
    length += item.length;
  }
  const json = head + items.join('') + tail;
  // Pad with spaces (valid JSON whitespace) to exactly `size` bytes.
  return Buffer.from(json.slice(0, -1) + ' '.repeat(size - json.length) + '}');
}
