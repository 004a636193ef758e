// The examples of packages/testing/README.md ("The five things people do most"), verbatim: the
// last test checks that every code block of that section appears here unchanged.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ManualClock, ResponseFailedError, TimeoutError } from '@strand/core';
import { RequestSequence, StubClient, strandMatchers } from '@strand/testing';

expect.extend(strandMatchers);

test('stub a JSON API', async () => {
  const client = new StubClient([
    { method: 'GET', path: '/users/:id', reply: (req) => ({ json: { id: Number(req.params['id']), name: 'Ada' } }) },
  ]);

  const response = await client.get('https://api.example.test/users/42');

  expect(response.code).toBe(200);
  expect(await response.json()).toEqual({ id: 42, name: 'Ada' });
  await client.close();
});

test('assert the request body', async () => {
  const client = new StubClient([{ method: 'POST', path: '/orders', reply: { status: 201 } }]);

  await client.post('https://shop.example.test/orders', { json: { sku: 'A-1', quantity: 2 } });

  expect(client).toHaveReceivedRequest({
    method: 'POST',
    path: '/orders',
    headers: { 'content-type': /^application\/json/ },
    json: { sku: 'A-1', quantity: 2 },
  });
  await client.close();
});

test('simulate a timeout', async () => {
  const clock = new ManualClock();
  const client = new StubClient([{ path: '/slow', reply: { fault: 'stall' } }], { fake: { clock } });

  const request = client.get('https://api.example.test/slow', { timeout: { headers: 5000 } });
  const failure = expect(request).rejects.toBeInstanceOf(TimeoutError);
  await client.advance(5000); // moves the fake's clock: nothing really waits

  await failure;
  await client.close();
});

test('simulate a reset in the middle of the body', async () => {
  const client = new StubClient([
    { path: '/report.csv', reply: { body: 'id,total\n'.repeat(1000), fault: { type: 'reset', afterBodyBytes: 100 } } },
  ]);

  const download = client.get('https://files.example.test/report.csv');

  await expect(download).rejects.toBeInstanceOf(ResponseFailedError);
  await client.close();
});

test('script a sequence of requests', async () => {
  const sequence = new RequestSequence([
    [{ method: 'POST', url: 'https://api.example.test/login', json: { user: 'ada' } }, { json: { token: 't0k3n' } }],
    [{ method: 'GET', url: 'https://api.example.test/me', headers: { authorization: 'Bearer t0k3n' } }, { json: { name: 'Ada' } }],
  ]);
  const client = new StubClient(sequence);

  const login = await client.post('https://api.example.test/login', { json: { user: 'ada' } });
  const { token } = (await login.json()) as { token: string };
  const me = await client.get('https://api.example.test/me', { headers: { authorization: `Bearer ${token}` } });

  expect(await me.json()).toEqual({ name: 'Ada' });
  sequence.assertAllConsumed(); // throws, with a diff, for a missing or an unexpected request
  await client.close();
});

test('every example of the README section is in this file, unchanged', () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const start = readme.indexOf('## The five things people do most');
  const end = readme.indexOf('\n## ', start + 1);
  expect(start).toBeGreaterThan(-1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  expect(blocks.length).toBe(6);
  const source = readFileSync(__filename, 'utf8');
  for (const block of blocks) expect(source).toContain(block);
});
