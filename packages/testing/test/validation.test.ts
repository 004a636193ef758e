// Every public entry point checks what it is given: an unknown option or field, or a value of the
// wrong type, is an InvalidArgumentError naming it, never silently ignored (a misspelt fault
// field used to give the default fault; `unmatched` next to a handler function did nothing; a
// matcher pattern with a typo matched every request).
import { InvalidArgumentError, ManualClock, readBody } from '@strand/core';
import {
  AgentSpy,
  type FakeAgent,
  RequestSequence,
  RouteTable,
  StubClient,
  StubServer,
  createFakeAgent,
  matchRequest,
  settle,
  strandMatchers,
  timeoutSignal,
} from '@strand/testing';

expect.extend(strandMatchers);

/** Asserts that `run` throws an InvalidArgumentError whose message matches `message`. */
function expectInvalid(run: () => unknown, message: RegExp): void {
  let thrown: unknown = null;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvalidArgumentError);
  expect((thrown as Error).message).toMatch(message);
}

/** Lets a test pass values of the wrong type, as JavaScript callers can. */
function loose<T>(value: unknown): T {
  return value as T;
}

let fake: FakeAgent | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('createFakeAgent options', () => {
  test.each<[string, unknown, RegExp]>([
    ['an unknown option', { clok: new ManualClock() }, /createFakeAgent: unknown option "clok"; the options are clock, pool, agentOptions, unmatched/],
    ['options that are not an object', 'fast', /createFakeAgent: options must be an object, got "fast"/],
    ['a clock that is not a Clock', { clock: Date }, /createFakeAgent: clock must be a Clock/],
    ['an unmatched value that does not exist', { unmatched: '404' }, /createFakeAgent: unmatched must be 'fail' or 'not-found', got "404"/],
    ['a pool that is neither a pool nor options', { pool: true }, /createFakeAgent: pool must be an HTTPConnectionPool or its options, got true/],
    ['a clock inside the pool options, which the fake would replace', { pool: { clock: new ManualClock() } }, /createFakeAgent: pool\.clock is not an option here; give the clock as the clock option/],
    ['an unknown pool option', { pool: { persistant: false } }, /createFakeAgent: pool: .*unknown option "persistant"/],
    ['agent options that are not an object', { agentOptions: 5 }, /createFakeAgent: agentOptions must be an object/],
    ['an unknown agent option', { agentOptions: { timeout: 5 } }, /createFakeAgent: agentOptions: .*unknown option "timeout"/],
    ['a pool inside the agent options', { agentOptions: { pool: {} } }, /createFakeAgent: agentOptions\.pool is not an option here; give the pool as the pool option/],
    ['an endpoint factory inside the agent options', { agentOptions: { endpointFactory: {} } }, /createFakeAgent: agentOptions\.endpointFactory is not an option here/],
  ])('%s is an InvalidArgumentError naming it', (_, options, message) => {
    expectInvalid(() => createFakeAgent([{ path: '/', reply: 200 }], loose(options)), message);
  });

  test('unmatched next to a handler function is an error, not an option that does nothing', () => {
    expectInvalid(() => createFakeAgent(() => 200, { unmatched: 'not-found' }), /createFakeAgent: unmatched only applies to an array of routes/);
  });

  test('a behaviour that is no handler is an error naming what was given', () => {
    expectInvalid(() => createFakeAgent(loose({ reply: 200 })), /expected a handler function, an array of routes, or an object with a handle\(request\) method, got an object/);
  });

  test('valid options are accepted and used', async () => {
    const clock = new ManualClock();
    fake = createFakeAgent([{ path: '/', reply: { delay: 10, body: 'ok' } }], { clock, pool: { persistent: false }, agentOptions: { maxHeaderCount: 50 }, unmatched: 'not-found' });
    const pending = fake.request('GET', 'http://api.test/');
    await fake.advance(10);
    expect((await readBody(await pending)).toString()).toBe('ok');
    expect((await fake.request('GET', 'http://api.test/missing')).code).toBe(404);
    expect(fake.agent.pool.persistent).toBe(false);
  });
});

