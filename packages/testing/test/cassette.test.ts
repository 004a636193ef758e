import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import Ajv from 'ajv';
import { BytesProducer, HttpAgent, InvalidArgumentError, readBody } from '@strand/core';
import { type HarEntry, HTTPClient } from '@strand/client';
import { Cassette, type CassetteAgent, CassetteError, RecordingAgent, UnexpectedRequestError, cassetteMode, createReplayAgent, openCassette } from '@strand/testing';
import { Readable, Writable } from 'node:stream';
import { main as strandCommand } from '../../client/src/cli/main';
import { responseBytes } from '../src/record/cassette';

// ---- a real loopback server: compression, chunked bodies with trailers, cookies, redirects ----

let server: http.Server;
let base: string;
let counter = 0;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const url = new URL(req.url ?? '/', 'http://x');
      switch (url.pathname) {
        case '/login':
          res.writeHead(302, { Location: '/me?from=login', 'Set-Cookie': ['sid=abc123; Path=/; HttpOnly', 'theme=dark; Path=/'] });
          res.end();
          return;
        case '/me':
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ cookie: req.headers.cookie ?? null, from: url.searchParams.get('from') }));
          return;
        case '/gzip':
          res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' });
          res.end(zlib.gzipSync('a compressed body, '.repeat(50)));
          return;
        case '/chunked':
          res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' });
          res.write('first piece, ');
          setImmediate(() => {
            res.write('second piece');
            res.addTrailers({ 'X-Checksum': 'c0ffee' });
            res.end();
          });
          return;
        case '/quiet':
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.end('ok');
          return;
        case '/count':
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.end(String(++counter));
          return;
        default:
          res.writeHead(200, { 'Content-Type': 'application/json', 'X-Echo': 'yes' });
          res.end(JSON.stringify({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body, auth: req.headers.authorization ?? null }));
      }
    });
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let dir: string;
let agents: Array<{ close(): Promise<void> }> = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-cassette-'));
  counter = 0;
});

