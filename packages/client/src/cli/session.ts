/**
 * What every transfer of one `strand` run shares, whichever sub-command: the agent (TLS options,
 * `-x` proxy, `--retry`), one client with the `-b`/`-c` cookie jar, the headers (`-H`, `-A`,
 * `-e`), timeouts, `--netrc` and `-u` credentials, and the options curl users type for both.
 */

import { readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  type Agent,
  BrowserLikePolicyForHTTPS,
  CachingAgent,
  FileCacheStore,
  HTTPConnectionPool,
  HttpAgent,
  InsecurePolicyForHTTPS,
  RetryAgent,
  StandardEndpointFactory,
  StrandError,
  type TLSPolicy,
} from '@strand/core';
import type { CookieJar } from 'tough-cookie';
import { HTTPClient } from '../client.js';
import { emptyHar, serializeHar } from '../har/model.js';
import { HarRecorder } from '../har/recorder.js';
import { VERSION } from '../version.js';
import { createCookieJar } from '../cookies.js';
import type { AuthInit, ClientRequestOptions, TimeoutPhases } from '../types.js';
import { type CommandIO, UsageError, nonNegativeInteger, nonNegativeSeconds, seconds, write } from './common.js';
import { formatCookieFile, loadCookieFile } from './cookie-file.js';
import { CommandError, EXIT, type ExitContext } from './exit-codes.js';
import { type NetrcEntry, netrcCredentials, parseNetrc } from '../netrc.js';
import { withScheme } from './urls.js';
import { describeWriteError } from '../file-errors.js';
import { ProxyEnvironment, normalizeProxy } from '../proxies.js';
import { environmentAgent, routedAgent } from '../pools.js';

/** The options both sub-commands take, with curl's letters. */
export const TRANSFER_OPTIONS = {
  header: { type: 'string', short: 'H', multiple: true },
  'user-agent': { type: 'string', short: 'A' },
  referer: { type: 'string', short: 'e' },
  user: { type: 'string', short: 'u' },
  digest: { type: 'boolean' },
  netrc: { type: 'boolean', short: 'n' },
  'netrc-optional': { type: 'boolean' },
  'netrc-file': { type: 'string' },
  cookie: { type: 'string', short: 'b', multiple: true },
  'cookie-jar': { type: 'string', short: 'c' },
  proxy: { type: 'string', short: 'x' },
  'max-time': { type: 'string', short: 'm' },
  timeout: { type: 'string' },
  'connect-timeout': { type: 'string' },
  retry: { type: 'string' },
  'retry-delay': { type: 'string' },
  'retry-connrefused': { type: 'boolean' },
  'max-redirs': { type: 'string' },
  compressed: { type: 'boolean' },
  raw: { type: 'boolean' },
  include: { type: 'boolean', short: 'i' },
  silent: { type: 'boolean', short: 's' },
  'show-error': { type: 'boolean', short: 'S' },
  cacert: { type: 'string' },
  insecure: { type: 'boolean', short: 'k' },
  har: { type: 'string' },
  cache: { type: 'string' },
} as const;

/** The help lines of {@link TRANSFER_OPTIONS}. */
export const TRANSFER_USAGE = `  -H, --header "N: V"     add a request header (repeatable); "N:" removes one, "N;" sends it empty
  -A, --user-agent TEXT   the User-Agent ("" sends none)
  -e, --referer URL       the Referer
  -u, --user USER:PASS    Basic credentials (--digest: Digest), for the URL's origin only
      --digest            use Digest authentication with --user
  -n, --netrc             credentials for the URL's host from ~/.netrc (--netrc-optional: same)
      --netrc-file FILE   ... from FILE instead
  -b, --cookie DATA|FILE  send "n=v; n2=v2", or load a Netscape cookie file (repeatable)
  -c, --cookie-jar FILE   write every cookie to FILE (Netscape format; "-": stdout) at the end
  -x, --proxy URL         through a proxy: http(s)://, socks5h://, socks5://, socks4a://, socks4:// (no scheme:
                          http://; user:pass@ allowed); "" for none; default: http_proxy, HTTPS_PROXY, ALL_PROXY, NO_PROXY
  -m, --max-time SECONDS  give up on a transfer after this long in all (also --timeout)
      --connect-timeout S give up connecting after this long
      --retry N           retry a transient failure (timeout, connect error but refused, 408/429/5xx) N times
      --retry-delay S     wait S seconds between retries (default: 1 s, doubling)
      --retry-connrefused with --retry, retry a refused connection too
      --max-redirs N      at most N redirects (default 20)
      --compressed        ask for and decode compressed bodies (the default; --raw: do not)
  -i, --include           write the status line and headers before the body
  -s, --silent            no progress, no error messages (-S still shows errors)
  -S, --show-error        with -s, still print errors
      --cacert FILE       trust only the CA certificates in FILE (PEM) for https
  -k, --insecure          do not verify the server's certificate (never in production)
      --har FILE          write every exchange (each redirect hop and retry) to FILE as a HAR 1.2
                          log, credentials and tokens redacted; @strand/testing replays it
      --cache DIR         an HTTP cache in DIR: fresh responses are reused without a request,
                          stale ones validated (If-None-Match / If-Modified-Since)
`;

