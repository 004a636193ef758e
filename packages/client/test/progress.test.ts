/**
 * onUploadProgress and onDownloadProgress on a loopback server (buffered and unbuffered bodies,
 * known and unknown sizes, redirects, compression), and the throttle on an injected clock.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { HTTPConnectionPool } from '@strand/core';
import { type HTTPClient, PROGRESS_INTERVAL_MS, type Progress } from '@strand/client';
import { ProgressReporter } from '../src/progress';
import { redirectRoute, routes, startLoopback, stopLoopback } from './support/routes';
import type { TestServer } from './support/servers';

let server: TestServer;
let pool: HTTPConnectionPool;
let client: HTTPClient;

const BIG = Buffer.alloc(3 * 1024 * 1024 + 7, 'b');
const TEXT = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(2000));

const handler = routes({
  '/big': (_req, res) => {
    res.writeHead(200, { 'content-length': String(BIG.length) });
    res.end(BIG);
  },
  '/chunked': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('abc');
    res.end('defg');
  },
  '/gzip': (_req, res) => {
    const zipped = gzipSync(TEXT);
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(zipped.length), 'x-zipped-length': String(zipped.length) });
    res.end(zipped);
  },
  '/moved': redirectRoute(302, '/big', 'a redirect body that is not counted'),
  '/307': redirectRoute(307, '/echo'),
});

beforeEach(async () => {
  ({ server, pool, client } = await startLoopback(handler));
});

afterEach(() => stopLoopback({ server, pool }));

/** Checks the shape every transfer has: a first event at 0, counts that never go back, a last event that is complete. */
function expectWellFormed(events: Progress[], size: number, total: number | undefined): void {
  expect(events.length).toBeGreaterThanOrEqual(2);
  expect(events[0]).toEqual({ transferred: 0, total, percent: total === undefined ? undefined : total === 0 ? 0 : 0 });
  for (let i = 1; i < events.length; i++) expect((events[i] as Progress).transferred).toBeGreaterThanOrEqual((events[i - 1] as Progress).transferred);
  expect(events[events.length - 1]).toEqual({ transferred: size, total: size, percent: 1 });
  for (const event of events.slice(1, -1)) expect(event.total).toBe(total);
}

describe('the throttle', () => {
  it('reports the first event, then at most one per interval, then the last one', () => {
    let now = 1000;
    const events: Progress[] = [];
    const reporter = new ProgressReporter((p) => events.push(p), 1000, () => now);
    reporter.start();
    reporter.add(100);
    now += PROGRESS_INTERVAL_MS - 1;
    reporter.add(100);
    now += 1;
    reporter.add(100);
    reporter.add(100);
    now += PROGRESS_INTERVAL_MS * 3;
    reporter.add(600);
    reporter.finish();
    reporter.finish();
    expect(events).toEqual([
      { transferred: 0, total: 1000, percent: 0 },
      { transferred: 300, total: 1000, percent: 0.3 },
      { transferred: 1000, total: 1000, percent: 1 },
      { transferred: 1000, total: 1000, percent: 1 },
    ]);
  });

  it('gives no total and no percent while the size is unknown, and both in the last event', () => {
    let now = 0;
    const events: Progress[] = [];
    const reporter = new ProgressReporter((p) => events.push(p), undefined, () => now);
    reporter.start();
    now += PROGRESS_INTERVAL_MS;
    reporter.add(5);
    reporter.finish();
    expect(events).toEqual([
      { transferred: 0, total: undefined, percent: undefined },
      { transferred: 5, total: undefined, percent: undefined },
      { transferred: 5, total: 5, percent: 1 },
    ]);
  });
});

describe('onUploadProgress', () => {
  it('reports the bytes a buffered body hands to the connection, from 0 to the whole body', async () => {
    const events: Progress[] = [];
    await client.post(server.url, { data: BIG, onUploadProgress: (p) => events.push(p) });
    expectWellFormed(events, BIG.length, BIG.length);
    expect(server.requests[0]?.body.length).toBe(BIG.length);
  });

  it('has no total for a stream until its last event', async () => {
    const events: Progress[] = [];
    await client.post(server.url, { data: Readable.from([Buffer.from('abc'), Buffer.from('de')]), onUploadProgress: (p) => events.push(p) });
    expectWellFormed(events, 5, undefined);
  });

  it('reports again from 0 when a 307 sends the body again', async () => {
    const events: Progress[] = [];
    await client.post(`${server.url}/307`, { data: 'twice', onUploadProgress: (p) => events.push(p) });
    expect(events.map((p) => p.transferred)).toEqual([0, 5, 0, 5]);
  });

  it('is not called for a request without a body', async () => {
    const events: Progress[] = [];
    await client.get(server.url, { onUploadProgress: (p) => events.push(p) });
    expect(events).toEqual([]);
  });

  it('fails the request with the error of a callback that throws', async () => {
    const broken = new Error('progress bar gone');
    const error = await client.post(server.url, { data: 'x', onUploadProgress: () => {
      throw broken;
    } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    let cause: unknown = error;
    while (cause instanceof Error && cause !== broken) cause = cause.cause;
    expect(cause).toBe(broken);
  });
});

describe('onDownloadProgress', () => {
  it('reports a buffered body of known length from the head to the last byte', async () => {
    const events: Progress[] = [];
    const response = await client.get(`${server.url}/big`, { onDownloadProgress: (p) => events.push(p) });
    expect((await response.content()).length).toBe(BIG.length);
    expectWellFormed(events, BIG.length, BIG.length);
  });

  it('reports an unbuffered body as it is read: the first event at the head, the last once it was read', async () => {
    const events: Progress[] = [];
    const response = await client.get(`${server.url}/big`, { unbuffered: true, onDownloadProgress: (p) => events.push(p) });
    expect(events).toEqual([{ transferred: 0, total: BIG.length, percent: 0 }]);
    let read = 0;
    for await (const chunk of response.body) read += chunk.byteLength;
    expect(read).toBe(BIG.length);
    expectWellFormed(events, BIG.length, BIG.length);
  });

  it('has no total for a chunked body until its last event', async () => {
    const events: Progress[] = [];
    await client.get(`${server.url}/chunked`, { onDownloadProgress: (p) => events.push(p) });
    expectWellFormed(events, 7, undefined);
  });

  it('counts the bytes on the wire of a compressed body, so the Content-Length is its total', async () => {
    const events: Progress[] = [];
    const response = await client.get(`${server.url}/gzip`, { onDownloadProgress: (p) => events.push(p) });
    const zipped = Number(response.headers.get('x-zipped-length'));
    expect((await response.content()).equals(TEXT)).toBe(true);
    expectWellFormed(events, zipped, zipped);
  });

  it('counts only the final response of a redirect chain', async () => {
    const events: Progress[] = [];
    await client.get(`${server.url}/moved`, { onDownloadProgress: (p) => events.push(p) });
    expectWellFormed(events, BIG.length, BIG.length);
  });

  it('gives no last event for a body that was abandoned', async () => {
    const events: Progress[] = [];
    const response = await client.get(`${server.url}/big`, { unbuffered: true, onDownloadProgress: (p) => events.push(p) });
    await response.body.getReader().cancel();
    expect(events.every((p) => p.percent !== 1)).toBe(true);
  });
});