describe('FakeAgent methods', () => {
  test.each<[string, unknown, RegExp]>([
    ['an unknown option', { time: 2 }, /injectFault: unknown option "time"; the options are times, origin/],
    ['times that is not a number', { times: '2' }, /injectFault: times must be a positive integer or Infinity, got "2"/],
    ['an origin that is not a string', { origin: new URL('http://api.test') }, /injectFault: origin must be a string like "http:\/\/host:port", got a URL/],
  ])('injectFault with %s is an InvalidArgumentError naming it', (_, options, message) => {
    fake = createFakeAgent(() => 200);
    const agent = fake;
    expectInvalid(() => agent.injectFault('reset', loose(options)), message);
  });

  test.each([-1, Number.NaN, Infinity, '10'])('advance(%p) is an InvalidArgumentError', async (ms) => {
    fake = createFakeAgent(() => 200, { clock: new ManualClock() });
    await expect(fake.advance(loose(ms))).rejects.toThrow(/advance: ms must be a finite number of milliseconds >= 0/);
  });
});

describe('StubServer.start options', () => {
  test.each<[string, unknown, RegExp]>([
    ['an unknown option', { hostname: '127.0.0.1' }, /StubServer\.start: unknown option "hostname"; the options are host, port, clock, unmatched/],
    ['a port out of range', { port: 70000 }, /StubServer\.start: port must be an integer from 0 to 65535, got 70000/],
    ['a port given as a string', { port: '8080' }, /StubServer\.start: port must be an integer from 0 to 65535, got "8080"/],
    ['a clock that is not a Clock', { clock: 5 }, /StubServer\.start: clock must be a Clock/],
    ['an unmatched value that does not exist', { unmatched: 'ignore' }, /StubServer\.start: unmatched must be 'fail' or 'not-found'/],
    ['options that are not an object', [], /StubServer\.start: options must be an object, got an array/],
  ])('%s is refused before anything listens', async (_, options, message) => {
    const started = StubServer.start([{ path: '/', reply: 200 }], loose(options));
    await expect(started).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(started).rejects.toThrow(message);
  });

  test('unmatched next to a handler function is refused', async () => {
    await expect(StubServer.start(() => 200, { unmatched: 'not-found' })).rejects.toThrow(/StubServer\.start: unmatched only applies to an array of routes/);
  });

  test('urlFor needs a string path', async () => {
    const server = await StubServer.start(() => 200);
    try {
      expectInvalid(() => server.urlFor(loose(7)), /StubServer\.urlFor: path must be a string, got 7/);
      expect(server.urlFor('/a')).toBe(`${server.url}/a`);
    } finally {
      await server.stop();
    }
  });
});

describe('StubClient options', () => {
  test.each(['agent', 'pool', 'persistent'])('%s is refused: the stub client runs on its fake agent', (key) => {
    expectInvalid(() => new StubClient(() => 200, loose({ [key]: undefined })), new RegExp(`StubClient: ${key} is not an option; the stub client runs on its fake agent`));
  });

  test('fake options next to an existing FakeAgent are refused instead of ignored', async () => {
    fake = createFakeAgent(() => 200);
    const existing = fake;
    expectInvalid(() => new StubClient(existing, { fake: { clock: new ManualClock() } }), /StubClient: the fake option configures a new fake agent; it cannot be used with an existing FakeAgent/);
  });

  test('an unknown fake agent option is named', () => {
    expectInvalid(() => new StubClient(() => 200, { fake: loose({ clocks: new ManualClock() }) }), /createFakeAgent: unknown option "clocks"/);
  });

  test("an unknown client option is named (HTTPClient's own check)", () => {
    expectInvalid(() => new StubClient(() => 200, loose({ timeot: 5 })), /unknown HTTPClient option "timeot"/);
  });

  test('options that are not an object are refused', () => {
    expectInvalid(() => new StubClient(() => 200, loose(null)), /StubClient: options must be an object, got null/);
  });
});

