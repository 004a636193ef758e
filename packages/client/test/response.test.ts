import { inspect } from 'node:util';
import { gzipSync, brotliCompressSync, deflateSync } from 'node:zlib';
import { BodyTooLargeError, CancelledError, HTTPConnectionPool, ResponseDone, TooManyRedirectsError, RedirectError, type BodyEndReason } from '@strand/core';
import { ClientResponse, HTTPClient, HTTPStatusError, JSONDecodeError, ResponseDecodeError, parseLinks } from '@strand/client';
import { type Handler, type TestServer, startServer } from './support/servers';

let server: TestServer;
let pool: HTTPConnectionPool;
let client: HTTPClient;

const routes: Record<string, Handler> = {
  '/json': (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true,"list":[1,2]}');
  },
  '/bad-json': (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":');
  },
  '/bad-json-lines': (_req, res) => {
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end('{\n  "token": "s3cr3t-value",\n  "n": 1,\n}');
  },
  '/html-login': (_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<html>session=s3cr3t-value</html>');
  },
  '/body': (req, res) => {
    // Answers with the text of the `b` query parameter, for JSON error cases.
    res.setHeader('content-type', 'application/json');
    res.end(new URL(req.url ?? '/', 'http://x').searchParams.get('b') ?? '');
  },
  '/links/list': (_req, res) => {
    res.setHeader('link', [
      '</items?page=3>; rel="next"; title="Page, 3; of 9", <https://other.example/first>; rel=first',
      `<?page=1>; rel="prev START"; type="text/html"; title*=UTF-8'de'n%c3%a4chstes`,
      '<../up>; rel=up; rel=ignored, </norel>; anchor="#x", </second-next>; rel=next',
    ]);
    res.end();
  },
  '/latin1': (_req, res) => {
    res.setHeader('content-type', 'text/plain; charset=ISO-8859-1');
    res.end(Buffer.from([0x63, 0x61, 0x66, 0xe9])); // "café" in Latin-1
  },
  '/utf8-no-charset': (_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(Buffer.from('naïve ☃', 'utf8'));
  },
  '/bogus-charset': (_req, res) => {
    res.setHeader('content-type', 'text/plain; charset=klingon');
    res.end(Buffer.from('plain', 'utf8'));
  },
  '/chunks': (_req, res) => {
    res.setHeader('content-type', 'text/plain');
    let n = 0;
    const write = (): void => {
      n++;
      if (n > 5) {
        res.end();
        return;
      }
      res.write(`part${n};`);
      setImmediate(write);
    };
    write();
  },
  '/trailers': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
    res.write('body');
    res.addTrailers({ 'x-checksum': 'abc' });
    res.end();
  },
  '/big': (_req, res) => {
    res.end(Buffer.alloc(100_000, 0x61));
  },
  '/gzip': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(gzipSync(JSON.stringify({ gzipped: true })));
  },
  '/deflate': (_req, res) => {
    res.writeHead(200, { 'content-encoding': 'deflate' });
    res.end(deflateSync('deflated text'));
  },
  '/br': (_req, res) => {
    res.writeHead(200, { 'content-encoding': 'br' });
    res.end(brotliCompressSync('brotli text'));
  },
  '/404': (_req, res) => {
    res.writeHead(404, 'Not Found', { 'content-type': 'text/plain' });
    res.end('no such thing');
  },
  '/500': (_req, res) => {
    res.writeHead(500);
    res.end('boom');
  },
  '/304': (_req, res) => {
    res.writeHead(304);
    res.end();
  },
  '/302-without-location': (_req, res) => {
    res.writeHead(302);
    res.end();
  },
  '/early-hints': (_req, res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
    res.end('after hints');
  },
  '/empty': (_req, res) => {
    res.writeHead(204);
    res.end();
  },
};

beforeEach(async () => {
  server = await startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const redirect = /^\/redirect\/(\d+)$/.exec(url.pathname);
    if (redirect !== null) {
      const n = Number(redirect[1]);
      res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: n > 1 ? `/redirect/${n - 1}` : '/json' });
      res.end('moving');
      return;
    }
    const route = routes[url.pathname];
    if (route === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    route(req, res, body);
  });
  pool = new HTTPConnectionPool();
  client = new HTTPClient({ pool });
});

