/**
 * RetryAgent over @strand/testing's AgentSpy: the test answers every attempt by hand (a status,
 * a connection error, a streamed body) and a ManualClock is the only time there is, so each
 * back-off is checked to the millisecond (nothing before it, the next attempt exactly at it)
 * without waiting. The loopback-server tests of the same agent are in agents-retry.test.ts.
 */
import { Readable } from 'node:stream';
import { type SpyCall, nextTurn } from '@strand/testing';
import {
  BytesProducer,
  CancelledError,
  ConnectionRefusedError,
  FileBodyProducer,
  RequestTransmissionFailedError,
  ResponseFailedError,
  ResponseNeverReceivedError,
  RetryAgent,
  TimeoutError,
  readBody,
} from '../src/index.js';
import { failureOf } from './support/failures.js';
import { useRetrySpy } from './support/retry-spy.js';

const URL_FLAKY = 'http://api.test/flaky';

const fake = useRetrySpy();

/**
 * Checks that the back-off lasts exactly `ms`: one millisecond short of it no new attempt is
 * made, at `ms` the next one is. A back-off of 0 sets no timer at all. Returns that attempt.
 */
async function expectBackoff(ms: number): Promise<SpyCall> {
  const before = fake.spy.calls.length;
  if (ms === 0) {
    await fake.until(() => fake.spy.calls.length === before + 1, `attempt ${before + 1}`);
    expect(fake.clock.pending).toBe(0);
    return fake.spy.nextCall();
  }
  await fake.backingOff();
  fake.clock.advance(ms - 1);
  await nextTurn();
  expect(fake.spy.calls).toHaveLength(before);
  expect(fake.clock.pending).toBe(1);
  fake.clock.advance(1);
  await fake.until(() => fake.spy.calls.length === before + 1, `attempt ${before + 1}`);
  return fake.spy.nextCall();
}

describe('RetryAgent over an agent spy: the attempts', () => {
  it('waits out a 503 Retry-After, backs off after a connection error, and returns the 200 of the third attempt', async () => {
    const pending = fake.retrying().request('GET', URL_FLAKY, { 'X-Request-Id': 'r-1' });

    const first = await fake.spy.nextCall();
    const busy = first.respond({ status: 503, headers: { 'Retry-After': '2' }, body: 'try later' });
    const second = await expectBackoff(2000); // exactly what the server asked, whatever the jitter
    const reset = new ResponseNeverReceivedError('connection reset before the head', 0);
    second.fail(reset);
    const third = await expectBackoff(100); // random 0.5 x baseDelay 100 x 2^(2-1)
    const ok = third.respond({ status: 200, body: 'fine' });

    const response = await pending;
    expect(response).toBe(ok);
    expect(await readBody(response)).toEqual(Buffer.from('fine'));
    expect(fake.spy.calls.map((c) => `${c.method} ${c.url.href} ${c.headers.get('x-request-id') ?? '-'}`)).toEqual([
      `GET ${URL_FLAKY} r-1`,
      `GET ${URL_FLAKY} r-1`,
      `GET ${URL_FLAKY} r-1`,
    ]);
    expect(fake.events).toEqual([
      { attempt: 1, delay: 2000, error: null, response: busy },
      { attempt: 2, delay: 100, error: reset, response: null },
    ]);
    expect(fake.clock.pending).toBe(0);
  });

  it('makes no attempt beyond maxAttempts and returns the last retryable response with its body intact', async () => {
    const pending = fake.retrying({ maxAttempts: 3 }).request('GET', URL_FLAKY);
    (await fake.spy.nextCall()).respond({ status: 502, body: 'first' });
    (await expectBackoff(50)).respond({ status: 502, body: 'second' });
    const last = (await expectBackoff(100)).respond({ status: 502, body: 'third' });

    const response = await pending;
    expect(response).toBe(last);
    expect((await readBody(response)).toString()).toBe('third');
    await nextTurn();
    expect(fake.spy.calls).toHaveLength(3);
    expect(fake.clock.pending).toBe(0);
  });

  it('throws the very error of the last attempt when every attempt fails to connect', async () => {
    const agent = fake.retrying({ maxAttempts: 2 });
    const failure = failureOf(agent.request('GET', URL_FLAKY));
    (await fake.spy.nextCall()).fail(new ConnectionRefusedError('refused (1)'));
    const lastError = new ConnectionRefusedError('refused (2)');
    (await expectBackoff(50)).fail(lastError);

    expect(await failure).toBe(lastError);
    expect(fake.spy.calls).toHaveLength(2);
    expect(fake.events.map((e) => [e.attempt, e.delay, (e.error as Error).message])).toEqual([[1, 50, 'refused (1)']]);
  });

  it('gives every attempt the same headers and the same replayable body, read in full each time', async () => {
    const pending = fake.retrying().request('PUT', 'http://api.test/doc', { 'Content-Type': 'text/plain' }, new BytesProducer('version 2'));
    const first = await fake.spy.nextCall();
    expect(await first.readText()).toBe('version 2');
    first.fail(new RequestTransmissionFailedError('connection reset while sending'));
    const second = await expectBackoff(50);
    expect(await second.readText()).toBe('version 2');
    expect(second.headers.get('content-type')).toBe('text/plain');
    expect(second.body).toBe(first.body);
    second.respond(204);
    expect((await pending).code).toBe(204);
  });
});

