/**
 * `-w/--write-out FORMAT`: curl's report after each transfer, for a small set of its `%{…}`
 * variables. The format is checked once, before anything is sent: an unknown variable is a
 * usage error (curl only warns and prints nothing for it).
 */

import { UsageError } from './common.js';

/** What a transfer left for `-w` to print; the fields are unset when it failed before a response. */
export interface TransferReport {
  /** The URL that was asked for. */
  readonly url: string;
  /** The final response's URL (after redirects), or null without a response. */
  readonly effectiveUrl: string | null;
  readonly code: number | null;
  readonly contentType: string | null;
  readonly redirects: number;
  /** Seconds from the start of the transfer to each milestone (curl's cumulative times). */
  readonly namelookup: number;
  readonly connect: number;
  readonly appconnect: number;
  readonly starttransfer: number;
  readonly total: number;
  /** Body bytes written out (decoded). */
  readonly sizeDownload: number;
  readonly exitCode: number;
  /** The error line's text, or '' on success. */
  readonly errorMessage: string;
}

const seconds = (value: number): string => value.toFixed(6);

/** The variables Strand knows, with how each is printed. */
const VARIABLES: Readonly<Record<string, (r: TransferReport) => string>> = {
  http_code: (r) => String(r.code ?? 0).padStart(3, '0'),
  response_code: (r) => String(r.code ?? 0).padStart(3, '0'),
  time_namelookup: (r) => seconds(r.namelookup),
  time_connect: (r) => seconds(r.connect),
  time_appconnect: (r) => seconds(r.appconnect),
  time_starttransfer: (r) => seconds(r.starttransfer),
  time_total: (r) => seconds(r.total),
  size_download: (r) => String(r.sizeDownload),
  url_effective: (r) => r.effectiveUrl ?? r.url,
  url: (r) => r.url,
  content_type: (r) => r.contentType ?? '',
  num_redirects: (r) => String(r.redirects),
  exitcode: (r) => String(r.exitCode),
  errormsg: (r) => r.errorMessage,
};

/** The names `-w` accepts, for help and errors. */
export const WRITE_OUT_VARIABLES: readonly string[] = Object.keys(VARIABLES);

/** A parsed format: literal text and variables, in order. */
export type WriteOutFormat = ReadonlyArray<string | { readonly variable: string }>;

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', '\\': '\\' };

/**
 * Parses a `-w` format: `%{name}` variables, `%%` for `%`, and the backslash escapes `\n`, `\r`,
 * `\t`, `\\` (as curl reads them). Anything else is kept as it is.
 */
export function parseWriteOut(format: string): WriteOutFormat {
  const parts: Array<string | { variable: string }> = [];
  let text = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string;
    if (c === '\\' && i + 1 < format.length && ESCAPES[format[i + 1] as string] !== undefined) {
      text += ESCAPES[format[++i] as string] as string;
    } else if (c === '%' && format[i + 1] === '%') {
      text += '%';
      i++;
    } else if (c === '%' && format[i + 1] === '{') {
      const end = format.indexOf('}', i + 2);
      if (end < 0) throw new UsageError(`--write-out: "%{" without a closing "}"`);
      const name = format.slice(i + 2, end);
      if (VARIABLES[name] === undefined) throw new UsageError(`--write-out: unknown variable %{${name}}; strand knows ${WRITE_OUT_VARIABLES.join(', ')}`);
      if (text !== '') parts.push(text);
      text = '';
      parts.push({ variable: name });
      i = end;
    } else {
      text += c;
    }
  }
  if (text !== '') parts.push(text);
  return parts;
}

/** The text of `format` for one transfer. */
export function renderWriteOut(format: WriteOutFormat, report: TransferReport): string {
  let out = '';
  for (const part of format) out += typeof part === 'string' ? part : (VARIABLES[part.variable] as (r: TransferReport) => string)(report);
  return out;
}
