import { Readable } from 'node:stream';
import { BytesProducer, type HTTPConnectionPool, InvalidArgumentError, InvalidHeaderError, InvalidRequestError, UNKNOWN_LENGTH, FileBodyProducer } from '@strand/core';
import { DEFAULT_USER_AGENT, HTTPClient, VERSION } from '@strand/client';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLoopback, stopLoopback } from './support/routes';
import { type Echo, type TestServer, echo } from './support/servers';

let server: TestServer;
let pool: HTTPConnectionPool;
let client: HTTPClient;

beforeEach(async () => {
  ({ server, pool, client } = await startLoopback(echo));
});

afterEach(() => stopLoopback({ server, pool }));

describe('sending requests', () => {
  it('sends a GET with the default User-Agent strand/<version>', async () => {
    const response = await client.get(`${server.url}/hello`);
    const echoed = await response.json<Echo>();
    expect(response.code).toBe(200);
    expect(echoed.method).toBe('GET');
    expect(echoed.url).toBe('/hello');
    expect(echoed.headers['user-agent']).toBe(DEFAULT_USER_AGENT);
    expect(DEFAULT_USER_AGENT).toBe(`strand/${VERSION}`);
  });

  it('keeps VERSION equal to the package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });

  it('lets a request replace the User-Agent', async () => {
    const response = await client.get(server.url, { headers: { 'user-agent': 'mine/1' } });
    expect((await response.json<Echo>()).headers['user-agent']).toBe('mine/1');
  });

  it('sends no User-Agent when a request sets it to null, as requests does with None (a name given null must still be a valid name)', async () => {
    await client.get(server.url, { headers: { 'User-Agent': null } });
    await client.get(server.url, { headers: [['user-agent', null], ['X-Kept', 'yes']] });
    expect(server.requests.map((r) => r.headers['user-agent'])).toEqual([undefined, undefined]);
    expect(server.requests[1]?.headers['x-kept']).toBe('yes');
    await expect(client.get(server.url, { headers: { 'Bad Name': null } })).rejects.toThrow(/^headers: invalid header name "Bad Name": it must be an RFC 9110 token$/);
  });

  it('removes a client default header for one request with null, and keeps it for undefined', async () => {
    const withDefaults = new HTTPClient({ pool, headers: { 'X-Team': 'a', Accept: 'text/plain' } });
    await withDefaults.get(server.url, { headers: { 'x-team': null, Accept: undefined } });
    await withDefaults.get(server.url);
    expect(server.requests.map((r) => [r.headers['x-team'], r.headers['accept']])).toEqual([
      [undefined, 'text/plain'],
      ['a', 'text/plain'],
    ]);
  });

  it('sends no User-Agent from a client whose default headers set it to null, unless a request gives one', async () => {
    const anonymous = new HTTPClient({ pool, headers: { 'User-Agent': null } });
    await anonymous.get(server.url);
    await anonymous.get(server.url, { headers: { 'X-Other': '1' } });
    await anonymous.get(server.url, { headers: { 'User-Agent': 'mine/2' } });
    expect(server.requests.map((r) => r.headers['user-agent'])).toEqual([undefined, undefined, 'mine/2']);
  });

  it('sends no Content-Type for a json or form body whose Content-Type header is null', async () => {
    await client.post(server.url, { json: { a: 1 }, headers: { 'Content-Type': null } });
    await client.post(server.url, { data: new Map([['a', '1']]), headers: { 'content-type': null } });
    expect(server.requests.map((r) => [r.headers['content-type'], r.body.toString()])).toEqual([
      [undefined, '{"a":1}'],
      [undefined, 'a=1'],
    ]);
  });

  it('upper-cases the method like requests and got', async () => {
    const response = await client.request('patch', server.url, { data: 'x' });
    expect((await response.json<Echo>()).method).toBe('PATCH');
  });

  it.each(['get', 'head', 'post', 'put', 'patch', 'delete', 'options'] as const)('has a %s method that sends that verb', async (verb) => {
    const response = await client[verb](server.url);
    expect(response.code).toBe(200);
    expect(server.requests.at(-1)?.method).toBe(verb.toUpperCase());
  });

  it('merges params after the query the URL already has, repeating array values', async () => {
    const response = await client.get(`${server.url}/search?q=1`, { params: { a: 'b c', n: 2, list: ['x', 'y'], skipped: undefined, none: null } });
    expect((await response.json<Echo>()).url).toBe('/search?q=1&a=b+c&n=2&list=x&list=y');
  });

  it('accepts params as pairs and as URLSearchParams', async () => {
    await client.get(server.url, { params: [['k', 'v'], ['k', 'w']] });
    await client.get(server.url, { params: new URLSearchParams('z=1&z=2') });
    expect(server.requests.map((r) => r.url)).toEqual(['/?k=v&k=w', '/?z=1&z=2']);
  });

  it('adds client default params before the request params', async () => {
    const withDefaults = new HTTPClient({ pool, params: { api: 'v1' } });
    await withDefaults.get(server.url, { params: { page: 2 } });
    expect(server.requests[0]?.url).toBe('/?api=v1&page=2');
  });

  it('lets request headers replace client defaults of the same name and keeps the others', async () => {
    const withDefaults = new HTTPClient({ pool, headers: { Accept: 'text/plain', 'X-Team': 'a' } });
    await withDefaults.get(server.url, { headers: { accept: 'application/json' } });
    const headers = server.requests[0]?.headers ?? {};
    expect(headers['accept']).toBe('application/json');
    expect(headers['x-team']).toBe('a');
  });

  it('sends a string as UTF-8 with its Content-Length and no Content-Type', async () => {
    await client.post(server.url, { data: 'héllo' });
    const seen = server.requests[0];
    expect(seen?.body.toString('utf8')).toBe('héllo');
    expect(seen?.headers['content-length']).toBe('6');
    expect(seen?.headers['content-type']).toBeUndefined();
  });

  it('sends bytes and ArrayBuffers as they are', async () => {
    await client.post(server.url, { data: Buffer.from([0, 1, 2, 255]) });
    await client.post(server.url, { data: new Uint8Array([9, 8]).buffer });
    expect([...(server.requests[0]?.body ?? [])]).toEqual([0, 1, 2, 255]);
    expect([...(server.requests[1]?.body ?? [])]).toEqual([9, 8]);
  });

  it('urlencodes a form object and sets its Content-Type', async () => {
    await client.post(server.url, { data: { name: 'a b', tags: ['x', 'y&z'] } });
    const seen = server.requests[0];
    expect(seen?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen?.body.toString()).toBe('name=a+b&tags=x&tags=y%26z');
  });

  it('urlencodes a Map, and any other iterable of pairs, as a form like params does', async () => {
    await client.post(server.url, { data: new Map<string, string | number>([['name', 'a b'], ['n', 2]]) });
    function* pairs(): Generator<[string, string]> {
      yield ['k', 'v&w'];
      yield ['k', 'x'];
    }
    await client.post(server.url, { data: pairs() });
    expect(server.requests.map((r) => [r.headers['content-type'], r.body.toString()])).toEqual([
      ['application/x-www-form-urlencoded', 'name=a+b&n=2'],
      ['application/x-www-form-urlencoded', 'k=v%26w&k=x'],
    ]);
  });

  it('sends a Map of data fields as text parts of a multipart body with files', async () => {
    await client.post(server.url, { data: new Map([['title', 'hello']]), files: { f: Buffer.from('x') } });
    expect(server.requests[0]?.body.toString()).toMatch(/name="title"\r\n\r\nhello\r\n/);
  });

  it('keeps a Content-Type the caller set for a form', async () => {
    await client.post(server.url, { data: { a: '1' }, headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' } });
    expect(server.requests[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded; charset=utf-8');
  });

  it('sends a BodyProducer as it is', async () => {
    await client.put(server.url, { data: new BytesProducer('produced') });
    expect(server.requests[0]?.body.toString()).toBe('produced');
  });

  it('streams a Readable and an async iterable chunked', async () => {
    await client.post(server.url, { data: Readable.from([Buffer.from('one '), Buffer.from('two')]) });
    async function* gen(): AsyncGenerator<string> {
      yield 'three ';
      yield 'four';
    }
    await client.post(server.url, { data: gen() });
    expect(server.requests[0]?.headers['transfer-encoding']).toBe('chunked');
    expect(server.requests[0]?.body.toString()).toBe('one two');
    expect(server.requests[1]?.body.toString()).toBe('three four');
  });

  it('serialises json and sets Content-Type: application/json', async () => {
    await client.post(server.url, { json: { a: [1, 2], b: null } });
    const seen = server.requests[0];
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen?.body.toString() ?? '')).toEqual({ a: [1, 2], b: null });
  });

  it('sends the nulls a json value really has, but refuses a NaN that JSON.stringify would turn into null', async () => {
    const value = { a: null, list: [1, null, 'null'], when: new Date(0), '': 'empty' };
    await client.post(server.url, { json: value });
    expect(server.requests[0]?.body.toString()).toBe(JSON.stringify(value));
    await expect(client.post(server.url, { json: { ...value, ratio: 0 / 0 } })).rejects.toThrow('json.ratio is NaN');
    expect(server.requests).toHaveLength(1);
  });

  it('sends json: null as the JSON literal null', async () => {
    await client.post(server.url, { json: null });
    expect(server.requests[0]?.body.toString()).toBe('null');
  });

  it('uses a client dataToBodyProducer for values it knows, and the default for the rest', async () => {
    class Upper {
      constructor(readonly text: string) {}
    }
    const custom = new HTTPClient({ pool, dataToBodyProducer: (data) => (data instanceof Upper ? new BytesProducer(data.text.toUpperCase()) : undefined) });
    await custom.post(server.url, { data: new Upper('shout') as unknown as string });
    await custom.post(server.url, { data: 'plain' });
    expect(server.requests.map((r) => r.body.toString())).toEqual(['SHOUT', 'plain']);
  });

  it('turns credentials in the URL into Basic auth and never sends them in the URL', async () => {
    const url = server.url.replace('http://', 'http://al%20ice:p%40ss@');
    await client.get(`${url}/private`);
    const seen = server.requests[0];
    expect(seen?.url).toBe('/private');
    expect(seen?.headers['authorization']).toBe(`Basic ${Buffer.from('al ice:p@ss').toString('base64')}`);
  });
});

describe('bad input is refused before anything is sent', () => {
  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    ['json with data', () => client.post(server.url, { json: {}, data: 'x' }), /json and data cannot be used together/],
    ['json with files', () => client.post(server.url, { json: {}, files: { f: Buffer.from('x') } }), /json and files/],
    ['a BigInt in json, naming its place', () => client.post(server.url, { json: { order: { id: 1n } } }), /^json\.order\.id is a BigInt, which JSON cannot carry/],
    ['a circular json value', () => { const a: Record<string, unknown> = {}; a['self'] = a; return client.post(server.url, { json: a }); }, /json cannot be serialised: Converting circular structure/],
    ['a function as json', () => client.post(server.url, { json: () => 1 }), /^json is a function, which has no JSON form/],
    ['a symbol as json', () => client.post(server.url, { json: Symbol('s') }), /^json is a symbol, which has no JSON form/],
    ['json whose toJSON gives undefined', () => client.post(server.url, { json: { toJSON: () => undefined } }), /^json is undefined, which has no JSON form/],
    ['NaN deep in json, naming its path', () => client.post(server.url, { json: { items: [{ price: 1 }, { price: 2 }, { price: NaN }] } }), /^json\.items\[2\]\.price is NaN, which JSON cannot carry/],
    ['Infinity in json', () => client.post(server.url, { json: [1, Infinity] }), /^json\[1\] is Infinity, which JSON cannot carry/],
    ['-Infinity under a key that is not an identifier', () => client.post(server.url, { json: { 'a b': -Infinity } }), /^json\["a b"\] is -Infinity, which JSON cannot carry/],
    ['NaN at the top of json', () => client.post(server.url, { json: NaN }), /^json is NaN, which JSON cannot carry/],
    ['a non-finite number that toJSON returns', () => client.post(server.url, { json: { when: { toJSON: () => Infinity } } }), /^json\.when is Infinity/],
    ['NaN nested deeper than the path walk goes', () => { let deep: unknown = [NaN, null]; for (let i = 0; i < 1500; i++) deep = [deep]; return client.post(server.url, { json: deep }); }, /^json holds NaN, Infinity or a BigInt more than 1000 levels deep/],
    ['a boxed NaN in json', () => client.post(server.url, { json: { n: Object(NaN) as number } }), /^json\.n is NaN/],
    ['a non-string header value', () => client.get(server.url, { headers: { 'X-Count': 3 as unknown as string } }), /headers: invalid value for header "X-Count": expected a string, got number/],
    ['a header value with a newline', () => client.get(server.url, { headers: { 'X-A': 'a\r\nInjected: 1' } }), /headers: invalid value for header "X-A"/],
    ['a file that does not exist', () => client.post(server.url, { files: { f: '/no/such/file.txt' } }), /files\.f: cannot read "\/no\/such\/file\.txt": no such file/],
    ['a malformed URL', () => client.get('http://exa mple.com/'), /invalid URL/],
    ['a relative URL', () => client.get('/just/a/path'), /not an absolute URL/],
    ['an unsupported scheme', () => client.get('ftp://127.0.0.1/x'), /unsupported URL scheme "ftp"/],
    ['an unknown option', () => client.get(server.url, { header: {} } as never), /unknown request option "header"/],
    ['a non-boolean allowRedirects', () => client.get(server.url, { allowRedirects: 'yes' as never }), /allowRedirects must be a boolean/],
    ['a negative maxRedirects', () => client.get(server.url, { maxRedirects: -1 }), /maxRedirects must be a non-negative integer/],
    ['an unknown timeout phase', () => client.get(server.url, { timeout: { connnect: 5 } as never }), /timeout\.connnect is not a timeout phase/],
    ['a zero timeout', () => client.get(server.url, { timeout: 0 }), /timeout must be a positive number/],
    ['a bad params value', () => client.get(server.url, { params: { a: {} as never } }), /params\.a must be a string, number, boolean or bigint, got an object/],
    ['a non-form data with files', () => client.post(server.url, { data: 'text', files: { f: Buffer.from('x') } }), /data must be a form/],
    ['an unsupported data type', () => client.post(server.url, { data: 42 as never }), /data must be a string, bytes, a form/],
    ['a bad auth', () => client.get(server.url, { auth: ['only-user'] as never }), /auth must be \[username, password\]/],
    ['an unknown auth type', () => client.get(server.url, { auth: { type: 'ntlm' as never, username: 'u', password: 'p' } }), /auth\.type must be "basic" or "digest"/],
    ['a cookie value with a semicolon', () => client.get(server.url, { cookies: { a: 'b;c' } }), /cookies\.a contains a character/],
    ['a bad signal', () => client.get(server.url, { signal: {} as never }), /signal must be an AbortSignal/],
    ['pool together with a client agent', () => new HTTPClient({ agent: client.agent ?? { request: () => Promise.reject(new Error('x')) } }).get(server.url, { pool }), /cannot be used with a client that has its own agent/],
  ];

  it.each(cases)('refuses %s with an InvalidArgumentError naming it', async (_name, make, message) => {
    await expect(make()).rejects.toThrow(message);
    await expect(make()).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(server.requests).toHaveLength(0);
  });

  it('reports a bad header as an InvalidHeaderError with the header name', async () => {
    const error = await client.get(server.url, { headers: { 'Bad Name': 'x' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidHeaderError);
    expect((error as InvalidHeaderError).headerName).toBe('Bad Name');
  });

  it('reports a URL with a newline as an InvalidRequestError rather than stripping it', async () => {
    await expect(client.get(`${server.url}/a\nb`)).rejects.toBeInstanceOf(InvalidRequestError);
    expect(server.requests).toHaveLength(0);
  });

  it('does not touch a stream body when another option is wrong', async () => {
    const stream = Readable.from(['never read']);
    await expect(client.post(server.url, { data: stream, timeout: -1 })).rejects.toThrow(/timeout must be a positive number/);
    expect(stream.readableFlowing).toBeNull();
    stream.destroy();
  });

  it('refuses bad client options in the constructor', () => {
    expect(() => new HTTPClient({ maxConcurrentRequests: 0 })).toThrow(/maxConcurrentRequests must be a positive integer/);
    expect(() => new HTTPClient({ headers: { 'X-A': 'a\nb' } })).toThrow(/headers: invalid value for header "X-A"/);
    expect(() => new HTTPClient({ pool, persistent: false })).toThrow(/persistent cannot be used together with pool/);
    expect(() => new HTTPClient({ cookiejar: null } as never)).toThrow(/unknown HTTPClient option "cookiejar"/);
  });
});

describe('FileBodyProducer lengths', () => {
  it('sends a producer of unknown length chunked', async () => {
    const producer = new FileBodyProducer(Readable.from(['abc']));
    expect(producer.length).toBe(UNKNOWN_LENGTH);
    await client.post(server.url, { data: producer });
    expect(server.requests[0]?.headers['transfer-encoding']).toBe('chunked');
  });
});
