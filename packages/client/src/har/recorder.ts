/**
 * The HAR recorder: a wrapper agent that writes each exchange of the agent it wraps as a HAR
 * entry, with what a byte-for-byte replay needs (interim responses, trailers, the body as
 * transferred and its pieces), redacted before anyone sees it.
 *
 * @packageDocumentation
 */

import {
  type Agent,
  type BodyEndReason,
  type BodyProducer,
  type ExchangeTimings,
  type Headers,
  type HeadersInit,
  InvalidArgumentError,
  PotentialDataLoss,
  type RequestOptions,
  type Response,
  ResponseDone,
  WrapperAgent,
  brand,
  deriveResponse,
  systemClock,
} from '@strand/core';
import { WatchedProducer } from '../watched-producer.js';
import type { HarCookie, HarEntry, HarInformational, HarNameValue, HarRequest, HarTimings, StrandEntryFields } from './model.js';
import { type RedactOptions, type HarRedaction, redactEntry, harRedaction } from './redact.js';

/** Options of {@link HarRecorder}. */
export interface HarRecorderOptions {
  /** Called with each entry once its response body has ended (completely, or not). */
  onEntry: (entry: HarEntry) => void;
  /**
   * Redaction: on by default (see `DEFAULT_REDACTED_HEADERS` and `DEFAULT_REDACTED_PARAMS`);
   * an object adds header and parameter names; `false` records secrets as they are.
   */
  redact?: RedactOptions | false;
}

/** A header list as HAR name/value pairs, order and spelling kept. */
export function harPairs(headers: Iterable<readonly [string, string]>): HarNameValue[] {
  const pairs: HarNameValue[] = [];
  for (const [name, value] of headers) pairs.push({ name, value });
  return pairs;
}

/** The cookies of `Cookie` fields. */
export function requestCookies(headers: readonly HarNameValue[]): HarCookie[] {
  const cookies: HarCookie[] = [];
  for (const { name, value } of headers) {
    if (name.toLowerCase() !== 'cookie') continue;
    for (const pair of value.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0) cookies.push({ name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim() });
    }
  }
  return cookies;
}

/** The cookies of `Set-Cookie` fields (name, value, and the attributes HAR has fields for). */
export function responseCookies(headers: readonly HarNameValue[]): HarCookie[] {
  const cookies: HarCookie[] = [];
  for (const { name, value } of headers) {
    if (name.toLowerCase() !== 'set-cookie') continue;
    const [first = '', ...attributes] = value.split(';');
    const eq = first.indexOf('=');
    if (eq <= 0) continue;
    const cookie: HarCookie = { name: first.slice(0, eq).trim(), value: first.slice(eq + 1).trim() };
    for (const attribute of attributes) {
      const [key = '', ...rest] = attribute.split('=');
      const v = rest.join('=').trim();
      switch (key.trim().toLowerCase()) {
        case 'path':
          cookie.path = v;
          break;
        case 'domain':
          cookie.domain = v;
          break;
        case 'expires': {
          const time = Date.parse(v);
          if (!Number.isNaN(time)) cookie.expires = new Date(time).toISOString();
          break;
        }
        case 'httponly':
          cookie.httpOnly = true;
          break;
        case 'secure':
          cookie.secure = true;
          break;
      }
    }
    cookies.push(cookie);
  }
  return cookies;
}

/** True when `bytes` are valid UTF-8 (so they can be stored as text). */
function isUtf8(bytes: Buffer): boolean {
  const text = bytes.toString('utf8');
  return !text.includes('\uFFFD') || Buffer.from(text, 'utf8').equals(bytes);
}

/** The parts of a HAR request, from what was sent. */
export interface HarRequestParts {
  /** The method as sent. */
  method: string;
  /** The absolute URL (its fragment is dropped). */
  url: string;
  /** The header fields, in order. */
  headers: HarNameValue[];
  /** The body (empty for none). */
  body: Buffer;
}

/** A HAR request made by {@link harRequest}. */
export interface HarRequestResult {
  /** The request. */
  request: HarRequest;
  /** True when the body is stored as base64 (set `_strand.requestBodyBase64`). */
  base64: boolean;
}

