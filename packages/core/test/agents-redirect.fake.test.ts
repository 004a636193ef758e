/**
 * RedirectAgent and BrowserLikeRedirectAgent over @strand/testing's fake agent: the real
 * HttpAgent, parser and pool on in-memory connections to route tables that may span any number
 * of origins (the fake gives each scheme/host/port its own connections), so chains, relative
 * Locations, method rewriting, the credential matrix across origins, history and limits are
 * checked on the requests the server really received. The loopback-server tests of the same
 * agents are in agents-redirect.test.ts.
 */
import { Readable } from 'node:stream';
import { type FakeAgent, type Route, createFakeAgent, strandMatchers } from '@strand/testing';
import {
  type Agent,
  BrowserLikeRedirectAgent,
  BytesProducer,
  FileBodyProducer,
  RedirectAgent,
  RedirectError,
  TooManyRedirectsError,
} from '../src/index.js';
import { UserinfoAuthAgent, history, text } from './support/agents-helpers.js';
import { trackFakeAgents } from './support/fake-agents.js';
import { failureOf } from './support/failures.js';

expect.extend(strandMatchers);

const track = trackFakeAgents();

/** A fake agent answering with `routes`; an unmatched request fails the test after it. */
function serve(routes: readonly Route[]): FakeAgent {
  return track(createFakeAgent(routes));
}

/** A route answering `url` (any method) with a redirect to `location`. */
function redirect(url: string, status: number, location: string, body = ''): Route {
  return { url, reply: { status, headers: { Location: location }, body } };
}


