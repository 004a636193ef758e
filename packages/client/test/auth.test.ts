import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { HTTPConnectionPool } from '@strand/core';
import { HTTPClient, digestAuthorization, parseChallenges, pickDigestChallenge } from '@strand/client';
import { type TestServer, echo, startServer } from './support/servers';

describe('Digest computation', () => {
  // RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
  const rfc = {
    method: 'GET',
    uri: '/dir/index.html',
    username: 'Mufasa',
    password: 'Circle of Life',
    nc: 1,
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  };
  const challenge = (algorithm: string): string =>
    `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`;

  it('answers the RFC 7616 MD5 example with its published response', () => {
    const picked = pickDigestChallenge([challenge('MD5')]);
    expect(picked).not.toBeNull();
    const header = digestAuthorization(picked!, rfc);
    expect(header).toContain('response="8ca523f5e9506fed4657c9700eebdbec"');
    expect(header).toContain('qop=auth, nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"');
    expect(header).toContain('opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"');
  });

  it('answers the RFC 7616 SHA-256 example with its published response', () => {
    const header = digestAuthorization(pickDigestChallenge([challenge('SHA-256')])!, rfc);
    expect(header).toContain('response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"');
    expect(header).toContain('algorithm=SHA-256');
  });

  it('prefers SHA-256 when a server offers SHA-256 and MD5 challenges', () => {
    const picked = pickDigestChallenge([challenge('MD5'), challenge('SHA-256')]);
    expect(picked?.algorithm).toBe('SHA-256');
  });

  it('parses several challenges from one field, with commas inside quoted strings', () => {
    const parsed = parseChallenges(['Basic realm="a, b", Digest realm="r", nonce="n", qop="auth", Negotiate abc==']);
    expect(parsed.map((c) => c.scheme)).toEqual(['Basic', 'Digest', 'Negotiate']);
    expect(parsed[0]?.params.get('realm')).toBe('a, b');
    expect(parsed[1]?.params.get('nonce')).toBe('n');
    expect(parsed[2]?.params.get('')).toBe('abc==');
  });

  it('refuses a challenge that only offers auth-int, or an unknown algorithm', () => {
    expect(pickDigestChallenge(['Digest realm="r", nonce="n", qop="auth-int"'])).toBeNull();
    expect(pickDigestChallenge(['Digest realm="r", nonce="n", algorithm=SHA-1'])).toBeNull();
  });

  it('answers a challenge without qop the RFC 2069 way', () => {
    const picked = pickDigestChallenge(['Digest realm="r", nonce="n"'])!;
    const header = digestAuthorization(picked, { method: 'GET', uri: '/', username: 'u', password: 'p', nc: 1 });
    const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
    expect(header).toContain(`response="${md5(`${md5('u:r:p')}:n:${md5('GET:/')}`)}"`);
    expect(header).not.toContain('qop=');
  });
});

/** A server that requires Digest (qop=auth, the given algorithm), checked independently of the client's code. */
function digestServer(algorithm: 'MD5' | 'SHA-256', user: string, password: string): (req: IncomingMessage, res: ServerResponse, body: Buffer) => void {
  const hash = algorithm === 'MD5' ? 'md5' : 'sha256';
  const H = (s: string): string => createHash(hash).update(s).digest('hex');
  const nonces = new Set<string>();
  return (req, res, body) => {
    const header = req.headers.authorization;
    if (header?.startsWith('Digest ') === true) {
      const params = Object.fromEntries([...header.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)].map((m) => [m[1], m[2] ?? m[3]]));
      const expected = H(`${H(`${user}:test:${password}`)}:${params['nonce']}:${params['nc']}:${params['cnonce']}:auth:${H(`${req.method}:${req.url}`)}`);
      if (nonces.has(params['nonce'] ?? '') && params['response'] === expected && params['uri'] === req.url) {
        echo(req, res, body);
        return;
      }
    }
    const nonce = randomBytes(8).toString('hex');
    nonces.add(nonce);
    res.writeHead(401, { 'www-authenticate': `Digest realm="test", qop="auth", algorithm=${algorithm}, nonce="${nonce}", opaque="op"` });
    res.end('who are you?');
  };
}