describe('replies', () => {
  test.each<[string, unknown, RegExp]>([
    ['an unknown field', { stauts: 201 }, /reply: unknown field "stauts"/],
    ['a header value that is an object', { headers: { 'x-a': { b: 1 } } }, /reply: headers "x-a" must be a string or a number \(or an array of them\), got an object/],
    ['a header value with CR LF', { headers: { 'x-a': 'a\r\nx-injected: 1' } }, /reply: headers "x-a" has a value with CR, LF, NUL or another control character/],
    ['a header name that is not a token', { headers: { 'bad name': 'x' } }, /reply: headers name must be a token/],
    ['headers that are a string', { headers: 'x-a: 1' }, /reply: headers must be an object or an array of \[name, value\] pairs, got "x-a: 1"/],
    ['a header pair that is not a pair', { headers: [['x-a', '1', '2']] }, /reply: headers given as an array must be \[name, value\] pairs/],
    ['a statusText with a line break', { statusText: 'OK\r\n' }, /reply: statusText must be a string without CR, LF or other control characters/],
    ['a statusText that is not a string', { statusText: 200 }, /reply: statusText must be a string/],
    ['chunked that is not a boolean', { chunked: 'yes' }, /reply: chunked must be a boolean, got "yes"/],
    ['trailers that are not an object', { trailers: 'x' }, /reply: trailers must be an object or an array of \[name, value\] pairs/],
    ['a delay given as a string', { delay: '10' }, /reply: delay must be a finite number of milliseconds >= 0, got "10"/],
    ['a body of the wrong type', { body: 42 }, /reply: body must be a string, a Uint8Array, a Readable or an async iterable, got 42/],
    ['a status out of range', { status: 42 }, /reply: status must be an integer from 100 to 999, got 42/],
  ])('a reply with %s is refused where the route is written', (_, reply, message) => {
    expectInvalid(() => createFakeAgent([{ path: '/', reply: loose(reply) }]), message);
    expectInvalid(() => new RequestSequence([[{ path: '/' }, loose(reply)]]), message);
  });

  test('a handler returning an invalid reply gives the client a 500 and records the failure naming the field', async () => {
    fake = createFakeAgent(() => loose({ headers: { 'x-a': { b: 1 } } }));
    const response = await fake.request('GET', 'http://api.test/');
    expect(response.code).toBe(500);
    await response.dump();
    expect(() => fake?.assertNoPending()).toThrow(/reply: headers "x-a" must be a string or a number/);
  });

  test('a spy call answered with an invalid reply throws at once', async () => {
    const spy = new AgentSpy();
    const pending = spy.request('GET', 'http://api.test/');
    const call = await spy.nextCall();
    expectInvalid(() => call.respond(loose({ json: 1, hedaers: {} })), /reply: unknown field "hedaers"/);
    call.respond(204);
    expect((await pending).code).toBe(204);
  });
});

describe('faults', () => {
  test.each<[string, unknown, RegExp]>([
    ['a misspelt field', { type: 'reset', afterByte: 10 }, /fault 'reset': unknown field "afterByte"; its fields are afterBytes, afterBodyBytes/],
    ["another kind's field", { type: 'drip', afterBytes: 10 }, /fault 'drip': unknown field "afterBytes"; its fields are chunkSize/],
    ["a field on 'refuse'", { type: 'refuse', afterBytes: 0 }, /fault 'refuse': unknown field "afterBytes"; a 'refuse' fault takes no other field/],
    ['truncate with afterBodyBytes', { type: 'truncate', afterBodyBytes: 3 }, /fault 'truncate': unknown field "afterBodyBytes"; its fields are bodyBytes/],
    ['a count given as a string', { type: 'close', afterBytes: '3' }, /fault: afterBytes must be an integer of at least 0, got "3"/],
    ['garbage data of the wrong type', { type: 'garbage', data: 5 }, /fault: garbage data must be a string or a Uint8Array, got 5/],
  ])('a fault with %s is refused, injected or in a reply', (_, fault, message) => {
    fake = createFakeAgent(() => 200);
    const agent = fake;
    expectInvalid(() => agent.injectFault(loose(fault)), message);
    if ((fault as { type: string }).type !== 'refuse') expectInvalid(() => createFakeAgent([{ path: '/', reply: { fault: loose(fault) } }]), message);
  });
});