describe('RedirectAgent over the fake agent: chains and Locations', () => {
  it('follows 301, 302, 307 and 308 in one chain and returns the final response', async () => {
    const f = serve([
      redirect('http://a.test/1', 301, '/2'),
      redirect('http://a.test/2', 302, 'http://a.test/3'),
      redirect('http://a.test/3', 307, '/4'),
      redirect('http://a.test/4', 308, '/5'),
      { url: 'http://a.test/5', reply: 'arrived' },
    ]);
    const response = await new RedirectAgent(f).request('GET', 'http://a.test/1');
    expect(response.code).toBe(200);
    expect(await text(response)).toBe('arrived');
    expect(f.requests.map((r) => r.path)).toEqual(['/1', '/2', '/3', '/4', '/5']);
    expect(f).toHaveReceivedRequestTimes({ method: 'GET' }, 5);
  });

  it('resolves each relative Location against the URL of the hop that sent it', async () => {
    const f = serve([
      redirect('http://a.test/docs/guide/intro?lang=en', 302, 'next'),
      redirect('http://a.test/docs/guide/next', 302, '../api/'),
      redirect('http://a.test/docs/api/', 302, '?page=2'),
      redirect('http://a.test/docs/api/?page=2', 302, '//b.test/elsewhere/x'),
      redirect('http://b.test/elsewhere/x', 302, './y?z=%C3%A9'),
      { url: 'http://b.test/elsewhere/y?z=é', reply: 'done' },
    ]);
    const response = await new RedirectAgent(f).request('GET', 'http://a.test/docs/guide/intro?lang=en');
    expect(await text(response)).toBe('done');
    expect(f.requests.map((r) => r.url.href)).toEqual([
      'http://a.test/docs/guide/intro?lang=en',
      'http://a.test/docs/guide/next',
      'http://a.test/docs/api/',
      'http://a.test/docs/api/?page=2',
      'http://b.test/elsewhere/x',
      'http://b.test/elsewhere/y?z=%C3%A9',
    ]);
    expect(f).toHaveReceivedNthRequest(5, { host: 'b.test', path: '/elsewhere/x', query: {} });
  });

  it('keeps the whole chain in previousResponse, each hop with its own request, bodies already read', async () => {
    const f = serve([
      redirect('http://a.test/form', 303, '/seen', 'see other'),
      redirect('http://a.test/seen', 308, 'https://a.test/secure', 'permanent'),
      { url: 'https://a.test/secure', reply: { json: { ok: true } } },
    ]);
    const response = await new RedirectAgent(f).request('POST', 'http://a.test/form', { 'Content-Type': 'text/plain' }, new BytesProducer('name=ada'));
    const chain = history(response);
    expect(chain.map((r) => [r.code, r.request.method, r.request.uri])).toEqual([
      [303, 'POST', 'http://a.test/form'],
      [308, 'GET', 'http://a.test/seen'],
      [200, 'GET', 'https://a.test/secure'],
    ]);
    expect(chain[0]?.previousResponse).toBeNull();
    expect(chain.slice(0, -1).every((r) => r.bodyUsed)).toBe(true);
    expect(JSON.parse(await text(response))).toEqual({ ok: true });
    expect(f).toHaveReceivedNthRequest(1, { method: 'POST', body: 'name=ada' });
    expect(f).toHaveReceivedNthRequest(3, { method: 'GET', url: 'https://a.test/secure', body: '' });
  });

  it('reads and discards each redirect body so one connection per origin carries the chain', async () => {
    // 40 KiB streamed in 1 KiB chunks: more than the connection reads ahead of a consumer, so
    // unless the agent reads the body to its end the connection cannot go back to the pool.
    async function* filler(): AsyncGenerator<string> {
      for (let i = 0; i < 40; i++) yield 'm'.repeat(1024);
    }
    const f = serve([
      { url: 'http://a.test/1', reply: () => ({ status: 302, headers: { Location: '/2' }, body: filler() }) },
      { url: 'http://a.test/2', reply: () => ({ status: 302, headers: { Location: '/3' }, body: filler() }) },
      { url: 'http://a.test/3', reply: 'end' },
    ]);
    expect(await text(await new RedirectAgent(f).request('GET', 'http://a.test/1'))).toBe('end');
    expect(new Set(f.requests.map((r) => r.connectionId)).size).toBe(1);
    expect(f.connectionsOpened).toBe(1);
  });

  it('abandons a redirect body longer than maxDiscardBytes, so the next hop opens a new connection', async () => {
    // Streamed in 4 KiB chunks: a body written at once reaches the client in one piece in memory,
    // complete before anyone could abandon it (and then reusing the connection is right).
    let sent = 0;
    async function* longBody(): AsyncGenerator<Buffer> {
      for (; sent < 50; sent++) yield Buffer.alloc(4096, 'x');
    }
    const f = serve([
      { url: 'http://a.test/1', reply: () => ({ status: 302, headers: { Location: '/2' }, body: longBody() }) },
      { url: 'http://a.test/2', reply: 'end' },
    ]);
    const response = await new RedirectAgent(f, { maxDiscardBytes: 1024 }).request('GET', 'http://a.test/1');
    expect(await text(response)).toBe('end');
    const [first, second] = f.requests;
    expect(second?.connectionId).not.toBe(first?.connectionId);
    expect(f.connectionsOpened).toBe(2);
    expect(sent).toBeLessThan(50); // the server was stopped long before the end of the body
  });

  it('returns a 3xx without Location, and a 300 or 304 with one, as they are', async () => {
    const f = serve([
      { url: 'http://a.test/nowhere', reply: { status: 302, body: 'no location' } },
      redirect('http://a.test/choices', 300, '/a'),
      redirect('http://a.test/cached', 304, '/b'),
    ]);
    const agent = new RedirectAgent(f);
    const nowhere = await agent.request('GET', 'http://a.test/nowhere');
    expect([nowhere.code, await text(nowhere)]).toEqual([302, 'no location']);
    const choices = await agent.request('GET', 'http://a.test/choices');
    expect(choices.code).toBe(300);
    await choices.dump();
    expect((await agent.request('GET', 'http://a.test/cached')).code).toBe(304);
    expect(f.requests.map((r) => r.path)).toEqual(['/nowhere', '/choices', '/cached']);
  });
});

/** One redirect of a `method` request and what the second request must look like. */
interface MethodCase {
  status: number;
  method: string;
  next: string;
  keepsBody: boolean;
}

const strictCases: MethodCase[] = [
  { status: 301, method: 'GET', next: 'GET', keepsBody: false },
  { status: 302, method: 'GET', next: 'GET', keepsBody: false },
  { status: 307, method: 'GET', next: 'GET', keepsBody: false },
  { status: 308, method: 'GET', next: 'GET', keepsBody: false },
  { status: 301, method: 'HEAD', next: 'HEAD', keepsBody: false },
  { status: 308, method: 'HEAD', next: 'HEAD', keepsBody: false },
  { status: 303, method: 'POST', next: 'GET', keepsBody: false },
  { status: 303, method: 'PUT', next: 'GET', keepsBody: false },
  { status: 303, method: 'PATCH', next: 'GET', keepsBody: false },
  { status: 303, method: 'HEAD', next: 'HEAD', keepsBody: false },
];

