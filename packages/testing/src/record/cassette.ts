/**
 * Cassettes: recorded exchanges kept as a HAR 1.2 file, and how a recorded response is turned
 * back into the bytes a server sent.
 *
 * @packageDocumentation
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Har, type HarEntry, type HarNameValue, HarFormatError, emptyHar, harResponseBody, parseHar, serializeHar } from '@strand/client';
import { isToken, isValidFieldValue } from '@strand/core';
import { CassetteError } from '../errors.js';

/**
 * Recorded exchanges, in order, as HAR entries, and the file they live in. Load one with
 * {@link Cassette.load} (a missing file is an empty cassette), write it with {@link Cassette.save}.
 *
 * @example
 * ```ts
 * const cassette = Cassette.load('test/cassettes/users.har');
 * console.log(cassette.entries.length, cassette.exists);
 * ```
 */
export class Cassette {
  /** The file, or null for a cassette made in memory. */
  readonly path: string | null;
  /** The recorded exchanges, in order. */
  readonly entries: HarEntry[];
  /** True when the cassette was read from a file that existed. */
  readonly exists: boolean;
  private readonly log: Omit<Har['log'], 'entries'>;

  /** A cassette holding `har`'s entries (an empty one by default), to be saved at `file` (if given). */
  constructor(har: Har = emptyHar('recorded by @strand/testing'), file: string | null = null, exists = false) {
    this.path = file;
    this.exists = exists;
    const { entries, ...log } = har.log;
    this.log = log;
    this.entries = [...entries];
  }

  /**
   * Reads a cassette file. A file that does not exist gives an empty cassette (`exists` false).
   *
   * @throws {@link CassetteError} when the file is not a HAR log (naming the file and the field).
   */
  static load(file: string): Cassette {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Cassette(undefined, file, false);
      throw new CassetteError(`cassette ${file} could not be read: ${(error as Error).message}`, file, { cause: error });
    }
    try {
      return new Cassette(parseHar(text), file, true);
    } catch (error) {
      if (error instanceof HarFormatError) throw new CassetteError(`cassette ${file}: ${error.message}`, file, { cause: error });
      throw error;
    }
  }

  /** The cassette as a HAR log. */
  toHar(): Har {
    return { log: { ...this.log, entries: this.entries } };
  }

  /**
   * Writes the cassette as a HAR file (JSON), creating its folder. The file is replaced whole
   * (written aside, then renamed), so a crash never leaves half a cassette.
   *
   * @throws {@link CassetteError} when there is no file to write to, or writing failed.
   */
  save(file: string | null = this.path): void {
    if (file === null) throw new CassetteError('this cassette has no file: give save() a path', null);
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(temp, serializeHar(this.toHar()));
      fs.renameSync(temp, file);
    } catch (error) {
      throw new CassetteError(`cassette ${file} could not be written: ${(error as Error).message}`, file, { cause: error });
    }
  }
}

const BODILESS = new Set([204, 304]);

function findHeader(headers: readonly HarNameValue[], name: string): HarNameValue | undefined {
  return headers.find((h) => h.name.toLowerCase() === name);
}

function headLines(headers: readonly HarNameValue[], where: string, file: string | null): string {
  let text = '';
  for (const { name, value } of headers) {
    if (!isToken(name) || !isValidFieldValue(value)) throw new CassetteError(`${where}: header ${JSON.stringify(name)} has a name or value that cannot be sent (CR, LF or a control character)`, file);
    text += `${name}: ${value}\r\n`;
  }
  return text;
}

function statusLine(version: string, status: number, text: string, where: string, file: string | null): string {
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new CassetteError(`${where}: status ${status} is not a status code`, file);
  if (!isValidFieldValue(text)) throw new CassetteError(`${where}: the status text has CR, LF or a control character`, file);
  return `${version} ${status} ${text}\r\n`;
}

/** The bytes of a recorded response, and how the connection ends after them. */
export interface ResponseBytes {
  /** Everything the server sent for the response. */
  bytes: Buffer;
  /** The connection closes after them (a body delimited by the close, `Connection: close`). */
  close: boolean;
  /** The body failed (or was abandoned) while recording: the bytes are what arrived, and a reset follows. */
  failed: boolean;
}

/**
 * The response of `entry` as the server sent it: its interim responses, the status line, the
 * header fields in order and spelling, and the body with its framing: chunked in the recorded
 * pieces with the trailers, with its `Content-Length` (set to the body's length if the file was
 * edited), or delimited by the close. A body that failed while recording is sent as far as it
 * arrived (`failed`: the connection is then reset). `method` is the request's (a `HEAD` has no body).
 *
 * @throws {@link CassetteError} for an entry that cannot be sent (`where` names it).
 */
export function responseBytes(entry: HarEntry, method: string, where: string, file: string | null): ResponseBytes {
  const response = entry.response;
  const strand = entry._strand;
  const version = /^HTTP\/1\.[01]$/.test(response.httpVersion) ? response.httpVersion : 'HTTP/1.1';
  let head = '';
  for (const info of strand?.informational ?? []) {
    head += `${statusLine('HTTP/1.1', info.status, info.statusText, where, file)}${headLines(info.headers, where, file)}\r\n`;
  }
  head += statusLine(version, response.status, response.statusText, where, file);
  const body = harResponseBody(entry);
  const connection = findHeader(response.headers, 'connection')?.value.toLowerCase() ?? '';
  let close = /\bclose\b/.test(connection) || (version === 'HTTP/1.0' && !/\bkeep-alive\b/.test(connection));
  const failed = strand?.end !== undefined && strand.end !== 'done' && strand.end !== 'potential-data-loss';
  const bodiless = method.toUpperCase() === 'HEAD' || BODILESS.has(response.status) || response.status < 200;
  const chunked = /(?:^|,)\s*chunked\s*$/i.test(findHeader(response.headers, 'transfer-encoding')?.value ?? '');
  const length = findHeader(response.headers, 'content-length');
  let headers = response.headers;
  if (bodiless) return { bytes: Buffer.from(`${head}${headLines(headers, where, file)}\r\n`, 'latin1'), close, failed };
  const parts: Buffer[] = [];
  if (chunked) {
    const recorded = strand?.chunks ?? [];
    const pieces = recorded.reduce((sum, n) => sum + n, 0) === body.length ? recorded : body.length > 0 ? [body.length] : [];
    let at = 0;
    for (const size of pieces) {
      parts.push(Buffer.from(`${size.toString(16)}\r\n`, 'latin1'), body.subarray(at, at + size), Buffer.from('\r\n', 'latin1'));
      at += size;
    }
    if (!failed) parts.push(Buffer.from(`0\r\n${headLines(strand?.trailers ?? [], where, file)}\r\n`, 'latin1'));
  } else {
    if (length === undefined) close = true;
    else if (!failed && length.value.trim() !== String(body.length)) headers = headers.map((h) => (h === length ? { ...h, value: String(body.length) } : h));
    parts.push(body);
  }
  return { bytes: Buffer.concat([Buffer.from(`${head}${headLines(headers, where, file)}\r\n`, 'latin1'), ...parts]), close, failed };
}
