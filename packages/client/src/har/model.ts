/**
 * The HTTP Archive (HAR 1.2) format as data: the types of a log and its entries, with Strand's
 * own fields under `_strand` (HAR allows custom fields whose names start with an underscore),
 * and reading and writing a log as JSON. Shared by the `strand --har` command line and the
 * cassettes of `@strand/testing`.
 *
 * @packageDocumentation
 */

import { StrandError, brand } from '@strand/core';
import { VERSION } from '../version.js';

/** A name and a value: a header field, a query parameter, a form field. */
export interface HarNameValue {
  /** The name, as sent. */
  name: string;
  /** The value, as sent (or `REDACTED`). */
  value: string;
  /** A free comment. */
  comment?: string;
}

/** A cookie sent (`Cookie`) or set (`Set-Cookie`). */
export interface HarCookie {
  /** The cookie's name. */
  name: string;
  /** The cookie's value (or `REDACTED`). */
  value: string;
  /** The `Path` attribute. */
  path?: string;
  /** The `Domain` attribute. */
  domain?: string;
  /** The `Expires` attribute, as an ISO 8601 time. */
  expires?: string;
  /** The `HttpOnly` attribute was set. */
  httpOnly?: boolean;
  /** The `Secure` attribute was set. */
  secure?: boolean;
  /** A free comment. */
  comment?: string;
}

/** A request body. `text` is UTF-8 text, or base64 when the entry's `_strand.requestBodyBase64` says so. */
export interface HarPostData {
  /** The request's `Content-Type` (`''` when it had none). */
  mimeType: string;
  /** The body. */
  text: string;
  /** A form body's fields (`application/x-www-form-urlencoded`). */
  params?: HarNameValue[];
  /** A free comment. */
  comment?: string;
}

/** The request of an entry. */
export interface HarRequest {
  /** The method as sent. */
  method: string;
  /** The absolute URL (credentials redacted unless redaction was turned off). */
  url: string;
  /** `HTTP/1.1`. */
  httpVersion: string;
  /** The cookies of the `Cookie` fields. */
  cookies: HarCookie[];
  /** The header fields the caller gave, in order and spelling (the agent adds `Host` and the framing fields). */
  headers: HarNameValue[];
  /** The URL's query parameters, in order. */
  queryString: HarNameValue[];
  /** The body, when there was one. */
  postData?: HarPostData;
  /** -1: not counted. */
  headersSize: number;
  /** Bytes of request body (0 for none). */
  bodySize: number;
  /** A free comment. */
  comment?: string;
}

/**
 * A response body. Strand stores the body as it was transferred (framing removed, content
 * coding kept: a gzip body stays gzip, in base64), so that it replays byte for byte.
 */
export interface HarContent {
  /** Bytes of the body as transferred. */
  size: number;
  /** The response's `Content-Type` (`''` when it had none). */
  mimeType: string;
  /** The body: UTF-8 text, or base64 when {@link HarContent.encoding} says so. Absent for an empty body. */
  text?: string;
  /** `base64` when `text` is base64; absent for UTF-8 text. */
  encoding?: string;
  /** Bytes saved by compression (HAR's field; Strand leaves it out). */
  compression?: number;
  /** A free comment. */
  comment?: string;
}

/** The response of an entry. */
export interface HarResponse {
  /** The status code. */
  status: number;
  /** The reason phrase as sent. */
  statusText: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  httpVersion: string;
  /** The cookies of the `Set-Cookie` fields. */
  cookies: HarCookie[];
  /** The header fields as received, in order and spelling. */
  headers: HarNameValue[];
  /** The body. */
  content: HarContent;
  /** The `Location` field, or `''`. */
  redirectURL: string;
  /** -1: not counted. */
  headersSize: number;
  /** Bytes of body as transferred. */
  bodySize: number;
  /** A free comment. */
  comment?: string;
}