describe('route specs and patterns', () => {
  test.each<[string, unknown, RegExp]>([
    ['a misspelt field', { mehtod: 'GET' }, /route #1: unknown field "mehtod"/],
    ['a method that is not a string', { method: 1 }, /route #1: method must be a method name such as 'GET', got 1/],
    ['a method with a space', { method: 'GET ' }, /route #1: method must be a method name/],
    ['a path without its leading slash', { path: 'users/:id' }, /route #1: path must start with "\/" \(or be "\*"\), got "users\/:id"/],
    ['a path that is a number', { path: 7 }, /route #1: path must be a string or a RegExp, got 7/],
    ['a url that is not absolute and not a path', { url: 'api.test/x' }, /route #1: url must be an absolute URL or start with "\/", got "api.test\/x"/],
    ['a url that is an object', { url: { pathname: '/' } }, /route #1: url must be a string, a RegExp or an asymmetric matcher, got an object/],
    ['a host that is a number', { host: 8080 }, /route #1: host must be a non-empty string/],
    ['a query value that is a number', { query: { page: 2 } }, /route #1: query "page" must be a string, a RegExp, an array of strings, null \(absent\) or an asymmetric matcher/],
    ['a query array holding a number', { query: { id: ['1', 2] } }, /route #1: query "id" given as an array must hold strings, got 2 in it/],
    ['a query that is a string', { query: 'page=2' }, /route #1: query must be an object of parameter names to values, got "page=2"/],
    ['a header value that is a number', { headers: { 'content-length': 5 } }, /route #1: header "content-length" must be a string, a RegExp, null \(absent\) or an asymmetric matcher .*, got 5/],
    ['a header name that is not a field name', { headers: { 'content type': 'x' } }, /route #1: headers: "content type" is not a header field name/],
    ['a body that is a number', { body: 5 }, /route #1: body must be a string, a RegExp, a Uint8Array or an asymmetric matcher .*, got 5/],
    ['a where that is not a function', { where: true }, /route #1: where must be a function of the request, got true/],
    ['times that is negative', { times: -1 }, /route #1 \(\* \*\): times must be an integer of at least 0, got -1/],
    ['times given as a string', { times: '2' }, /route #1 \(\* \*\): times must be an integer of at least 0, got "2"/],
  ])('a route with %s is refused at once', (_, fields, message) => {
    expectInvalid(() => createFakeAgent([loose({ reply: 200, ...(fields as object) })]), message);
  });

  test('a handler object given as a reply is refused with a hint', () => {
    const sequence = new RequestSequence([[{ path: '/a' }, 200]]);
    expectInvalid(() => new RouteTable([loose({ path: '/a', reply: sequence })]), /route #1 \(\* \/a\): reply must be a reply or a handler function, got a handler object; write reply: \(request\) => handler\.handle\(request\)/);
  });

  test('a route without a reply, or that is no object, is refused', () => {
    expectInvalid(() => new RouteTable([loose({ path: '/a' })]), /route #1 \(\* \/a\): reply is missing/);
    expectInvalid(() => new RouteTable([{ path: '/a', reply: 200 }, loose('/b')]), /route #2: expected an object with a reply, got "\/b"/);
    expectInvalid(() => new RouteTable(loose({ path: '/a', reply: 200 })), /RouteTable: routes must be an array, got an object/);
  });

  test('RouteTable and RequestSequence options are checked', () => {
    expectInvalid(() => new RouteTable([], loose({ unmached: 'fail' })), /RouteTable: unknown option "unmached"; the options are unmatched/);
    expectInvalid(() => new RouteTable([], loose({ unmatched: true })), /RouteTable: unmatched must be 'fail' or 'not-found', got true/);
    expectInvalid(() => new RequestSequence([], loose({ order: false })), /RequestSequence: unknown option "order"; the options are ordered/);
    expectInvalid(() => new RequestSequence([], loose({ ordered: 'no' })), /RequestSequence: ordered must be a boolean, got "no"/);
  });

  test('a sequence expectation is checked like a route', () => {
    expectInvalid(() => new RequestSequence([loose([{ path: '/a' }])]), /RequestSequence expectation #1: a \[pattern, reply\] pair must have 2 elements, got 1/);
    expectInvalid(() => new RequestSequence([[{ path: '/a' }, 200], loose([{ pth: '/b' }, 200])]), /RequestSequence expectation #2: unknown field "pth"/);
    expectInvalid(() => new RequestSequence().expect(loose({ path: '/a', reply: 500 }), 200), /RequestSequence expectation #1: unknown field "reply"/);
    expectInvalid(() => new RequestSequence([loose({ method: 'GET', path: '/a' })]), /RequestSequence expectation #1 \(GET \/a\): reply is missing/);
  });

  test('a matcher pattern with a typo is an error, not a pattern every request matches', async () => {
    fake = createFakeAgent(() => 200);
    await (await fake.request('POST', 'http://api.test/a')).dump();
    expect(fake).toHaveReceivedRequest({ method: 'POST' });
    expectInvalid(() => expect(fake).toHaveReceivedRequest(loose({ methd: 'GET' })), /toHaveReceivedRequest: unknown field "methd"/);
    expectInvalid(() => expect(fake).not.toHaveReceivedRequest(loose({ path: 5 })), /toHaveReceivedRequest: path must be a string or a RegExp/);
    expectInvalid(() => expect(fake).toHaveReceivedRequestTimes(loose({ pth: '/a' }), 1), /toHaveReceivedRequestTimes: unknown field "pth"/);
    expectInvalid(() => expect(fake).toHaveReceivedRequestTimes({ path: '/a' }, 1.5), /toHaveReceivedRequestTimes: times must be an integer of at least 0, got 1.5/);
    expectInvalid(() => expect(fake).toHaveReceivedNthRequest(0, { path: '/a' }), /toHaveReceivedNthRequest: n \(1-based\) must be an integer of at least 1, got 0/);
    expectInvalid(() => expect(fake?.requests[0]).toMatchRequest(loose({ header: {} })), /toMatchRequest: unknown field "header"/);
  });

  test('matchRequest checks the pattern it is given', async () => {
    fake = createFakeAgent(() => 200);
    await (await fake.request('GET', 'http://api.test/a')).dump();
    const request = fake.requests[0];
    if (request === undefined) throw new Error('no request recorded');
    expect(matchRequest({ path: '/a' }, request).matched).toBe(true);
    expectInvalid(() => matchRequest(loose({ path: '/a', reply: 200 }), request), /matchRequest: unknown field "reply"/);
    expectInvalid(() => matchRequest(loose({ headers: { accept: 1 } }), request), /matchRequest: header "accept" must be a string/);
  });
});

describe('the agent spy and the helpers', () => {
  test('AgentSpy takes a function or nothing', () => {
    expectInvalid(() => new AgentSpy(loose({ onCall: () => {} })), /AgentSpy: onCall must be a function, got an object/);
  });

  test('SpyBody.end and write check their arguments', async () => {
    const spy = new AgentSpy();
    const pending = spy.request('GET', 'http://api.test/');
    const body = (await spy.nextCall()).respondStreaming({ status: 200 });
    expectInvalid(() => body.end(loose('complete')), /SpyBody\.end: how must be 'done' or 'potential-data-loss', got "complete"/);
    expectInvalid(() => body.write(loose(42)), /SpyBody\.write: chunk must be a string or a Uint8Array, got 42/);
    body.write('ok');
    body.end();
    expect((await readBody(await pending)).toString()).toBe('ok');
  });

  test('settle and timeoutSignal check their arguments', async () => {
    await expect(settle(() => 0, loose({ quiet: 1 }))).rejects.toThrow(/settle: unknown option "quiet"; the options are quietTurns, maxTurns/);
    await expect(settle(() => 0, { quietTurns: 0 })).rejects.toThrow(/settle: quietTurns must be an integer of at least 1, got 0/);
    await expect(settle(loose(5))).rejects.toThrow(/settle: activity must be a function, got 5/);
    expectInvalid(() => timeoutSignal(-5), /timeoutSignal: ms must be a finite number of milliseconds >= 0, got -5/);
    expectInvalid(() => timeoutSignal(5, loose({ now: () => 0 })), /timeoutSignal: clock must be a Clock/);
  });
});
