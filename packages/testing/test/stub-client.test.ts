import { ManualClock, ResponseFailedError } from '@strand/core';
import type { HTTPClient } from '@strand/client';
import { RequestSequence, StubClient, createFakeAgent, strandMatchers } from '@strand/testing';

expect.extend(strandMatchers);

/** Code under test: written against HTTPClient, knows nothing about tests. */
async function createUser(client: HTTPClient, name: string): Promise<number> {
  const response = await client.post('https://api.test/users', { json: { name }, headers: { authorization: 'Bearer secret' } });
  if (response.code !== 201) throw new Error(`unexpected status ${response.code}`);
  return ((await response.json()) as { id: number }).id;
}

describe('StubClient', () => {
  test('code written against HTTPClient runs unchanged on the stub', async () => {
    const client = new StubClient([{ method: 'POST', path: '/users', reply: (req) => ({ status: 201, json: { id: 7, name: req.json<{ name: string }>().name } }) }]);
    try {
      expect(await createUser(client, 'ada')).toBe(7);
      expect(client).toHaveReceivedRequest({ method: 'POST', url: 'https://api.test/users', json: { name: 'ada' }, headers: { authorization: 'Bearer secret' } });
      expect(client.lastRequest?.headers.get('content-type')).toMatch(/^application\/json/);
    } finally {
      await client.close();
    }
  });

  test("the client's options apply: default headers, params, and raising on error statuses", async () => {
    const client = new StubClient((req) => (req.path === '/missing' ? 404 : { json: { q: req.query.get('q') } }), { headers: { 'X-App': 'demo' }, params: { q: 'strand' } });
    try {
      expect(await (await client.get('http://api.test/search')).json()).toEqual({ q: 'strand' });
      expect(client.requests[0]?.headers.get('x-app')).toBe('demo');
      await expect(client.get('http://api.test/missing', { throwForStatus: true })).rejects.toMatchObject({ code: 'STRAND_HTTP_STATUS', status: 404 });
    } finally {
      await client.close();
    }
  });

  test('cookies set by the fake server are sent back by the client', async () => {
    const client = new StubClient([
      { path: '/login', reply: { headers: { 'set-cookie': 'sid=abc; Path=/' } } },
      { path: '/me', reply: (req) => ({ json: { cookie: req.headers.get('cookie') ?? null } }) },
    ]);
    try {
      await (await client.get('http://shop.test/login')).text();
      expect(await (await client.get('http://shop.test/me')).json()).toEqual({ cookie: 'sid=abc' });
    } finally {
      await client.close();
    }
  });

  test('a sequence, faults and the clock work through the stub', async () => {
    const clock = new ManualClock();
    const sequence = new RequestSequence([
      [{ method: 'GET', path: '/slow' }, { delay: 1000, body: 'finally' }],
      [{ method: 'GET', path: '/broken' }, { body: 'x'.repeat(100), fault: { type: 'reset', afterBodyBytes: 5 } }],
    ]);
    const client = new StubClient(sequence, { fake: { clock } });
    try {
      const slow = client.get('http://api.test/slow');
      await client.advance(1000);
      expect(await (await slow).text()).toBe('finally');
      await expect(client.get('http://api.test/broken').then((r) => r.text())).rejects.toBeInstanceOf(ResponseFailedError);
      sequence.assertAllConsumed();
      client.assertNoPending();
    } finally {
      await client.close();
    }
  });

  test('it can run on an existing fake agent', async () => {
    const fake = createFakeAgent(() => 'shared');
    const client = new StubClient(fake);
    try {
      expect(client.fake).toBe(fake);
      expect(client.agent).toBe(fake);
      expect(await (await client.get('http://api.test/')).text()).toBe('shared');
      expect(fake.requests).toHaveLength(1);
    } finally {
      await client.close();
    }
  });
});