/** The parsed values of {@link TRANSFER_OPTIONS} (each command's values have these fields). */
export interface TransferValues {
  header?: string[] | undefined;
  'user-agent'?: string | undefined;
  referer?: string | undefined;
  user?: string | undefined;
  digest?: boolean | undefined;
  netrc?: boolean | undefined;
  'netrc-optional'?: boolean | undefined;
  'netrc-file'?: string | undefined;
  cookie?: string[] | undefined;
  'cookie-jar'?: string | undefined;
  proxy?: string | undefined;
  'max-time'?: string | undefined;
  timeout?: string | undefined;
  'connect-timeout'?: string | undefined;
  retry?: string | undefined;
  'retry-delay'?: string | undefined;
  'retry-connrefused'?: boolean | undefined;
  'max-redirs'?: string | undefined;
  compressed?: boolean | undefined;
  raw?: boolean | undefined;
  include?: boolean | undefined;
  silent?: boolean | undefined;
  'show-error'?: boolean | undefined;
  cacert?: string | undefined;
  insecure?: boolean | undefined;
  har?: string | undefined;
  cache?: string | undefined;
}

/** A request header as the command line gives it; a null value removes a default (`-H 'Name:'`, `-A ''`). */
export type HeaderPair = readonly [string, string | null];

/**
 * `-H` as curl reads it: `Name: value`; `Name:` (nothing after the colon) removes the header
 * Strand would send; `Name;` sends it with an empty value.
 */
export function parseHeader(line: string): HeaderPair {
  const colon = line.indexOf(':');
  if (colon <= 0) {
    if (/^[^\s;:]+;\s*$/.test(line)) return [line.slice(0, line.indexOf(';')), ''];
    throw new UsageError(`--header must look like "Name: value", got "${line}"`);
  }
  const value = line.slice(colon + 1).trim();
  return [line.slice(0, colon).trim(), value === '' ? null : value];
}