/** Milliseconds spent in each phase; -1 for a phase that did not happen. */
export interface HarTimings {
  /** Waiting for a connection (queue, pool). */
  blocked?: number;
  /** Resolving the host name. */
  dns?: number;
  /** Opening the connection (DNS and TLS included). */
  connect?: number;
  /** Sending the request. */
  send: number;
  /** Waiting for the response head. */
  wait: number;
  /** Reading the response body. */
  receive: number;
  /** The TLS handshake. */
  ssl?: number;
  /** A free comment. */
  comment?: string;
}

/** An interim (1xx) response, as Strand keeps it in `_strand.informational`. */
export interface HarInformational {
  /** The interim status code (100..199). */
  status: number;
  /** Its reason phrase. */
  statusText: string;
  /** Its header fields, in order and spelling. */
  headers: HarNameValue[];
}

/** Strand's fields of an entry (`_strand`): what HAR has no place for, needed to replay the exchange byte for byte. */
export interface StrandEntryFields {
  /** The version of these fields: 1. */
  v: 1;
  /** True when `request.postData.text` is base64 (a body that is not UTF-8 text). */
  requestBodyBase64?: boolean;
  /**
   * Sizes of the response body's pieces as they reached the client, for a chunked body: a replay
   * sends one chunk per piece (pieces are never larger than the server's chunks).
   */
  chunks?: number[];
  /** Trailer fields after a chunked body. */
  trailers?: HarNameValue[];
  /** Interim (1xx) responses received before the final one. */
  informational?: HarInformational[];
  /**
   * How the body ended: `done` (its framing said it was complete), `potential-data-loss` (it
   * ended with the connection), or the `code` of the error that cut it.
   */
  end?: string;
  /** Where redaction replaced a value, e.g. `request.headers.authorization`, `request.url.password`. */
  redacted?: string[];
}

/** One exchange. */
export interface HarEntry {
  /** The page the entry belongs to (HAR's; Strand leaves it out). */
  pageref?: string;
  /** ISO 8601 time the request started. */
  startedDateTime: string;
  /** Total milliseconds. */
  time: number;
  /** The request. */
  request: HarRequest;
  /** The response. */
  response: HarResponse;
  /** Cache information (HAR's; always `{}`). */
  cache: Record<string, never>;
  /** Milliseconds per phase. */
  timings: HarTimings;
  /** The server's IP address (HAR's; Strand leaves it out). */
  serverIPAddress?: string;
  /** An identifier of the connection (HAR's; Strand leaves it out). */
  connection?: string;
  /** A free comment. */
  comment?: string;
  /** Strand's own fields. */
  _strand?: StrandEntryFields;
}

/** The program that wrote the log. */
export interface HarCreator {
  /** Its name: `strand`. */
  name: string;
  /** Its version. */
  version: string;
  /** A free comment. */
  comment?: string;
}

/** The log: the whole content of a HAR file is `{ log }`. */
export interface HarLog {
  /** The HAR version: `1.2`. */
  version: string;
  /** Who wrote it. */
  creator: HarCreator;
  /** The exchanges, in order. */
  entries: HarEntry[];
  /** A free comment. */
  comment?: string;
}

/** A HAR file's content. */
export interface Har {
  /** The log. */
  log: HarLog;
}

/** A HAR file could not be read: not JSON, or not shaped like HAR 1.2. `code` is `STRAND_HAR_INVALID`. */
export class HarFormatError extends StrandError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('STRAND_HAR_INVALID', message, options);
  }
}
brand(HarFormatError, 'client.HarFormatError');

/** A new, empty HAR log written by Strand. */
export function emptyHar(comment?: string): Har {
  const log: HarLog = { version: '1.2', creator: { name: 'strand', version: VERSION }, entries: [] };
  if (comment !== undefined) log.comment = comment;
  return { log };
}

