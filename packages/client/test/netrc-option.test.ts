/**
 * The `netrc` option: Basic credentials for the request's host from a netrc file, sent to that
 * origin only (never to another host, never across a redirect to another origin), with `auth`
 * and URL credentials winning, `$NETRC` read with `trustEnv`, and off unless asked for.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HTTPConnectionPool, InvalidArgumentError } from '@strand/core';
import { HTTPClient, netrcCredentials, parseNetrc } from '@strand/client';
import { withEnv, withEnvAsync } from './support/proxies';
import { type TestServer, echo, startServer } from './support/servers';

let server: TestServer;
let pool: HTTPConnectionPool;
let dir: string;

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function authorizationSeen(index = 0): string | undefined {
  return server.requests[index]?.headers.authorization;
}

/** Writes a netrc file into the test's directory and returns its path. */
function netrcFile(text: string, name = 'netrc'): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

beforeEach(async () => {
  server = await startServer(echo);
  pool = new HTTPConnectionPool();
  dir = mkdtempSync(join(tmpdir(), 'strand-netrc-'));
});

afterEach(async () => {
  await pool.closeCachedConnections();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

it('sends the credentials of the machine entry for the request\'s host', async () => {
  const path = netrcFile('machine 127.0.0.1 login pat password "s3cret word"\nmachine localhost login other password nope\n');
  await new HTTPClient({ pool, netrc: path }).get(`${server.url}/`);
  expect(authorizationSeen()).toBe(basic('pat', 's3cret word'));
});

it('sends nothing to a host the file does not name (and that has no default entry)', async () => {
  const path = netrcFile('machine example.invalid login pat password secret\n');
  await new HTTPClient({ pool, netrc: path }).get(`${server.url}/`);
  expect(authorizationSeen()).toBeUndefined();
});

it('uses the default entry for a host without a machine entry', async () => {
  const path = netrcFile('machine example.invalid login pat password secret\ndefault login anyone password fallback\n');
  await new HTTPClient({ pool, netrc: path }).get(`${server.url}/`);
  expect(authorizationSeen()).toBe(basic('anyone', 'fallback'));
});

it('is off by default, even with a ~/.netrc', async () => {
  netrcFile('default login pat password secret\n', '.netrc');
  const client = withEnv({ HOME: dir }, () => new HTTPClient({ pool }));
  await withEnvAsync({ HOME: dir }, () => client.get(`${server.url}/`));
  expect(authorizationSeen()).toBeUndefined();
});

it('never sends the credentials across a redirect to another origin, even one the file names', async () => {
  const other = await startServer((req, res) => {
    res.writeHead(302, { location: `${server.url}/landed` });
    res.end();
  });
  try {
    // Both servers are 127.0.0.1 (on two ports): the file names the host of both origins.
    const path = netrcFile('machine 127.0.0.1 login pat password secret\n');
    const response = await new HTTPClient({ pool, netrc: path }).get(`${other.url}/start`);
    expect(response.code).toBe(200);
    expect(other.requests[0]?.headers.authorization).toBe(basic('pat', 'secret'));
    expect(server.requests[0]?.url).toBe('/landed');
    expect(authorizationSeen()).toBeUndefined();
  } finally {
    await other.close();
  }
});

it('lets auth and credentials in the URL win over the file', async () => {
  const path = netrcFile('default login pat password from-netrc\n');
  const client = new HTTPClient({ pool, netrc: path });
  await client.get(`${server.url}/explicit`, { auth: ['given', 'pw'] });
  await client.get(`http://url:user@127.0.0.1:${server.port}/in-url`);
  expect(authorizationSeen(0)).toBe(basic('given', 'pw'));
  expect(authorizationSeen(1)).toBe(basic('url', 'user'));
});

it('reads $NETRC with netrc: true, and ~/.netrc without it', async () => {
  const fromEnv = netrcFile('default login env password one\n', 'env-netrc');
  netrcFile('default login home password two\n', '.netrc');
  await withEnvAsync({ NETRC: fromEnv, HOME: dir }, () => new HTTPClient({ pool, netrc: true }).get(`${server.url}/env`));
  await withEnvAsync({ HOME: dir }, () => new HTTPClient({ pool, netrc: true }).get(`${server.url}/home`));
  expect(authorizationSeen(0)).toBe(basic('env', 'one'));
  expect(authorizationSeen(1)).toBe(basic('home', 'two'));
});

it('does not read $NETRC with trustEnv: false', async () => {
  const fromEnv = netrcFile('default login env password one\n', 'env-netrc');
  netrcFile('default login home password two\n', '.netrc');
  await withEnvAsync({ NETRC: fromEnv, HOME: dir }, () => new HTTPClient({ pool, netrc: true, trustEnv: false }).get(`${server.url}/`));
  expect(authorizationSeen()).toBe(basic('home', 'two'));
});

it('sends nothing when netrc: true finds no file', async () => {
  await withEnvAsync({ HOME: dir }, () => new HTTPClient({ pool, netrc: true }).get(`${server.url}/`));
  expect(authorizationSeen()).toBeUndefined();
});

it('fails with an InvalidArgumentError naming netrc when the file given cannot be read, before sending anything', async () => {
  const missing = join(dir, 'missing');
  await expect(new HTTPClient({ pool, netrc: missing }).get(`${server.url}/`)).rejects.toThrow(InvalidArgumentError);
  await expect(new HTTPClient({ pool, netrc: missing }).get(`${server.url}/`)).rejects.toThrow(`netrc: cannot read ${JSON.stringify(missing)}: ENOENT`);
  expect(server.requests).toHaveLength(0);
});

it.each([
  ['a number', 1, /^netrc must be true \(read \$NETRC or ~\/\.netrc\), false, or the path of a netrc file, got number/],
  ['an empty path', '', /^netrc must be true .*got ""/],
])('refuses %s with an InvalidArgumentError naming the option', (_label, netrc, message) => {
  expect(() => new HTTPClient({ netrc: netrc as never })).toThrow(message);
});

describe('parseNetrc and netrcCredentials', () => {
  it('read quoted values, skip comments and macdef blocks, and match host names without case or a root dot', () => {
    const entries = parseNetrc('# comment\nmacdef init\ncd /tmp\n\nmachine API.Example.com login "a b" password "q\\"uote"\n');
    expect(netrcCredentials(entries, 'api.example.com.')).toEqual(['a b', 'q"uote']);
    expect(netrcCredentials(entries, 'example.com')).toBeUndefined();
  });

  it('give an empty password for an entry with a login only, and nothing for one without a login', () => {
    expect(netrcCredentials(parseNetrc('machine a login pat'), 'a')).toEqual(['pat', '']);
    expect(netrcCredentials(parseNetrc('machine a password secret'), 'a')).toBeUndefined();
  });

  it('match an IPv6 host given with brackets', () => {
    expect(netrcCredentials(parseNetrc('machine ::1 login six password pw'), '[::1]')).toEqual(['six', 'pw']);
  });
});
