/**
 * Header fields as HTTP/2 carries them (RFC 9113 §8.2–8.3): names in lower case, the request
 * line and `Host` as pseudo-header fields, no connection-specific fields.
 *
 * @packageDocumentation
 */

import type { OutgoingHttpHeaders } from 'node:http2';
import { InvalidRequestError } from '../errors.js';
import { Headers, headersBackingList } from '../message/headers.js';
import type { PreparedRequest } from '../http1/serializer.js';

/**
 * Fields that only mean something to one HTTP/1.1 connection (RFC 9113 §8.2.2): a client
 * never sends them over HTTP/2. `host` becomes `:authority`; `content-length` is written from
 * the body's length; the others are dropped.
 */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'content-length']);

/**
 * The HTTP/2 header block of a request prepared by `prepareRequest` (already validated: tokens,
 * no CR/LF/NUL, framing fields checked): `:method`, `:scheme`, `:authority` (the `Host` value),
 * `:path`, then the caller's fields in lower case without the connection-specific ones, the
 * fields the `Connection` header nominates, or a `TE` other than `trailers`, and
 * `content-length` when the body's length is known.
 *
 * @throws {@link InvalidRequestError} for `CONNECT` (a tunnel is not a request this agent makes).
 */
export function requestFields(req: PreparedRequest): OutgoingHttpHeaders {
  if (req.method === 'CONNECT') throw new InvalidRequestError('CONNECT is not supported over HTTP/2 by this agent; use a ProxyAgent or an HTTP/1.1 agent', { url: req.url });
  const fields: OutgoingHttpHeaders = {
    ':method': req.method,
    ':scheme': req.url.protocol === 'https:' ? 'https' : 'http',
    ':authority': req.hostHeader,
    ':path': req.target,
  };
  const list = headersBackingList(req.headers);
  const nominated = nominatedFields(req.headers);
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = (list[i] as string).toLowerCase();
    const value = list[i + 1] as string;
    if (CONNECTION_SPECIFIC.has(name) || (nominated !== null && nominated.has(name))) continue;
    // TE is allowed only as "trailers" (RFC 9113 §8.2.2).
    if (name === 'te' && value.trim().toLowerCase() !== 'trailers') continue;
    const previous = fields[name];
    if (previous === undefined) fields[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else fields[name] = [String(previous), value];
  }
  if (req.framing === 'length') fields['content-length'] = String(req.contentLength);
  return fields;
}

/** The lower-case field names listed in the request's `Connection` header, or null. */
function nominatedFields(headers: Headers): Set<string> | null {
  const connection = headers.getAll('connection');
  if (connection.length === 0) return null;
  const names = new Set<string>();
  for (const value of connection) {
    for (const part of value.split(',')) {
      const name = part.trim().toLowerCase();
      if (name !== '') names.add(name);
    }
  }
  return names;
}

/**
 * A response's (or trailers') fields as core {@link Headers}: from Node's raw list
 * (`[name, value, ...]`, names already lower case and validated by nghttp2) without the
 * pseudo-header fields.
 */
export function fieldsFromRaw(raw: readonly string[]): Headers {
  const list: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.charCodeAt(0) === 0x3a /* ':' */) continue;
    list.push(name, raw[i + 1] as string);
  }
  return Headers.fromRaw(list);
}

/** Fields from Node's header object (used for trailers, which come without a raw list). */
export function fieldsFromObject(fields: Readonly<Record<string, string | string[] | number | undefined>>): Headers {
  const list: string[] = [];
  for (const name of Object.keys(fields)) {
    if (name.charCodeAt(0) === 0x3a) continue;
    const value = fields[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) list.push(name, v);
    else list.push(name, String(value));
  }
  return Headers.fromRaw(list);
}
