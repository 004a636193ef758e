/**
 * undici 7's cache interceptor as a {@link SuiteClient} of the cache test suite runner, so the
 * suite scores it in the same run as Strand's `CachingAgent` (test/cache-tests-suite.test.ts).
 *
 * Each test gets a fresh `new Agent().compose(interceptors.cache({ store, type }))` with its own
 * `MemoryCacheStore`, as Strand's run gets a fresh cache. undici reads the time from `Date.now`;
 * {@link withWallClock} points it at the run's manual clock while undici's tests run.
 */
import * as fs from 'node:fs';
import { type Dispatcher, Agent as UndiciAgent, cacheStores, interceptors } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { addModeFields } from '../../src/agents/cache/policy.js';
import { Headers } from '../../src/message/headers.js';
import type { SuiteClient, SuiteResponse } from './cache-tests-runner.js';

/** The version of undici scored (a devDependency of core, pinned). */
export const UNDICI_VERSION = (JSON.parse(fs.readFileSync(require.resolve('undici/package.json'), 'utf8')) as { version: string }).version;

/** An undici dispatcher with a fresh cache, and how to close it. */
export interface UndiciCache {
  readonly client: SuiteClient;
  close(): Promise<void>;
}

/** undici's field object (lower-case names, an array for a repeated field) as Strand {@link Headers}. */
function toHeaders(fields: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    for (const line of Array.isArray(value) ? value : [value]) headers.add(name, line);
  }
  return headers;
}

/** A fresh undici cache of the given type (undici's `type` option: `private` or `shared`). */
export function undiciCache(type: 'private' | 'shared'): UndiciCache {
  const agent = new UndiciAgent({ headersTimeout: 5000, bodyTimeout: 5000 });
  const dispatcher = agent.compose(interceptors.cache({ store: new cacheStores.MemoryCacheStore(), type }));
  const client: SuiteClient = ({ method, url, headers, body, cache }) => {
    const sent = headers.clone();
    // undici's interceptor has no Fetch cache modes: a mode reaches it as the fields Fetch sends for it.
    if (cache !== undefined) addModeFields(sent, cache);
    const flat: string[] = [];
    for (const [name, value] of sent) flat.push(name, value);
    const { origin, pathname, search } = new URL(url);
    return new Promise<SuiteResponse>((resolve, reject) => {
      let controller: Dispatcher.DispatchController | null = null;
      // Every wait has an end: a response that has not ended after five seconds fails its test.
      const timer = setTimeout(() => {
        const error = new Error(`undici: no complete response to ${method} ${url} within 5 s`);
        controller?.abort(error);
        reject(error);
      }, 5000);
      const interim: { code: number; headers: Headers }[] = [];
      const chunks: Buffer[] = [];
      let final: { code: number; headers: Headers } | null = null;
      const start = (code: number, headers: Headers): void => {
        if (code < 200) interim.push({ code, headers });
        else final = { code, headers };
      };
      const data = (chunk: Buffer): boolean => chunks.push(Buffer.from(chunk)) > 0;
      const end = (): void => {
        clearTimeout(timer);
        if (final === null) reject(new Error('undici ended a response that never started'));
        else resolve({ ...final, text: Buffer.concat(chunks).toString('utf8'), interim });
      };
      // A handler of undici's dispatch API, as the suite's own client collects interim responses.
      dispatcher.dispatch(
        { origin, path: pathname + search, method: method as Dispatcher.HttpMethod, headers: flat, body },
        {
          onRequestStart: (started) => {
            controller = started;
          },
          onResponseStart: (_controller, code, fields) => start(code, toHeaders(fields)),
          onResponseData: (_controller, chunk) => data(chunk),
          onResponseEnd: end,
          onResponseError: (_controller, error) => {
            clearTimeout(timer);
            reject(error);
          },
          // undici's cache answers only-if-cached on a miss through the older handler methods
          // alone (onHeaders and onComplete, lib/interceptor/cache.js): take its 504 there too.
          onHeaders: (code, raw) => {
            const headers = new Headers();
            for (let i = 0; i + 1 < raw.length; i += 2) headers.add(String(raw[i]), String(raw[i + 1]));
            start(code, headers);
            return true;
          },
          onData: data,
          onComplete: end,
        },
      );
    });
  };
  return { client, close: () => agent.close() };
}

/** Runs `work` with `Date.now` answering `now()` (undici's cache reads the time there), then puts it back. */
export async function withWallClock<T>(now: () => number, work: () => Promise<T>): Promise<T> {
  const real = Date.now;
  Date.now = now;
  try {
    return await work();
  } finally {
    Date.now = real;
  }
}
