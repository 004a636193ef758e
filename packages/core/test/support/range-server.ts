import type * as http from 'node:http';

/** A representation the range handler serves: bytes, a strong ETag, a Last-Modified date. */
export interface Served {
  body: Buffer;
  etag: string;
  lastModified: string;
}

/** What the handler saw of each request, for assertions. */
export interface SeenRequest {
  range: string | undefined;
  ifRange: string | undefined;
  acceptEncoding: string | undefined;
}

/** Bytes 0..n-1 with a recognisable pattern (byte i is i mod 251). */
export function patterned(n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = i % 251;
  return out;
}

/**
 * A Node request handler that serves `served()` the RFC 9110 way: `Range` with one or several
 * ranges (several as `multipart/byteranges`), `If-Range` against the ETag or the date (no match:
 * the whole body with 200), `416` with `Content-Range: bytes * /len` when nothing overlaps.
 * Written for the tests, independently of the client's code.
 */
export function rangeHandler(served: () => Served, seen: SeenRequest[] = []): http.RequestListener {
  return (req, res) => {
    const { body, etag, lastModified } = served();
    const range = req.headers.range;
    const ifRange = req.headers['if-range'] as string | undefined;
    seen.push({ range, ifRange, acceptEncoding: req.headers['accept-encoding'] });
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', lastModified);
    res.setHeader('Accept-Ranges', 'bytes');
    const whole = (): void => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
      res.end(body);
    };
    if (range === undefined || (ifRange !== undefined && ifRange !== etag && ifRange !== lastModified)) return whole();
    const match = /^bytes=(.+)$/.exec(range);
    if (match === null) return whole();
    const n = body.length;
    const ranges: Array<[number, number]> = [];
    for (const item of (match[1] as string).split(',')) {
      const m = /^\s*(\d*)-(\d*)\s*$/.exec(item);
      if (m === null) return whole();
      const [, a, b] = m as unknown as [string, string, string];
      if (a === '') {
        const suffix = Number(b);
        if (suffix > 0 && n > 0) ranges.push([Math.max(0, n - suffix), n - 1]);
      } else {
        const start = Number(a);
        const end = b === '' ? n - 1 : Math.min(Number(b), n - 1);
        if (start < n) ranges.push([start, end]);
      }
    }
    if (ranges.length === 0) {
      res.writeHead(416, { 'Content-Range': `bytes */${n}`, 'Content-Length': 0 });
      res.end();
      return;
    }
    if (ranges.length === 1) {
      const [start, end] = ranges[0] as [number, number];
      res.writeHead(206, { 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes ${start}-${end}/${n}`, 'Content-Length': end - start + 1 });
      res.end(body.subarray(start, end + 1));
      return;
    }
    const boundary = 'STRAND-TEST-BOUNDARY';
    const pieces: Buffer[] = [];
    for (const [start, end] of ranges) {
      pieces.push(Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${start}-${end}/${n}\r\n\r\n`), body.subarray(start, end + 1));
    }
    pieces.push(Buffer.from(`\r\n--${boundary}--\r\n`));
    const all = Buffer.concat(pieces);
    res.writeHead(206, { 'Content-Type': `multipart/byteranges; boundary=${boundary}`, 'Content-Length': all.length });
    res.end(all);
  };
}
