/**
 * What the `strand` sub-commands share: streams to write to, usage errors, the one-line error
 * format, option helpers, and the strict command-line parser with curl's `-C -` and "did you
 * mean" for unknown options.
 */

import { StrandError, closestName } from '@strand/core';
import type { Writable } from 'node:stream';
import { type ParseArgsConfig, parseArgs } from 'node:util';

export { EXIT } from './exit-codes.js';

/** Where a command reads and writes; the real process streams, or test doubles. */
export interface CommandIO {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Whether stderr is a terminal (progress bars draw only there). */
  readonly stderrIsTTY: boolean;
  /** The environment (`HOME` for `~/.netrc`); default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** A mistake on the command line (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The one line printed for an error: `strand: <message> [<code>]`, no stack, no newlines inside. */
export function errorLine(error: unknown): string {
  let text: string;
  if (error instanceof StrandError) text = `${error.message} [${error.code}]`;
  else if (error instanceof UsageError) text = `${error.message} (see strand --help)`;
  else if (error instanceof Error) text = error.message;
  else text = String(error);
  return `strand: ${text.replace(/\s*[\r\n]+\s*/g, ' ')}\n`;
}

function secondsValue(value: string, option: string, allowZero: boolean): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    throw new UsageError(`${option} must be a ${allowZero ? 'non-negative' : 'positive'} number of seconds, got "${value}"`);
  }
  return n * 1000;
}

/** Seconds (a decimal number, as curl's `--max-time`) to milliseconds. */
export function seconds(value: string | undefined, option: string): number | undefined {
  return value === undefined ? undefined : secondsValue(value, option, false);
}

/** Seconds that may be 0 (`--retry-delay`) to milliseconds. */
export function nonNegativeSeconds(value: string | undefined, option: string): number | undefined {
  return value === undefined ? undefined : secondsValue(value, option, true);
}

/** A positive integer option. */
export function positiveInteger(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${option} must be a positive integer, got "${value}"`);
  return n;
}

/** A non-negative integer option. */
export function nonNegativeInteger(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`${option} must be a non-negative integer, got "${value}"`);
  return n;
}

/** Human-readable byte counts: `512 B`, `1.5 KiB`, `3.2 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit] as string}`;
}

/** Writes to a stream and resolves once it was handed over (a failure rejects). */
export function write(stream: Writable, chunk: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}

/** Reads a whole stream (stdin) as text. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** The options of a command, as `node:util`'s `parseArgs` takes them. */
export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** What {@link parseCommandLine} returns for `options`. */
export type ParsedCommandLine<O extends OptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true; tokens: true }>>;

/** The known long option closest to `name` (core's {@link closestName}), or null. */
export function closestOption(name: string, known: readonly string[]): string | null {
  return closestName(name, known);
}

/**
 * Rewrites curl's `-C -` (and `--continue-at -`, `-C-`, `--continue-at=-`) to `--continue`; an
 * offset (`-C 100`) is a usage error, since Strand resumes from the file itself.
 */
export function normalizeContinue(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (arg === '-C-' || arg === '--continue-at=-') {
      out.push('--continue');
    } else if (arg === '-C' || arg === '--continue-at') {
      const next = argv[i + 1];
      if (next === '-') i++;
      else if (next !== undefined && /^\d+$/.test(next)) throw new UsageError(`${arg} ${next}: only "${arg} -" is supported (resume from the size of the output file)`);
      out.push('--continue');
    } else if (/^(-C|--continue-at=)\d+$/.test(arg)) {
      throw new UsageError(`${arg}: only "-C -" is supported (resume from the size of the output file)`);
    } else {
      out.push(arg);
    }
  }
  return out;
}

/**
 * Parses a command's arguments strictly (positionals allowed, with the order of options kept in
 * `tokens`); a bad option is a {@link UsageError}, an unknown one says which known option it
 * may have meant (`elsewhere` names options of the other sub-command).
 */
export function parseCommandLine<const O extends OptionsConfig>(argv: readonly string[], options: O, elsewhere: { readonly command: string; readonly options: OptionsConfig } | null = null): ParsedCommandLine<O> {
  try {
    return parseArgs({ args: normalizeContinue(argv), options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const message = (error as Error).message;
    const unknown = /^Unknown option '(-{1,2})([^']*)'/.exec(message);
    if ((error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown !== null) {
      const [, dashes, name] = unknown as unknown as [string, string, string];
      const option = `${dashes}${name}`;
      if (dashes === '--' && elsewhere !== null && Object.hasOwn(elsewhere.options, name)) {
        throw new UsageError(`unknown option ${option}; it is an option of ${elsewhere.command}`);
      }
      const suggestion = dashes === '--' ? closestOption(name, Object.keys(options)) : null;
      throw new UsageError(`unknown option ${option}${suggestion === null ? '' : `; did you mean --${suggestion}?`}`);
    }
    throw new UsageError(message.split('\n')[0]);
  }
}

/** The values of an option that may be repeated, in command-line order, from `tokens`. */
export function orderedValues(tokens: ParsedCommandLine<OptionsConfig>['tokens'], names: readonly string[]): Array<{ name: string; value: string | undefined }> {
  const out: Array<{ name: string; value: string | undefined }> = [];
  for (const token of tokens) if (token.kind === 'option' && names.includes(token.name)) out.push({ name: token.name, value: token.value });
  return out;
}