afterEach(async () => {
  await pool.closeCachedConnections();
  await server.close();
});

describe('links()', () => {
  it('reads every link of several Link fields into a record keyed by rel, urls resolved against the response URL', async () => {
    const response = await client.get(`${server.url}/links/list?page=2`);
    const links = response.links();
    expect({ ...links }).toEqual({
      // A quoted value keeps its commas and semicolons; of two `next` links the first counts.
      next: { url: `${server.url}/items?page=3`, rel: 'next', title: 'Page, 3; of 9' },
      first: { url: 'https://other.example/first', rel: 'first' },
      // `rel="prev START"` is a link under each type, lower-cased; `title*` is left as sent.
      prev: { url: `${server.url}/links/list?page=1`, rel: 'prev', type: 'text/html', 'title*': "UTF-8'de'n%c3%a4chstes" },
      start: { url: `${server.url}/links/list?page=1`, rel: 'start', type: 'text/html', 'title*': "UTF-8'de'n%c3%a4chstes" },
      // The first rel counts.
      up: { url: `${server.url}/up`, rel: 'up' },
      // No rel: keyed by its URL, as requests does.
      [`${server.url}/norel`]: { url: `${server.url}/norel`, anchor: '#x' },
    });
  });

  it('gives an empty record for a response without Link fields', async () => {
    expect({ ...(await client.get(`${server.url}/json`)).links() }).toEqual({});
  });

  it('reads a hostile Link field in time linear in its length', () => {
    const big = 300_000;
    const hostile = [
      '<'.repeat(big),
      `<a>${';'.repeat(big)}`,
      `<a>; t="${'\\"'.repeat(big / 2)}`,
      `<a>; ${'x=y '.repeat(big / 4)}`,
      '<a>, '.repeat(big / 5),
      `${'<,'.repeat(big / 2)}>`,
      `<a>; rel="${'n '.repeat(big / 2)}"`.slice(0, 100_000),
    ];
    const started = performance.now();
    const counts = hostile.map((value) => parseLinks([value], 'http://h.test/').length);
    // Linear work takes milliseconds here; quadratic work would take minutes.
    expect(performance.now() - started).toBeLessThan(5000);
    expect(counts.slice(0, 6)).toEqual([0, 1, 1, 1, big / 5, 1]);
  });

  it('keeps parameter names such as __proto__ as plain keys of a link, never as its prototype', () => {
    const [link] = parseLinks(['</x>; rel=__proto__; __proto__=polluted; constructor=c'], 'http://h.test/');
    expect(Object.getPrototypeOf(link)).toBeNull();
    expect(Object.getOwnPropertyDescriptor(link, '__proto__')?.value).toBe('polluted');
    expect(link?.['constructor']).toBe('c');
    expect(link?.rel).toBe('__proto__');
  });
});