const browserCases: MethodCase[] = [
  { status: 301, method: 'POST', next: 'GET', keepsBody: false },
  { status: 302, method: 'POST', next: 'GET', keepsBody: false },
  { status: 303, method: 'POST', next: 'GET', keepsBody: false },
  { status: 307, method: 'POST', next: 'POST', keepsBody: true },
  { status: 308, method: 'POST', next: 'POST', keepsBody: true },
  { status: 301, method: 'PUT', next: 'GET', keepsBody: false },
  { status: 302, method: 'PUT', next: 'GET', keepsBody: false },
  { status: 302, method: 'DELETE', next: 'GET', keepsBody: false },
  { status: 307, method: 'PUT', next: 'PUT', keepsBody: true },
  { status: 308, method: 'PATCH', next: 'PATCH', keepsBody: true },
  { status: 302, method: 'GET', next: 'GET', keepsBody: false },
  { status: 303, method: 'PUT', next: 'GET', keepsBody: false },
  { status: 303, method: 'DELETE', next: 'GET', keepsBody: false },
  { status: 303, method: 'HEAD', next: 'HEAD', keepsBody: false },
  { status: 303, method: 'GET', next: 'GET', keepsBody: false },
];

function methodMatrix(name: string, make: (agent: Agent) => Agent, cases: MethodCase[]): void {
  describe(`${name} over the fake agent: the method and body after each status`, () => {
    it.each(cases)('sends $next after $status to $method (body kept: $keepsBody)', async ({ status, method, next, keepsBody }) => {
      const f = serve([
        { method, url: 'http://a.test/from', reply: { status, headers: { Location: '/to' } } },
        { method: next, url: 'http://a.test/to', reply: 'landed' },
      ]);
      const withBody = method !== 'GET' && method !== 'HEAD';
      const headers = withBody ? { 'Content-Type': 'text/plain', 'Content-Language': 'en', 'X-Keep': 'yes' } : { 'X-Keep': 'yes' };
      const response = await make(f).request(method, 'http://a.test/from', headers, withBody ? new BytesProducer('payload') : null);
      expect(response.code).toBe(200);
      expect(response.request.method).toBe(next);
      await response.dump();
      expect(f.requests).toHaveLength(2);
      expect(f.requests[0]).toMatchRequest({ method, body: withBody ? 'payload' : '' });
      expect(f.requests[1]).toMatchRequest(
        keepsBody && withBody
          ? { method: next, body: 'payload', headers: { 'content-type': 'text/plain', 'content-language': 'en', 'content-length': '7', 'x-keep': 'yes' } }
          : { method: next, body: '', headers: { 'content-type': null, 'content-language': null, 'content-length': null, 'transfer-encoding': null, 'x-keep': 'yes' } },
      );
    });
  });
}

methodMatrix('RedirectAgent', (agent) => new RedirectAgent(agent), strictCases);
methodMatrix('BrowserLikeRedirectAgent', (agent) => new BrowserLikeRedirectAgent(agent), browserCases);

/** A redirect from `start` to `location`, and whether credentials may go along. */
interface OriginCase {
  name: string;
  start: string;
  location: string;
  lands: string;
  kept: boolean;
}

const originCases: OriginCase[] = [
  { name: 'a relative Location (same origin)', start: 'http://a.test/start', location: '/next', lands: 'http://a.test/next', kept: true },
  { name: 'an absolute Location on the same origin', start: 'http://a.test/start', location: 'http://a.test/next', lands: 'http://a.test/next', kept: true },
  { name: 'the default port spelled out (same origin)', start: 'http://a.test/start', location: 'http://a.test:80/next', lands: 'http://a.test/next', kept: true },
  { name: 'the host in capitals (same origin)', start: 'https://a.test/start', location: 'https://A.TEST/next', lands: 'https://a.test/next', kept: true },
  { name: 'https to http on the same host', start: 'https://a.test/start', location: 'http://a.test/next', lands: 'http://a.test/next', kept: false },
  { name: 'http to https on the same host', start: 'http://a.test/start', location: 'https://a.test/next', lands: 'https://a.test/next', kept: false },
  { name: 'another port on the same host', start: 'http://a.test/start', location: 'http://a.test:8080/next', lands: 'http://a.test:8080/next', kept: false },
  { name: 'a subdomain', start: 'http://a.test/start', location: 'http://api.a.test/next', lands: 'http://api.a.test/next', kept: false },
  { name: 'the parent domain', start: 'http://api.a.test/start', location: 'http://a.test/next', lands: 'http://a.test/next', kept: false },
  { name: 'another host, protocol-relative', start: 'https://a.test/start', location: '//b.test/next', lands: 'https://b.test/next', kept: false },
];

