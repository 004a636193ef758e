/**
 * Interop: the client against httpbin (Debian's python3-httpbin under gunicorn) on loopback.
 * `.ci/run` installs the packages and CI fails without them; elsewhere the suite is skipped
 * when they are not installed (the reason is printed).
 */
import { HTTPConnectionPool, TimeoutError } from '@strand/core';
import { DEFAULT_USER_AGENT, HTTPClient } from '@strand/client';
import { type Httpbin, ensureHttpbin, startHttpbin } from './support/httpbin';

const available = ensureHttpbin();
if (!available) console.warn('httpbin interop skipped: /usr/bin/python3 cannot import httpbin and gunicorn (apt-get install python3-httpbin gunicorn)');
const suite = available ? describe : describe.skip;

suite('interop with httpbin', () => {
  let httpbin: Httpbin;
  let pool: HTTPConnectionPool;
  let client: HTTPClient;

  beforeAll(async () => {
    httpbin = await startHttpbin();
  }, 60_000);

  afterAll(async () => {
    await httpbin?.stop();
  });

  beforeEach(() => {
    pool = new HTTPConnectionPool();
    client = new HTTPClient({ pool });
  });

  afterEach(async () => {
    await pool.closeCachedConnections();
  });

  it('GET /get echoes params and headers, with the default User-Agent', async () => {
    const response = await client.get(`${httpbin.url}/get`, { params: { a: '1', b: ['x', 'y'] }, headers: { 'X-Test': 'yes' } });
    const body = await response.json<{ args: Record<string, unknown>; headers: Record<string, string> }>();
    expect(response.code).toBe(200);
    expect(body.args).toEqual({ a: '1', b: ['x', 'y'] });
    expect(body.headers['X-Test']).toBe('yes');
    expect(body.headers['User-Agent']).toBe(DEFAULT_USER_AGENT);
  });

  it('POST /post with json', async () => {
    const response = await client.post(`${httpbin.url}/post`, { json: { name: 'strand', n: [1, 2] } });
    const body = await response.json<{ json: unknown; headers: Record<string, string> }>();
    expect(body.json).toEqual({ name: 'strand', n: [1, 2] });
    expect(body.headers['Content-Type']).toBe('application/json');
  });

  it('POST /post with a urlencoded form', async () => {
    const response = await client.post(`${httpbin.url}/post`, { data: { field: 'a b', other: 'ü' } });
    const body = await response.json<{ form: unknown }>();
    expect(body.form).toEqual({ field: 'a b', other: 'ü' });
  });

  it('POST /post with multipart files and fields', async () => {
    const response = await client.post(`${httpbin.url}/post`, {
      data: { title: 'report' },
      files: { upload: { content: 'file contents\n', filename: 'notes.txt' } },
    });
    const body = await response.json<{ form: unknown; files: unknown; headers: Record<string, string> }>();
    expect(body.form).toEqual({ title: 'report' });
    expect(body.files).toEqual({ upload: 'file contents\n' });
    expect(body.headers['Content-Type']).toMatch(/^multipart\/form-data; boundary=/);
  });

  it('/cookies/set then /cookies: cookies kept across the redirect and the next request', async () => {
    const set = await client.get(`${httpbin.url}/cookies/set`, { params: { flavour: 'oat', n: '2' } });
    expect(set.url).toBe(`${httpbin.url}/cookies`);
    expect(await set.json()).toEqual({ cookies: { flavour: 'oat', n: '2' } });
    const later = await client.get(`${httpbin.url}/cookies`);
    expect(await later.json()).toEqual({ cookies: { flavour: 'oat', n: '2' } });
  });

  it('/redirect/5 ends at /get with five responses of history', async () => {
    const response = await client.get(`${httpbin.url}/redirect/5`);
    expect(response.code).toBe(200);
    expect(response.url).toBe(`${httpbin.url}/get`);
    expect(response.history().map((r) => r.code)).toEqual([302, 302, 302, 302, 302]);
  });

  it.each([
    ['/gzip', 'gzipped'],
    ['/deflate', 'deflated'],
    ['/brotli', 'brotli'],
  ])('%s is decoded', async (path, flag) => {
    const response = await client.get(`${httpbin.url}${path}`);
    const body = await response.json<Record<string, unknown>>();
    expect(body[flag]).toBe(true);
  });

  it('/basic-auth accepts Basic credentials and refuses wrong ones', async () => {
    const ok = await client.get(`${httpbin.url}/basic-auth/user/passwd`, { auth: ['user', 'passwd'] });
    expect(await ok.json()).toEqual({ authenticated: true, user: 'user' });
    const wrong = await client.get(`${httpbin.url}/basic-auth/user/passwd`, { auth: ['user', 'nope'] });
    expect(wrong.code).toBe(401);
  });

  it.each(['MD5', 'SHA-256'])('/digest-auth with %s answers the challenge', async (algorithm) => {
    const response = await client.get(`${httpbin.url}/digest-auth/auth/user/passwd/${algorithm}`, { auth: { type: 'digest', username: 'user', password: 'passwd' } });
    expect(response.code).toBe(200);
    expect(await response.json()).toEqual({ authenticated: true, user: 'user' });
  });

  it('/stream/5 streams five JSON lines to an unbuffered reader', async () => {
    const response = await client.get(`${httpbin.url}/stream/5`, { unbuffered: true });
    let text = '';
    await response.collect((chunk) => {
      text += chunk.toString();
    });
    const lines = text.trim().split('\n').map((line) => JSON.parse(line) as { id: number });
    expect(lines.map((l) => l.id)).toEqual([0, 1, 2, 3, 4]);
  });

  it('/delay/3 with a 300 ms timeout fails with a TimeoutError', async () => {
    const error = await client.get(`${httpbin.url}/delay/3`, { timeout: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
  });
});
