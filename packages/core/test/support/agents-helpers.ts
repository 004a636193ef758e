/** Small agents and helpers for the wrapper-agent tests. */
import {
  type Agent,
  type BodyProducer,
  Headers,
  type HeadersInit,
  type RequestOptions,
  type Response,
  readBody,
} from '../../src/index.js';

/**
 * Turns a URL's `user:password@` into `Authorization: Basic ...` and strips it from the URL, as a
 * client's auth layer would: it makes URL credentials observable by a server, so tests can check
 * that a redirect agent above it drops them on leaving the origin.
 */
export class UserinfoAuthAgent implements Agent {
  /** The URIs it was asked for, as given (credentials included). */
  readonly asked: string[] = [];

  constructor(private readonly agent: Agent) {}

  request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    const url = new URL(String(uri));
    this.asked.push(url.href);
    const copy = new Headers(headers);
    if (url.username !== '' || url.password !== '') {
      copy.set('Authorization', `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`);
      url.username = '';
      url.password = '';
    }
    return this.agent.request(method, url, copy, body, options);
  }
}

/** Records the arguments of every request and passes it on. */
export class SpyAgent implements Agent {
  readonly calls: { method: string; uri: string; headers: Headers; body: BodyProducer | null }[] = [];

  constructor(private readonly agent: Agent) {}

  request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    this.calls.push({ method, uri: String(uri), headers: new Headers(headers), body: body ?? null });
    return this.agent.request(method, uri, headers, body, options);
  }
}

/** The body as a UTF-8 string. */
export async function text(response: Response): Promise<string> {
  return (await readBody(response)).toString('utf8');
}

/** The body parsed as JSON. */
export async function json<T>(response: Response): Promise<T> {
  return JSON.parse(await text(response)) as T;
}

/** Every response of a redirect chain, first to last. */
export function history(response: Response): Response[] {
  const chain: Response[] = [];
  for (let r: Response | null = response; r !== null; r = r.previousResponse) chain.unshift(r);
  return chain;
}
