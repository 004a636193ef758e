/**
 * Typed readings of the header fields programs most often need, behind the accessors of
 * `Headers`: `Content-Type` (RFC 9110 media types), `Cache-Control` (RFC 9111 directives),
 * HTTP-dates and `Retry-After` (RFC 9110), `Link` (RFC 8288) and the `RateLimit` /
 * `RateLimit-Policy` fields of the IETF draft (structured fields, RFC 9651).
 *
 * These are field grammars of their own, read tolerantly the way browsers and caches do: what
 * cannot be understood is skipped (or makes the reading undefined), never thrown. Every reader
 * is one forward pass over the field, linear in its length whatever it holds.
 *
 * @packageDocumentation
 */

import { isToken, isTokenChar } from '../validate.js';
import { type StructuredParameters, StructuredFieldError, Token, isInnerList, parseStructuredField } from './structured-fields.js';

const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const COMMA = 0x2c;
const SLASH = 0x2f;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;

function isOWS(c: number): boolean {
  return c === SPACE || c === TAB;
}

/**
 * Reads the quoted-string whose opening quote is at `start`: its content with quoted-pairs
 * undone, and the index after its closing quote (the end of `s` when it is unterminated, whose
 * content is then what there is, as browsers read it).
 */
function readQuoted(s: string, start: number): { text: string; end: number } {
  const n = s.length;
  let i = start + 1;
  let run = i;
  let text = '';
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) return { text: text + s.slice(run, i), end: i + 1 };
    if (c === BACKSLASH && i + 1 < n) {
      text += s.slice(run, i);
      run = i + 1;
      i += 2;
      continue;
    }
    i++;
  }
  return { text: text + s.slice(run, n), end: n };
}

/** The index after the quoted-string whose opening quote is at `start` (the end of `s` when unterminated). */
function quotedEnd(s: string, start: number): number {
  const n = s.length;
  let i = start + 1;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    i += c === BACKSLASH ? 2 : 1;
  }
  return n;
}

/** The index of the next `stop` character at or after `i` outside quoted strings, or the end of `s`. */
function skipTo(s: string, i: number, stop: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === stop) return i;
    i = c === QUOTE ? quotedEnd(s, i) : i + 1;
  }
  return n;
}

function skipOWS(s: string, i: number): number {
  while (i < s.length && isOWS(s.charCodeAt(i))) i++;
  return i;
}

function skipToken(s: string, i: number): number {
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  return i;
}

// ---- Content-Type: media types (RFC 9110 §8.3.1) ----

/** A media type such as `text/html; charset=utf-8`, as {@link parseMediaType} reads it. */
export interface MediaType {
  /** The top-level type, lower-cased: `text`. */
  readonly type: string;
  /** The subtype, lower-cased: `html`. */
  readonly subtype: string;
  /** `type/subtype`, lower-cased: the part to compare (`application/json`). */
  readonly essence: string;
  /** The parameters in order, names lower-cased, values as sent (unquoted); of a name given twice, the first counts. */
  readonly parameters: ReadonlyMap<string, string>;
  /** The `charset` parameter lower-cased (charset names are case-insensitive), undefined without one. */
  readonly charset: string | undefined;
}

function mediaType(type: string, subtype: string, parameters: ReadonlyMap<string, string>): MediaType {
  return { type, subtype, essence: `${type}/${subtype}`, parameters, charset: parameters.get('charset')?.toLowerCase() };
}

/**
 * Reads one media type (RFC 9110 §8.3.1: `type "/" subtype *( OWS ";" OWS [ name "=" value ] )`,
 * the value a token or a quoted-string). Type, subtype and parameter names are case-insensitive
 * and come back lower-cased. A parameter that is not `name=value` is skipped, as browsers do;
 * undefined when there is no `type/subtype` or something else follows it.
 *
 * @example
 * ```ts
 * parseMediaType('Text/HTML; Charset="UTF-8"'); // { essence: 'text/html', charset: 'utf-8', parameters: Map { 'charset' => 'UTF-8' }, … }
 * ```
 */
