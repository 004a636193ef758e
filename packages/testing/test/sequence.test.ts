import { BytesProducer, readBody } from '@strand/core';
import { ExpectationsNotMetError, type FakeAgent, PendingRequestsError, RequestSequence, TestDoubleFailuresError, UnexpectedRequestError, createFakeAgent, nextTurn } from '@strand/testing';

let fake: FakeAgent | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function call(agent: FakeAgent, method: string, url: string, json?: unknown, headers: Record<string, string> = {}): Promise<{ code: number; body: string }> {
  const response = await agent.request(method, url, json === undefined ? headers : { 'content-type': 'application/json', ...headers }, json === undefined ? null : new BytesProducer(JSON.stringify(json)));
  return { code: response.code, body: (await readBody(response)).toString() };
}

describe('ordered sequences', () => {
  test('requests made in the listed order get their canned replies, and assertAllConsumed passes', async () => {
    const sequence = new RequestSequence([
      [{ method: 'POST', url: 'http://api.test/login', json: { user: 'ada' } }, { json: { token: 't1' } }],
      [{ method: 'GET', url: 'http://api.test/me', headers: { authorization: 'Bearer t1' } }, { json: { name: 'Ada' } }],
    ]);
    fake = createFakeAgent(sequence);
    expect(await call(fake, 'POST', 'http://api.test/login', { user: 'ada' })).toEqual({ code: 200, body: '{"token":"t1"}' });
    expect(await call(fake, 'GET', 'http://api.test/me', undefined, { authorization: 'Bearer t1' })).toEqual({ code: 200, body: '{"name":"Ada"}' });
    expect(() => sequence.assertAllConsumed()).not.toThrow();
    expect(() => sequence.assertNoPending()).not.toThrow();
    expect(() => fake?.assertNoPending()).not.toThrow();
    expect(sequence.remaining).toHaveLength(0);
  });

  test('a request out of order gets a 599 and assertAllConsumed throws a readable diff', async () => {
    const sequence = new RequestSequence([
      { method: 'GET', url: 'http://api.test/first', reply: 200 },
      { method: 'GET', url: 'http://api.test/second', reply: 200 },
    ]);
    fake = createFakeAgent(sequence);
    const result = await call(fake, 'GET', 'http://api.test/second');
    expect(result.code).toBe(599);
    expect(result.body).toContain('unexpected request #1: GET http://api.test/second');
    expect(result.body).toContain('expected next (#1 of 2): GET http://api.test/first');
    let thrown: unknown;
    try {
      sequence.assertAllConsumed();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UnexpectedRequestError);
    expect((thrown as UnexpectedRequestError).request.path).toBe('/second');
    expect((thrown as Error).message).toMatch(/url:\n\s+expected http:\/\/api.test\/first\n\s+received http:\/\/api.test\/second/);
  });

  test('a JSON body that differs is shown as a line diff', async () => {
    const sequence = new RequestSequence([[{ method: 'POST', path: '/users', json: { name: 'ada', roles: ['admin'] } }, 201]]);
    fake = createFakeAgent(sequence);
    expect((await call(fake, 'POST', 'http://api.test/users', { name: 'ada', roles: ['user'] })).code).toBe(599);
    expect(() => sequence.assertNoPending()).toThrow(
      ['    json:', '        {', '          "name": "ada",', '          "roles": [', '      -     "admin"', '      +     "user"', '          ]', '        }'].join('\n'),
    );
  });

  test('expectations never met make assertAllConsumed throw, listing them', async () => {
    const sequence = new RequestSequence().expect({ method: 'GET', path: '/a' }, 200).expect({ method: 'DELETE', path: '/b' }, 204);
    fake = createFakeAgent(sequence);
    await call(fake, 'GET', 'http://api.test/a');
    expect(() => sequence.assertNoPending()).not.toThrow();
    expect(() => sequence.assertAllConsumed()).toThrow(ExpectationsNotMetError);
    expect(() => sequence.assertAllConsumed()).toThrow('1 of 2 expected request(s) never arrived:\n  #2 DELETE /b');
  });

  test('a request after the last expectation is unexpected', async () => {
    const sequence = new RequestSequence([[{ path: '/only' }, 200]]);
    fake = createFakeAgent(sequence);
    await call(fake, 'GET', 'http://api.test/only');
    const again = await call(fake, 'GET', 'http://api.test/only');
    expect(again.code).toBe(599);
    expect(again.body).toContain('all 1 expected request(s) were already made');
    expect(() => fake?.assertNoPending()).toThrow(UnexpectedRequestError);
  });

  test('several unexpected requests are reported together', async () => {
    const sequence = new RequestSequence([[{ path: '/a' }, 200]]);
    fake = createFakeAgent(sequence);
    await call(fake, 'GET', 'http://api.test/x');
    await call(fake, 'GET', 'http://api.test/y');
    expect(() => sequence.assertAllConsumed()).toThrow(TestDoubleFailuresError);
    expect(sequence.failures.map((f) => f.request.path)).toEqual(['/x', '/y']);
  });

  test('asymmetric matchers and handlers work inside expectations', async () => {
    const sequence = new RequestSequence([
      [
        { method: 'POST', path: '/events', json: expect.objectContaining({ type: 'click' }), headers: { 'x-request-id': expect.stringMatching(/^[0-9a-f]{8}$/) } },
        (req) => ({ status: 202, json: { got: req.json<{ type: string }>().type } }),
      ],
    ]);
    fake = createFakeAgent(sequence);
    const result = await call(fake, 'POST', 'http://api.test/events', { type: 'click', at: 1 }, { 'x-request-id': 'deadbeef' });
    expect(result).toEqual({ code: 202, body: '{"got":"click"}' });
    sequence.assertAllConsumed();
  });

  test('the query in an expected URL matches whatever the parameter order', async () => {
    const sequence = new RequestSequence([[{ url: 'http://api.test/search?a=1&b=2' }, 200]]);
    fake = createFakeAgent(sequence);
    expect((await call(fake, 'GET', 'http://api.test/search?b=2&a=1')).code).toBe(200);
    sequence.assertAllConsumed();
  });
});

