/**
 * `strand [METHOD] URL [options]`: one request, curl-style. The body goes to stdout (or `-o`)
 * as it streams; a failure prints one line to stderr and exits non-zero.
 */

import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { FileBodyProducer } from '@strand/core';
import type { Agent } from '@strand/core';
import type { ClientResponse } from '../response.js';
import type { ClientRequestOptions, FileInit, TimeoutPhases } from '../types.js';
import { type CommandIO, EXIT, TLS_OPTIONS, TLS_USAGE, UsageError, commandAgent, commandClient, errorLine, nonNegativeInteger, parseCommandLine, seconds, write } from './common.js';

export const FETCH_USAGE = `Usage: strand [METHOD] URL [options]

Sends one HTTP request and writes the response body to stdout.

Options:
  -X, --request METHOD    the method (default GET, or POST with a body)
  -H, --header "N: V"     add a request header (repeatable)
  -d, --data TEXT         send TEXT as a form body (@FILE: the file's bytes, @-: stdin); repeatable, joined with &
      --json TEXT         send TEXT (or @FILE) as JSON, with Content-Type and Accept: application/json
  -F, --form N=V          a multipart field; N=@PATH uploads a file (repeatable)
  -u, --user USER:PASS    Basic credentials (--digest: Digest)
      --digest            use Digest authentication with --user
  -L, --location          follow redirects
      --max-redirs N      at most N redirects (default 20)
      --timeout SECONDS   give up after this long in all (decimals allowed)
      --connect-timeout S give up connecting after this long
  -i, --print-headers     print the status line and headers before the body
  -v, --verbose           print each request and response head, and the timings, to stderr
                          (credentials in Authorization, Proxy-Authorization and Cookie hidden)
      --no-body           do not print the body
  -o, --output FILE       write the body to FILE instead of stdout
  -f, --fail              exit 22 without printing the body on an HTTP status >= 400
      --raw               do not ask for or decode compressed bodies
${TLS_USAGE}  -h, --help              this help
      --version           print the version

  strand download --help  fetch many URLs with a concurrency limit
`;