describe('RetryAgent over an agent spy: back-off and Retry-After', () => {
  it('doubles the full-jitter back-off per attempt and caps it at maxDelay', async () => {
    const pending = fake.retrying({ maxAttempts: 5, baseDelay: 100, maxDelay: 250 }).request('GET', URL_FLAKY);
    (await fake.spy.nextCall()).respond(503);
    // Ceilings 100, 200, min(250, 400), min(250, 800); random() = 0.5 takes half of each.
    for (const delay of [50, 100, 125]) (await expectBackoff(delay)).respond(503);
    (await expectBackoff(125)).respond(200);
    expect((await pending).code).toBe(200);
    expect(fake.events.map((e) => e.delay)).toEqual([50, 100, 125, 125]);
  });

  it('uses the jitter source for the fraction of the ceiling it waits', async () => {
    const fractions = [0, 0.999];
    const pending = fake.retrying({ baseDelay: 1000, random: () => fractions.shift() ?? 0 }).request('GET', URL_FLAKY);
    (await fake.spy.nextCall()).respond(500);
    (await expectBackoff(0)).respond(500); // 0 x 1000: the second attempt follows at once
    (await expectBackoff(1998)).respond(200); // floor(0.999 x 2000)
    expect((await pending).code).toBe(200);
  });

  it('waits the whole ceiling every time with jitter: false (curl --retry timing)', async () => {
    const pending = fake.retrying({ maxAttempts: 4, baseDelay: 100, maxDelay: 250, jitter: false }).request('GET', URL_FLAKY);
    (await fake.spy.nextCall()).respond(503);
    for (const delay of [100, 200]) (await expectBackoff(delay)).respond(503);
    (await expectBackoff(250)).respond(200);
    expect((await pending).code).toBe(200);
    expect(fake.events.map((e) => e.delay)).toEqual([100, 200, 250]);
    expect(() => new RetryAgent(fake.spy, { jitter: 'no' as never })).toThrow('jitter must be a boolean');
  });

  it("measures an HTTP-date Retry-After against the response's own Date", async () => {
    const pending = fake.retrying({ now: () => Date.parse('2030-01-01T00:00:00Z') }).request('GET', URL_FLAKY);
    (await fake.spy.nextCall()).respond({
      status: 429,
      headers: { Date: 'Sun, 06 Nov 1994 08:49:37 GMT', 'Retry-After': 'Sun, 06 Nov 1994 08:49:44 GMT' },
    });
    (await expectBackoff(7000)).respond(200);
    expect((await pending).code).toBe(200);
  });

  it('returns the response at once, without sleeping, when Retry-After asks for more than maxRetryAfter', async () => {
    const pending = fake.retrying({ maxRetryAfter: 30_000 }).request('GET', URL_FLAKY);
    const unavailable = (await fake.spy.nextCall()).respond({ status: 503, headers: { 'Retry-After': '31' }, body: 'maintenance' });
    const response = await pending;
    expect(response).toBe(unavailable);
    expect((await readBody(response)).toString()).toBe('maintenance');
    expect(fake.clock.pending).toBe(0);
    expect(fake.spy.calls).toHaveLength(1);
    expect(fake.events).toEqual([]);
  });

  it('honours a Retry-After equal to maxRetryAfter', async () => {
    const pending = fake.retrying({ maxRetryAfter: 30_000 }).request('GET', URL_FLAKY);
    (await fake.spy.nextCall()).respond({ status: 503, headers: { 'Retry-After': '30' } });
    (await expectBackoff(30_000)).respond(200);
    expect((await pending).code).toBe(200);
  });
});

