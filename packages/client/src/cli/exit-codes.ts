/**
 * The exit status of `strand`, by cause, as curl's: one table that maps Strand's typed errors
 * (their stable `code`s) and the command's own failures onto curl's exit codes. `--help` prints
 * it, so what is documented is what is done.
 */

import { StrandError } from '@strand/core';

/** The exit codes `strand` uses; each number means what it means for curl. */
export const EXIT = {
  OK: 0,
  /** Anything the table below does not name (curl's 1 is also "unsupported protocol"). */
  FAILED: 1,
  /** The command line was wrong (curl's 2: "failed to initialize", which it also uses for an unknown option). */
  USAGE: 2,
  URL_MALFORMED: 3,
  PROXY_DNS: 5,
  DNS: 6,
  CONNECT: 7,
  WEIRD_REPLY: 8,
  PARTIAL_FILE: 18,
  /** `--fail` (or `strand download`) and the server answered with an HTTP error status. */
  HTTP_ERROR: 22,
  WRITE_ERROR: 23,
  TIMEOUT: 28,
  RANGE_ERROR: 33,
  TLS_HANDSHAKE: 35,
  TOO_MANY_REDIRECTS: 47,
  EMPTY_REPLY: 52,
  SEND_ERROR: 55,
  RECV_ERROR: 56,
  TLS_PEER: 60,
  BAD_ENCODING: 61,
} as const;