afterEach(async () => {
  for (const agent of agents) await agent.close();
  agents = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(file: string, options: Parameters<typeof openCassette>[1] = {}): CassetteAgent {
  const real = new HttpAgent();
  const cassette = openCassette(file, { agent: real, env: {}, ...options });
  agents.push(cassette, real);
  return cassette;
}

function readHar(file: string): { log: { entries: HarEntry[] } } {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as { log: { entries: HarEntry[] } };
}

/** What a user's test would look at: codes, headers, bodies, redirect history, cookies, trailers. */
async function scenario(client: HTTPClient): Promise<unknown[]> {
  const results: unknown[] = [];
  const me = await client.get(`${base}/login`);
  results.push({ code: me.code, headers: [...me.headers], json: await me.json(), history: me.history().map((h) => [h.code, h.url, [...h.headers]]), cookies: me.cookies() });
  const gzip = await client.get(`${base}/gzip`);
  results.push({ code: gzip.code, headers: [...gzip.headers], text: await gzip.text() });
  const chunked = await client.get(`${base}/chunked`);
  results.push({ code: chunked.code, headers: [...chunked.headers], text: await chunked.text(), trailers: [...chunked.trailers] });
  const posted = await client.post(`${base}/echo?b=2&a=1`, { json: { name: 'strand' } });
  results.push({ code: posted.code, json: await posted.json() });
  const jar = client.cookieJar?.getCookiesSync(base).map((c) => `${c.key}=${c.value}`);
  results.push({ jar });
  return results;
}

describe('record and replay', () => {
  test('traffic recorded from a real server replays identically: codes, headers, bodies, redirect history, cookies and trailers', async () => {
    const file = path.join(dir, 'identity.har');
    const recording = open(file, { mode: 'record', redact: false });
    const live = await scenario(new HTTPClient({ agent: recording }));
    await recording.close();
    expect(readHar(file).log.entries.map((e) => `${e.response.status} ${e.request.method} ${new URL(e.request.url).pathname}`)).toEqual(['302 GET /login', '200 GET /me', '200 GET /gzip', '200 GET /chunked', '200 POST /echo']);

    const replaying = open(file, { mode: 'replay', redact: false, agent: { request: () => Promise.reject(new Error('replay must not use the network')) } });
    const replayed = await scenario(new HTTPClient({ agent: replaying }));
    expect(replayed).toEqual(live);
    expect(replaying.replayed).toEqual([true, true, true, true, true]);
  });

  test('the bytes a replay sends are the bytes the server sent: 1xx, header spelling, chunk framing and trailers', async () => {
    const wire = Buffer.from(
      'HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n' +
        'HTTP/1.1 200 Fine\r\nX-lower: 1\r\nTransfer-Encoding: chunked\r\nX-UPPER: 2\r\n\r\n' +
        '5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n',
    );
    const raw = net.createServer((socket) => {
      socket.once('data', () => socket.end(wire));
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(raw.address() as net.AddressInfo).port}/hints`;
      const cassette = new Cassette();
      const real = new HttpAgent();
      agents.push(real);
      const recorder = new RecordingAgent(real, { cassette });
      expect((await readBody(await recorder.request('GET', url))).toString()).toBe('hello world');
      const [entry] = cassette.entries as [HarEntry];
      expect(responseBytes(entry, 'GET', 'test', null).bytes.toString('latin1')).toBe(wire.toString('latin1'));

      const file = path.join(dir, 'hints.har');
      cassette.save(file);
      const replaying = open(file);
      const interim: number[] = [];
      const response = await replaying.request('GET', url, null, null, { onInformational: (info) => interim.push(info.code) });
      expect(interim).toEqual([103]);
      expect(response.phrase).toBe('Fine');
      expect([...response.headers].map(([name]) => name)).toEqual(['X-lower', 'Transfer-Encoding', 'X-UPPER']);
      expect((await readBody(response)).toString()).toBe('hello world');
      expect(response.trailers.get('x-sum')).toBe('11');
    } finally {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });

  test('a body cut by a reset while recording is replayed cut the same way', async () => {
    const raw = net.createServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b', () => setImmediate(() => socket.resetAndDestroy()));
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(raw.address() as net.AddressInfo).port}/cut`;
      const file = path.join(dir, 'cut.har');
      const recording = open(file, { mode: 'record' });
      const live = await readBody(await recording.request('GET', url)).catch((e: unknown) => e);
      await recording.close();
      const [entry] = readHar(file).log.entries as [HarEntry];
      expect(entry._strand?.end).toBe((live as { code: string }).code);
      expect(entry.response.content.text).toBe('only ten b');

      const replaying = open(file);
      const received: Buffer[] = [];
      const response = await replaying.request('GET', url);
      const replayed = await new Promise<unknown>((resolve) => {
        response.deliverBody({ dataReceived: (chunk) => received.push(chunk), connectionLost: resolve });
      });
      expect(Buffer.concat(received).toString()).toBe('only ten b');
      expect((replayed as { code: string }).code).toBe((live as { code: string }).code);
    } finally {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });

  test('every cassette written validates against the HAR 1.2 JSON schema', async () => {
    const file = path.join(dir, 'schema.har');
    const recording = open(file, { mode: 'record' });
    await scenario(new HTTPClient({ agent: recording }));
    await recording.close();
    const schemas = path.join(__dirname, 'fixtures/har-schema');
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    ajv.addMetaSchema(JSON.parse(fs.readFileSync(require.resolve('ajv/dist/refs/json-schema-draft-06.json'), 'utf8')) as object);
    for (const name of fs.readdirSync(schemas).filter((n) => n.endsWith('.json'))) ajv.addSchema(JSON.parse(fs.readFileSync(path.join(schemas, name), 'utf8')) as object);
    const validate = ajv.getSchema('har.json#');
    if (validate === undefined) throw new Error('har.json# schema not loaded');
    const har = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    expect(validate(har) ? [] : validate.errors).toEqual([]);
    // The check can fail: a log without entries' required fields does not validate.
    expect(validate({ log: { version: '1.2', creator: { name: 'x', version: '1' }, entries: [{ startedDateTime: 'x' }] } })).toBe(false);
  });

  test('no secret from the recorded traffic reaches the file, and the redacted recording still replays', async () => {
    const secrets = ['Bearer-s3cret-auth', 's3cret-pass', 's3cret-query', 's3cret-key', 'abc123', 'dark'];
    const file = path.join(dir, 'secrets.har');
    const recording = open(file, { mode: 'record' });
    const client = new HTTPClient({ agent: recording });
    await (await client.get(`${base}/login`, { allowRedirects: false })).text(); // Set-Cookie values, sent back as Cookie below
    const url = `http://user:s3cret-pass@127.0.0.1:${new URL(base).port}/quiet?access_token=s3cret-query&api_key=s3cret-key&page=1`;
    await (await client.get(url, { headers: { Authorization: 'Bearer Bearer-s3cret-auth' } })).text();
    await recording.close();
    const text = fs.readFileSync(file, 'utf8');
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).toContain('page=1');

    const replaying = open(file);
    const replayClient = new HTTPClient({ agent: replaying });
    expect((await replayClient.get(`${base}/login`, { allowRedirects: false })).code).toBe(302);
    expect(await (await replayClient.get(url, { headers: { Authorization: 'Bearer Bearer-s3cret-auth' } })).text()).toBe('ok');
    // Another token is another request: redaction does not make every request match.
    await expect(replayClient.get(url.replace('page=1', 'page=2'))).rejects.toBeInstanceOf(UnexpectedRequestError);
  });

  test('a request with no recording rejects with a diff naming the closest recording and what differed', async () => {
    const file = path.join(dir, 'miss.har');
    const recording = open(file, { mode: 'record' });
    await (await new HTTPClient({ agent: recording }).post(`${base}/echo?page=1`, { json: { a: 1 } })).text();
    await recording.close();
    const replaying = open(file);
    const client = new HTTPClient({ agent: replaying });
    const error = (await client.post(`${base}/echo?page=2`, { json: { a: 1 } }).catch((e: unknown) => e)) as UnexpectedRequestError;
    expect(error).toBeInstanceOf(UnexpectedRequestError);
    expect(error.code).toBe('STRAND_UNEXPECTED_REQUEST');
    expect(error.message).toContain(`no recording in ${file} matches POST ${base}/echo?page=2`);
    expect(error.message).toContain(`closest recording: #1 POST ${base}/echo?page=1`);
    expect(error.message).toMatch(/url:\n\s+expected .*page=1\n\s+received .*page=2/);
    // The query order does not matter; the body does.
    const bodyMiss = (await client.post(`${base}/echo?page=1`, { json: { a: 2 } }).catch((e: unknown) => e)) as Error;
    expect(bodyMiss.message).toMatch(/body:/);
  });

  test('repeated identical requests are replayed in order, and one more than recorded is a miss', async () => {
    const file = path.join(dir, 'count.har');
    const recording = open(file, { mode: 'record' });
    for (let i = 0; i < 3; i++) await readBody(await recording.request('GET', `${base}/count`));
    await recording.close();
    const replaying = open(file);
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) seen.push((await readBody(await replaying.request('GET', `${base}/count`))).toString());
    expect(seen).toEqual(['1', '2', '3']);
    await expect(replaying.request('GET', `${base}/count`)).rejects.toThrow(/every recording of it was replayed already \(3 times\)/);
  });

  test('record-missing replays what the cassette has, records the rest, and writes the file on close', async () => {
    const file = path.join(dir, 'missing.har');
    const first = open(file, { mode: 'record-missing' });
    expect((await readBody(await first.request('GET', `${base}/count`))).toString()).toBe('1');
    await first.close();
    expect(readHar(file).log.entries).toHaveLength(1);

    const second = open(file, { mode: 'record-missing' });
    expect((await readBody(await second.request('GET', `${base}/count`))).toString()).toBe('1'); // replayed
    expect((await readBody(await second.request('GET', `${base}/count`))).toString()).toBe('2'); // live
    const post = await second.request('POST', `${base}/echo`, { 'Content-Type': 'text/plain' }, new BytesProducer('hi'));
    expect(JSON.parse((await readBody(post)).toString())).toMatchObject({ method: 'POST', body: 'hi' });
    await second.close();
    expect(counter).toBe(2);
    expect(readHar(file).log.entries.map((e) => e.response.content.text)).toEqual(['1', '2', expect.stringContaining('"body":"hi"')]);
  });

  test('passthrough sends every request to the real agent and writes nothing', async () => {
    const file = path.join(dir, 'pass.har');
    const passing = open(file, { mode: 'passthrough' });
    expect((await readBody(await passing.request('GET', `${base}/count`))).toString()).toBe('1');
    await passing.close();
    expect(fs.existsSync(file)).toBe(false);
  });

  test('a replay of a missing cassette says it is empty and how to record it', async () => {
    const replaying = open(path.join(dir, 'none.har'));
    await expect(replaying.request('GET', `${base}/count`)).rejects.toThrow(/the cassette is empty: record it \(STRAND_RECORD=record-missing/);
  });
});

describe('the mode', () => {
  test('comes from the option, else STRAND_RECORD, else replay', () => {
    expect(cassetteMode(undefined, {})).toBe('replay');
    expect(cassetteMode(undefined, { STRAND_RECORD: 'record-missing' })).toBe('record-missing');
    expect(cassetteMode('passthrough', { STRAND_RECORD: 'record' })).toBe('passthrough');
  });

  test('CI never records: record and record-missing become replay under CI=true', async () => {
    expect(cassetteMode('record', { CI: 'true' })).toBe('replay');
    expect(cassetteMode(undefined, { CI: 'true', STRAND_RECORD: 'record-missing' })).toBe('replay');
    expect(cassetteMode('passthrough', { CI: 'true' })).toBe('passthrough');
    const file = path.join(dir, 'ci.har');
    const ci = open(file, { mode: 'record', env: { CI: 'true' } });
    expect(ci.mode).toBe('replay');
    await expect(ci.request('GET', `${base}/count`)).rejects.toBeInstanceOf(UnexpectedRequestError);
    await ci.close();
    expect(counter).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
  });

  test('a bad mode is an InvalidArgumentError naming where it came from', () => {
    expect(() => cassetteMode(undefined, { STRAND_RECORD: 'yes' })).toThrow(/the STRAND_RECORD environment variable must be one of record, replay, record-missing, passthrough, got "yes"/);
    expect(() => cassetteMode('rec' as never, {})).toThrow(InvalidArgumentError);
    expect(() => openCassette(path.join(dir, 'x.har'), { mood: 'replay' } as never)).toThrow(/unknown option/);
  });
});

describe('matching options', () => {
  async function recordOne(file: string, headers: Record<string, string>, body: string): Promise<void> {
    const recording = open(file, { mode: 'record' });
    await readBody(await recording.request('POST', `${base}/echo`, { 'Content-Type': 'application/json', ...headers }, new BytesProducer(body)));
    await recording.close();
  }

  test('chosen headers must match too', async () => {
    const file = path.join(dir, 'headers.har');
    await recordOne(file, { 'X-Tenant': 'a' }, '{}');
    const replaying = open(file, { match: { headers: ['x-tenant'] } });
    await expect(replaying.request('POST', `${base}/echo`, { 'X-Tenant': 'b' }, new BytesProducer('{}'))).rejects.toThrow(/header x-tenant:\n\s+expected "a"\n\s+received "b"/);
    expect((await replaying.request('POST', `${base}/echo`, { 'X-Tenant': 'a' }, new BytesProducer('{}'))).code).toBe(200);
  });

  test("body: 'json' ignores key order; body: false ignores the body", async () => {
    const file = path.join(dir, 'json.har');
    await recordOne(file, {}, '{"a":1,"b":2}');
    const json = open(file, { match: { body: 'json' } });
    expect((await json.request('POST', `${base}/echo`, null, new BytesProducer('{"b":2,"a":1}'))).code).toBe(200);
    const bytes = open(file);
    await expect(bytes.request('POST', `${base}/echo`, null, new BytesProducer('{"b":2,"a":1}'))).rejects.toThrow(/body:/);
    const none = open(file, { match: { body: false } });
    expect((await none.request('POST', `${base}/echo`, null, new BytesProducer('anything'))).code).toBe(200);
  });

  test('where sees the live request and the entry', async () => {
    const file = path.join(dir, 'where.har');
    await recordOne(file, { 'X-Id': '7' }, '{}');
    const seen: string[] = [];
    const replaying = open(file, {
      match: {
        body: false,
        where: (request, entry) => {
          seen.push(`${request.headers.get('x-id') ?? ''}/${entry.request.headers.find((h) => h.name === 'X-Id')?.value ?? ''}`);
          return request.headers.get('x-id') === '7';
        },
      },
    });
    await expect(replaying.request('POST', `${base}/echo`, { 'X-Id': '8' })).rejects.toThrow(/where:\n\s+the predicate returned false/);
    expect((await replaying.request('POST', `${base}/echo`, { 'X-Id': '7' })).code).toBe(200);
    expect(seen).toContain('8/7');
  });

  test('bad match options are errors naming the option', () => {
    expect(() => openCassette(path.join(dir, 'x.har'), { env: {}, match: { body: 'text' as never } })).toThrow(/match.body must be 'bytes', 'json' or false/);
    expect(() => openCassette(path.join(dir, 'x.har'), { env: {}, match: { headers: 'x' as never } })).toThrow(/match.headers must be an array/);
  });
});

describe('cassette files', () => {
  test('a file that is not HAR is a CassetteError naming the file and the field', () => {
    const file = path.join(dir, 'bad.har');
    fs.writeFileSync(file, '{"log":{"version":"1.2","entries":[{"startedDateTime":"x","request":{}}]}}');
    expect(() => openCassette(file, { env: {} })).toThrow(CassetteError);
    expect(() => Cassette.load(file)).toThrow(`cassette ${file}: not a HAR 1.2 log: log.entries[0].request.method must be a method`);
  });

  test('an entry edited by hand with a header that cannot be sent is a CassetteError when replayed', async () => {
    const file = path.join(dir, 'edited.har');
    const recording = open(file, { mode: 'record' });
    await readBody(await recording.request('GET', `${base}/count`));
    await recording.close();
    const har = readHar(file);
    (har.log.entries[0] as HarEntry).response.headers.push({ name: 'X-Bad', value: 'a\r\nInjected: 1' });
    fs.writeFileSync(file, JSON.stringify(har));
    const replaying = open(file);
    const response = await replaying.request('GET', `${base}/count`);
    expect(response.code).toBe(500);
    expect((await readBody(response)).toString()).toContain('header "X-Bad" has a name or value that cannot be sent');
  });
});

describe('createReplayAgent', () => {
  test('serves an in-memory cassette filled by a RecordingAgent; a miss is a 599 that assertNoPending() throws', async () => {
    const cassette = new Cassette();
    const real = new HttpAgent();
    agents.push(real);
    await readBody(await new RecordingAgent(real, { cassette }).request('GET', `${base}/count`));
    const fake = createReplayAgent(cassette);
    agents.push(fake);
    expect((await readBody(await fake.request('GET', `${base}/count`))).toString()).toBe('1');
    fake.assertNoPending();
    const miss = await fake.request('GET', `${base}/other`);
    expect(miss.code).toBe(599);
    await readBody(miss);
    expect(() => fake.assertNoPending()).toThrow(/closest recording: #1 GET .*\/count \(already replayed\)\n\s+url:/);
    expect(counter).toBe(1);
  });

  test('bad arguments are InvalidArgumentErrors naming them', () => {
    expect(() => createReplayAgent({} as never)).toThrow(/cassette must be a Cassette/);
    expect(() => createReplayAgent(new Cassette(), { unmatched: 'fail' } as never)).toThrow(/unknown option/);
  });
});

describe('a HAR written by the strand command', () => {
  test('replays in a test: strand --har FILE, then openCassette(FILE)', async () => {
    const file = path.join(dir, 'cli.har');
    let output = '';
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        output += chunk.toString('utf8');
        callback();
      },
    });
    const stderr = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    expect(await strandCommand(['-L', '--har', file, `${base}/login`], { stdin: Readable.from([]), stdout, stderr, stderrIsTTY: false })).toBe(0);
    const replaying = open(file);
    const client = new HTTPClient({ agent: replaying });
    const me = await client.get(`${base}/login`);
    expect(await me.text()).toBe(output);
    expect(me.history().map((h) => h.code)).toEqual([302]);
  });
});