describe('RetryAgent over an agent spy: what is never retried', () => {
  it('returns a 503 to a POST at once: it may have been acted upon', async () => {
    const pending = fake.retrying().request('POST', 'http://api.test/orders', null, new BytesProducer('{"sku":"A-1"}'));
    const answer = (await fake.spy.nextCall()).respond(503);
    expect(await pending).toBe(answer);
    await nextTurn();
    expect(fake.spy.calls).toHaveLength(1);
    expect(fake.clock.pending).toBe(0);
  });

  it('does not resend a POST whose response never came', async () => {
    const failure = failureOf(fake.retrying().request('POST', 'http://api.test/orders', null, new BytesProducer('{}')));
    const lost = new ResponseNeverReceivedError('the server closed the connection before answering', 0);
    (await fake.spy.nextCall()).fail(lost);
    expect(await failure).toBe(lost);
    expect(fake.spy.calls).toHaveLength(1);
  });

  it('resends a one-shot POST body that was never started when the connection was refused', async () => {
    const body = new FileBodyProducer(Readable.from(['one ', 'shot']));
    expect(body.replayable).toBe(false);
    const pending = fake.retrying().request('POST', 'http://api.test/upload', null, body);
    (await fake.spy.nextCall()).fail(new ConnectionRefusedError('refused')); // the body was never read
    const second = await expectBackoff(50);
    expect(await second.readText()).toBe('one shot');
    second.respond(201);
    expect((await pending).code).toBe(201);
  });

  it('never sends a one-shot body twice: a PUT that failed after its body was read is not retried', async () => {
    const body = new FileBodyProducer(Readable.from(['only ', 'once']));
    const failure = failureOf(fake.retrying().request('PUT', 'http://api.test/doc', null, body));
    const first = await fake.spy.nextCall();
    expect(await first.readText()).toBe('only once');
    const broken = new RequestTransmissionFailedError('connection reset while sending');
    first.fail(broken);
    expect(await failure).toBe(broken);
    expect(fake.spy.calls).toHaveLength(1);
    expect(fake.clock.pending).toBe(0);
  });

  it('does not retry a headers timeout of a POST, but does retry one of a GET', async () => {
    const post = failureOf(fake.retrying().request('POST', 'http://api.test/orders', null, new BytesProducer('{}')));
    const postTimeout = new TimeoutError('headers', 5000, true);
    (await fake.spy.nextCall()).fail(postTimeout);
    expect(await post).toBe(postTimeout);

    const get = fake.retrying().request('GET', URL_FLAKY);
    (await fake.spy.nextCall()).fail(new TimeoutError('headers', 5000, true));
    (await expectBackoff(50)).respond(200);
    expect((await get).code).toBe(200);
  });
});

describe('RetryAgent over an agent spy: cancellation', () => {
  it('rejects with CancelledError when the signal aborts during the back-off, clears its timer and never tries again', async () => {
    const controller = new AbortController();
    const failure = failureOf(fake.retrying().request('GET', URL_FLAKY, null, null, { signal: controller.signal }));
    (await fake.spy.nextCall()).respond({ status: 503, headers: { 'Retry-After': '60' } });
    await fake.backingOff();

    const reason = new Error('user gave up');
    controller.abort(reason);
    const error = await failure;
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as CancelledError).code).toBe('STRAND_CANCELLED');
    expect((error as CancelledError).cause).toBe(reason);
    expect(fake.clock.pending).toBe(0);
    fake.clock.advance(120_000);
    await nextTurn();
    expect(fake.spy.calls).toHaveLength(1);
  });

  it('does not retry an attempt cancelled by the signal while it was in flight', async () => {
    const controller = new AbortController();
    const failure = failureOf(fake.retrying().request('GET', URL_FLAKY, null, null, { signal: controller.signal }));
    const call = await fake.spy.nextCall();
    controller.abort();
    expect(await failure).toBeInstanceOf(CancelledError);
    expect(call.state).toBe('cancelled');
    await nextTurn();
    expect(fake.spy.calls).toHaveLength(1);
    expect(fake.clock.pending).toBe(0);
  });
});

describe('RetryAgent over an agent spy: the bodies of failed responses', () => {
  it('reads a retried response to its end before it starts the back-off', async () => {
    const pending = fake.retrying().request('GET', URL_FLAKY);
    const busy = (await fake.spy.nextCall()).respondStreaming({ status: 503, headers: { 'Content-Length': '12' } });
    busy.write('still ');
    await nextTurn();
    expect(busy.response.bodyUsed).toBe(true); // the agent took the body, to discard it
    expect(fake.clock.pending).toBe(0); // ...and waits for its end before sleeping
    busy.write('busy..');
    busy.end();
    (await expectBackoff(50)).respond(200);
    expect((await pending).code).toBe(200);
    expect(busy.abandoned).toBeNull(); // read to the end, so a real connection would be reused
  });

  it('abandons a retried body longer than maxDiscardBytes instead of reading it all', async () => {
    const pending = fake.retrying({ maxDiscardBytes: 16 }).request('GET', URL_FLAKY);
    const busy = (await fake.spy.nextCall()).respondStreaming({ status: 503 });
    busy.write('x'.repeat(10));
    await nextTurn();
    expect(busy.abandoned).toBeNull();
    busy.write('x'.repeat(10)); // 20 bytes > 16: the rest is not worth reading
    await fake.until(() => busy.abandoned !== null, 'the consumer abandoning the body');
    expect(busy.finished).toBe(true);
    (await expectBackoff(50)).respond(200);
    expect((await pending).code).toBe(200);
  });

  it('still retries when the discarded body of a retryable response fails midway', async () => {
    const pending = fake.retrying().request('GET', URL_FLAKY);
    const busy = (await fake.spy.nextCall()).respondStreaming({ status: 503 });
    busy.write('par');
    busy.fail(new ResponseFailedError('connection reset in the discarded body'));
    (await expectBackoff(50)).respond(200);
    expect((await pending).code).toBe(200);
  });
});
