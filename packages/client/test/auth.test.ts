import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { HTTPConnectionPool } from '@strand/core';
import { DigestCache, type DigestChallenge, HTTPClient, digestAuthorization, parseChallenges, pickDigestChallenge } from '@strand/client';
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

  // RFC 7616 §3.9.2: SHA-512-256 with a hashed username. Its published values were computed with
  // SHA-512 cut to 256 bits (erratum 4897); SHA-512-256 is SHA-512/256 of FIPS 180-4, whose
  // answers to the same inputs follow.
  const rfc2 = {
    method: 'GET',
    uri: '/doe.json',
    username: 'J\u00e4s\u00f8n Doe',
    password: 'Secret, or not?',
    nc: 1,
    cnonce: 'NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v',
  };
  const challenge2 = (userhash: boolean): string =>
    `Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=${userhash}`;

  it('answers the RFC 7616 SHA-512-256 example with a hashed username (userhash=true), computed with SHA-512/256', () => {
    const header = digestAuthorization(pickDigestChallenge([challenge2(true)])!, rfc2);
    expect(header).toContain('username="793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b"');
    expect(header).toContain('response="3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5"');
    expect(header).toContain('algorithm=SHA-512-256');
    expect(header).toMatch(/, userhash=true$/);
    // What the RFC prints is truncated SHA-512, not SHA-512/256.
    const truncated = createHash('sha512').update('J\u00e4s\u00f8n Doe:api@example.org').digest('hex').slice(0, 64);
    expect(truncated).toBe('488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec');
  });

  it('sends a username beyond ASCII as username*, UTF-8 and percent-encoded, as RFC 7616 §3.9.2 shows', () => {
    const header = digestAuthorization(pickDigestChallenge([challenge2(false)])!, rfc2);
    expect(header).toMatch(/^Digest username\*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm="api@example.org"/);
    expect(header).not.toContain('userhash');
  });

  it('answers SHA-512 and SHA-512-sess challenges, and prefers SHA-512-256 to SHA-512, SHA-256 and MD5', () => {
    const sha512 = pickDigestChallenge(['Digest realm="r", nonce="n", qop="auth", algorithm=SHA-512'])!;
    const H = (s: string): string => createHash('sha512').update(s).digest('hex');
    const answer = digestAuthorization(sha512, { method: 'GET', uri: '/', username: 'u', password: 'p', nc: 1, cnonce: 'c' });
    expect(answer).toContain(`response="${H(`${H('u:r:p')}:n:00000001:c:auth:${H('GET:/')}`)}"`);
    const sess = pickDigestChallenge(['Digest realm="r", nonce="n", qop="auth", algorithm=SHA-512-sess'])!;
    const sessAnswer = digestAuthorization(sess, { method: 'GET', uri: '/', username: 'u', password: 'p', nc: 1, cnonce: 'c' });
    expect(sessAnswer).toContain(`response="${H(`${H(`${H('u:r:p')}:n:c`)}:n:00000001:c:auth:${H('GET:/')}`)}"`);
    const offers = ['MD5', 'SHA-512', 'SHA-512-256', 'SHA-256'].map((a) => `Digest realm="r", nonce="n", qop="auth", algorithm=${a}`);
    expect(pickDigestChallenge(offers)?.algorithm).toBe('SHA-512-256');
    expect(pickDigestChallenge(offers.filter((o) => !o.endsWith('SHA-512-256')))?.algorithm).toBe('SHA-512');
  });

  it('keeps Digest state for at most DigestCache.MAX_SPACES protection spaces, forgetting the least recently used', () => {
    const cache = new DigestCache();
    const challenge = (realm: string): DigestChallenge => pickDigestChallenge([`Digest realm="${realm}", nonce="n", qop="auth"`])!;
    for (let i = 0; i <= DigestCache.MAX_SPACES; i++) cache.store(`http://h${i}.test/`, challenge(`r${i}`));
    expect(cache.next('http://h0.test/x')).toBeUndefined();
    expect(cache.next('http://h1.test/x')?.nc).toBe(2);
    expect(cache.next('http://other.test/x')).toBeUndefined();
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

type Algorithm = 'MD5' | 'SHA-256' | 'SHA-512-256' | 'SHA-512';
const HASHES: Record<Algorithm, string> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256', 'SHA-512': 'sha512' };

/** The parameters of a Digest `Authorization` value. */
function digestParams(header: string): Record<string, string | undefined> {
  return Object.fromEntries([...header.slice(7).matchAll(/([\w*]+)=(?:"([^"]*)"|([^,\s]*))/g)].map((m) => [m[1], m[2] ?? m[3]]));
}

/**
 * A server that requires Digest (qop=auth, the given algorithm, optionally `userhash`), checked
 * independently of the client's code.
 */
function digestServer(algorithm: Algorithm, user: string, password: string, userhash = false): (req: IncomingMessage, res: ServerResponse, body: Buffer) => void {
  const H = (s: string): string => createHash(HASHES[algorithm]).update(s).digest('hex');
  const nonces = new Set<string>();
  return (req, res, body) => {
    const header = req.headers.authorization;
    if (header?.startsWith('Digest ') === true) {
      const params = digestParams(header);
      const expected = H(`${H(`${user}:test:${password}`)}:${params['nonce']}:${params['nc']}:${params['cnonce']}:auth:${H(`${req.method}:${req.url}`)}`);
      const name = userhash ? H(`${user}:test`) : user;
      if (nonces.has(params['nonce'] ?? '') && params['response'] === expected && params['uri'] === req.url && params['username'] === name && (params['userhash'] === 'true') === userhash) {
        echo(req, res, body);
        return;
      }
    }
    const nonce = randomBytes(8).toString('hex');
    nonces.add(nonce);
    res.writeHead(401, { 'www-authenticate': `Digest realm="test", qop="auth", algorithm=${algorithm}, nonce="${nonce}", opaque="op"${userhash ? ', userhash=true' : ''}` });
    res.end('who are you?');
  };
}

/** A protection space of {@link realmServer}: the paths under `prefix` belong to `realm`, whose one long-lived nonce is `nonce`. */
interface Space {
  readonly realm: string;
  readonly prefix: string;
  readonly nonce: string;
  /** The challenge's `domain` parameter, if any. */
  readonly domain?: string;
}

/**
 * A server with several realms (MD5, qop=auth), each with one nonce for all its requests, that
 * refuses an answer in another realm, a wrong nonce, and a nonce count that does not go up
 * (a replay). Paths outside every space are open.
 */
function realmServer(spaces: readonly Space[], user: string, password: string): (req: IncomingMessage, res: ServerResponse, body: Buffer) => void {
  const H = (s: string): string => createHash('md5').update(s).digest('hex');
  const lastCount = new Map<string, number>();
  return (req, res, body) => {
    const space = spaces.filter((sp) => req.url?.startsWith(sp.prefix)).sort((a, b) => b.prefix.length - a.prefix.length)[0];
    if (space === undefined) return echo(req, res, body);
    const header = req.headers.authorization;
    if (header?.startsWith('Digest ') === true) {
      const p = digestParams(header);
      const nc = parseInt(p['nc'] ?? '0', 16);
      const expected = H(`${H(`${user}:${space.realm}:${password}`)}:${space.nonce}:${p['nc']}:${p['cnonce']}:auth:${H(`${req.method}:${req.url}`)}`);
      if (p['realm'] === space.realm && p['nonce'] === space.nonce && p['response'] === expected && nc > (lastCount.get(space.nonce) ?? 0)) {
        lastCount.set(space.nonce, nc);
        return echo(req, res, body);
      }
    }
    const domain = space.domain === undefined ? '' : `, domain="${space.domain}"`;
    res.writeHead(401, { 'www-authenticate': `Digest realm="${space.realm}", qop="auth", nonce="${space.nonce}"${domain}` });
    res.end('who are you?');
  };
}

/** What a recorded request answered: its path, and the realm and nonce count of its Digest answer (null: none). */
function answers(server: TestServer): Array<[string, string | null, string | null]> {
  return server.requests.map((r) => {
    const header = r.headers.authorization;
    if (header === undefined) return [r.url, null, null];
    const p = digestParams(header);
    return [r.url, p['realm'] ?? null, p['nc'] ?? null];
  });
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

  it.each(['MD5', 'SHA-256', 'SHA-512-256', 'SHA-512'] as const)('answers a %s Digest challenge and gets the resource', async (algorithm) => {
    server = await startServer(digestServer(algorithm, 'user', 'secret'));
    const response = await client.get(`${server.url}/private?x=1`, { auth: { type: 'digest', username: 'user', password: 'secret' } });
    expect(response.code).toBe(200);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.headers.authorization).toMatch(new RegExp(`^Digest .*algorithm=${algorithm}`));
  });

  it('sends the hashed username when the server asks for userhash, and gets the resource', async () => {
    server = await startServer(digestServer('SHA-256', 'J\u00e4s\u00f8n', 'secret', true));
    const response = await client.get(`${server.url}/doe.json`, { auth: { type: 'digest', username: 'J\u00e4s\u00f8n', password: 'secret' } });
    expect(response.code).toBe(200);
    expect(server.requests[1]?.headers.authorization).not.toContain('J\u00e4s');
  });

  it('keeps Digest state per realm: a request is answered from its own realm\'s challenge, with that nonce\'s next count', async () => {
    server = await startServer(
      realmServer(
        [
          { realm: 'A', prefix: '/a/', nonce: 'nonce-a', domain: '/a/' },
          { realm: 'B', prefix: '/b/', nonce: 'nonce-b', domain: '/b/' },
        ],
        'u',
        'p',
      ),
    );
    const auth = { type: 'digest', username: 'u', password: 'p' } as const;
    const codes = [];
    for (const path of ['/a/1', '/b/1', '/a/2', '/b/2']) codes.push((await client.get(`${server.url}${path}`, { auth })).code);
    expect(codes).toEqual([200, 200, 200, 200]);
    expect(answers(server)).toEqual([
      ['/a/1', null, null],
      ['/a/1', 'A', '00000001'],
      // Realm A's domain does not cover /b/: no answer from A's challenge; B's own challenge.
      ['/b/1', null, null],
      ['/b/1', 'B', '00000001'],
      ['/a/2', 'A', '00000002'],
      ['/b/2', 'B', '00000002'],
    ]);
  });

  it('answers a new challenge with the same nonce with that nonce\'s next count, not 1 again (which a server takes for a replay)', async () => {
    // Realm A protects everything but names only /a/ as its domain: /c is challenged, with the same nonce.
    server = await startServer(realmServer([{ realm: 'A', prefix: '/', nonce: 'only-nonce', domain: '/a/' }], 'u', 'p'));
    const auth = { type: 'digest', username: 'u', password: 'p' } as const;
    expect((await client.get(`${server.url}/a/1`, { auth })).code).toBe(200);
    expect((await client.get(`${server.url}/c`, { auth })).code).toBe(200);
    expect(answers(server)).toEqual([
      ['/a/1', null, null],
      ['/a/1', 'A', '00000001'],
      ['/c', null, null],
      ['/c', 'A', '00000002'],
    ]);
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