/** The TLS policy `--cacert` / `--insecure` ask for, or undefined for the default (verified against Node's roots). */
function tlsPolicyFor(values: TransferValues): TLSPolicy | undefined {
  if (values.cacert !== undefined && values.insecure === true) throw new UsageError('use either --cacert or --insecure, not both');
  if (values.insecure === true) return new InsecurePolicyForHTTPS();
  if (values.cacert === undefined) return undefined;
  let ca: Buffer;
  try {
    ca = readFileSync(values.cacert);
  } catch (cause) {
    throw new UsageError(`--cacert: cannot read "${values.cacert}": ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--cacert: "${values.cacert}" holds no PEM certificate`);
  return new BrowserLikePolicyForHTTPS({ ca });
}

/** Everything the transfers of one run share. */
export interface Session {
  readonly client: HTTPClient;
  /** For the exit-code table: a DNS failure through a proxy is the proxy's (5). */
  readonly context: ExitContext;
  /** Errors are printed (not `-s`, or `-s -S`). */
  readonly showErrors: boolean;
  /** `-i`: the head goes before the body. */
  readonly include: boolean;
  /** The headers every request gets (`-H`, `-A`, `-e`). */
  readonly headers: readonly HeaderPair[];
  /** The request options for `url` (auth by `-u` or `.netrc` for its host, `-b` pairs, timeouts, redirects). */
  requestOptions(url: string): ClientRequestOptions;
  /** Writes `-c`'s cookie file and closes idle connections. A cookie file that cannot be written is a CommandError (23). */
  close(io: CommandIO): Promise<void>;
}

/** Reads the cookie pairs of a `-b "n=v; n2=v2"` string. */
function cookiePairs(text: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    pairs.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return pairs;
}

async function readNetrc(values: TransferValues, env: NodeJS.ProcessEnv): Promise<NetrcEntry[] | null> {
  const file = values['netrc-file'];
  if (file !== undefined) {
    try {
      return parseNetrc(await readFile(file, 'utf8'));
    } catch (cause) {
      throw new UsageError(`--netrc-file: cannot read "${file}": ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
    }
  }
  if (values.netrc !== true && values['netrc-optional'] !== true) return null;
  const home = env['HOME'] ?? homedir();
  try {
    return parseNetrc(await readFile(join(home, '.netrc'), 'utf8'));
  } catch {
    // No ~/.netrc: no credentials from it (curl's --netrc-optional; --netrc is no stricter here).
    return [];
  }
}

/** Writes `text` to `file` through a temporary file (owner-only), or fails with a CommandError (23) naming `what`. */
async function writeAtomically(file: string, text: string, what: string): Promise<void> {
  const temporary = `${file}.strand-${process.pid}`;
  try {
    await writeFile(temporary, text, { mode: 0o600 });
    await rename(temporary, file);
  } catch (error) {
    throw new CommandError(`cannot write the ${what} "${file}": ${describeWriteError(error)}`, EXIT.WRITE_ERROR, { cause: error });
  }
}

/** Opens the session of a run from the parsed options. */
export async function openSession(values: TransferValues, io: CommandIO, defaults: { decompress: boolean }): Promise<Session> {
  const tlsPolicy = tlsPolicyFor(values);
  const pool = new HTTPConnectionPool({ persistent: true });
  let agent: Agent;
  let proxied = false;
  // As curl: -x names the proxy (http, https, or SOCKS: socks4, socks4a, socks5, socks5h); -x ""
  // turns proxies off; without -x the environment's (http_proxy, HTTPS_PROXY, ALL_PROXY,
  // NO_PROXY) are used, as the library does with trustEnv.
  const environment = values.proxy === undefined ? ProxyEnvironment.read(io.env) : null;
  if (values.proxy !== undefined && values.proxy !== '') {
    let route: ReturnType<typeof normalizeProxy>;
    try {
      route = normalizeProxy(withScheme(values.proxy), '--proxy');
    } catch (error) {
      throw new UsageError(`--proxy: ${error instanceof StrandError ? error.message : String(error)}`);
    }
    agent = routedAgent(pool, route === false ? null : route, tlsPolicy ?? null);
    proxied = true;
  } else if (environment !== null) {
    agent = environmentAgent(pool, environment, tlsPolicy ?? null);
  } else {
    agent = new HttpAgent({ pool, endpointFactory: new StandardEndpointFactory(tlsPolicy === undefined ? {} : { tlsPolicy }) });
  }
  // --har: every exchange of the base agent (each hop and each attempt), redacted, written on close.
  const harFile = values.har;
  if (harFile === '') throw new UsageError('--har needs a file name');
  const har = harFile === undefined ? null : emptyHar(`written by strand ${VERSION}`);
  if (har !== null) agent = new HarRecorder(agent, { onEntry: (entry) => har.log.entries.push(entry) });
  const retries = nonNegativeInteger(values.retry, '--retry') ?? 0;
  const retryDelay = nonNegativeSeconds(values['retry-delay'], '--retry-delay');
  if (retryDelay !== undefined && retries === 0) throw new UsageError('--retry-delay needs --retry N');
  if (values['retry-connrefused'] === true && retries === 0) throw new UsageError('--retry-connrefused needs --retry N');
  if (retries > 0) {
    // curl's waits: --retry-delay each time, else 1 s doubling (up to 10 min), no jitter; Retry-After is honoured.
    agent = new RetryAgent(agent, {
      maxAttempts: retries + 1,
      baseDelay: retryDelay ?? 1000,
      maxDelay: retryDelay ?? 600_000,
      jitter: false,
      // As curl: a refused connection is final unless --retry-connrefused.
      retryConnectionRefused: values['retry-connrefused'] === true,
    });
  }

  // Cookies: "-b n=v" pairs go to each request's origin; "-b FILE" and "-c FILE" use a jar.
  const pairs: Array<[string, string]> = [];
  const files: string[] = [];
  for (const value of values.cookie ?? []) {
    if (value.includes('=')) pairs.push(...cookiePairs(value));
    else if (value !== '') files.push(value);
  }
  const cookieJarFile = values['cookie-jar'];
  let jar: CookieJar | null = null;
  if (files.length > 0 || cookieJarFile !== undefined || (values.cookie ?? []).includes('')) {
    jar = createCookieJar();
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (cause) {
        // As curl: a cookie file that does not exist yet (-b FILE -c FILE on a first run) holds no cookies.
        if ((cause as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new UsageError(`--cookie: cannot read "${file}": ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
      }
      await loadCookieFile(jar, text);
    }
  }
  // --cache DIR: an HTTP cache (RFC 9111) in DIR, over the retries: a fresh stored response is
  // answered without a request, a stale one is validated; several runs may share DIR.
  const cacheDir = values.cache;
  if (cacheDir === '') throw new UsageError('--cache needs a directory');
  const cacheStore = cacheDir === undefined ? null : new FileCacheStore(cacheDir);
  if (cacheStore !== null) agent = new CachingAgent(agent, { store: cacheStore });

  const client = new HTTPClient({ agent, cookieJar: jar });

  const headers: HeaderPair[] = [];
  const given = (values.header ?? []).map(parseHeader);
  const has = (name: string): boolean => given.some(([n]) => n.toLowerCase() === name);
  if (values['user-agent'] !== undefined && !has('user-agent')) headers.push(['User-Agent', values['user-agent'] === '' ? null : values['user-agent']]);
  if (values.referer !== undefined && values.referer !== '' && !has('referer')) headers.push(['Referer', values.referer]);
  headers.push(...given);

  let auth: AuthInit | undefined;
  if (values.user !== undefined) {
    const colon = values.user.indexOf(':');
    if (colon < 0) throw new UsageError('--user must look like user:password');
    auth = { type: values.digest === true ? 'digest' : 'basic', username: values.user.slice(0, colon), password: values.user.slice(colon + 1) };
  } else if (values.digest === true) {
    throw new UsageError('--digest needs --user');
  }
  const netrc = await readNetrc(values, io.env ?? process.env);

  if (values['max-time'] !== undefined && values.timeout !== undefined) throw new UsageError('use either --max-time or --timeout, not both');
  const timeout: TimeoutPhases = {};
  const total = seconds(values['max-time'], '--max-time') ?? seconds(values.timeout, '--timeout');
  const connect = seconds(values['connect-timeout'], '--connect-timeout');
  if (total !== undefined) timeout.total = total;
  if (connect !== undefined) timeout.connect = connect;
  const maxRedirects = nonNegativeInteger(values['max-redirs'], '--max-redirs');
  if (values.compressed === true && values.raw === true) throw new UsageError('use either --compressed or --raw, not both');
  const decompress = values.raw === true ? false : values.compressed === true ? true : defaults.decompress;

  return {
    client,
    context: { proxy: proxied },
    showErrors: values.silent !== true || values['show-error'] === true,
    include: values.include === true,
    headers,
    requestOptions(url: string): ClientRequestOptions {
      const options: ClientRequestOptions = { unbuffered: true, maxBodySize: Infinity, decompress };
      if (total !== undefined || connect !== undefined) options.timeout = { ...timeout };
      if (maxRedirects !== undefined) options.maxRedirects = maxRedirects;
      let parsed: URL | null = null;
      try {
        parsed = new URL(url);
      } catch {
        parsed = null;
      }
      if (auth !== undefined) {
        options.auth = auth;
      } else if (netrc !== null && parsed !== null && parsed.username === '') {
        const found = netrcCredentials(netrc, parsed.hostname);
        if (found !== undefined) options.auth = found;
      }
      if (pairs.length > 0) options.cookies = Object.fromEntries(pairs);
      return options;
    },
    async close(commandIO: CommandIO): Promise<void> {
      // The responses read to the end are in the cache directory before the run ends.
      await cacheStore?.flush();
      await pool.closeCachedConnections();
      if (har !== null && harFile !== undefined) await writeAtomically(harFile, serializeHar(har), '--har file');
      if (cookieJarFile === undefined || jar === null) return;
      const text = await formatCookieFile(jar);
      if (cookieJarFile === '-') {
        await write(commandIO.stdout, text).catch((error: unknown) => {
          throw new CommandError(`cannot write the cookie jar to stdout: ${String(error)}`, EXIT.WRITE_ERROR, { cause: error });
        });
        return;
      }
      await writeAtomically(cookieJarFile, text, 'cookie jar');
    },
  };
}
