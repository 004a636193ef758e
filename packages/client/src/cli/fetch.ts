/**
 * `strand [METHOD] URL... [options]`: curl-style requests, one URL after the other. Each body
 * goes to stdout (or its `-o FILE` / `-O`) as it streams; a failure prints one line to stderr
 * and the exit status says why, with curl's numbers (see {@link EXIT_TABLE}).
 */

import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { FileBodyProducer, isToken } from '@strand/core';
import type { ClientResponse } from '../response.js';
import type { ClientRequestOptions, FileInit } from '../types.js';
import { type CommandIO, EXIT, type OptionsConfig, UsageError, errorLine, orderedValues, parseCommandLine, readAll, write } from './common.js';
import { fileNameFor } from './download.js';
import { type ExitContext, exitCodeFor, exitTableText } from './exit-codes.js';
import { StreamSink } from './output.js';
import { type HeaderPair, type Session, TRANSFER_OPTIONS, TRANSFER_USAGE, type TransferValues, openSession } from './session.js';
import { type TransferResult, type TransferTarget, runTransfer } from './transfer.js';
import { commandLineUrl } from './urls.js';
import { type TransferReport, WRITE_OUT_VARIABLES, type WriteOutFormat, parseWriteOut, renderWriteOut } from './write-out.js';

export const FETCH_USAGE = `Usage: strand [METHOD] URL... [options]

Sends a request to each URL in turn and writes each response body to stdout (or -o/-O).
A URL without a scheme is http://, as in curl. METHOD is a word in capitals (or a
lower-case get/head/post/put/patch/delete/options) before the first URL.

Options:
  -X, --request METHOD    the method (default GET, or POST with a body)
  -d, --data TEXT         send TEXT as a form body (@FILE: the file's bytes, @-: stdin); repeatable, joined with &
      --data-raw TEXT     like -d, without the @ (also --data-binary, which reads @FILE like -d)
      --json TEXT         send TEXT (or @FILE) as JSON, with Content-Type and Accept: application/json
  -F, --form N=V          a multipart field; N=@PATH uploads a file (repeatable)
  -G, --get               put the -d data in the URL's query and send a GET
  -I, --head              send HEAD and print the response head
  -L, --location          follow redirects
  -o, --output FILE       write the body to FILE ("-": stdout); one -o or -O per URL, in order
  -O, --remote-name       write the body to a file named after the URL's last path segment
      --remote-name-all   -O for every URL that has no -o
      --output-dir DIR    put the -o and -O files in DIR
  -C, --continue-at -     resume the -o/-O file (FILE.part) with Range + If-Range; only "-" is supported
  -w, --write-out FORMAT  print FORMAT after each transfer (@FILE reads it); variables:
                          ${WRITE_OUT_VARIABLES.map((v) => `%{${v}}`).join(' ').replace(/(.{1,62})(\s|$)/g, '$1\n                          ').trimEnd()}
  -f, --fail              exit 22 without writing the body on an HTTP status >= 400
      --fail-early        stop at the first URL that fails (the others are not tried)
  -v, --verbose           print each request and response head, and the timings, to stderr
                          (credentials in Authorization, Proxy-Authorization and Cookie hidden)
      --no-body           do not write the body
      --raw               do not ask for or decode compressed bodies
${TRANSFER_USAGE}  -h, --help              this help
  -V, --version           print the version

  strand download --help  fetch many URLs at once, with progress, to files

Several URLs are fetched one after the other on one connection pool and one cookie jar.
A body written to a file goes to FILE.part first and is renamed to FILE when complete.
Exit status, with curl's numbers: 0 when every transfer succeeded, else the code of the
first that failed (curl returns the last transfer's); --fail-early stops there:
${exitTableText()}`;