/** A HAR request, and whether its body had to be stored as base64. */
export function harRequest(parts: HarRequestParts): HarRequestResult {
  const url = new URL(parts.url);
  url.hash = '';
  const request: HarRequest = {
    method: parts.method,
    url: url.href,
    httpVersion: 'HTTP/1.1',
    cookies: requestCookies(parts.headers),
    headers: parts.headers,
    queryString: [...url.searchParams].map(([name, value]) => ({ name, value })),
    headersSize: -1,
    bodySize: parts.body.length,
  };
  let base64 = false;
  if (parts.body.length > 0) {
    base64 = !isUtf8(parts.body);
    const mimeType = parts.headers.find((h) => h.name.toLowerCase() === 'content-type')?.value ?? '';
    request.postData = { mimeType, text: parts.body.toString(base64 ? 'base64' : 'utf8') };
    if (!base64 && mimeType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      request.postData.params = [...new URLSearchParams(request.postData.text)].map(([name, value]) => ({ name, value }));
    }
  }
  return { request, base64 };
}

/** What a recorded response is made of. */
interface ResponseParts {
  code: number;
  phrase: string;
  version: readonly [number, number];
  headers: Headers;
  body: Buffer;
  pieces: number[];
  trailers: HarNameValue[];
  informational: HarInformational[];
  end: BodyEndReason;
}

function span(from: number | undefined, to: number | undefined): number {
  return from === undefined || to === undefined ? -1 : Math.max(0, to - from);
}

/** HAR timings from an exchange's milestones (-1 for a phase that did not happen). */
function harTimings(t: ExchangeTimings | null): HarTimings {
  if (t === null) return { send: 0, wait: 0, receive: 0 };
  const blocked = span(t.start, t.connectStart ?? t.acquired);
  const connect = span(t.connectStart, t.connectEnd);
  return {
    blocked,
    dns: span(t.connectStart, t.dnsEnd),
    connect,
    ssl: span(t.tcpEnd, t.tlsEnd),
    send: Math.max(0, span(t.acquired, t.sent)),
    wait: Math.max(0, span(t.sent, t.head)),
    receive: Math.max(0, span(t.head, t.end)),
  };
}

/** The HAR entry of one exchange (not redacted). */
export function harEntry(started: number, timings: ExchangeTimings | null, requestParts: HarRequestParts, response: ResponseParts): HarEntry {
  const { request, base64 } = harRequest(requestParts);
  const headers = harPairs(response.headers);
  const header = (name: string): string | undefined => response.headers.get(name);
  const bodyBase64 = response.body.length > 0 && (header('content-encoding') !== undefined || !isUtf8(response.body));
  const strand: StrandEntryFields = { v: 1 };
  if (base64) strand.requestBodyBase64 = true;
  if (response.pieces.length > 0 && /(?:^|,)\s*chunked\s*$/i.test(header('transfer-encoding') ?? '')) strand.chunks = response.pieces;
  if (response.trailers.length > 0) strand.trailers = response.trailers;
  if (response.informational.length > 0) strand.informational = response.informational;
  const end = response.end;
  strand.end = end instanceof ResponseDone ? 'done' : end instanceof PotentialDataLoss ? 'potential-data-loss' : end.code;
  const timing = harTimings(timings);
  const entry: HarEntry = {
    startedDateTime: new Date(started).toISOString(),
    time: [timing.blocked, timing.connect, timing.send, timing.wait, timing.receive].reduce<number>((sum, ms) => sum + (ms !== undefined && ms > 0 ? ms : 0), 0),
    request,
    response: {
      status: response.code,
      statusText: response.phrase,
      httpVersion: `HTTP/${response.version[0]}.${response.version[1]}`,
      cookies: responseCookies(headers),
      headers,
      content: {
        size: response.body.length,
        mimeType: header('content-type') ?? '',
        ...(response.body.length > 0 ? { text: response.body.toString(bodyBase64 ? 'base64' : 'utf8') } : {}),
        ...(bodyBase64 ? { encoding: 'base64' } : {}),
      },
      redirectURL: header('location') ?? '',
      headersSize: -1,
      bodySize: response.body.length,
    },
    cache: {},
    timings: timing,
    _strand: strand,
  };
  return entry;
}

