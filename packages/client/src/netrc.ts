/**
 * The `netrc` option: Basic credentials for a request's host from a netrc file (curl's
 * `--netrc`, requests' default): `machine HOST login USER password PASS` entries and a `default`
 * entry for any other host. The credentials become the request's `auth`, which the client sends
 * to the request URL's origin only — never across a redirect to another origin.
 */

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@strand/core';
import { describe } from './fields.js';

/** One `machine` entry (or the `default` one, `machine` null). */
export interface NetrcEntry {
  /** The host name of a `machine` entry, or null for the `default` entry. */
  readonly machine: string | null;
  /** The `login` token, if the entry has one. */
  readonly login: string | undefined;
  /** The `password` token, if the entry has one. */
  readonly password: string | undefined;
}

/** The `netrc` option, checked: the file to read, or null for `$NETRC` (with `trustEnv`), else `~/.netrc`. */
export interface NormalizedNetrc {
  readonly path: string | null;
}

const DEFAULT_LOCATION: NormalizedNetrc = Object.freeze({ path: null });

/** Checks the `netrc` option; null when off. */
export function normalizeNetrc(value: unknown, option = 'netrc'): NormalizedNetrc | null {
  if (value === undefined || value === false) return null;
  if (value === true) return DEFAULT_LOCATION;
  if (typeof value === 'string' && value !== '' && !value.includes('\0')) return { path: value };
  throw new InvalidArgumentError(`${option} must be true (read $NETRC or ~/.netrc), false, or the path of a netrc file, got ${typeof value === 'string' ? JSON.stringify(value) : describe(value)}`);
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}

/**
 * Splits netrc text into tokens: runs of non-space characters, or double-quoted strings with
 * `\"`, `\\`, `\n`, `\r`, `\t` escapes (as curl reads them). `#` at the start of a token starts a
 * comment. A `macdef` definition (up to the next empty line) is skipped.
 */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const n = text.length;
  let i = 0;
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
      const start = i;
      while (i < n && !isSpace(text[i])) i++;
      token = text.slice(start, i);
    }
    if (token === 'macdef') {
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
 * The `[login, password]` for `hostname`: the first `machine` entry naming it (case-insensitive;
 * any port, as netrc has none), else the `default` entry; undefined when that entry has no
 * login. A missing password is empty (as requests reads it).
 */
export function netrcCredentials(entries: readonly NetrcEntry[], hostname: string): readonly [string, string] | undefined {
  let host = hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.length > 1 && host.endsWith('.')) host = host.slice(0, -1);
  const entry = entries.find((e) => e.machine === host) ?? entries.find((e) => e.machine === null);
  if (entry === undefined || entry.login === undefined) return undefined;
  return [entry.login, entry.password ?? ''];
}

/**
 * The netrc files a client has read, each read once, on first use (a failed read is tried again
 * next time). `true` means `$NETRC` when `trustEnv` and it is set, else `~/.netrc` (`$HOME`, or
 * the account's home directory); a file at neither place means no credentials. A path given
 * as the option must be readable: otherwise the request fails with an `InvalidArgumentError`
 * naming `netrc`, before anything is sent.
 */
export class NetrcFiles {
  private readonly files = new Map<string, Promise<NetrcEntry[]>>();

  /** The credentials for `hostname` from the file `netrc` names; undefined when there are none. */
  async credentials(netrc: NormalizedNetrc, hostname: string, trustEnv: boolean): Promise<readonly [string, string] | undefined> {
    let path = netrc.path;
    const explicit = path !== null;
    if (path === null) {
      const fromEnv = trustEnv ? process.env['NETRC'] : undefined;
      path = fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(process.env['HOME'] || homedir(), '.netrc');
    }
    let entries = this.files.get(path);
    if (entries === undefined) {
      entries = read(path, explicit);
      this.files.set(path, entries);
      const key = path;
      entries.catch(() => this.files.delete(key));
    }
    return netrcCredentials(await entries, hostname);
  }
}

async function read(path: string, explicit: boolean): Promise<NetrcEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (!explicit && code === 'ENOENT') return [];
    throw new InvalidArgumentError(`netrc: cannot read ${JSON.stringify(path)}: ${code ?? String(cause)}`, { cause });
  }
  return parseNetrc(text);
}
