import { BytesProducer } from '@strand/core';
import { type FakeAgent, RecordedRequest, createFakeAgent, matchRequest, strandMatchers } from '@strand/testing';

expect.extend(strandMatchers);

let fake: FakeAgent;

beforeEach(async () => {
  fake = createFakeAgent(() => 204);
  await (await fake.request('POST', 'http://api.test/users?team=core', { 'Content-Type': 'application/json', Authorization: 'Bearer abc' }, new BytesProducer('{"name":"ada","tags":["x"]}'))).dump();
  await (await fake.request('GET', 'http://api.test/users/7')).dump();
});

afterEach(() => fake.close());

function failure(run: () => void): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the assertion to fail');
}

describe('toHaveReceivedRequest', () => {
  test('passes when one recorded request matches every given field', () => {
    expect(fake).toHaveReceivedRequest({ method: 'POST', path: '/users', query: { team: 'core' }, headers: { authorization: /^Bearer / }, json: { name: 'ada', tags: ['x'] } });
    expect(fake).toHaveReceivedRequest({ method: 'get', path: '/users/:id' });
    expect(fake.requests).toHaveReceivedRequest({ url: 'http://api.test/users/7' });
    expect(fake).not.toHaveReceivedRequest({ method: 'DELETE' });
  });

  test('fails with the list of requests and the closest one explained', () => {
    const message = failure(() => expect(fake).toHaveReceivedRequest({ method: 'POST', path: '/users', json: { name: 'bob', tags: ['x'] } }));
    expect(message).toContain('expected a request matching POST /users (json {');
    expect(message).toContain('received 2 request(s):\n  1. POST http://api.test/users?team=core\n  2. GET http://api.test/users/7');
    expect(message).toContain('the closest, #1 POST http://api.test/users?team=core, differs in:');
    expect(message).toContain('-   "name": "bob",');
    expect(message).toContain('+   "name": "ada",');
  });

  test('.not fails naming the requests that matched', () => {
    const message = failure(() => expect(fake).not.toHaveReceivedRequest({ method: 'GET' }));
    expect(message).toContain('expected no request matching GET *, but 1 did:\n  #2 GET http://api.test/users/7');
  });

  test('says what it needs when given something else', () => {
    expect(() => expect({}).toHaveReceivedRequest({})).toThrow(/expected a FakeAgent, a StubServer, or an array/);
  });
});

describe('toHaveReceivedRequestTimes and toHaveReceivedNthRequest', () => {
  test('count matching requests', () => {
    expect(fake).toHaveReceivedRequestTimes({ path: /^\/users/ }, 2);
    expect(fake).toHaveReceivedRequestTimes({ method: 'PUT' }, 0);
    expect(failure(() => expect(fake).toHaveReceivedRequestTimes({ method: 'GET' }, 3))).toContain('expected 3 request(s) matching GET *, got 1');
  });

  test('check the nth request, 1-based', () => {
    expect(fake).toHaveReceivedNthRequest(1, { method: 'POST' });
    expect(fake).toHaveReceivedNthRequest(2, { method: 'GET', path: '/users/7' });
    expect(failure(() => expect(fake).toHaveReceivedNthRequest(2, { method: 'POST' }))).toContain('method:\n      expected POST\n      received GET');
    expect(failure(() => expect(fake).toHaveReceivedNthRequest(3, { method: 'POST' }))).toContain('but received 2 request(s)');
  });
});

describe('toMatchRequest', () => {
  test('checks one recorded request', () => {
    expect(fake.requests[0]).toMatchRequest({ headers: { 'content-type': 'application/json', 'x-missing': null } });
    expect(failure(() => expect(fake.requests[0]).toMatchRequest({ headers: { authorization: 'Bearer xyz' } }))).toContain('header authorization:\n      expected "Bearer xyz"\n      received "Bearer abc"');
    expect(() => expect('nope').toMatchRequest({})).toThrow(/expected a recorded request/);
  });
});