export function parseMediaType(value: string): MediaType | undefined {
  const s = value;
  const n = s.length;
  let i = skipOWS(s, 0);
  const typeStart = i;
  i = skipToken(s, i);
  if (i === typeStart || s.charCodeAt(i) !== SLASH) return undefined;
  const type = s.slice(typeStart, i).toLowerCase();
  const subtypeStart = ++i;
  i = skipToken(s, i);
  if (i === subtypeStart) return undefined;
  const subtype = s.slice(subtypeStart, i).toLowerCase();
  const parameters = new Map<string, string>();
  i = skipOWS(s, i);
  while (i < n) {
    if (s.charCodeAt(i) !== SEMICOLON) return undefined;
    i = skipOWS(s, i + 1);
    const nameStart = i;
    i = skipToken(s, i);
    const name = s.slice(nameStart, i).toLowerCase();
    if (name === '' || s.charCodeAt(i) !== EQUALS) {
      i = skipTo(s, i, SEMICOLON);
      continue;
    }
    i++;
    let parameterValue: string | undefined;
    if (s.charCodeAt(i) === QUOTE) {
      const quoted = readQuoted(s, i);
      parameterValue = quoted.text;
      i = skipTo(s, quoted.end, SEMICOLON); // anything after the closing quote is dropped
    } else {
      const valueStart = i;
      i = skipTo(s, i, SEMICOLON);
      let valueEnd = i;
      while (valueEnd > valueStart && isOWS(s.charCodeAt(valueEnd - 1))) valueEnd--;
      const raw = s.slice(valueStart, valueEnd);
      if (isToken(raw)) parameterValue = raw;
    }
    if (parameterValue !== undefined && !parameters.has(name)) parameters.set(name, parameterValue);
  }
  return mediaType(type, subtype, parameters);
}

/** Splits field values at commas outside quoted strings, trimming each part (the WHATWG "getting, decoding, and splitting"). */
function splitList(lines: readonly string[]): string[] {
  const parts: string[] = [];
  for (const line of lines) {
    let start = 0;
    for (;;) {
      const end = skipTo(line, start, COMMA);
      parts.push(line.slice(start, end).trim());
      if (end >= line.length) break;
      start = end + 1;
    }
  }
  return parts;
}

/**
 * The media type of `Content-Type` field lines as browsers extract it (the Fetch standard's
 * "extract a MIME type"): the values are split at commas outside quotes, and the last one that
 * parses and is not `*\/*` wins; it inherits the charset of an earlier value of the same essence
 * when it has none itself. Undefined when none parses.
 */
export function contentTypeOf(lines: readonly string[]): MediaType | undefined {
  let result: MediaType | undefined;
  let charset: string | undefined;
  for (const part of splitList(lines)) {
    const parsed = parseMediaType(part);
    if (parsed === undefined || parsed.essence === '*/*') continue;
    if (parsed.essence !== result?.essence) {
      charset = parsed.parameters.get('charset');
      result = parsed;
    } else if (!parsed.parameters.has('charset') && charset !== undefined) {
      const parameters = new Map(parsed.parameters);
      parameters.set('charset', charset);
      result = mediaType(parsed.type, parsed.subtype, parameters);
    } else {
      result = parsed;
    }
  }
  return result;
}

// ---- Cache-Control (RFC 9111 §5.2) ----

/**
 * The directives of `Cache-Control`, names lower-cased, in order: `true` for a directive without
 * an argument (`no-store`), a `number` of seconds for a delta-seconds argument (`max-age`,
 * `s-maxage`, `max-stale`, `min-fresh`, `stale-while-revalidate`, `stale-if-error`; capped at
 * 2^31 as RFC 9111 §1.2.2 says), the argument unquoted otherwise (`no-cache="Set-Cookie"`).
 */
export type CacheDirectives = Map<string, string | number | true>;

const DELTA_SECONDS_DIRECTIVES: ReadonlySet<string> = new Set(['max-age', 's-maxage', 'max-stale', 'min-fresh', 'stale-while-revalidate', 'stale-if-error']);
const DELTA_SECONDS_CAP = 2 ** 31;

/**
 * Reads `Cache-Control` field lines (RFC 9111 §5.2: `#( token [ "=" ( token / quoted-string ) ] )`),
 * tolerantly: OWS around `=` is allowed, an element that is not a directive is skipped, and of a
 * directive given twice the first counts (RFC 9111 §4.2.1). A delta-seconds directive whose
 * argument is not digits keeps it as a string: RFC 9111 §4.2.1 encourages treating such a
 * response as stale.
 */
