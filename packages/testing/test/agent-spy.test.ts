import { BytesProducer, CancelledError, InvalidHeaderError, PotentialDataLoss, RedirectAgent, ResponseFailedError, ResponseNeverReceivedError, UNKNOWN_LENGTH, readBody } from '@strand/core';
import { AgentSpy, PendingRequestsError, type SpyCall, nextTurn } from '@strand/testing';

describe('recording calls', () => {
  test('each call is recorded with its method, URL, headers, body and options', async () => {
    const spy = new AgentSpy();
    const signal = new AbortController().signal;
    const pending = spy.request('POST', new URL('http://api.test/items?x=1'), { 'Content-Type': 'text/plain' }, new BytesProducer('payload'), { signal });
    const call = await spy.nextCall();
    expect(call.method).toBe('POST');
    expect(call.url.href).toBe('http://api.test/items?x=1');
    expect(call.headers.get('content-type')).toBe('text/plain');
    expect(call.options.signal).toBe(signal);
    expect(await call.readText()).toBe('payload');
    expect(await call.readBody()).toBe(await call.readBody());
    expect(call.state).toBe('pending');
    call.respond(204);
    expect((await pending).code).toBe(204);
    expect(call.state).toBe('responded');
  });

  test('nextCall returns calls in order, waiting for one not made yet', async () => {
    const spy = new AgentSpy();
    const first = spy.request('GET', 'http://api.test/1');
    const waiting = spy.nextCall();
    expect((await waiting).url.pathname).toBe('/1');
    const later = spy.nextCall();
    let resolved: SpyCall | null = null;
    void later.then((c) => (resolved = c));
    await nextTurn();
    expect(resolved).toBeNull();
    const second = spy.request('GET', 'http://api.test/2');
    expect((await later).url.pathname).toBe('/2');
    spy.calls.forEach((c) => c.respond());
    await Promise.all([first, second]);
  });

  test('an invalid header is rejected as a real agent would, and not recorded', async () => {
    const spy = new AgentSpy();
    await expect(spy.request('GET', 'http://api.test/', { 'bad header': 'x' })).rejects.toBeInstanceOf(InvalidHeaderError);
    expect(spy.calls).toHaveLength(0);
  });
});