describe('patterns', () => {
  function recorded(url: string, init: { method?: string; headers?: string[]; body?: string } = {}): RecordedRequest {
    const parsed = new URL(url);
    return new RecordedRequest({
      index: 0,
      method: init.method ?? 'GET',
      url: parsed,
      target: parsed.pathname + parsed.search,
      httpVersion: '1.1',
      rawHeaders: init.headers ?? [],
      body: Buffer.from(init.body ?? ''),
      connectionId: 1,
    });
  }

  test.each([
    [{ path: '/a/:b/c' }, 'http://h.test/a/x/c', true],
    [{ path: '/a/:b/c' }, 'http://h.test/a/x/y/c', false],
    [{ path: '/a/*' }, 'http://h.test/a/x/y', true],
    [{ path: '/a' }, 'http://h.test/a/', false],
    [{ path: '/a?x=1' }, 'http://h.test/a?x=1', true],
    [{ path: '/a?x=1' }, 'http://h.test/a?x=1&y=2', false],
    [{ url: '/a?y=2&x=1' }, 'http://h.test/a?x=1&y=2', true],
    [{ url: 'http://h.test/a' }, 'http://other.test/a', false],
    [{ url: 'https://h.test/a' }, 'http://h.test/a', false],
    [{ url: /\/a$/ }, 'http://h.test/a', true],
    [{ host: 'H.test:8080' }, 'http://h.test:8080/', true],
    [{ query: { tag: ['a', 'b'] } }, 'http://h.test/?tag=a&tag=b', true],
    [{ query: { tag: 'a' } }, 'http://h.test/?tag=a&tag=b', false],
    [{ query: { tag: null } }, 'http://h.test/?other=1', true],
    [{ query: { n: /^\d+$/ } }, 'http://h.test/?n=42', true],
    [{ path: /^\/v(?<version>\d)\// }, 'http://h.test/v2/x', true],
  ])('%j against %s is %s', (pattern, url, expected) => {
    expect(matchRequest(pattern, recorded(url)).matched).toBe(expected);
  });

  test('named RegExp groups and :params become params, decoded', () => {
    expect(matchRequest({ path: /^\/v(?<version>\d)\// }, recorded('http://h.test/v2/x')).params).toEqual({ version: '2' });
    expect(matchRequest({ path: '/files/:name' }, recorded('http://h.test/files/a%2Fb')).params).toEqual({ name: 'a/b' });
  });

  test('body matchers compare text, bytes and JSON', () => {
    const request = recorded('http://h.test/', { method: 'POST', body: '{"a":1}' });
    expect(matchRequest({ body: '{"a":1}' }, request).matched).toBe(true);
    expect(matchRequest({ body: Buffer.from('{"a":1}') }, request).matched).toBe(true);
    expect(matchRequest({ body: /"a"/ }, request).matched).toBe(true);
    expect(matchRequest({ json: { a: 1 } }, request).matched).toBe(true);
    expect(matchRequest({ json: { a: 1, b: undefined } }, request).matched).toBe(true);
    expect(matchRequest({ json: { a: 2 } }, request).matched).toBe(false);
    expect(matchRequest({ json: {} }, recorded('http://h.test/', { body: 'nope' })).mismatches[0]?.lines[1]).toMatch(/a body that is not JSON: "nope"/);
  });

  test('a predicate that throws is a mismatch that says so', () => {
    const result = matchRequest({ where: () => { throw new Error('boom'); } }, recorded('http://h.test/'));
    expect(result.matched).toBe(false);
    expect(result.mismatches[0]?.lines[0]).toBe('the predicate threw: boom');
  });

  test('a malformed URL in a pattern is an error in the test, not a mismatch', () => {
    expect(() => matchRequest({ url: 'not a url' }, recorded('http://h.test/'))).toThrow(/url must be an absolute URL or start with "\/"/);
  });
});