describe('reading a buffered response', () => {
  it('parses JSON and can read the body again as text and bytes', async () => {
    const response = await client.get(`${server.url}/json`);
    expect(response.buffered).toBe(true);
    expect(await response.json()).toEqual({ ok: true, list: [1, 2] });
    expect(await response.text()).toBe('{"ok":true,"list":[1,2]}');
    expect((await response.content()).length).toBe(24);
  });

  it('reports invalid JSON as a ResponseDecodeError with the URL', async () => {
    const response = await client.get(`${server.url}/bad-json`);
    const error = await response.json().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseDecodeError);
    expect((error as ResponseDecodeError).code).toBe('STRAND_RESPONSE_DECODE');
    expect((error as ResponseDecodeError).url).toBe(`${server.url}/bad-json`);
  });

  it('says where and why a JSON body is invalid, with its Content-Type and length, and never quotes the body', async () => {
    const response = await client.get(`${server.url}/bad-json-lines`);
    const error = await response.json().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JSONDecodeError);
    expect(error).toBeInstanceOf(ResponseDecodeError);
    const decode = error as JSONDecodeError;
    expect(decode.code).toBe('STRAND_RESPONSE_DECODE');
    expect(decode.message).toBe(
      `the response body is not valid JSON: unexpected "}", expected a property name in double quotes at line 4, column 1 (position 39); Content-Type application/json; charset=utf-8, 40 bytes (${server.url}/bad-json-lines)`,
    );
    expect([decode.position, decode.line, decode.column, decode.bodyLength, decode.contentType]).toEqual([39, 4, 1, 40, 'application/json; charset=utf-8']);
    // Not in the message, and not in what a logger prints (the cause and the stack included).
    expect(inspect(decode)).not.toContain('s3cr3t');
  });

  it('does not echo an HTML body that came instead of JSON, as V8\'s own message would', async () => {
    const response = await client.get(`${server.url}/html-login`);
    const error = (await response.json().catch((e: unknown) => e)) as JSONDecodeError;
    expect(error.reason).toBe('unexpected "<", expected a value');
    expect(error.message).toContain('at line 1, column 1 (position 0); Content-Type text/html, 33 bytes');
    expect(inspect(error)).not.toContain('s3cr3t');
  });

  it.each([
    ['', 0, 'the body is empty'],
    ['  \n', 3, 'the body is only whitespace'],
    ['[1,2', 4, "unexpected end of the body, expected ',' or ']' after an array element"],
    ['{"a" 1}', 5, "unexpected digit, expected ':' after a property name"],
    ['"abc', 4, 'unterminated string'],
    ['{"a":"b\nc"}', 7, 'control character U+000A inside a string (it must be escaped)'],
    ['1 2', 2, 'unexpected digit after the JSON value'],
    ['-x', 1, "no digit after '-'"],
    ['01', 1, 'a number cannot have a leading zero'],
    ['[tru]', 4, 'unexpected "]" inside what should be true'],
    ['["\\x"]', 3, 'bad escape in a string (\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u expected)'],
    ['[1,]', 3, 'unexpected "]", expected a value'],
  ])('locates invalid JSON %j at position %i: %s', async (text, position, reason) => {
    const response = await client.get(`${server.url}/body`, { params: { b: text } });
    const error = (await response.json().catch((e: unknown) => e)) as JSONDecodeError;
    expect(error).toBeInstanceOf(JSONDecodeError);
    expect([error.position, error.reason]).toEqual([position, reason]);
    // Where V8 gives a position, it is the same one.
    const v8 = (() => {
      try {
        JSON.parse(text);
      } catch (e) {
        return /at position (\d+)/.exec((e as Error).message)?.[1];
      }
      return 'parsed';
    })();
    if (v8 !== undefined) expect(Number(v8)).toBe(position);
  });

  it('decodes text with the charset of Content-Type', async () => {
    const response = await client.get(`${server.url}/latin1`);
    expect(await response.text()).toBe('café');
  });

  it('decodes text as UTF-8 when Content-Type names no charset', async () => {
    const response = await client.get(`${server.url}/utf8-no-charset`);
    expect(await response.text()).toBe('naïve ☃');
  });

  it('falls back to UTF-8 for a charset it does not know', async () => {
    const response = await client.get(`${server.url}/bogus-charset`);
    expect(await response.text()).toBe('plain');
  });

  it('uses an explicit encoding over the header, and refuses an unknown one', async () => {
    const response = await client.get(`${server.url}/utf8-no-charset`);
    expect(await response.text('latin1')).toBe(Buffer.from('naïve ☃', 'utf8').toString('latin1'));
    await expect(response.text('no-such-encoding')).rejects.toThrow(/unknown encoding "no-such-encoding"/);
  });

  it('gives a buffered body to collect in one piece', async () => {
    const response = await client.get(`${server.url}/chunks`);
    const pieces: string[] = [];
    await response.collect((chunk) => {
      pieces.push(chunk.toString());
    });
    expect(pieces).toEqual(['part1;part2;part3;part4;part5;']);
  });

  it('delivers a buffered body to a core body protocol, ending with ResponseDone', async () => {
    const response = await client.get(`${server.url}/json`);
    const received: Buffer[] = [];
    const reason = await new Promise<BodyEndReason>((resolve) =>
      response.deliverBody({ dataReceived: (c) => received.push(c), connectionLost: resolve }),
    );
    expect(reason).toBeInstanceOf(ResponseDone);
    expect(Buffer.concat(received).toString()).toBe('{"ok":true,"list":[1,2]}');
  });

  it('iterates and streams a buffered body', async () => {
    const response = await client.get(`${server.url}/json`);
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toContain('"ok":true');
    const again: Buffer[] = [];
    for await (const chunk of response.toReadable()) again.push(chunk as Buffer);
    expect(Buffer.concat(again).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('exposes trailers once the body was read', async () => {
    const response = await client.get(`${server.url}/trailers`);
    expect(await response.text()).toBe('body');
    expect(response.trailers.get('x-checksum')).toBe('abc');
  });

  it('fails with BodyTooLargeError past maxBodySize', async () => {
    const error = await client.get(`${server.url}/big`, { maxBodySize: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BodyTooLargeError);
    expect((error as BodyTooLargeError).limit).toBe(1000);
  });

  it('applies a client maxBodySize default, and a request can raise it', async () => {
    const small = new HTTPClient({ pool, maxBodySize: 10 });
    await expect(small.get(`${server.url}/big`)).rejects.toBeInstanceOf(BodyTooLargeError);
    const response = await small.get(`${server.url}/big`, { maxBodySize: 200_000 });
    expect((await response.content()).length).toBe(100_000);
  });

  it('reports an empty 204 body as empty', async () => {
    const response = await client.get(`${server.url}/empty`);
    expect(response.code).toBe(204);
    expect((await response.content()).length).toBe(0);
    expect(await response.text()).toBe('');
  });
});

describe('streaming an unbuffered response', () => {
  it('resolves at the head and streams the body through for await', async () => {
    const response = await client.get(`${server.url}/chunks`, { unbuffered: true });
    expect(response.buffered).toBe(false);
    expect(response.timings.body).toBeUndefined();
    const chunks: string[] = [];
    for await (const chunk of response) chunks.push(chunk.toString());
    expect(chunks.join('')).toBe('part1;part2;part3;part4;part5;');
    expect(response.timings.body).toBeGreaterThanOrEqual(0);
    expect(response.timings.total).toBeGreaterThanOrEqual(response.timings.body ?? 0);
  });

  it('keeps what content() read so text() and json() work after it', async () => {
    const response = await client.get(`${server.url}/json`, { unbuffered: true });
    expect((await response.content()).length).toBe(24);
    expect(await response.json()).toEqual({ ok: true, list: [1, 2] });
  });

  it('passes each piece to an async collector, waiting for it before the next', async () => {
    const response = await client.get(`${server.url}/chunks`, { unbuffered: true });
    const events: string[] = [];
    let active = 0;
    let maxActive = 0;
    await response.collect(async (chunk) => {
      active++;
      maxActive = Math.max(maxActive, active);
      events.push(chunk.toString());
      await new Promise((resolve) => setImmediate(resolve));
      active--;
    });
    expect(events.join('')).toBe('part1;part2;part3;part4;part5;');
    expect(maxActive).toBe(1);
  });

  it('rejects collect with what the collector threw and abandons the rest', async () => {
    const response = await client.get(`${server.url}/chunks`, { unbuffered: true });
    await expect(
      response.collect(() => {
        throw new Error('collector broke');
      }),
    ).rejects.toThrow('collector broke');
  });

  it('streams a body into a Node Readable', async () => {
    const response = await client.get(`${server.url}/big`, { unbuffered: true });
    let total = 0;
    for await (const chunk of response.toReadable()) total += (chunk as Buffer).length;
    expect(total).toBe(100_000);
  });

  it('enforces maxBodySize in content() of an unbuffered response', async () => {
    const response = await client.get(`${server.url}/big`, { unbuffered: true, maxBodySize: 10 });
    await expect(response.content()).rejects.toBeInstanceOf(BodyTooLargeError);
  });

  it('cancels a body being read when the signal aborts', async () => {
    const controller = new AbortController();
    const response = await client.get(`${server.url}/chunks`, { unbuffered: true, signal: controller.signal });
    const reading = response.collect(() => controller.abort());
    await expect(reading).rejects.toBeInstanceOf(CancelledError);
  });

  it('can be dumped so its connection is reused', async () => {
    const response = await client.get(`${server.url}/big`, { unbuffered: true });
    await response.dump();
    const next = await client.get(`${server.url}/json`);
    expect(next.code).toBe(200);
    expect(Object.values(pool.stats())[0]?.open).toBe(1);
  });
});

describe('status handling', () => {
  it('does not throw for a 404 by default (as in treq)', async () => {
    const response = await client.get(`${server.url}/404`);
    expect(response.code).toBe(404);
    expect(response.phrase).toBe('Not Found');
    expect(response.ok).toBe(false);
  });

  it('raiseForStatus throws an HTTPStatusError carrying the response', async () => {
    const response = await client.get(`${server.url}/404`);
    let error: unknown;
    try {
      response.raiseForStatus();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HTTPStatusError);
    const statusError = error as HTTPStatusError;
    expect(statusError.status).toBe(404);
    expect(statusError.code).toBe('STRAND_HTTP_STATUS');
    expect(statusError.message).toBe(`HTTP 404 Not Found (${server.url}/404)`);
    expect(await statusError.response.text()).toBe('no such thing');
  });

  it('raiseForStatus returns the response for a success and a 304', async () => {
    const ok = await client.get(`${server.url}/json`);
    expect(ok.raiseForStatus()).toBe(ok);
    const notModified = await client.get(`${server.url}/304`);
    expect(notModified.raiseForStatus()).toBe(notModified);
  });

  it('throwForStatus rejects the request with the HTTPStatusError, body read', async () => {
    const error = await client.get(`${server.url}/500`, { throwForStatus: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HTTPStatusError);
    expect(await (error as HTTPStatusError).response.text()).toBe('boom');
  });

  it('throwForStatus on an unbuffered request abandons the body and rejects', async () => {
    const throwing = new HTTPClient({ pool, throwForStatus: true });
    await expect(throwing.get(`${server.url}/404`, { unbuffered: true })).rejects.toBeInstanceOf(HTTPStatusError);
    expect(throwing.inFlight).toBe(0);
  });

  it('treats a 3xx as a success when redirects are not followed, and as a failure when they were', async () => {
    const notFollowed = await client.get(`${server.url}/redirect/1`, { allowRedirects: false });
    expect(notFollowed.code).toBe(302);
    expect(notFollowed.ok).toBe(true);
    const cutShort = await client.get(`${server.url}/302-without-location`);
    expect(cutShort.code).toBe(302);
    expect(cutShort.ok).toBe(false);
    expect(() => cutShort.raiseForStatus()).toThrow(HTTPStatusError);
  });

  it('passes interim 1xx responses to onInformational', async () => {
    const seen: number[] = [];
    const response = await client.get(`${server.url}/early-hints`, { onInformational: (info) => seen.push(info.code) });
    expect(seen).toEqual([103]);
    expect(await response.text()).toBe('after hints');
  });
});

describe('redirects (core BrowserLikeRedirectAgent by default)', () => {
  it('follows a redirect chain, reports the final url and the history oldest first', async () => {
    const response = await client.get(`${server.url}/redirect/3`);
    expect(response.code).toBe(200);
    expect(response.url).toBe(`${server.url}/json`);
    expect(await response.json()).toEqual({ ok: true, list: [1, 2] });
    const history = response.history();
    expect(history.map((r) => [r.code, r.url])).toEqual([
      [302, `${server.url}/redirect/3`],
      [302, `${server.url}/redirect/2`],
      [302, `${server.url}/redirect/1`],
    ]);
    expect(history[0]).toBeInstanceOf(ClientResponse);
    await expect(history[0]?.content()).rejects.toThrow(/redirect history is not kept/);
  });

  it('does not follow when allowRedirects is false', async () => {
    const response = await client.get(`${server.url}/redirect/2`, { allowRedirects: false });
    expect(response.code).toBe(302);
    expect(response.headers.get('location')).toBe('/redirect/1');
    expect(await response.text()).toBe('moving');
    expect(response.history()).toEqual([]);
  });

  it('stops after maxRedirects with a TooManyRedirectsError', async () => {
    const error = await client.get(`${server.url}/redirect/5`, { maxRedirects: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooManyRedirectsError);
    expect((error as TooManyRedirectsError).limit).toBe(2);
  });

  it('follows a POST answered 302 with a GET without the body by default, as browsers and requests do', async () => {
    const response = await client.post(`${server.url}/redirect/1`, { data: { a: '1' } });
    expect(response.code).toBe(200);
    expect(server.requests.map((r) => [r.method, r.url, r.body.toString(), r.headers['content-type']])).toEqual([
      ['POST', '/redirect/1', 'a=1', 'application/x-www-form-urlencoded'],
      ['GET', '/json', '', undefined],
    ]);
  });

  it('re-sends a POST and its body on a 307 by default', async () => {
    await client.post(`${server.url}/redirect/1?status=307`, { data: 'payload' });
    expect(server.requests.map((r) => [r.method, r.url, r.body.toString()])).toEqual([
      ['POST', '/redirect/1?status=307', 'payload'],
      ['POST', '/json', 'payload'],
    ]);
  });

  it('does not follow a POST answered 302 with browserLikeRedirects: false (treq\'s strict agent): a RedirectError carries the response', async () => {
    const error = await client.post(`${server.url}/redirect/1`, { data: 'payload', browserLikeRedirects: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedirectError);
    expect((error as RedirectError).code).toBe('STRAND_REDIRECT_METHOD_NOT_FOLLOWED');
    expect((error as RedirectError).response.code).toBe(302);
    expect(server.requests.map((r) => [r.method, r.url])).toEqual([['POST', '/redirect/1']]);
  });

  it('refuses to replay a one-shot stream body on a 307 with a RedirectError', async () => {
    const { Readable } = await import('node:stream');
    const error = await client.post(`${server.url}/redirect/1?status=307`, { data: Readable.from(['once']) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedirectError);
    expect((error as RedirectError).code).toBe('STRAND_REDIRECT_BODY_NOT_REPLAYABLE');
  });
});

describe('decompression (core ContentDecoderAgent)', () => {
  it.each([
    ['gzip', '/gzip', '{"gzipped":true}'],
    ['deflate', '/deflate', 'deflated text'],
    ['br', '/br', 'brotli text'],
  ])('asks for and decodes %s', async (_name, path, text) => {
    const response = await client.get(`${server.url}${path}`);
    expect(await response.text()).toBe(text);
    expect(response.headers.get('content-encoding')).toBeUndefined();
    expect(server.requests[0]?.headers['accept-encoding']).toMatch(/gzip/);
  });

  it('leaves the body encoded with decompress: false', async () => {
    const response = await client.get(`${server.url}/gzip`, { decompress: false });
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect((await response.content()).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(server.requests[0]?.headers['accept-encoding']).toBeUndefined();
  });

  it('bounds the decoded size by maxBodySize', async () => {
    await expect(client.get(`${server.url}/gzip`, { maxBodySize: 5 })).rejects.toBeInstanceOf(BodyTooLargeError);
  });
});

describe('timings', () => {
  it('reports queue, connect, first byte, body and total for a buffered request', async () => {
    const response = await client.get(`${server.url}/json`);
    const t = response.timings;
    expect(t.queue).toBeGreaterThanOrEqual(0);
    expect(t.connect).toBeGreaterThanOrEqual(0);
    expect(t.firstByte).toBeGreaterThanOrEqual(0);
    expect(t.body).toBeGreaterThanOrEqual(0);
    expect(t.total).toBeGreaterThanOrEqual((t.firstByte ?? 0) + (t.body ?? 0));
  });

  it('splits a new connection into DNS lookup and TCP connect, with no TLS phase over http', async () => {
    const named = new HTTPConnectionPool();
    const literalPool = new HTTPConnectionPool();
    const response = await new HTTPClient({ pool: named }).get(`${server.url.replace('127.0.0.1', 'localhost')}/json`);
    expect(response.timings.dns).toBeGreaterThanOrEqual(0);
    expect(response.timings.connect).toBeGreaterThanOrEqual(0);
    expect(response.timings.tls).toBeUndefined();
    const literal = await new HTTPClient({ pool: literalPool }).get(`${server.url}/json`);
    expect(literal.timings.dns).toBeUndefined();
    expect(literal.timings.connect).toBeGreaterThanOrEqual(0);
    await Promise.all([named.closeCachedConnections(), literalPool.closeCachedConnections()]);
  });

  it('reports no connect phase for a request on a reused connection', async () => {
    await client.get(`${server.url}/json`);
    const second = await client.get(`${server.url}/json`);
    expect(second.timings.connect).toBeUndefined();
    expect(second.timings.dns).toBeUndefined();
  });
});
