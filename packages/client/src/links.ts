/**
 * `Link` header fields (RFC 8288 §3): `<uri>; rel="next"; title="…", <uri2>; rel=prev`, read in
 * one pass over each field value — linear in its length whatever it holds, so a hostile header
 * costs no more than reading it.
 */

/**
 * One link of a `Link` header. `url` is the target resolved against the response's URL; the
 * other members are the link's parameters, names lower-cased, values as sent without their
 * quotes (a parameter without a value is `''`; an extended value such as `title*` is left as
 * sent, e.g. `UTF-8'de'n%c3%a4chstes`). Of a parameter given twice, the first counts.
 */
export interface Link {
  /** The target URI, resolved against the response URL (as sent, when it does not resolve). */
  readonly url: string;
  /** One relation type, lower-cased (`next`); a link with `rel="next prev"` is two links, one per type. Absent when the link has no `rel`. */
  readonly rel?: string;
  readonly [param: string]: string | undefined;
}

const SPACE = 0x20;
const TAB = 0x09;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** RFC 9110 tchar. */
function isTokenChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x21 ||
    (c >= 0x23 && c <= 0x27) ||
    c === 0x2a ||
    c === 0x2b ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5e ||
    c === 0x5f ||
    c === 0x60 ||
    c === 0x7c ||
    c === 0x7e
  );
}

/**
 * The links of `Link` field values (several fields, several links per field), in order. A link
 * with several `rel` types is listed once per type; targets are resolved against `base`. What
 * cannot be parsed is skipped up to the next link, never thrown.
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
  for (const value of values) parseField(value, base, out);
  return out;
}

/** Reads one field value's links into `out`. Every step moves `i` forward: the work is linear in the value. */
function parseField(s: string, base: string | URL | undefined, out: Link[]): void {
  const n = s.length;
  let i = 0;
  const skipSpace = (): void => {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c !== SPACE && c !== TAB) break;
      i++;
    }
  };
  /** Moves to the comma that ends the current link (outside quoted strings), or the end. */
  const skipToNextLink = (): void => {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === COMMA) return;
      if (c === QUOTE) readQuoted();
      else i++;
    }
  };
  /** Reads the quoted-string at `i` (a quote) and returns its content, unescaped. */
  const readQuoted = (): string => {
    i++;
    let start = i;
    let text = '';
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === QUOTE) {
        text += s.slice(start, i);
        i++;
        return text;
      }
      if (c === BACKSLASH && i + 1 < n) {
        text += s.slice(start, i);
        start = i + 1;
        i += 2;
        continue;
      }
      i++;
    }
    return text + s.slice(start, n); // unterminated: what there is
  };

  while (i < n) {
    skipSpace();
    if (i >= n) break;
    if (s.charCodeAt(i) === COMMA) {
      i++;
      continue;
    }
    if (s[i] !== '<') {
      skipToNextLink();
      continue;
    }
    const close = s.indexOf('>', i + 1);
    if (close === -1) return; // no target can end anywhere after this
    const target = s.slice(i + 1, close).trim();
    i = close + 1;
    const params: Array<[string, string]> = [];
    for (;;) {
      skipSpace();
      if (i >= n || s.charCodeAt(i) === COMMA) break;
      if (s.charCodeAt(i) !== SEMICOLON) {
        // Junk after the target or a parameter: this link ends at the next comma, as it is.
        skipToNextLink();
        break;
      }
      i++;
      skipSpace();
      const nameStart = i;
      while (i < n && isTokenChar(s.charCodeAt(i))) i++;
      const name = s.slice(nameStart, i).toLowerCase();
      if (name === '') continue; // `;;` or `; =x`: the loop skips what follows
      skipSpace();
      let value = '';
      if (i < n && s.charCodeAt(i) === EQUALS) {
        i++;
        skipSpace();
        if (i < n && s.charCodeAt(i) === QUOTE) {
          value = readQuoted();
        } else {
          const valueStart = i;
          while (i < n) {
            const c = s.charCodeAt(i);
            if (c === SEMICOLON || c === COMMA || c === SPACE || c === TAB) break;
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