const SECRETS = { Authorization: 'Bearer t0k3n', Cookie: 'sid=42', 'Proxy-Authorization': 'Basic cHJveHk6cHc=', 'X-Api-Key': 'k-123' };
const SECRETS_ABSENT = { authorization: null, cookie: null, 'proxy-authorization': null, 'x-api-key': null };
const SECRETS_PRESENT = { authorization: 'Bearer t0k3n', cookie: 'sid=42', 'proxy-authorization': 'Basic cHJveHk6cHc=', 'x-api-key': 'k-123' };

describe('RedirectAgent over the fake agent: credentials and origins', () => {
  it.each(originCases)('$name: credentials kept = $kept', async ({ start, location, lands, kept }) => {
    const f = serve([redirect(start, 302, location), { url: lands, reply: 'landed' }]);
    const agent = new RedirectAgent(f, { sensitiveHeaders: ['X-Api-Key'] });
    const response = await agent.request('GET', start, { ...SECRETS, 'X-Trace': 'trace-1' });
    expect(await text(response)).toBe('landed');
    expect(f.requests[0]).toMatchRequest({ url: start, headers: { ...SECRETS_PRESENT, 'x-trace': 'trace-1' } });
    expect(f.requests[1]).toMatchRequest({ url: lands, headers: { ...(kept ? SECRETS_PRESENT : SECRETS_ABSENT), 'x-trace': 'trace-1' } });
    // The fake gives every origin its own connections: a new origin is a new connection.
    expect(f.requests[1]?.connectionId === f.requests[0]?.connectionId).toBe(new URL(start).origin === new URL(lands).origin);
  });

  it('does not restore credentials when the chain comes back to the first origin', async () => {
    const f = serve([
      redirect('http://a.test/start', 302, 'http://b.test/bounce'),
      redirect('http://b.test/bounce', 302, 'http://a.test/home'),
      { url: 'http://a.test/home', reply: 'home' },
    ]);
    const response = await new RedirectAgent(f).request('GET', 'http://a.test/start', SECRETS);
    expect(await text(response)).toBe('home');
    expect(f).toHaveReceivedNthRequest(1, { host: 'a.test', headers: { authorization: 'Bearer t0k3n', cookie: 'sid=42' } });
    expect(f).toHaveReceivedNthRequest(2, { host: 'b.test', headers: { authorization: null, cookie: null } });
    expect(f).toHaveReceivedNthRequest(3, { host: 'a.test', headers: { authorization: null, cookie: null, 'proxy-authorization': null } });
  });

  it('drops the URL user:password@ on leaving the origin and keeps it on the same origin', async () => {
    const f = serve([
      redirect('http://a.test/start', 302, 'http://a.test/same'),
      redirect('http://a.test/same', 302, 'http://b.test/other'),
      { url: 'http://b.test/other', reply: 'other' },
    ]);
    const userinfo = new UserinfoAuthAgent(f); // turns user:password@ into Authorization, visible on the wire
    const response = await new RedirectAgent(userinfo).request('GET', 'http://ada:s3cret@a.test/start');
    expect(await text(response)).toBe('other');
    const basic = `Basic ${Buffer.from('ada:s3cret').toString('base64')}`;
    expect(f).toHaveReceivedNthRequest(1, { path: '/start', headers: { authorization: basic } });
    expect(f).toHaveReceivedNthRequest(2, { path: '/same', headers: { authorization: basic } });
    expect(f).toHaveReceivedNthRequest(3, { path: '/other', headers: { authorization: null } });
    expect(userinfo.asked).toEqual(['http://ada:s3cret@a.test/start', 'http://ada:s3cret@a.test/same', 'http://b.test/other']);
  });

  it('never sends the user:password@ a Location plants for another origin', async () => {
    const f = serve([redirect('http://a.test/start', 302, 'http://planted:pw@b.test/next'), { url: 'http://b.test/next', reply: 'next' }]);
    const userinfo = new UserinfoAuthAgent(f);
    await (await new RedirectAgent(userinfo).request('GET', 'http://a.test/start')).dump();
    expect(f).toHaveReceivedNthRequest(2, { url: 'http://b.test/next', headers: { authorization: null } });
    expect(userinfo.asked.at(-1)).toBe('http://b.test/next');
  });

  it("replaces a caller-given Host by the new origin's host, and keeps it on the same origin", async () => {
    const f = serve([
      { path: '/start', reply: { status: 302, headers: { Location: 'http://a.test/same' } } },
      { path: '/same', reply: { status: 302, headers: { Location: 'http://b.test/other' } } },
      { url: 'http://b.test/other', reply: 'other' },
    ]);
    await (await new RedirectAgent(f).request('GET', 'http://a.test/start', { Host: 'virtual.test' })).dump();
    expect(f.requests.map((r) => r.headers.get('host'))).toEqual(['virtual.test', 'virtual.test', 'b.test']);
  });
});