/**
 * A failure of the command itself (not of the HTTP exchange), carrying its exit code: a file
 * that cannot be written (23), an HTTP error status under `--fail` (22), a URL that does not
 * parse (3)… Printed as `strand: <message>`, without a `[code]`.
 */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly exitCode: number;

  constructor(message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** Where an error happened, which changes a few answers (a DNS failure through a proxy is the proxy's). */
export interface ExitContext {
  /** A proxy (`-x`) was in use: every host-name lookup was the proxy's. */
  readonly proxy: boolean;
}

/** One row of the table: the exit code, what curl calls it, and the failures that give it. */
export interface ExitRow {
  readonly exit: number;
  readonly curl: string;
  /** What gives this code in Strand, for `--help`. */
  readonly strand: string;
  /** The StrandError codes that map here. */
  readonly codes: readonly string[];
  /** A finer test when a code alone does not decide (checked after `codes` matched, or alone when `codes` is empty). */
  readonly when?: (error: StrandError, context: ExitContext) => boolean;
}

const TIMEOUT_CODES = ['STRAND_QUEUE_TIMEOUT', 'STRAND_CONNECT_TIMEOUT', 'STRAND_SEND_TIMEOUT', 'STRAND_HEADERS_TIMEOUT', 'STRAND_BODY_TIMEOUT', 'STRAND_TOTAL_TIMEOUT'];

const bytesReceived = (error: StrandError): number => {
  const value = (error as StrandError & { bytesReceived?: unknown }).bytesReceived;
  return typeof value === 'number' ? value : 0;
};

/**
 * The table, first match wins. Codes that are not errors of an exchange (0, 2, 22 for a status,
 * 23 for the output) come from the command and are listed for `--help` with no `codes`.
 */
export const EXIT_TABLE: readonly ExitRow[] = [
  { exit: EXIT.OK, curl: 'OK', strand: 'every transfer succeeded', codes: [] },
  { exit: EXIT.FAILED, curl: 'unsupported protocol', strand: 'a URL that is not http(s), or any failure not listed here', codes: ['STRAND_REDIRECT_UNSUPPORTED_SCHEME'] },
  { exit: EXIT.USAGE, curl: 'failed to initialize', strand: 'bad command line: unknown option, bad value, unreadable file argument', codes: ['STRAND_INVALID_ARGUMENT', 'STRAND_INVALID_HEADER'] },
  { exit: EXIT.URL_MALFORMED, curl: 'URL malformed', strand: 'the URL does not parse or cannot be sent (STRAND_INVALID_REQUEST)', codes: ['STRAND_INVALID_REQUEST'] },
  { exit: EXIT.PROXY_DNS, curl: "couldn't resolve proxy", strand: "the proxy's host name did not resolve (with -x)", codes: ['STRAND_DNS_LOOKUP_FAILED'], when: (_e, context) => context.proxy },
  { exit: EXIT.DNS, curl: "couldn't resolve host", strand: 'STRAND_DNS_LOOKUP_FAILED', codes: ['STRAND_DNS_LOOKUP_FAILED'] },
  { exit: EXIT.CONNECT, curl: 'failed to connect', strand: 'STRAND_CONNECTION_REFUSED, STRAND_CONNECT_FAILED', codes: ['STRAND_CONNECTION_REFUSED', 'STRAND_CONNECT_FAILED', 'STRAND_REQUEST_NOT_SENT'] },
  { exit: EXIT.WEIRD_REPLY, curl: 'weird server reply', strand: 'the response is not valid HTTP/1.1 (STRAND_PARSE_ERROR)', codes: ['STRAND_PARSE_ERROR'] },
  { exit: EXIT.PARTIAL_FILE, curl: 'partial file', strand: 'the body ended before its framing said (STRAND_RESPONSE_FAILED)', codes: ['STRAND_RESPONSE_FAILED'] },
  { exit: EXIT.HTTP_ERROR, curl: 'HTTP page not retrieved', strand: 'status >= 400 with -f (always for strand download)', codes: ['STRAND_HTTP_STATUS'] },
  { exit: EXIT.WRITE_ERROR, curl: 'write error', strand: 'the body (or -c cookie file) could not be written', codes: [] },
  { exit: EXIT.TIMEOUT, curl: 'operation timed out', strand: 'any timeout: -m, --connect-timeout (STRAND_*_TIMEOUT)', codes: TIMEOUT_CODES },
  { exit: EXIT.RANGE_ERROR, curl: 'HTTP range error', strand: 'a resume (-C -) the server answered with a range that does not continue the file', codes: [] },
  { exit: EXIT.TLS_HANDSHAKE, curl: 'SSL connect error', strand: 'STRAND_TLS_HANDSHAKE_FAILED, STRAND_TLS_FAILED', codes: ['STRAND_TLS_HANDSHAKE_FAILED', 'STRAND_TLS_FAILED'] },
  { exit: EXIT.TOO_MANY_REDIRECTS, curl: 'too many redirects', strand: 'more than --max-redirs (STRAND_TOO_MANY_REDIRECTS)', codes: ['STRAND_TOO_MANY_REDIRECTS'] },
  { exit: EXIT.EMPTY_REPLY, curl: 'empty reply from server', strand: 'the connection closed before any response byte', codes: ['STRAND_RESPONSE_NEVER_RECEIVED'], when: (e) => bytesReceived(e) === 0 },
  { exit: EXIT.SEND_ERROR, curl: 'failure sending data', strand: 'STRAND_REQUEST_TRANSMISSION_FAILED, STRAND_REQUEST_GENERATION_FAILED', codes: ['STRAND_REQUEST_TRANSMISSION_FAILED', 'STRAND_REQUEST_GENERATION_FAILED'] },
  { exit: EXIT.RECV_ERROR, curl: 'failure receiving data', strand: 'the connection closed inside the response head; a proxy refused CONNECT', codes: ['STRAND_RESPONSE_NEVER_RECEIVED', 'STRAND_PROXY_TUNNEL_FAILED', 'STRAND_PROXY_AUTH_REQUIRED'] },
  { exit: EXIT.TLS_PEER, curl: "peer's certificate not OK", strand: 'STRAND_TLS_UNKNOWN_CA, _HOSTNAME_MISMATCH, _CERT_EXPIRED, _CERT_INVALID', codes: ['STRAND_TLS_UNKNOWN_CA', 'STRAND_TLS_HOSTNAME_MISMATCH', 'STRAND_TLS_CERT_EXPIRED', 'STRAND_TLS_CERT_INVALID'] },
  { exit: EXIT.BAD_ENCODING, curl: 'bad content encoding', strand: 'a compressed body does not decode (STRAND_DECODING_FAILED)', codes: ['STRAND_DECODING_FAILED'] },
];

/** The exit code for `error`, by the table; 1 for anything it does not name. */
export function exitCodeFor(error: unknown, context: ExitContext = { proxy: false }): number {
  if (error instanceof CommandError) return error.exitCode;
  if (!(error instanceof StrandError)) return EXIT.FAILED;
  for (const row of EXIT_TABLE) {
    if (!row.codes.includes(error.code)) continue;
    if (row.when !== undefined && !row.when(error, context)) continue;
    return row.exit;
  }
  return EXIT.FAILED;
}

/** The table's rows as `--help` prints them. */
export function exitTableText(): string {
  let text = '';
  for (const row of EXIT_TABLE) text += `  ${String(row.exit).padStart(2)}  ${row.curl.padEnd(25)} ${row.strand}\n`;
  return text;
}
