/**
 * How a live request finds its recording: each recorded entry becomes a request pattern (the
 * same patterns and mismatch reports as route tables), compared with the live request after the
 * live request went through the same redaction as the recording.
 *
 * @packageDocumentation
 */

import { type HarEntry, type HarRedaction, harPairs, harRequest, harRequestBody, redactRequest } from '@strand/client';
import { InvalidArgumentError } from '@strand/core';
import { type Mismatch, type RequestPattern, comparePattern, formatMismatches } from '../server/pattern.js';
import { RecordedRequest } from '../server/recorded-request.js';
import { checkOptions, describeValue } from '../validation.js';

/**
 * What must be equal for a live request to be answered by a recording. By default: the method,
 * the URL (scheme, host, port, path, and the query in any order) and the body bytes.
 */
export interface MatchOptions {
  /** Compare the method. Default true. */
  method?: boolean;
  /** Compare the URL (query parameters in any order). Default true. */
  url?: boolean;
  /** Header fields that must be equal too (absent in both counts as equal). Default none. */
  headers?: readonly string[];
  /** Compare the body: `'bytes'` (default), `'json'` (parsed, key order free), or `false`. */
  body?: 'bytes' | 'json' | false;
  /** A last check: the live request (as received, not redacted) and the recorded entry. */
  where?: (request: RecordedRequest, entry: HarEntry) => boolean;
}

/** {@link MatchOptions} checked, with the defaults. */
export interface Matching {
  readonly method: boolean;
  readonly url: boolean;
  readonly headers: readonly string[];
  readonly body: 'bytes' | 'json' | false;
  readonly where: ((request: RecordedRequest, entry: HarEntry) => boolean) | null;
}

const MATCH_KEYS = ['method', 'url', 'headers', 'body', 'where'] as const;

/** Checks match options. @throws `InvalidArgumentError` naming `owner` and the option. */
export function matching(options: MatchOptions | undefined, owner: string): Matching {
  const checked = checkOptions(options ?? {}, MATCH_KEYS, `${owner}: match`);
  for (const key of ['method', 'url'] as const) {
    if (checked[key] !== undefined && typeof checked[key] !== 'boolean') throw new InvalidArgumentError(`${owner}: match.${key} must be a boolean, got ${describeValue(checked[key])}`);
  }
  const headers = checked['headers'] ?? [];
  if (!Array.isArray(headers) || !headers.every((h) => typeof h === 'string' && h !== '')) throw new InvalidArgumentError(`${owner}: match.headers must be an array of header names, got ${describeValue(headers)}`);
  const body = checked['body'] ?? 'bytes';
  if (body !== 'bytes' && body !== 'json' && body !== false) throw new InvalidArgumentError(`${owner}: match.body must be 'bytes', 'json' or false, got ${describeValue(body)}`);
  const where = checked['where'];
  if (where !== undefined && typeof where !== 'function') throw new InvalidArgumentError(`${owner}: match.where must be a function (request, entry) => boolean, got ${describeValue(where)}`);
  return {
    method: checked['method'] !== false,
    url: checked['url'] !== false,
    headers: (headers as string[]).map((h) => h.toLowerCase()),
    body,
    where: (where as Matching['where'] | undefined) ?? null,
  };
}

/** `live` with the redaction of the recording applied, so it compares with what was written. */
export function redactLive(live: RecordedRequest, rules: HarRedaction | null): RecordedRequest {
  if (rules === null) return live;
  const { request } = harRequest({ method: live.method, url: live.url.href, headers: harPairs(live.headers), body: live.body });
  const redacted = redactRequest(request, rules);
  const flat: string[] = [];
  for (const { name, value } of redacted.headers) flat.push(name, value);
  const post = redacted.postData;
  const body = post !== undefined && post.text !== request.postData?.text ? Buffer.from(post.text, 'utf8') : live.body;
  return new RecordedRequest({ index: live.index, method: live.method, url: new URL(redacted.url), target: live.target, httpVersion: live.httpVersion, rawHeaders: flat, body, connectionId: live.connectionId });
}

/** The pattern a recorded entry asks of a (redacted) live request. */
function patternOf(entry: HarEntry, rules: Matching, live: RecordedRequest): RequestPattern {
  const pattern: RequestPattern = {};
  const request = entry.request;
  if (rules.method) pattern.method = request.method;
  if (rules.url) pattern.url = request.url;
  if (rules.headers.length > 0) {
    const headers: Record<string, string | null> = {};
    for (const name of rules.headers) {
      const values = request.headers.filter((h) => h.name.toLowerCase() === name).map((h) => h.value);
      headers[name] = values.length === 0 ? null : values.join(', ');
    }
    pattern.headers = headers;
  }
  const body = harRequestBody(entry);
  if (rules.body === 'bytes') pattern.body = body;
  else if (rules.body === 'json') {
    try {
      if (body.length === 0) pattern.body = body;
      else pattern.json = JSON.parse(body.toString('utf8'));
    } catch {
      pattern.body = body;
    }
  }
  const where = rules.where;
  if (where !== null) pattern.where = () => where(live, entry);
  return pattern;
}

/** How a live request compares with one entry. */
export function compareEntry(entry: HarEntry, rules: Matching, live: RecordedRequest, redacted: RecordedRequest): readonly Mismatch[] {
  return comparePattern(patternOf(entry, rules, live), redacted).mismatches;
}

/** `METHOD url` of an entry, for messages. */
export function describeEntry(entry: HarEntry, index: number): string {
  return `#${index + 1} ${entry.request.method} ${entry.request.url}`;
}

/**
 * The explanation of a request no recording answers: the closest recording and what differed,
 * or that every recording of it was replayed already.
 */
export function explainMiss(entries: readonly HarEntry[], used: readonly boolean[], rules: Matching, live: RecordedRequest, redacted: RecordedRequest, cassette: string): string {
  const lines = [`no recording in ${cassette} matches ${live.method} ${live.url.href}`];
  if (entries.length === 0) {
    lines.push('the cassette is empty: record it (STRAND_RECORD=record-missing, or mode: "record-missing")');
    return lines.join('\n');
  }
  let best: { index: number; mismatches: readonly Mismatch[] } | null = null;
  entries.forEach((entry, index) => {
    const mismatches = compareEntry(entry, rules, live, redacted);
    if (best === null || mismatches.length < best.mismatches.length || (mismatches.length === best.mismatches.length && used[best.index] === true && used[index] !== true)) best = { index, mismatches };
  });
  const closest = best as unknown as { index: number; mismatches: readonly Mismatch[] };
  const entry = entries[closest.index] as HarEntry;
  if (closest.mismatches.length === 0) {
    const times = entries.filter((e, i) => used[i] === true && compareEntry(e, rules, live, redacted).length === 0).length;
    lines.push(`every recording of it was replayed already (${times} time${times === 1 ? '' : 's'}); record the extra request (record-missing), or remove the extra call`);
    return lines.join('\n');
  }
  lines.push(`closest recording: ${describeEntry(entry, closest.index)}${used[closest.index] === true ? ' (already replayed)' : ''}`);
  lines.push(formatMismatches(closest.mismatches));
  return lines.join('\n');
}