describe('answering', () => {
  test('respond builds a core Response with a complete body', async () => {
    const spy = new AgentSpy();
    const pending = spy.request('GET', 'http://api.test/');
    const response = (await spy.nextCall()).respond({ status: 200, headers: { 'X-A': 'b' }, json: { ok: true } });
    expect(await pending).toBe(response);
    expect(response.phrase).toBe('OK');
    expect(response.headers.get('x-a')).toBe('b');
    expect(response.headers.get('content-length')).toBe('11');
    expect(response.length).toBe(11);
    expect(response.request.uri).toBe('http://api.test/');
    expect((await readBody(response, { requireFraming: true })).toString()).toBe('{"ok":true}');
  });

  test('respond streams an async iterable body, honouring the consumer pausing, and sets trailers', async () => {
    const spy = new AgentSpy();
    const pending = spy.request('GET', 'http://api.test/');
    (await spy.nextCall()).respond({ body: (async function* () { yield 'a'; yield 'b'; yield 'c'; })(), trailers: { 'X-T': '1' } });
    const response = await pending;
    expect(response.length).toBe(UNKNOWN_LENGTH);
    const chunks: string[] = [];
    for await (const chunk of response) chunks.push(chunk.toString());
    expect(chunks).toEqual(['a', 'b', 'c']);
    expect(response.trailers.get('x-t')).toBe('1');
  });

  test('respondStreaming hands the body to the test, which sees the consumer pause and abandon it', async () => {
    const spy = new AgentSpy();
    const pending = spy.request('GET', 'http://api.test/');
    const body = (await spy.nextCall()).respondStreaming({ status: 200 });
    const response = await pending;
    expect(body.response).toBe(response);
    const received: string[] = [];
    let transport: { pauseProducing(): void; resumeProducing(): void; stopProducing(): void } | undefined;
    let ended: unknown = null;
    response.deliverBody({
      makeConnection: (t) => (transport = t),
      dataReceived: (c) => received.push(c.toString()),
      connectionLost: (reason) => (ended = reason),
    });
    body.write('one');
    expect(received).toEqual(['one']);
    transport?.pauseProducing();
    expect(body.paused).toBe(true);
    body.write('two');
    expect(received).toEqual(['one']);
    transport?.resumeProducing();
    expect(received).toEqual(['one', 'two']);
    await body.whenFlowing();
    transport?.stopProducing();
    expect(body.abandoned).toBeInstanceOf(CancelledError);
    expect(ended).toBeInstanceOf(CancelledError);
    expect(body.finished).toBe(true);
  });

  test('a streamed body can end with potential data loss or fail', async () => {
    const spy = new AgentSpy();
    const a = spy.request('GET', 'http://api.test/a');
    const b = spy.request('GET', 'http://api.test/b');
    const bodyA = (await spy.nextCall()).respondStreaming();
    const bodyB = (await spy.nextCall()).respondStreaming();
    const endA = new Promise((resolve) => void a.then((r) => r.deliverBody({ dataReceived() {}, connectionLost: resolve })));
    const endB = new Promise((resolve) => void b.then((r) => r.deliverBody({ dataReceived() {}, connectionLost: resolve })));
    await nextTurn();
    bodyA.end('potential-data-loss');
    bodyB.fail(new ResponseFailedError('connection lost'));
    expect(await endA).toBeInstanceOf(PotentialDataLoss);
    expect(await endB).toBeInstanceOf(ResponseFailedError);
  });

  test('fail rejects the request with the given error', async () => {
    const spy = new AgentSpy();
    const pending = spy.request('GET', 'http://api.test/');
    const error = new ResponseNeverReceivedError('reset', 0);
    (await spy.nextCall()).fail(error);
    await expect(pending).rejects.toBe(error);
  });

  test('a call is answered once: a second answer is a loud error', async () => {
    const spy = new AgentSpy();
    void spy.request('GET', 'http://api.test/');
    const call = await spy.nextCall();
    call.respond();
    expect(() => call.respond()).toThrow(/already responded/);
    expect(() => call.fail(new Error('x'))).toThrow(/already responded/);
  });

  test('an aborted signal rejects a pending call with CancelledError, and later fails its body', async () => {
    const spy = new AgentSpy();
    const before = new AbortController();
    const pending = spy.request('GET', 'http://api.test/1', null, null, { signal: before.signal });
    before.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    expect(spy.calls[0]?.state).toBe('cancelled');

    const during = new AbortController();
    const second = spy.request('GET', 'http://api.test/2', null, null, { signal: during.signal });
    spy.calls[1]?.respondStreaming();
    const response = await second;
    const ended = new Promise((resolve) => response.deliverBody({ dataReceived() {}, connectionLost: resolve }));
    during.abort();
    expect(await ended).toBeInstanceOf(CancelledError);
  });

  test('the onCall callback can answer automatically', async () => {
    const spy = new AgentSpy((call) => call.respond(call.url.pathname === '/missing' ? 404 : 200));
    expect((await spy.request('GET', 'http://api.test/missing')).code).toBe(404);
    expect((await spy.request('GET', 'http://api.test/here')).code).toBe(200);
  });

  test('assertNoPending lists the calls nobody answered, numbered from 1 like the rest of the package', async () => {
    const spy = new AgentSpy();
    void spy.request('GET', 'http://api.test/forgotten');
    expect(() => spy.assertNoPending()).toThrow(PendingRequestsError);
    expect(() => spy.assertNoPending()).toThrow('#1 GET http://api.test/forgotten');
    (await spy.nextCall()).respond();
    expect(() => spy.assertNoPending()).not.toThrow();
  });
});

describe('testing a wrapper agent', () => {
  test('RedirectAgent follows a 303 with a GET and drops the body, hop by hop', async () => {
    const spy = new AgentSpy();
    const agent = new RedirectAgent(spy);
    const pending = agent.request('POST', 'http://api.test/form', { 'content-type': 'text/plain' }, new BytesProducer('data'));

    const first = await spy.nextCall();
    expect(first.method).toBe('POST');
    expect(await first.readText()).toBe('data');
    first.respond({ status: 303, headers: { location: '/done' }, body: 'see other' });

    const second = await spy.nextCall();
    expect(second.method).toBe('GET');
    expect(second.url.href).toBe('http://api.test/done');
    expect(second.body).toBeNull();
    expect(second.headers.has('content-type')).toBe(false);
    second.respond('finished');

    const response = await pending;
    expect(response.code).toBe(200);
    expect(response.previousResponse?.code).toBe(303);
    expect((await readBody(response)).toString()).toBe('finished');
    spy.assertNoPending();
  });

  test('a wrapper that abandons a redirect body is seen abandoning it', async () => {
    const spy = new AgentSpy();
    const agent = new RedirectAgent(spy, { maxDiscardBytes: 4 });
    const pending = agent.request('GET', 'http://api.test/old');
    const body = (await spy.nextCall()).respondStreaming({ status: 301, headers: { location: '/new' } });
    body.write('more than four bytes');
    await nextTurn();
    expect(body.abandoned).not.toBeNull();
    (await spy.nextCall()).respond('new');
    expect((await pending).code).toBe(200);
  });
});