describe('unordered sequences', () => {
  test('requests may come in any order, each expectation used once', async () => {
    const sequence = new RequestSequence(
      [
        [{ path: '/a' }, 'A'],
        [{ path: '/b' }, 'B'],
      ],
      { ordered: false },
    );
    fake = createFakeAgent(sequence);
    const [b, a] = await Promise.all([call(fake, 'GET', 'http://api.test/b'), call(fake, 'GET', 'http://api.test/a')]);
    expect([a.body, b.body]).toEqual(['A', 'B']);
    sequence.assertAllConsumed();
  });

  test('an unexpected request is compared with the closest remaining expectation', async () => {
    const sequence = new RequestSequence(
      [
        [{ method: 'GET', path: '/users/1' }, 200],
        [{ method: 'POST', path: '/users', json: { name: 'x' } }, 201],
      ],
      { ordered: false },
    );
    fake = createFakeAgent(sequence);
    const result = await call(fake, 'POST', 'http://api.test/users', { name: 'y' });
    expect(result.code).toBe(599);
    expect(result.body).toContain('the closest is #2: POST /users');
    expect(result.body).toContain('json:');
  });
});

describe('pending replies', () => {
  test('assertNoPending throws while an asynchronous reply is still being produced', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const sequence = new RequestSequence([
      [
        { path: '/slow' },
        async () => {
          await gate;
          return 'done';
        },
      ],
    ]);
    fake = createFakeAgent(sequence);
    const pending = call(fake, 'GET', 'http://api.test/slow');
    await fake.flush();
    expect(() => sequence.assertNoPending()).toThrow(PendingRequestsError);
    expect(() => fake?.assertNoPending()).toThrow(PendingRequestsError);
    release();
    expect((await pending).body).toBe('done');
    await nextTurn();
    sequence.assertNoPending();
    fake.assertNoPending();
  });

  test('an expectation without a reply is refused at once', () => {
    expect(() => new RequestSequence([{ path: '/a' } as never])).toThrow(/reply is missing/);
  });
});
