/**
 * The client on the testing package's fake agent: the real HttpAgent, parser and pool over
 * in-memory connections, so any host name works without DNS (cookie domain rules across real
 * host names, cross-origin redirects) and faults can be injected.
 */
import { ResponseFailedError } from '@strand/core';
import { HTTPClient } from '@strand/client';
import { type FakeAgent, type RecordedRequest, type ReplyLike, createFakeAgent } from '@strand/testing';

let agent: FakeAgent;
let client: HTTPClient;

function handler(request: RecordedRequest): ReplyLike {
  const url = request.url;
  const host = url.hostname;
  if (url.pathname === '/login') {
    return { status: 302, headers: { location: 'http://www.shop.test/home', 'set-cookie': ['sid=1; Domain=shop.test; Path=/', 'hostonly=1; Path=/'] } };
  }
  if (url.pathname === '/leave') return { status: 302, headers: { location: 'http://elsewhere.test/landing' } };
  if (url.pathname === '/json') return { json: { host, method: request.method } };
  return { json: { host, path: url.pathname, cookie: request.headers.get('cookie') ?? null, authorization: request.headers.get('authorization') ?? null } };
}

beforeEach(() => {
  agent = createFakeAgent(handler);
  client = new HTTPClient({ agent });
});

afterEach(async () => {
  await agent.close();
});

describe('the client on the fake agent', () => {
  it('round-trips JSON through the real stack without a socket', async () => {
    const response = await client.post('http://api.test/json', { json: { x: 1 } });
    expect(await response.json()).toEqual({ host: 'api.test', method: 'POST' });
    expect(JSON.parse(agent.lastRequest?.body.toString() ?? '')).toEqual({ x: 1 });
  });

  it('applies cookie domain rules across real host names: a Domain cookie reaches subdomains, a host-only one does not', async () => {
    const response = await client.get('http://shop.test/login');
    expect(response.url).toBe('http://www.shop.test/home');
    expect((await response.json<{ cookie: string | null }>()).cookie).toBe('sid=1');
    const back = await client.get('http://shop.test/page');
    expect((await back.json<{ cookie: string | null }>()).cookie).toBe('sid=1; hostonly=1');
    const unrelated = await client.get('http://notshop.test/page');
    expect((await unrelated.json<{ cookie: string | null }>()).cookie).toBeNull();
  });

  it('drops credentials when a redirect leaves the origin', async () => {
    const response = await client.get('http://bank.test/leave', { auth: ['me', 'secret'] });
    expect(agent.requests[0]?.headers.get('authorization')).toMatch(/^Basic /);
    expect((await response.json<{ authorization: string | null }>()).authorization).toBeNull();
  });

  it('surfaces a connection reset in the middle of the body as a ResponseFailedError', async () => {
    agent.injectFault({ type: 'reset', afterBodyBytes: 10 });
    const error = await client.get('http://api.test/big-enough-to-be-cut-by-the-fault').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseFailedError);
  });
});