export function parseCacheControl(lines: readonly string[]): CacheDirectives {
  const directives: CacheDirectives = new Map();
  for (const s of lines) {
    const n = s.length;
    let i = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === COMMA || isOWS(c)) {
        i++;
        continue;
      }
      const nameStart = i;
      i = skipToken(s, i);
      if (i === nameStart) {
        i = skipTo(s, i, COMMA);
        continue;
      }
      const name = s.slice(nameStart, i).toLowerCase();
      let value: string | true = true;
      i = skipOWS(s, i);
      if (s.charCodeAt(i) === EQUALS) {
        i = skipOWS(s, i + 1);
        if (s.charCodeAt(i) === QUOTE) {
          const quoted = readQuoted(s, i);
          value = quoted.text;
          i = quoted.end;
        } else {
          const valueStart = i;
          i = skipToken(s, i);
          value = s.slice(valueStart, i);
        }
        i = skipOWS(s, i);
      }
      if (i < n && s.charCodeAt(i) !== COMMA) {
        i = skipTo(s, i, COMMA); // junk after the directive: it is not one
        continue;
      }
      if (directives.has(name)) continue;
      directives.set(name, typeof value === 'string' && DELTA_SECONDS_DIRECTIVES.has(name) && /^\d+$/.test(value) ? Math.min(Number(value), DELTA_SECONDS_CAP) : value);
    }
  }
  return directives;
}

// ---- HTTP-date (RFC 9110 §5.6.7) and Retry-After (§10.2.3) ----

