/**
 * `.netrc` (curl's `--netrc`, `--netrc-file`): `machine HOST login USER password PASS` entries,
 * and a `default` entry for any other host. The credentials found are given to the client's
 * `auth` option for that URL only, so they go to that origin and never follow a redirect to
 * another host.
 */

/** One `machine` (or `default`, with `machine` null) entry. */
export interface NetrcEntry {
  readonly machine: string | null;
  readonly login: string | undefined;
  readonly password: string | undefined;
}

/**
 * Splits netrc text into tokens: runs of non-space characters, or double-quoted strings with
 * `\"`, `\\`, `\n`, `\r`, `\t` escapes (as curl reads them). `#` starts a comment at the start of
 * a token. A `macdef` definition (up to the next empty line) is skipped.
 */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  const n = text.length;
  const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
  while (i < n) {
    const c = text[i];
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    let token = '';
    if (c === '"') {
      i++;
      while (i < n && text[i] !== '"') {
        let ch = text[i] as string;
        if (ch === '\\' && i + 1 < n) {
          i++;
          const next = text[i] as string;
          ch = next === 'n' ? '\n' : next === 'r' ? '\r' : next === 't' ? '\t' : next;
        }
        token += ch;
        i++;
      }
      i++; // the closing quote
    } else {
      while (i < n && !isSpace(text[i])) token += text[i++] as string;
    }
    if (token === 'macdef') {
      // A macro runs to the first empty line.
      const end = text.indexOf('\n\n', i);
      i = end < 0 ? n : end + 2;
      continue;
    }
    tokens.push(token);
  }
  return tokens;
}

/** Reads netrc text into its entries, in order. Unknown keywords (`account`…) are skipped with their value. */
export function parseNetrc(text: string): NetrcEntry[] {
  const entries: NetrcEntry[] = [];
  const tokens = tokenize(text);
  let current: { machine: string | null; login: string | undefined; password: string | undefined } | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const keyword = tokens[i];
    if (keyword === 'machine' || keyword === 'default') {
      if (current !== null) entries.push(current);
      current = { machine: keyword === 'default' ? null : (tokens[++i] ?? '').toLowerCase(), login: undefined, password: undefined };
    } else if (current !== null && keyword === 'login') {
      current.login = tokens[++i];
    } else if (current !== null && keyword === 'password') {
      current.password = tokens[++i];
    } else if (keyword === 'account') {
      i++;
    }
  }
  if (current !== null) entries.push(current);
  return entries;
}

/**
 * The `[login, password]` for `hostname`: the first `machine` entry naming it (case-insensitive,
 * any port), else the `default` entry; undefined when none has both a login and a password.
 */
export function netrcCredentials(entries: readonly NetrcEntry[], hostname: string): readonly [string, string] | undefined {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const entry = entries.find((e) => e.machine === host) ?? entries.find((e) => e.machine === null);
  if (entry === undefined || entry.login === undefined || entry.password === undefined) return undefined;
  return [entry.login, entry.password];
}
