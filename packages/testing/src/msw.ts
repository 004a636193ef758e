/**
 * msw handlers as the fake server's behaviour. msw (like nock) intercepts Node's `http` module
 * and `fetch`, which Strand does not use: it opens its own sockets. Here msw's request handlers
 * answer through the real stack instead: the bytes Strand writes are parsed by Node's HTTP
 * server on the in-memory connection, turned into a standard `Request`, resolved by msw's
 * `getResponse`, and the `Response` is written back on the connection.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from '@strand/core';
import { UnexpectedRequestError } from './errors.js';
import { type FakeAgent, type FakeAgentOptions, createFakeAgent } from './fake-agent.js';
import type { RecordedRequest } from './server/recorded-request.js';
import type { Reply } from './server/reply.js';
import type { RequestHandlerObject } from './server/routes.js';
import { checkOneOf, checkOptions, describeValue } from './validation.js';

/** msw's `getResponse(handlers, request)` (exported by msw 2.4 and later). */
type GetResponse = (handlers: readonly unknown[], request: Request) => Promise<globalThis.Response | undefined>;

/** Options of {@link createMswAgent}: the fake agent's, and what a request no handler answers gets. */
export interface MswAgentOptions extends Omit<FakeAgentOptions, 'unmatched'> {
  /**
   * A request no handler answers (or one whose handler calls `passthrough()`, which has nowhere
   * to go here): `'error'` (default) answers `599` and records an `UnexpectedRequestError` that
   * `assertNoPending()` throws; `'not-found'` answers a plain `404`.
   */
  onUnhandledRequest?: 'error' | 'not-found';
}

let loaded: Promise<GetResponse> | null = null;

/**
 * msw's module: `require` in the CommonJS build (jest's CommonJS runtime refuses a dynamic
 * `import()` unless started with `--experimental-vm-modules`), `import()` in the ES module build.
 */
function importMsw(): Promise<{ getResponse?: unknown }> {
  if (typeof require === 'function') {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer, loaded on first use
      return Promise.resolve(require('msw') as { getResponse?: unknown });
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }
  return import('msw') as Promise<{ getResponse?: unknown }>;
}

/** Loads msw's `getResponse` once; a clear error when msw is not installed, too old, or fails to load. */
function loadGetResponse(): Promise<GetResponse> {
  loaded ??= importMsw().then(
    (msw) => {
      if (typeof msw.getResponse !== 'function') throw new InvalidArgumentError('createMswAgent: the installed msw has no getResponse export; install msw 2.4 or later');
      return msw.getResponse as GetResponse;
    },
    (error: unknown) => {
      loaded = null;
      const code = (error as { code?: unknown } | null)?.code;
      if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
        throw new InvalidArgumentError('createMswAgent: msw is not installed; add it as a devDependency (npm install -D msw)', { cause: error });
      }
      throw new InvalidArgumentError(`createMswAgent: msw could not be loaded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    },
  );
  return loaded;
}

/** The description msw gives a handler (`GET /users/:id`), for messages. */
function describeHandler(handler: unknown): string {
  const info = (handler as { info?: { header?: unknown } } | null)?.info;
  return typeof info?.header === 'string' ? info.header : describeValue(handler);
}

/** Runs msw handlers for the fake server. */
class MswHandlers implements RequestHandlerObject {
  constructor(
    private readonly handlers: readonly unknown[],
    private readonly unhandled: 'error' | 'not-found',
  ) {}

  async handle(request: RecordedRequest): Promise<Reply> {
    const getResponse = await loadGetResponse();
    const bodyless = request.method === 'GET' || request.method === 'HEAD';
    const init: RequestInit = { method: request.method, headers: [...request.headers] };
    if (!bodyless && request.body.length > 0) init.body = request.body;
    const response = await getResponse(this.handlers, new Request(request.url.href, init));
    if (response === undefined || response.headers.get('x-msw-intention') === 'passthrough') {
      if (this.unhandled === 'not-found') return { status: 404, body: `no msw handler for ${request.method} ${request.url.pathname}\n` };
      const lines = [`no msw handler answered ${request.method} ${request.url.href}`];
      if (response !== undefined) lines.push('its handler called passthrough(), but a fake agent has no network to pass it to');
      lines.push(this.handlers.length === 0 ? 'no handlers were given' : 'handlers:', ...this.handlers.map((h) => `  ${describeHandler(h)}`));
      throw new UnexpectedRequestError(request, lines.join('\n'));
    }
    if (response.type === 'error') return { fault: 'reset' };
    const headers: Array<[string, string]> = [...response.headers];
    const reply: Reply = { status: response.status, headers };
    if (response.statusText !== '') reply.statusText = response.statusText;
    if (response.body !== null) {
      // A known length is sent with it; otherwise the body streams, chunked, as the handler makes it.
      if (response.headers.has('content-length')) reply.body = Buffer.from(await response.arrayBuffer());
      else reply.body = response.body as unknown as AsyncIterable<Uint8Array>;
    }
    return reply;
  }
}

/**
 * A {@link FakeAgent} whose server answers with msw request handlers (`http.get(...)`,
 * `graphql.query(...)`, from msw 2.4 or later, an optional peer dependency). The request goes
 * through Strand's real serializer, Node's HTTP server parses it into a standard `Request`, msw
 * resolves it, and its `Response` comes back through the in-memory connection and Strand's
 * parser: the same handlers your browser or `fetch` tests use, with nothing patched.
 *
 * @throws `InvalidArgumentError` when `handlers` is not an array or an option is unknown; a
 *   missing msw is reported by the first request (the handler fails and the client gets a 500).
 *
 * @example
 * ```ts
 * import { http, HttpResponse } from 'msw';
 * const fake = createMswAgent([http.get('http://api.test/users/:id', ({ params }) => HttpResponse.json({ id: params.id }))]);
 * const client = new HTTPClient({ agent: fake });
 * expect(await (await client.get('http://api.test/users/7')).json()).toEqual({ id: '7' });
 * await fake.close();
 * ```
 */
export function createMswAgent(handlers: readonly unknown[], options: MswAgentOptions = {}): FakeAgent {
  if (!Array.isArray(handlers)) throw new InvalidArgumentError(`createMswAgent: handlers must be an array of msw request handlers, got ${describeValue(handlers)}`);
  const checked = checkOptions(options, ['clock', 'pool', 'agentOptions', 'onUnhandledRequest'], 'createMswAgent');
  const unhandled = checkOneOf(checked['onUnhandledRequest'], ['error', 'not-found'], 'createMswAgent: onUnhandledRequest') ?? 'error';
  const { onUnhandledRequest: _, ...fakeOptions } = options;
  return createFakeAgent(new MswHandlers(handlers, unhandled), fakeOptions);
}