const MONTHS = 'Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec';
const MONTH_INDEX: Readonly<Record<string, number>> = Object.fromEntries(MONTHS.split('|').map((name, index) => [name.toLowerCase(), index]));
/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTHS}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`, 'i');
/** `Sunday, 06-Nov-94 08:49:37 GMT` (obsolete) */
const RFC850_DATE = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTHS})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`, 'i');
/** `Sun Nov  6 08:49:37 1994` (obsolete; UTC) */
const ASCTIME_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTHS}) ([ \\d]\\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`, 'i');

function utc(year: number, month: string, day: number, hour: number, minute: number, second: number): number | undefined {
  const monthIndex = MONTH_INDEX[month.toLowerCase()] as number;
  if (day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day); // not Date.UTC: it reads years 0-99 as 1900-1999
  if (date.getUTCDate() !== day) return undefined; // 31 Feb
  date.setUTCHours(hour, minute, second);
  return date.getTime();
}

/**
 * Reads an HTTP-date (RFC 9110 §5.6.7) into ms since the epoch: the preferred IMF-fixdate
 * (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete formats recipients must accept, RFC 850
 * (`Sunday, 06-Nov-94 08:49:37 GMT`, a two-digit year more than 50 years ahead of `now` being
 * the century before) and asctime (`Sun Nov  6 08:49:37 1994`, read as UTC, unlike
 * `Date.parse`). Names are matched case-insensitively; the day name is not checked against the
 * date. Undefined for anything else.
 */
export function parseHttpDate(value: string, now: number = Date.now()): number | undefined {
  const s = value.trim();
  let m = IMF_FIXDATE.exec(s);
  if (m !== null) return utc(Number(m[3]), m[2] as string, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC850_DATE.exec(s);
  if (m !== null) {
    const thisYear = new Date(now).getUTCFullYear();
    let year = thisYear - (thisYear % 100) + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(year, m[2] as string, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME_DATE.exec(s);
  if (m !== null) return utc(Number(m[6]), m[1] as string, Number((m[2] as string).trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return undefined;
}

/**
 * The wait a `Retry-After` value asks for, in ms (never negative): delay-seconds, or an HTTP-date
 * measured against `date` (the message's own `Date`, the server's clock, when it is valid) or
 * else `now`. Undefined when the value is absent or neither.
 */
export function retryAfterDelay(value: string | undefined, date: string | undefined, now: number): number | undefined {
  const s = value?.trim();
  if (s === undefined || s === '') return undefined;
  if (/^\d+$/.test(s)) return Math.min(Number(s) * 1000, Number.MAX_SAFE_INTEGER);
  const at = parseHttpDate(s, now);
  if (at === undefined) return undefined;
  const sent = date === undefined ? undefined : parseHttpDate(date, now);
  return Math.max(0, at - (sent ?? now));
}

// ---- RateLimit and RateLimit-Policy (draft-ietf-httpapi-ratelimit-headers-11) ----

/** One service limit of a `RateLimit` field: `"default";r=50;t=30`. */
export interface RateLimit {
  /** The quota policy it belongs to (the item: a String, or a Token). */
  readonly policy: string;
  /** `r`: the quota still available, in the policy's quota units. */
  readonly remaining: number;
  /** `t`: the effective window, in seconds: the time within which no more than `remaining` may be used. */
  readonly reset: number | undefined;
  /** `pk`: the partition key. */
  readonly partitionKey: Uint8Array | undefined;
  /** Every parameter of the item, the ones above and others (vendor extensions) alike. */
  readonly params: StructuredParameters;
}

/** One quota policy of a `RateLimit-Policy` field: `"daily";q=1000;w=86400`. */
export interface RateLimitPolicy {
  /** The policy's name (the item: a String, or a Token). */
  readonly policy: string;
  /** `q`: the quota the policy allocates, in `quotaUnit`s. */
  readonly quota: number;
  /** `qu`: what the quota counts: `requests` (the default), `content-bytes`, `concurrent-requests`. */
  readonly quotaUnit: string;
  /** `w`: the time window, in seconds. */
  readonly window: number | undefined;
  /** `pk`: the partition key. */
  readonly partitionKey: Uint8Array | undefined;
  /** Every parameter of the item, the ones above and others (vendor extensions) alike. */
  readonly params: StructuredParameters;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reads a List field whose members are policy items (a String or a Token with parameters), each
 * through `read`; undefined when the field is empty, does not parse, or any member is malformed:
 * the draft says malformed RateLimit fields MUST be ignored.
 */
function readPolicyList<T>(lines: readonly string[], read: (policy: string, params: StructuredParameters) => T | undefined): T[] | undefined {
  let list;
  try {
    list = parseStructuredField(lines, 'list');
  } catch (error) {
    if (error instanceof StructuredFieldError) return undefined;
    throw error;
  }
  if (list.length === 0) return undefined;
  const out: T[] = [];
  for (const member of list) {
    if (isInnerList(member)) return undefined;
    const name = member.value;
    const policy = typeof name === 'string' ? name : name instanceof Token ? name.value : undefined;
    const entry = policy === undefined ? undefined : read(policy, member.params);
    if (entry === undefined) return undefined;
    out.push(entry);
  }
  return out;
}

/** The service limits of `RateLimit` field lines (a List of `"policy";r=…;t=…;pk=…`), undefined when malformed. */
export function parseRateLimit(lines: readonly string[]): RateLimit[] | undefined {
  return readPolicyList(lines, (policy, params) => {
    const remaining = params.get('r');
    const reset = params.get('t');
    const partitionKey = params.get('pk');
    if (!isCount(remaining) || (reset !== undefined && !isCount(reset)) || (partitionKey !== undefined && !(partitionKey instanceof Uint8Array))) return undefined;
    return { policy, remaining, reset, partitionKey, params };
  });
}

/** The quota policies of `RateLimit-Policy` field lines (a List of `"policy";q=…;qu=…;w=…;pk=…`), undefined when malformed. */
export function parseRateLimitPolicy(lines: readonly string[]): RateLimitPolicy[] | undefined {
  return readPolicyList(lines, (policy, params) => {
    const quota = params.get('q');
    const quotaUnit = params.get('qu') ?? 'requests';
    const window = params.get('w');
    const partitionKey = params.get('pk');
    if (!isCount(quota) || typeof quotaUnit !== 'string' || (window !== undefined && !(isCount(window) && window > 0)) || (partitionKey !== undefined && !(partitionKey instanceof Uint8Array))) {
      return undefined;
    }
    return { policy, quota, quotaUnit, window, partitionKey, params };
  });
}

// ---- Link (RFC 8288 §3) ----

/**
 * One link of a `Link` header. `url` is the target resolved against the base URL given to
 * {@link parseLinks}; the other members are the link's parameters, names lower-cased, values as
 * sent without their quotes (a parameter without a value is `''`; an extended value such as
 * `title*` is left as sent, e.g. `UTF-8'de'n%c3%a4chstes`). Of a parameter given twice, the
 * first counts. The object has a null prototype: a parameter named `__proto__` is just a key.
 */
export interface Link {
  /** The target URI, resolved against the base URL (as sent, when it does not resolve). */
  readonly url: string;
  /** One relation type, lower-cased (`next`); a link with `rel="next prev"` is two links, one per type. Absent when the link has no `rel`. */
  readonly rel?: string;
  readonly [param: string]: string | undefined;
}

/**
 * The links of `Link` field values (several fields, several links per field), in order. A link
 * with several `rel` types is listed once per type; targets are resolved against `base`. What
 * cannot be parsed is skipped up to the next link, never thrown. One pass over each value: the
 * work is linear in its length whatever it holds.
 *
 * @example
 * ```ts
 * parseLinks(['<?page=3>; rel="next", </items?page=1>; rel="first prev"'], 'https://api.example/items?page=2');
 * // [{ url: 'https://api.example/items?page=3', rel: 'next' },
 * //  { url: 'https://api.example/items?page=1', rel: 'first' }, { url: …, rel: 'prev' }]
 * ```
 */
export function parseLinks(values: Iterable<string>, base?: string | URL): Link[] {
  const out: Link[] = [];
  for (const value of values) parseLinkField(value, base, out);
  return out;
}

/** Reads one field value's links into `out`. Every step moves `i` forward. */
function parseLinkField(s: string, base: string | URL | undefined, out: Link[]): void {
  const n = s.length;
  let i = 0;
  while (i < n) {
    i = skipOWS(s, i);
    if (i >= n) break;
    if (s.charCodeAt(i) === COMMA) {
      i++;
      continue;
    }
    if (s[i] !== '<') {
      i = skipTo(s, i, COMMA);
      continue;
    }
    const close = s.indexOf('>', i + 1);
    if (close === -1) return; // no target can end anywhere after this
    const target = s.slice(i + 1, close).trim();
    i = close + 1;
    const params: Array<[string, string]> = [];
    for (;;) {
      i = skipOWS(s, i);
      if (i >= n || s.charCodeAt(i) === COMMA) break;
      if (s.charCodeAt(i) !== SEMICOLON) {
        // Junk after the target or a parameter: this link ends at the next comma, as it is.
        i = skipTo(s, i, COMMA);
        break;
      }
      i = skipOWS(s, i + 1);
      const nameStart = i;
      i = skipToken(s, i);
      const name = s.slice(nameStart, i).toLowerCase();
      if (name === '') continue; // `;;` or `; =x`: the loop skips what follows
      i = skipOWS(s, i);
      let value = '';
      if (i < n && s.charCodeAt(i) === EQUALS) {
        i = skipOWS(s, i + 1);
        if (i < n && s.charCodeAt(i) === QUOTE) {
          const quoted = readQuoted(s, i);
          value = quoted.text;
          i = quoted.end;
        } else {
          const valueStart = i;
          while (i < n) {
            const c = s.charCodeAt(i);
            if (c === SEMICOLON || c === COMMA || isOWS(c)) break;
            i++;
          }
          value = s.slice(valueStart, i);
        }
      }
      params.push([name, value]);
    }
    addLink(target, params, base, out);
  }
}

/** Adds the link (one per `rel` type) to `out`. */
function addLink(target: string, params: ReadonlyArray<readonly [string, string]>, base: string | URL | undefined, out: Link[]): void {
  let url = target;
  try {
    url = new URL(target, base).href;
  } catch {
    // Not resolvable (no base for a relative reference, or not a URI): kept as sent.
  }
  // A null prototype: parameter names come from the server (`__proto__`, `constructor`…).
  const link = Object.create(null) as Record<string, string>;
  link['url'] = url;
  for (const [name, value] of params) {
    if (name in link) continue; // the first of a parameter counts; `url` is the target's
    link[name] = value;
  }
  const rel = link['rel'];
  if (rel === undefined) {
    out.push(link as Link);
    return;
  }
  const types = rel.split(/[ \t]+/).filter((type) => type !== '');
  if (types.length === 0) delete link['rel'];
  if (types.length <= 1) {
    if (types.length === 1) link['rel'] = (types[0] as string).toLowerCase();
    out.push(link as Link);
    return;
  }
  for (const type of types) out.push(Object.assign(Object.create(null) as Record<string, string>, link, { rel: type.toLowerCase() }) as Link);
}

/**
 * The links keyed the way requests' `response.links` is: by `rel` type (lower-cased), or by URL
 * for a link without one. When several links share a key, the first one counts.
 */
export function linksByRel(links: readonly Link[]): Record<string, Link> {
  const byRel = Object.create(null) as Record<string, Link>;
  for (const link of links) {
    const key = link.rel ?? link.url;
    if (!(key in byRel)) byRel[key] = link;
  }
  return byRel;
}