const OPTIONS = {
  request: { type: 'string', short: 'X' },
  header: { type: 'string', short: 'H', multiple: true },
  data: { type: 'string', short: 'd', multiple: true },
  json: { type: 'string' },
  form: { type: 'string', short: 'F', multiple: true },
  user: { type: 'string', short: 'u' },
  digest: { type: 'boolean' },
  location: { type: 'boolean', short: 'L' },
  'max-redirs': { type: 'string' },
  timeout: { type: 'string' },
  'connect-timeout': { type: 'string' },
  'print-headers': { type: 'boolean', short: 'i' },
  verbose: { type: 'boolean', short: 'v' },
  ...TLS_OPTIONS,
  'no-body': { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  fail: { type: 'boolean', short: 'f' },
  raw: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** The parsed command line of a single fetch. */
export interface FetchCommand {
  readonly method: string;
  readonly url: string;
  readonly options: ClientRequestOptions;
  readonly printHeaders: boolean;
  readonly verbose: boolean;
  /** The agent `--cacert` / `--insecure` ask for, or null for the default. */
  readonly agent: Agent | null;
  readonly noBody: boolean;
  readonly output: string | null;
  readonly fail: boolean;
}

/** Splits `Name: value`; the value may be empty. */
function header(line: string): [string, string] {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new UsageError(`--header must look like "Name: value", got "${line}"`);
  return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
}

async function readArgumentText(value: string, io: CommandIO, option: string): Promise<string> {
  if (!value.startsWith('@')) return value;
  const path = value.slice(1);
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new UsageError(`${option}: cannot read "${path}": ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
  }
}

/** Reads the command line (after the program name) into a {@link FetchCommand}, or null for --help/--version (already printed). */
export async function parseFetch(argv: readonly string[], io: CommandIO, version: string): Promise<FetchCommand | null> {
  const { values, positionals } = parseCommandLine(argv, OPTIONS);
  if (values.help === true) {
    await write(io.stdout, FETCH_USAGE);
    return null;
  }
  if (values.version === true) {
    await write(io.stdout, `strand ${version}\n`);
    return null;
  }
  if (positionals.length === 0) throw new UsageError('a URL is required');
  if (positionals.length > 2) throw new UsageError(`expected [METHOD] URL, got ${positionals.length} arguments`);
  const url = positionals[positionals.length - 1] as string;
  let method = positionals.length === 2 ? (positionals[0] as string) : values.request;
  if (positionals.length === 2 && values.request !== undefined) throw new UsageError('give the method either as an argument or with --request, not both');

  const options: ClientRequestOptions = { unbuffered: true, maxBodySize: Infinity, allowRedirects: values.location === true };
  const headers: Array<[string, string]> = (values.header ?? []).map(header);
  const hasHeader = (name: string): boolean => headers.some(([n]) => n.toLowerCase() === name);

  const bodies = [values.data !== undefined, values.json !== undefined, values.form !== undefined].filter(Boolean).length;
  if (bodies > 1) throw new UsageError('use only one of --data, --json and --form');
  if (values.data !== undefined) {
    const data = values.data;
    if (data.length === 1 && (data[0] as string).startsWith('@') && data[0] !== '@-') {
      const path = (data[0] as string).slice(1);
      try {
        options.data = new FileBodyProducer(path);
      } catch (error) {
        throw new UsageError(`--data: ${(error as Error).message.replace(/^FileBodyProducer: /, '')}`);
      }
    } else {
      const parts: string[] = [];
      for (const d of data) parts.push(await readArgumentText(d, io, '--data'));
      options.data = parts.join('&');
    }
    if (!hasHeader('content-type')) headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
  }
  if (values.json !== undefined) {
    const text = await readArgumentText(values.json, io, '--json');
    try {
      JSON.parse(text);
    } catch (error) {
      throw new UsageError(`--json is not valid JSON: ${(error as Error).message}`);
    }
    options.data = text;
    if (!hasHeader('content-type')) headers.push(['Content-Type', 'application/json']);
    if (!hasHeader('accept')) headers.push(['Accept', 'application/json']);
  }
  if (values.form !== undefined) {
    const fields: Array<[string, string]> = [];
    const files: Array<[string, FileInit]> = [];
    for (const item of values.form) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new UsageError(`--form must look like name=value or name=@path, got "${item}"`);
      const name = item.slice(0, eq);
      const value = item.slice(eq + 1);
      if (value.startsWith('@')) files.push([name, value.slice(1)]);
      else fields.push([name, value]);
    }
    if (files.length > 0) {
      options.files = files;
      if (fields.length > 0) options.data = fields;
    } else {
      options.data = fields;
    }
  }
  method ??= options.data !== undefined || options.files !== undefined ? 'POST' : 'GET';
  if (headers.length > 0) options.headers = headers;

  if (values.user !== undefined) {
    const colon = values.user.indexOf(':');
    if (colon < 0) throw new UsageError('--user must look like user:password');
    options.auth = { type: values.digest === true ? 'digest' : 'basic', username: values.user.slice(0, colon), password: values.user.slice(colon + 1) };
  } else if (values.digest === true) {
    throw new UsageError('--digest needs --user');
  }
  const maxRedirects = nonNegativeInteger(values['max-redirs'], '--max-redirs');
  if (maxRedirects !== undefined) options.maxRedirects = maxRedirects;
  const timeout: TimeoutPhases = {};
  const total = seconds(values.timeout, '--timeout');
  const connect = seconds(values['connect-timeout'], '--connect-timeout');
  if (total !== undefined) timeout.total = total;
  if (connect !== undefined) timeout.connect = connect;
  if (total !== undefined || connect !== undefined) options.timeout = timeout;
  if (values.raw === true) options.decompress = false;
  return {
    method,
    url,
    options,
    agent: commandAgent(values),
    printHeaders: values['print-headers'] === true,
    verbose: values.verbose === true,
    noBody: values['no-body'] === true,
    output: values.output ?? null,
    fail: values.fail === true,
  };
}

function statusLine(response: ClientResponse): string {
  return `HTTP/${response.version.join('.')} ${response.code}${response.phrase === '' ? '' : ` ${response.phrase}`}`;
}

function head(response: ClientResponse): string {
  let text = `${statusLine(response)}\r\n`;
  for (const [name, value] of response.headers) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}

/** Request headers whose values `--verbose` does not print. */
const HIDDEN = new Set(['authorization', 'proxy-authorization', 'cookie']);

/**
 * What `--verbose` prints before the body: for each hop of the redirect chain, `> ` the request
 * (method, URL, the headers Strand was asked to send) and `< ` the response head.
 */
function verboseHeads(response: ClientResponse): string {
  let text = '';
  for (const hop of [...response.history(), response]) {
    const request = hop.request;
    text += `> ${request.method} ${redactURL(request.uri)}\n`;
    for (const [name, value] of request.headers) text += `> ${name}: ${HIDDEN.has(name.toLowerCase()) ? '<hidden>' : value}\n`;
    text += `< ${statusLine(hop)}\n`;
    for (const [name, value] of hop.headers) text += `< ${name}: ${value}\n`;
  }
  return text;
}

/** What `--verbose` prints after the body: `* ` the timings (a phase that did not happen is `-`). */
function verboseTimings(response: ClientResponse): string {
  const t = response.timings;
  const ms = (value: number | undefined): string => (value === undefined ? '-' : `${value.toFixed(1)} ms`);
  return `* timings: dns ${ms(t.dns)}, connect ${ms(t.connect)}, tls ${ms(t.tls)}, first byte ${ms(t.firstByte)}, body ${ms(t.body)}, total ${ms(t.total)}\n`;
}

/** A URL without its password. */
function redactURL(uri: string): string {
  const url = new URL(uri);
  if (url.password === '') return uri;
  url.password = '***';
  return url.href;
}

/** Runs one fetch; resolves with the exit code. Errors are printed as one line. */
export async function runFetch(command: FetchCommand, io: CommandIO): Promise<number> {
  const client = commandClient(command.agent);
  let response: ClientResponse;
  try {
    response = await client.request(command.method, command.url, command.options);
  } catch (error) {
    await write(io.stderr, errorLine(error));
    return EXIT.FAILED;
  }
  try {
    if (command.verbose) await write(io.stderr, verboseHeads(response));
    if (command.fail && response.code >= 400) {
      await response.dump();
      await write(io.stderr, errorLine(new Error(`HTTP ${response.code}${response.phrase === '' ? '' : ` ${response.phrase}`} (${response.url})`)));
      return EXIT.HTTP_ERROR;
    }
    if (command.printHeaders) await write(io.stdout, head(response));
    if (command.noBody) {
      await response.dump();
    } else if (command.output !== null) {
      await pipeline(response.toReadable(), createWriteStream(command.output));
    } else {
      for await (const chunk of response) await write(io.stdout, chunk);
    }
    if (command.verbose) await write(io.stderr, verboseTimings(response));
    return EXIT.OK;
  } catch (error) {
    await write(io.stderr, errorLine(error));
    return EXIT.FAILED;
  }
}