/** `har` as the text of a `.har` file: JSON, two-space indented, ending with a newline. */
export function serializeHar(har: Har): string {
  return `${JSON.stringify(har, null, 2)}\n`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function must(ok: boolean, where: string, what: string): void {
  if (!ok) throw new HarFormatError(`not a HAR 1.2 log: ${where} must be ${what}`);
}

function checkPairs(value: unknown, where: string): void {
  must(Array.isArray(value), where, 'an array');
  (value as unknown[]).forEach((pair, i) => {
    must(isObject(pair) && typeof pair['name'] === 'string' && typeof pair['value'] === 'string', `${where}[${i}]`, 'an object with string name and value');
  });
}

/**
 * Reads the text of a HAR file. Checks the parts Strand relies on (the log, each entry's request
 * and response and their fields' types); other fields are kept as they are.
 *
 * @throws {@link HarFormatError} naming the first field that is missing or of the wrong type.
 */
export function parseHar(text: string): Har {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new HarFormatError(`not a HAR file: the text is not JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  must(isObject(data) && isObject(data['log']), 'the top level', 'an object with a log object');
  const log = (data as { log: Record<string, unknown> }).log;
  must(typeof log['version'] === 'string', 'log.version', 'a string');
  must(Array.isArray(log['entries']), 'log.entries', 'an array');
  (log['entries'] as unknown[]).forEach((entry, i) => {
    const where = `log.entries[${i}]`;
    must(isObject(entry), where, 'an object');
    const e = entry as Record<string, unknown>;
    must(typeof e['startedDateTime'] === 'string', `${where}.startedDateTime`, 'a string');
    const request = e['request'];
    must(isObject(request), `${where}.request`, 'an object');
    const req = request as Record<string, unknown>;
    must(typeof req['method'] === 'string' && req['method'] !== '', `${where}.request.method`, 'a method');
    must(typeof req['url'] === 'string' && URL.canParse(req['url']), `${where}.request.url`, 'an absolute URL');
    checkPairs(req['headers'], `${where}.request.headers`);
    if (req['postData'] !== undefined) must(isObject(req['postData']) && typeof (req['postData'] as Record<string, unknown>)['text'] === 'string', `${where}.request.postData`, 'an object with a text string');
    const response = e['response'];
    must(isObject(response), `${where}.response`, 'an object');
    const res = response as Record<string, unknown>;
    must(Number.isInteger(res['status']), `${where}.response.status`, 'an integer');
    must(typeof res['statusText'] === 'string', `${where}.response.statusText`, 'a string');
    checkPairs(res['headers'], `${where}.response.headers`);
    must(isObject(res['content']), `${where}.response.content`, 'an object');
    const content = res['content'] as Record<string, unknown>;
    must(content['text'] === undefined || typeof content['text'] === 'string', `${where}.response.content.text`, 'a string');
    must(content['encoding'] === undefined || content['encoding'] === 'base64', `${where}.response.content.encoding`, '"base64" or absent');
    const strand = e['_strand'];
    if (strand !== undefined) {
      must(isObject(strand), `${where}._strand`, 'an object');
      const s = strand as Record<string, unknown>;
      if (s['chunks'] !== undefined) must(Array.isArray(s['chunks']) && (s['chunks'] as unknown[]).every((n) => Number.isInteger(n) && (n as number) > 0), `${where}._strand.chunks`, 'an array of positive integers');
      if (s['trailers'] !== undefined) checkPairs(s['trailers'], `${where}._strand.trailers`);
      if (s['informational'] !== undefined) {
        must(Array.isArray(s['informational']), `${where}._strand.informational`, 'an array');
        (s['informational'] as unknown[]).forEach((info, j) => {
          must(isObject(info) && Number.isInteger(info['status']) && typeof info['statusText'] === 'string', `${where}._strand.informational[${j}]`, 'an object with status and statusText');
          checkPairs((info as Record<string, unknown>)['headers'], `${where}._strand.informational[${j}].headers`);
        });
      }
    }
  });
  return data as Har;
}

/** The request body of `entry` as bytes (empty when it has none). */
export function harRequestBody(entry: HarEntry): Buffer {
  const post = entry.request.postData;
  if (post === undefined) return Buffer.alloc(0);
  return Buffer.from(post.text, entry._strand?.requestBodyBase64 === true ? 'base64' : 'utf8');
}

/** The response body of `entry` as bytes, as transferred (empty when it has none). */
export function harResponseBody(entry: HarEntry): Buffer {
  const content = entry.response.content;
  if (content.text === undefined) return Buffer.alloc(0);
  return Buffer.from(content.text, content.encoding === 'base64' ? 'base64' : 'utf8');
}
