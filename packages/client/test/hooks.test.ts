/**
 * The `hooks` option on a loopback server: beforeRequest, afterResponse (with its one retry()),
 * beforeRedirect, beforeRetry and beforeError; client hooks before request hooks; errors.
 */
import { Readable } from 'node:stream';
import { CancelledError, type HTTPConnectionPool, InvalidArgumentError, InvalidRequestError, RedirectError } from '@strand/core';
import { type ClientResponse, HTTPClient, HTTPStatusError, type HookRequest } from '@strand/client';
import { eventually, routes, startLoopback, stopLoopback } from './support/routes';
import { type Echo, type TestServer, echo, startServer } from './support/servers';

let server: TestServer;
let pool: HTTPConnectionPool;
let client: HTTPClient;

/** Failures left for /flaky to answer with 503 before it answers 200. */
let flaky = 0;

const handler = routes({
  '/protected': (req, res, body) => {
    if (req.headers.authorization !== 'Bearer fresh') {
      res.writeHead(401, { 'www-authenticate': 'Bearer' });
      res.end('expired');
      return;
    }
    echo(req, res, body);
  },
  '/hop': (_req, res, _body, url) => {
    const n = Number(url.searchParams.get('n') ?? '0');
    res.writeHead(302, { location: n > 1 ? `/hop?n=${n - 1}` : '/landed' });
    res.end('moving');
  },
  '/status': (_req, res, _body, url) => {
    res.writeHead(Number(url.searchParams.get('code') ?? '200'));
    res.end('status');
  },
  '/flaky': (req, res, body) => {
    if (flaky > 0) {
      flaky--;
      res.writeHead(503, { 'retry-after': '0' });
      res.end('busy');
      return;
    }
    echo(req, res, body);
  },
});

beforeEach(async () => {
  ({ server, pool, client } = await startLoopback(handler));
  flaky = 0;
});

afterEach(() => stopLoopback({ server, pool }));