describe('RedirectAgent over the fake agent: limits and refusals', () => {
  it('ends a redirect loop after 20 redirects with TooManyRedirectsError carrying the last 3xx', async () => {
    const f = serve([redirect('http://a.test/loop', 302, '/loop', 'again')]);
    const error = await failureOf(new RedirectAgent(f).request('GET', 'http://a.test/loop'));
    expect(error).toBeInstanceOf(TooManyRedirectsError);
    expect((error as TooManyRedirectsError).code).toBe('STRAND_TOO_MANY_REDIRECTS');
    expect((error as TooManyRedirectsError).response.code).toBe(302);
    expect((error as TooManyRedirectsError).response.bodyUsed).toBe(true);
    expect(f).toHaveReceivedRequestTimes({ path: '/loop' }, 21);
    expect(f.connectionsOpened).toBe(1);
  });

  it('follows exactly maxRedirects redirects and refuses one more', async () => {
    const routes = [redirect('http://a.test/1', 302, '/2'), redirect('http://a.test/2', 302, '/3'), redirect('http://a.test/3', 302, '/4'), { url: 'http://a.test/4', reply: 'four' }];
    const f = serve(routes);
    expect(await text(await new RedirectAgent(f, { maxRedirects: 3 }).request('GET', 'http://a.test/1'))).toBe('four');
    expect(f.requests).toHaveLength(4);

    const error = await failureOf(new RedirectAgent(f, { maxRedirects: 2 }).request('GET', 'http://a.test/1'));
    expect(error).toBeInstanceOf(TooManyRedirectsError);
    expect((error as TooManyRedirectsError).response.request.uri).toBe('http://a.test/3');
    expect(f.requests.slice(4).map((r) => r.path)).toEqual(['/1', '/2', '/3']);
  });

  it('refuses the first redirect with maxRedirects 0, after one request', async () => {
    const f = serve([redirect('http://a.test/1', 301, '/2')]);
    const error = await failureOf(new RedirectAgent(f, { maxRedirects: 0 }).request('GET', 'http://a.test/1'));
    expect(error).toBeInstanceOf(TooManyRedirectsError);
    expect(f.requests).toHaveLength(1);
  });

  it.each(['ftp://a.test/file', 'file:///etc/passwd', 'data:text/plain,hi', 'javascript:alert(1)'])('refuses to follow a redirect to %s', async (location) => {
    const f = serve([redirect('http://a.test/start', 302, location, 'nope')]);
    const error = await failureOf(new RedirectAgent(f).request('GET', 'http://a.test/start'));
    expect(error).toBeInstanceOf(RedirectError);
    expect((error as RedirectError).code).toBe('STRAND_REDIRECT_UNSUPPORTED_SCHEME');
    expect((error as RedirectError).response.code).toBe(302);
    expect(f.requests).toHaveLength(1);
  });

  it('stops (browser-like) at a 307 that needs a one-shot body again, and follows a 303 after one', async () => {
    const f = serve([
      { method: 'POST', url: 'http://a.test/upload', reply: { status: 307, headers: { Location: '/upload-2' } } },
      { method: 'POST', url: 'http://a.test/submit', reply: { status: 303, headers: { Location: '/done' } } },
      { method: 'GET', url: 'http://a.test/done', reply: 'done' },
    ]);
    const agent = new BrowserLikeRedirectAgent(f);
    const error = await failureOf(agent.request('POST', 'http://a.test/upload', null, new FileBodyProducer(Readable.from(['one-', 'shot']))));
    expect(error).toBeInstanceOf(RedirectError);
    expect((error as RedirectError).code).toBe('STRAND_REDIRECT_BODY_NOT_REPLAYABLE');
    expect((error as RedirectError).response.code).toBe(307);
    expect(f).toHaveReceivedRequestTimes({ path: '/upload-2' }, 0);
    expect(f).toHaveReceivedNthRequest(1, { body: 'one-shot' });

    const done = await agent.request('POST', 'http://a.test/submit', null, new FileBodyProducer(Readable.from(['one-', 'shot'])));
    expect(await text(done)).toBe('done');
    expect(f).toHaveReceivedNthRequest(3, { method: 'GET', path: '/done', body: '' });
  });
});