describe('auth against a loopback server', () => {
  let server: TestServer;
  let other: TestServer;
  let pool: HTTPConnectionPool;
  let client: HTTPClient;

  afterEach(async () => {
    await pool.closeCachedConnections();
    await server.close();
    await other?.close();
  });

  beforeEach(() => {
    pool = new HTTPConnectionPool();
    client = new HTTPClient({ pool });
  });

  it('sends Basic credentials from [user, password]', async () => {
    server = await startServer(echo);
    await client.get(server.url, { auth: ['user', 'pass wörd'] });
    expect(server.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('user:pass wörd', 'utf8').toString('base64')}`);
  });

  it('keeps Basic credentials on a same-origin redirect and drops them on a redirect to another origin', async () => {
    other = await startServer(echo);
    server = await startServer((req, res, body) => {
      if (req.url === '/same') return void res.writeHead(302, { location: '/here' }).end();
      if (req.url === '/away') return void res.writeHead(302, { location: `${other.url}/there` }).end();
      echo(req, res, body);
    });
    await client.get(`${server.url}/same`, { auth: ['u', 'p'] });
    await client.get(`${server.url}/away`, { auth: ['u', 'p'] });
    expect(server.requests.map((r) => [r.url, r.headers.authorization !== undefined])).toEqual([
      ['/same', true],
      ['/here', true],
      ['/away', true],
    ]);
    expect(other.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('uses client default auth for the origin of each request', async () => {
    server = await startServer(echo);
    const withAuth = new HTTPClient({ pool, auth: { username: 'd', password: 'p' } });
    await withAuth.get(server.url);
    expect(server.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('d:p').toString('base64')}`);
  });

  it.each(['MD5', 'SHA-256'] as const)('answers a %s Digest challenge and gets the resource', async (algorithm) => {
    server = await startServer(digestServer(algorithm, 'user', 'secret'));
    const response = await client.get(`${server.url}/private?x=1`, { auth: { type: 'digest', username: 'user', password: 'secret' } });
    expect(response.code).toBe(200);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.headers.authorization).toMatch(new RegExp(`^Digest .*algorithm=${algorithm}`));
  });

  it('gets the 401 back when the Digest password is wrong', async () => {
    server = await startServer(digestServer('MD5', 'user', 'secret'));
    const response = await client.get(server.url, { auth: { type: 'digest', username: 'user', password: 'wrong' } });
    expect(response.code).toBe(401);
    expect(server.requests).toHaveLength(2);
  });

  it('reuses the Digest challenge on the next request, with the next nonce count', async () => {
    server = await startServer(digestServer('SHA-256', 'u', 'p'));
    const auth = { type: 'digest', username: 'u', password: 'p' } as const;
    await client.get(`${server.url}/a`, { auth });
    const second = await client.get(`${server.url}/b`, { auth });
    expect(second.code).toBe(200);
    expect(server.requests).toHaveLength(3);
    expect(server.requests[2]?.headers.authorization).toContain('nc=00000002');
  });

  it('resends a replayable body with the Digest answer', async () => {
    server = await startServer(digestServer('MD5', 'u', 'p'));
    const response = await client.post(server.url, { json: { n: 1 }, auth: { type: 'digest', username: 'u', password: 'p' } });
    expect(response.code).toBe(200);
    expect(JSON.parse((await response.json<{ body: string }>()).body)).toEqual({ n: 1 });
  });

  it('returns the 401 when a one-shot stream body cannot be sent again', async () => {
    server = await startServer(digestServer('MD5', 'u', 'p'));
    const response = await client.post(server.url, { data: Readable.from(['once']), auth: { type: 'digest', username: 'u', password: 'p' } });
    expect(response.code).toBe(401);
    expect(server.requests).toHaveLength(1);
  });
});