export const FETCH_OPTIONS = {
  request: { type: 'string', short: 'X' },
  data: { type: 'string', short: 'd', multiple: true },
  'data-raw': { type: 'string', multiple: true },
  'data-binary': { type: 'string', multiple: true },
  json: { type: 'string' },
  form: { type: 'string', short: 'F', multiple: true },
  get: { type: 'boolean', short: 'G' },
  head: { type: 'boolean', short: 'I' },
  location: { type: 'boolean', short: 'L' },
  output: { type: 'string', short: 'o', multiple: true },
  'remote-name': { type: 'boolean', short: 'O', multiple: true },
  'remote-name-all': { type: 'boolean' },
  'output-dir': { type: 'string' },
  continue: { type: 'boolean', short: 'C' },
  'write-out': { type: 'string', short: 'w' },
  fail: { type: 'boolean', short: 'f' },
  'fail-early': { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  'print-headers': { type: 'boolean' },
  'no-body': { type: 'boolean' },
  ...TRANSFER_OPTIONS,
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** Where one URL's body goes. */
type Output = { readonly kind: 'stdout' } | { readonly kind: 'file'; readonly path: string };

/** The request body, made again for every URL (a producer is consumed by its request). */
type BodySpec =
  | { readonly kind: 'none' }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'form'; readonly fields: Array<[string, string]>; readonly files: Array<[string, FileInit]> };

/** The parsed command line of a fetch. */
export interface FetchCommand {
  readonly method: string;
  /** Each URL with its output, in order; a URL that does not parse carries its error. */
  readonly transfers: ReadonlyArray<{ readonly url: string; readonly output: Output; readonly error: unknown }>;
  readonly values: TransferValues;
  readonly body: BodySpec;
  /** Headers the body implies (Content-Type, Accept). */
  readonly bodyHeaders: readonly HeaderPair[];
  readonly location: boolean;
  readonly headOnly: boolean;
  readonly verbose: boolean;
  readonly noBody: boolean;
  readonly fail: boolean;
  readonly failEarly: boolean;
  readonly resume: boolean;
  readonly writeOut: WriteOutFormat | null;
}

async function readArgumentText(value: string, io: CommandIO, option: string, stdinText: () => Promise<string>): Promise<string> {
  if (!value.startsWith('@')) return value;
  const path = value.slice(1);
  if (path === '-') return stdinText();
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new UsageError(`${option}: cannot read "${path}": ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
  }
}

const LOWER_CASE_METHODS = new Set(['get', 'head', 'post', 'put', 'patch', 'delete', 'options']);

/** Whether the first of several positionals is a method rather than a URL. */
function isMethodWord(word: string): boolean {
  return /^[A-Z][A-Z0-9_-]*$/.test(word) || LOWER_CASE_METHODS.has(word);
}

/** Reads the command line (after the program name) into a {@link FetchCommand}, or null for --help/--version (already printed). */
export async function parseFetch(argv: readonly string[], io: CommandIO, version: string, elsewhere: { command: string; options: OptionsConfig } | null = null): Promise<FetchCommand | null> {
  const { values, positionals, tokens } = parseCommandLine(argv, FETCH_OPTIONS, elsewhere);
  if (values.help === true) {
    await write(io.stdout, FETCH_USAGE);
    return null;
  }
  if (values.version === true) {
    await write(io.stdout, `strand ${version}\n`);
    return null;
  }
  let stdin: Promise<string> | null = null;
  const stdinText = (): Promise<string> => (stdin ??= readAll(io.stdin));

  let urls = [...positionals];
  let method: string | undefined = values.request;
  if (urls.length >= 2 && isMethodWord(urls[0] as string)) {
    if (values.request !== undefined) throw new UsageError('give the method either as an argument or with --request, not both');
    method = (urls[0] as string).toUpperCase();
    urls = urls.slice(1);
  }
  if (urls.length === 0) throw new UsageError('a URL is required');
  if (method !== undefined && !isToken(method)) throw new UsageError(`--request: "${method}" is not a valid method name`);

  // The body: -d/--data-raw/--data-binary in command-line order, --json, or -F.
  const dataParts = orderedValues(tokens, ['data', 'data-raw', 'data-binary']);
  const bodies = [dataParts.length > 0, values.json !== undefined, values.form !== undefined].filter(Boolean).length;
  if (bodies > 1) throw new UsageError('use only one of --data, --json and --form');
  if (values.head === true && bodies > 0 && values.get !== true) throw new UsageError('--head sends no body: drop --data/--json/--form, or use --get');
  if (values.get === true && (values.json !== undefined || values.form !== undefined)) throw new UsageError('--get puts --data in the query; it cannot carry --json or --form');
  let body: BodySpec = { kind: 'none' };
  const bodyHeaders: HeaderPair[] = [];
  let query: string | null = null;
  if (dataParts.length > 0) {
    const only = dataParts.length === 1 ? (dataParts[0] as { name: string; value: string }) : null;
    if (only !== null && only.name !== 'data-raw' && only.value.startsWith('@') && only.value !== '@-' && values.get !== true) {
      const path = only.value.slice(1);
      try {
        new FileBodyProducer(path);
      } catch (error) {
        throw new UsageError(`--data: ${(error as Error).message.replace(/^FileBodyProducer: /, '')}`);
      }
      body = { kind: 'file', path };
    } else {
      const parts: string[] = [];
      for (const part of dataParts) parts.push(part.name === 'data-raw' ? (part.value as string) : await readArgumentText(part.value as string, io, `--${part.name}`, stdinText));
      body = { kind: 'text', text: parts.join('&') };
    }
    if (values.get === true) {
      query = body.kind === 'text' ? body.text : '';
      body = { kind: 'none' };
    } else {
      bodyHeaders.push(['Content-Type', 'application/x-www-form-urlencoded']);
    }
  }
  if (values.json !== undefined) {
    const text = await readArgumentText(values.json, io, '--json', stdinText);
    try {
      JSON.parse(text);
    } catch (error) {
      throw new UsageError(`--json is not valid JSON: ${(error as Error).message}`);
    }
    body = { kind: 'text', text };
    bodyHeaders.push(['Content-Type', 'application/json'], ['Accept', 'application/json']);
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
    body = { kind: 'form', fields, files };
  }
  if (values.head === true) method ??= 'HEAD';
  if (values.get === true) method ??= 'GET';
  method ??= body.kind === 'none' ? 'GET' : 'POST';

  // Outputs: the n-th -o/-O is the n-th URL's, as in curl; --remote-name-all fills the rest.
  const outputs = orderedValues(tokens, ['output', 'remote-name']);
  if (outputs.length > urls.length) throw new UsageError(`${outputs.length} -o/-O for ${urls.length} URL${urls.length === 1 ? '' : 's'}: give one per URL`);
  const dir = values['output-dir'];
  const inDir = (path: string): string => (dir === undefined || isAbsolute(path) ? path : join(dir, path));
  const resume = values.continue === true;
  const writeOutText = values['write-out'] === undefined ? undefined : await readArgumentText(values['write-out'], io, '--write-out', stdinText);

  const transfers = urls.map((raw, i) => {
    let url = raw;
    let error: unknown = null;
    try {
      url = commandLineUrl(raw);
      if (query !== null && query !== '') {
        const hash = url.indexOf('#');
        const [head, fragment] = hash < 0 ? [url, ''] : [url.slice(0, hash), url.slice(hash)];
        url = `${head}${head.includes('?') ? '&' : '?'}${query}${fragment}`;
      }
    } catch (caught) {
      error = caught;
    }
    const given = outputs[i];
    let output: Output = { kind: 'stdout' };
    if (given?.name === 'output') output = given.value === '-' ? { kind: 'stdout' } : { kind: 'file', path: inDir(given.value as string) };
    else if (given?.name === 'remote-name' || values['remote-name-all'] === true) output = { kind: 'file', path: inDir(fileNameFor(url)) };
    return { url, output, error };
  });
  if (resume && transfers.some((t) => t.output.kind === 'stdout')) throw new UsageError('-C - resumes a file: give each URL an -o FILE or -O');
  if (resume && (values.include === true || values['print-headers'] === true)) throw new UsageError('-C - cannot be used with --include (the head would be written into the middle of the file)');

  return {
    method,
    transfers,
    values: { ...values, include: values.include === true || values['print-headers'] === true },
    body,
    bodyHeaders,
    location: values.location === true,
    headOnly: values.head === true,
    verbose: values.verbose === true,
    noBody: values['no-body'] === true,
    fail: values.fail === true,
    failEarly: values['fail-early'] === true,
    resume,
    writeOut: writeOutText === undefined ? null : parseWriteOut(writeOutText),
  };
}

function statusLine(response: ClientResponse): string {
  return `HTTP/${response.version.join('.')} ${response.code}${response.phrase === '' ? '' : ` ${response.phrase}`}`;
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

/** The request options of one URL: the session's, plus the body and the redirect choice. */
function requestOptions(command: FetchCommand, session: Session, url: string): ClientRequestOptions {
  const options: ClientRequestOptions = { ...session.requestOptions(url), allowRedirects: command.location };
  const body = command.body;
  if (body.kind === 'text') options.data = body.text;
  else if (body.kind === 'file') options.data = new FileBodyProducer(body.path);
  else if (body.kind === 'form') {
    if (body.files.length > 0) {
      options.files = body.files;
      if (body.fields.length > 0) options.data = body.fields;
    } else {
      options.data = body.fields;
    }
  }
  return options;
}

/** The `-w` report of a transfer (curl's cumulative seconds from the start). */
function reportOf(url: string, result: TransferResult, exitCode: number, elapsed: number): TransferReport {
  const response = result.response;
  const t = response?.timings;
  const queue = t?.queue ?? 0;
  const namelookup = (queue + (t?.dns ?? 0)) / 1000;
  const connect = namelookup + (t?.connect ?? 0) / 1000;
  return {
    url,
    effectiveUrl: response?.url ?? null,
    code: response?.code ?? null,
    contentType: response?.headers.get('content-type') ?? null,
    redirects: response?.history().length ?? 0,
    namelookup,
    connect,
    appconnect: t?.tls === undefined ? 0 : connect + t.tls / 1000,
    starttransfer: t?.firstByte === undefined ? 0 : (queue + t.firstByte) / 1000,
    total: (t?.total ?? elapsed) / 1000,
    sizeDownload: result.bytes,
    exitCode,
    errorMessage: exitCode === EXIT.OK ? '' : errorLine(result.error).replace(/^strand: /, '').trimEnd(),
  };
}

/** Runs the transfers of a fetch; resolves with the exit code. Errors are printed as one line each. */
export async function runFetch(command: FetchCommand, io: CommandIO): Promise<number> {
  const session = await openSession(command.values, io, { decompress: true });
  const context: ExitContext = session.context;
  const stdout = new StreamSink(io.stdout);
  const headers: HeaderPair[] = [...command.bodyHeaders.filter(([name]) => !session.headers.some(([n]) => n.toLowerCase() === name.toLowerCase())), ...session.headers];
  let exit: number = EXIT.OK;
  for (const transfer of command.transfers) {
    const started = performance.now();
    let result: TransferResult;
    if (transfer.error !== null) {
      result = { response: null, bytes: 0, resumed: false, error: transfer.error };
    } else {
      const target: TransferTarget = transfer.output.kind === 'stdout' ? { kind: 'sink', sink: stdout } : { kind: 'file', path: transfer.output.path };
      result = await runTransfer(
        session.client,
        {
          method: command.method,
          url: transfer.url,
          headers,
          options: requestOptions(command, session, transfer.url),
          target,
          resume: command.resume,
          include: session.include,
          headOnly: command.headOnly,
          noBody: command.noBody,
          fail: command.fail,
        },
        command.verbose ? { onResponse: (response) => write(io.stderr, verboseHeads(response)) } : {},
      );
    }
    const code = result.error === null ? EXIT.OK : exitCodeFor(result.error, context);
    if (command.verbose && result.response !== null && result.error === null) await write(io.stderr, verboseTimings(result.response));
    if (result.error !== null && session.showErrors) await write(io.stderr, errorLine(result.error));
    if (command.writeOut !== null) {
      try {
        await stdout.write(renderWriteOut(command.writeOut, reportOf(transfer.url, result, code, performance.now() - started)));
      } catch (error) {
        if (exit === EXIT.OK) exit = exitCodeFor(error, context);
      }
    }
    if (code !== EXIT.OK && exit === EXIT.OK) exit = code;
    if (code !== EXIT.OK && command.failEarly) break;
  }
  try {
    await session.close(io);
  } catch (error) {
    if (session.showErrors) await write(io.stderr, errorLine(error));
    if (exit === EXIT.OK) exit = exitCodeFor(error, context);
  }
  return exit;
}