/** A copy of the bytes a request body hands to the connection, run by run (a body sent again starts over). */
class BodyCopy {
  chunks: Buffer[] = [];

  start(): void {
    this.chunks = [];
  }

  chunk(chunk: Uint8Array): void {
    this.chunks.push(Buffer.from(chunk));
  }
}

/**
 * The response as the caller gets it (same head, same body, streamed) while a copy of the body
 * is kept; `done` gets the copy, its pieces, the trailers and the end when the body ends.
 */
function teeResponse(source: Response, done: (body: Buffer, pieces: number[], trailers: Headers, end: BodyEndReason) => void): Response {
  const chunks: Buffer[] = [];
  return deriveResponse(source, {
    onData: (chunk) => chunks.push(Buffer.from(chunk)),
    onEnd: (reason) => {
      try {
        done(Buffer.concat(chunks), chunks.map((c) => c.length), source.trailers, reason);
      } catch (error) {
        // A broken onEntry must not cut the caller's body, nor go unnoticed.
        queueMicrotask(() => {
          throw error;
        });
      }
    },
  });
}

/**
 * A wrapper agent that records each exchange of `agent` as a HAR entry, given to `onEntry` when
 * the response body has ended (read to the end, failed or abandoned). The response reaches the
 * caller unchanged, streamed, with back-pressure. Entries are redacted unless `redact: false`.
 * A request that fails before its response head arrives is not recorded.
 *
 * Place it where the exchanges you want are: under an `HTTPClient`'s redirects and decoding
 * (as its `agent`), each hop is an entry and bodies are kept as transferred (still compressed),
 * which is what a replay needs.
 *
 * @example
 * ```ts
 * const har = emptyHar();
 * const client = new HTTPClient({ agent: new HarRecorder(new HttpAgent(), { onEntry: (e) => har.log.entries.push(e) }) });
 * await client.get('http://127.0.0.1:8080/');
 * fs.writeFileSync('run.har', serializeHar(har));
 * ```
 */
export class HarRecorder extends WrapperAgent {
  private readonly onEntry: (entry: HarEntry) => void;
  private readonly rules: HarRedaction | null;

  /** @throws `InvalidArgumentError` for a missing `onEntry` or bad redaction options. */
  constructor(agent: Agent, options: HarRecorderOptions) {
    super(agent);
    if (options === null || typeof options !== 'object' || typeof options.onEntry !== 'function') throw new InvalidArgumentError('HarRecorder: options.onEntry must be a function that takes each entry');
    for (const key of Object.keys(options)) {
      if (key !== 'onEntry' && key !== 'redact') throw new InvalidArgumentError(`HarRecorder: unknown option "${key}" (known: onEntry, redact)`);
    }
    this.onEntry = options.onEntry;
    this.rules = options.redact === false ? null : harRedaction(options.redact, 'HarRecorder');
  }

  /** Sends the request through the wrapped agent, recording the exchange. */
  async request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    const started = Date.now();
    const informational: HarInformational[] = [];
    const callerHook = options?.onInformational;
    const copy = body === null || body === undefined ? null : new BodyCopy();
    const tee = copy === null ? null : new WatchedProducer(body as BodyProducer, copy);
    const timings: ExchangeTimings = options?.timings ?? { start: systemClock.now() };
    const response = await this.agent.request(method, uri, headers, tee, {
      ...options,
      timings,
      onInformational: (info) => {
        informational.push({ status: info.code, statusText: info.phrase, headers: harPairs(info.headers) });
        callerHook?.(info);
      },
    });
    const sent: HarRequestParts = {
      method: response.request.method,
      url: response.request.uri,
      headers: harPairs(response.request.headers),
      body: copy === null ? Buffer.alloc(0) : Buffer.concat(copy.chunks),
    };
    return teeResponse(response, (bytes, pieces, trailers, end) => {
      const entry = harEntry(started, response.timings ?? timings, sent, {
        code: response.code,
        phrase: response.phrase,
        version: response.version,
        headers: response.headers,
        body: bytes,
        pieces,
        trailers: harPairs(trailers),
        informational,
        end,
      });
      this.onEntry(this.rules === null ? entry : redactEntry(entry, this.rules));
    });
  }
}
brand(HarRecorder, 'client.HarRecorder');