describe('beforeRequest', () => {
  it('may change the method, URL, headers and body before anything is sent', async () => {
    const response = await client.post(`${server.url}/a`, {
      data: 'original',
      hooks: {
        beforeRequest: [
          (request) => {
            request.method = 'put';
            request.url.pathname = '/b';
            request.url.searchParams.set('signed', 'yes');
            request.headers.set('X-Signature', 'abc');
            request.body = new Blob(['{"replaced":true}'], { type: 'application/json' });
          },
        ],
      },
    });
    const echoed = await response.json<Echo>();
    expect([echoed.method, echoed.url, echoed.headers['x-signature'], echoed.body]).toEqual(['PUT', '/b?signed=yes', 'abc', '{"replaced":true}']);
    expect(server.requests).toHaveLength(1);
    expect(response.url).toBe(`${server.url}/b?signed=yes`);
  });

  it("runs the client's hooks before the request's, each seeing what the previous one did, and shares their context", async () => {
    const order: string[] = [];
    const hooked = new HTTPClient({
      pool,
      hooks: {
        beforeRequest: [
          (request) => {
            order.push('client 1');
            request.context['token'] = 't0k';
          },
          () => {
            order.push('client 2');
          },
        ],
      },
    });
    const response = await hooked.get(server.url, {
      hooks: {
        beforeRequest: [
          (request) => {
            order.push('request');
            request.headers.set('Authorization', `Bearer ${String(request.context['token'])}`);
          },
        ],
      },
    });
    expect(order).toEqual(['client 1', 'client 2', 'request']);
    expect((await response.json<Echo>()).headers['authorization']).toBe('Bearer t0k');
  });

  it('may answer the call with a ClientResponse: later beforeRequest hooks and the network are skipped, afterResponse and throwForStatus still apply', async () => {
    const earlier = await client.get(`${server.url}/kept`);
    const seen: string[] = [];
    const call = client.get(`${server.url}/never`, {
      throwForStatus: true,
      hooks: {
        beforeRequest: [() => earlier, () => void seen.push('later beforeRequest')],
        afterResponse: [
          (response) => {
            seen.push(`afterResponse ${new URL(response.url).pathname}`);
          },
        ],
      },
    });
    const response = await call;
    expect(response).toBe(earlier);
    expect(seen).toEqual(['afterResponse /kept']);
    expect(server.requests.map((r) => r.url)).toEqual(['/kept']);
  });

  it('refuses a beforeRequest return value that is neither nothing nor a ClientResponse, sending nothing', async () => {
    const call = client.get(server.url, { hooks: { beforeRequest: [() => ({ status: 200 }) as unknown as void] } });
    await expect(call).rejects.toThrow(/beforeRequest: a hook may return nothing or a ClientResponse/);
    expect(server.requests).toHaveLength(0);
  });

  it('stops the request when a hook throws: nothing is sent and the call rejects with that error', async () => {
    const failure = new Error('no token');
    await expect(client.get(server.url, { hooks: { beforeRequest: [() => Promise.reject(failure)] } })).rejects.toBe(failure);
    expect(server.requests).toHaveLength(0);
  });

  it('checks what a hook changed as options are checked (a URL that is not http(s), a bad method, a bad header)', async () => {
    await expect(client.get(server.url, { hooks: { beforeRequest: [(r) => void (r.url = new URL('file:///etc/passwd'))] } })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(client.get(server.url, { hooks: { beforeRequest: [(r) => void (r.method = 'GET /x')] } })).rejects.toThrow(/^beforeRequest: method must be a method name/);
    await expect(client.get(server.url, { hooks: { beforeRequest: [(r) => void r.headers.set('X-Bad', 'a\r\nb')] } })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a hooks option that is not an object of arrays of functions, naming the hook', async () => {
    await expect(client.get(server.url, { hooks: { beforeRequest: [undefined as never] } })).rejects.toThrow(/^hooks\.beforeRequest\[0\] must be a function/);
    await expect(client.get(server.url, { hooks: { afterResponse: (() => undefined) as never } })).rejects.toThrow(/^hooks\.afterResponse must be an array of functions/);
    await expect(client.get(server.url, { hooks: { beforeSend: [] } as never })).rejects.toThrow(/^hooks\.beforeSend is not a hook/);
    expect(() => new HTTPClient({ hooks: [] as never })).toThrow(/^hooks must be an object/);
  });
});

describe('afterResponse', () => {
  it('may replace the response; each hook gets the one the previous hook returned', async () => {
    const seen: number[] = [];
    const response = await client.get(`${server.url}/status?code=404`, {
      hooks: {
        afterResponse: [
          async (r) => {
            seen.push(r.code);
            return client.get(`${server.url}/status?code=203`);
          },
          (r) => {
            seen.push(r.code);
          },
        ],
      },
    });
    expect(seen).toEqual([404, 203]);
    expect(response.code).toBe(203);
  });

  it('retries the request once with new headers after refreshing a token, sending the body again, and throwForStatus sees the final response', async () => {
    let refreshes = 0;
    const later: number[] = [];
    const authed = new HTTPClient({
      pool,
      headers: { Authorization: 'Bearer stale' },
      throwForStatus: true,
      hooks: {
        afterResponse: [
          async (response, state) => {
            if (response.code !== 401) return undefined;
            refreshes++;
            return state.retry({ headers: { Authorization: 'Bearer fresh' } });
          },
          (response) => {
            later.push(response.code);
          },
        ],
      },
    });
    const response = await authed.post(`${server.url}/protected`, { data: 'payload', headers: { 'X-Kept': 'yes' } });
    const echoed = await response.json<Echo>();
    expect(response.code).toBe(200);
    expect(refreshes).toBe(1);
    expect([echoed.headers['authorization'], echoed.headers['x-kept'], echoed.body]).toEqual(['Bearer fresh', 'yes', 'payload']);
    expect(server.requests.map((r) => [r.method, r.headers['authorization'], r.body.toString()])).toEqual([
      ['POST', 'Bearer stale', 'payload'],
      ['POST', 'Bearer fresh', 'payload'],
    ]);
    // The second hook ran once, for the retried response, inside the retry: not again after it.
    expect(later).toEqual([200]);
  });

  it('retries at most once: retry() in the retried request, or twice, rejects with an InvalidArgumentError', async () => {
    const always = { afterResponse: [(r: ClientResponse, state: { retry: () => Promise<ClientResponse> }) => (r.code === 401 ? state.retry() : undefined)] };
    await expect(client.get(`${server.url}/protected`, { hooks: always })).rejects.toThrow(/^afterResponse: retry\(\) was called in the hooks of a request that is itself a retry/);
    const twice = { afterResponse: [async (_r: ClientResponse, state: { retryCount: number; retry: () => Promise<ClientResponse> }) => {
      if (state.retryCount > 0) return undefined;
      await state.retry();
      return state.retry();
    }] };
    await expect(client.get(`${server.url}/status?code=200`, { hooks: twice })).rejects.toThrow(/^afterResponse: retry\(\) was called twice/);
    expect(server.requests).toHaveLength(4);
  });

  it('cannot send a one-shot stream body again, unless retry() is given a new body', async () => {
    const retrying = { afterResponse: [(r: ClientResponse, state: { retry: (o?: object) => Promise<ClientResponse> }) => (r.code === 401 ? state.retry({ headers: { Authorization: 'Bearer fresh' } }) : undefined)] };
    await expect(client.post(`${server.url}/protected`, { data: Readable.from(['once']), hooks: retrying })).rejects.toThrow(/^afterResponse: retry\(\) cannot send the request body again/);
    const withBody = { afterResponse: [(r: ClientResponse, state: { retry: (o?: object) => Promise<ClientResponse> }) => (r.code === 401 ? state.retry({ headers: { Authorization: 'Bearer fresh' }, data: 'twice' }) : undefined)] };
    const response = await client.post(`${server.url}/protected`, { data: Readable.from(['once']), hooks: withBody });
    expect((await response.json<Echo>()).body).toBe('twice');
  });

  it('releases the first response before retrying, so a client limited to one request at a time does not wait for itself (buffered and unbuffered)', async () => {
    const single = new HTTPClient({
      pool,
      maxConcurrentRequests: 1,
      timeout: { queue: 2000 },
      hooks: { afterResponse: [(r, state) => (r.code === 401 ? state.retry({ headers: { Authorization: 'Bearer fresh' } }) : undefined)] },
    });
    expect((await single.get(`${server.url}/protected`)).code).toBe(200);
    const streamed = await single.get(`${server.url}/protected`, { unbuffered: true });
    expect((await streamed.json<Echo>()).headers['authorization']).toBe('Bearer fresh');
    expect(single.inFlight).toBe(0);
  });

  it('applies throwForStatus to the response the hooks return', async () => {
    const error = await client.get(`${server.url}/status?code=200`, { throwForStatus: true, hooks: { afterResponse: [() => client.get(`${server.url}/status?code=500`)] } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HTTPStatusError);
    expect((error as HTTPStatusError).status).toBe(500);
  });

  it('refuses a hook that returns something other than a ClientResponse', async () => {
    await expect(client.get(server.url, { hooks: { afterResponse: [() => ({ code: 200 }) as never] } })).rejects.toThrow(/^afterResponse: a hook must return a ClientResponse or nothing/);
  });
});

describe('beforeRedirect', () => {
  it('is called before each hop with its URL, method, number and the 3xx response, and may set headers for that hop', async () => {
    const hops: Array<[string, string, number, number, string | undefined]> = [];
    const response = await client.get(`${server.url}/hop?n=2`, {
      hooks: {
        beforeRedirect: [
          (request, redirect) => {
            hops.push([request.method, request.url.pathname + request.url.search, request.redirectCount, redirect.code, redirect.headers.get('location')]);
            request.headers.set('X-Hop', String(request.redirectCount));
          },
        ],
      },
    });
    expect(response.code).toBe(200);
    expect(hops).toEqual([
      ['GET', '/hop?n=1', 1, 302, '/hop?n=1'],
      ['GET', '/landed', 2, 302, '/landed'],
    ]);
    expect(server.requests.map((r) => r.headers['x-hop'])).toEqual([undefined, '1', '2']);
  });

  it('stops the chain when a hook throws (the next hop is not sent)', async () => {
    const refused = new Error('no redirects to /landed');
    const hooks = { beforeRedirect: [(request: { url: URL }) => {
      if (request.url.pathname === '/landed') throw refused;
    }] };
    await expect(client.get(`${server.url}/hop?n=1`, { hooks })).rejects.toBe(refused);
    expect(server.requests.map((r) => r.url)).toEqual(['/hop?n=1']);
  });

  it('is cancelled with the request while a hook waits', async () => {
    const controller = new AbortController();
    const pending = client.get(`${server.url}/hop?n=1`, {
      signal: controller.signal,
      hooks: { beforeRedirect: [() => {
        controller.abort();
        return new Promise<void>(() => undefined);
      }] },
    });
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('beforeRetry', () => {
  it('is called before each retry of the retry option with the retryable response, and the retry waits for it', async () => {
    flaky = 2;
    const events: Array<[number, number | undefined, string]> = [];
    const sentWhileWaiting: boolean[] = [];
    const response = await client.get(`${server.url}/flaky`, {
      retry: { limit: 3, backoff: { base: 0 } },
      hooks: {
        beforeRetry: [
          async (state) => {
            events.push([state.retryCount, state.response?.code, state.request.url.replace(server.url, '')]);
            // Long enough for a retry that did not wait to reach the server.
            const before = server.requests.length;
            sentWhileWaiting.push(await eventually(() => server.requests.length > before, 300));
          },
        ],
      },
    });
    expect(response.code).toBe(200);
    expect(events).toEqual([
      [1, 503, '/flaky'],
      [2, 503, '/flaky'],
    ]);
    expect(sentWhileWaiting).toEqual([false, false]);
    expect(server.requests).toHaveLength(3);
  });

  it('is told the error of a failed attempt, and a hook that throws ends the retries with its error', async () => {
    const closed = await startServer((req) => req.socket.destroy());
    const stop = new Error('enough');
    const errors: unknown[] = [];
    try {
      const failing = client.get(closed.url, {
        retry: { limit: 5, backoff: { base: 0 } },
        hooks: { beforeRetry: [(state) => {
          errors.push(state.error);
          throw stop;
        }] },
      });
      await expect(failing).rejects.toBe(stop);
      expect(errors).toHaveLength(1);
      expect((errors[0] as { code?: string }).code).toMatch(/^STRAND_/);
      expect(closed.requests.length).toBeLessThanOrEqual(1);
    } finally {
      await closed.close();
    }
  });
});

describe('beforeError', () => {
  it('may replace the error a call rejects with, and sees the request', async () => {
    let seenRequest: HookRequest | null = null;
    const hooked = new HTTPClient({
      pool,
      throwForStatus: true,
      hooks: {
        beforeError: [
          (error, request) => {
            seenRequest = request;
            if (error instanceof HTTPStatusError) return new Error(`API said ${error.status}`);
            return undefined;
          },
        ],
      },
    });
    await expect(hooked.get(`${server.url}/status?code=418`)).rejects.toThrow(/^API said 418$/);
    expect((seenRequest as HookRequest | null)?.url.pathname).toBe('/status');
  });

  it('gets the errors of other hooks, of the network and of redirects, once each', async () => {
    const seen: unknown[] = [];
    const hooks = { beforeError: [(error: unknown) => void seen.push(error)] };
    const thrown = new Error('from a hook');
    await expect(client.get(server.url, { hooks: { ...hooks, beforeRequest: [() => Promise.reject(thrown)] } })).rejects.toBe(thrown);
    await expect(client.post(`${server.url}/hop?n=1`, { data: 'x', browserLikeRedirects: false, hooks })).rejects.toBeInstanceOf(RedirectError);
    // A retried request that fails reports its error once, not once per call it went through.
    const retrying = { ...hooks, afterResponse: [(r: ClientResponse, state: { retry: () => Promise<ClientResponse> }) => (r.code === 401 ? state.retry() : undefined)] };
    await expect(client.get(`${server.url}/protected`, { hooks: retrying })).rejects.toThrow(/itself a retry/);
    expect(seen.map((e) => (e instanceof Error ? e.message : e))).toEqual(['from a hook', expect.stringMatching(/not following the 302 redirect/), expect.stringMatching(/itself a retry/)]);
  });
});
