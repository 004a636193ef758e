/**
 * Downloads to a file that can be resumed: {@link download}, and the {@link PartFile} it (and
 * the CLI's `-C -`) is built on. A body is written to `NAME.part` and renamed to `NAME` only
 * once complete, so the final name never holds a partial file. Next to `NAME.part`,
 * `NAME.part.json` keeps the URL, the validators (`ETag`, `Last-Modified`) and the
 * `Content-Encoding` of the response it came from, so a resume asks for the rest with `Range`
 * *and* `If-Range`: the server sends the missing bytes only if the representation is still the
 * same, and the whole new version otherwise.
 *
 * @packageDocumentation
 */

import { type FileHandle, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { Headers, StrandError, type StrandErrorOptions, brand, checkRangeResponse, ifRangeValidator, normalizeRanges } from '@strand/core';
import { request } from './api.js';
import type { HTTPClient } from './client.js';
import type { ClientResponse } from './response.js';
import type { ClientRequestOptions, RequestHeadersInit } from './types.js';
import { describeWriteError } from './file-errors.js';

/**
 * A download could not be completed into its file. The code says why:
 *
 * - `STRAND_DOWNLOAD_WRITE_FAILED`: the file (or its `.part` / `.part.json`) could not be
 *   written, renamed or removed; `cause` is the file system's error;
 * - `STRAND_RESUME_MISMATCH`: the server's answer to a resume cannot continue the partial file:
 *   a `416` whose length is not the file's, or a `206` in another `Content-Encoding` than the
 *   bytes already there. The partial file is kept.
 *
 * A `206` with another range than the one asked is core's `RangeMismatchError`
 * (`STRAND_RANGE_MISMATCH`).
 */
export class DownloadError extends StrandError {
  /** The file being written (the final name). */
  readonly path: string;

  constructor(code: 'STRAND_DOWNLOAD_WRITE_FAILED' | 'STRAND_RESUME_MISMATCH', message: string, path: string, options?: StrandErrorOptions) {
    super(code, message, options);
    this.path = path;
  }
}

/** What is known of an earlier, unfinished download of a file. */
export interface PartialDownload {
  /** Bytes already there (in `NAME.part`). */
  readonly size: number;
  /** The `If-Range` value to send (a strong ETag, else Last-Modified), or null when none was kept. */
  readonly ifRange: string | null;
  /** The `Content-Encoding` of the bytes already there (null: identity, or not known). */
  readonly contentEncoding: string | null;
}

/** What `NAME.part.json` holds. */
interface PartMeta {
  readonly url: string;
  readonly etag?: string;
  readonly lastModified?: string;
  readonly contentEncoding?: string;
}

/** Where the body of a response goes: append to the partial file, write it afresh, or nothing to write (the file is complete). */
export type DownloadStep = 'append' | 'write' | 'complete';

/** A destination for body bytes (the CLI's outputs have the same shape). */
export interface FileWriter {
  /** Writes every byte of `chunk`. */
  write(chunk: Uint8Array | string): Promise<void>;
  /** The body is complete: close, and move the file to its final name. */
  finish(): Promise<void>;
  /** The transfer failed: close and leave what was written (a `.part` file stays for a resume). */
  abandon(): Promise<void>;
}

function writeError(path: string, file: string, error: unknown): DownloadError {
  return new DownloadError('STRAND_DOWNLOAD_WRITE_FAILED', `cannot write "${file}": ${describeWriteError(error)}`, path, { cause: error });
}

async function regularFileSize(path: string): Promise<number | null> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : null;
  } catch {
    return null;
  }
}

/** A `Content-Encoding` value compared as codings are: case-insensitive, `identity` the same as none. */
function coding(value: string | null | undefined): string | null {
  const lower = value?.trim().toLowerCase();
  return lower === undefined || lower === '' || lower === 'identity' ? null : lower;
}

/**
 * A file that becomes `path` when its body is complete: written as `path.part`, with the
 * response's validators in `path.part.json`, renamed at the end.
 */
export class PartFile {
  /** The final name. */
  readonly path: string;
  /** `path.part`: the bytes so far. */
  readonly part: string;
  /** `path.part.json`: the URL, validators and coding of the bytes so far. */
  readonly meta: string;

  constructor(path: string) {
    this.path = path;
    this.part = `${path}.part`;
    this.meta = `${path}.part.json`;
  }

  /**
   * What can be resumed for `url`: `NAME.part` (with the validators kept for the same URL;
   * a `.part` of another URL is not resumed), else a complete-looking `NAME` left by an earlier
   * run or another tool, which is moved to `NAME.part` first (resumed without `If-Range`, as
   * curl and wget do) so the final name is again only ever a finished file. Null: start afresh.
   */
  async resumable(url: string): Promise<PartialDownload | null> {
    const partSize = await regularFileSize(this.part);
    if (partSize !== null) {
      let meta: PartMeta | null = null;
      try {
        meta = JSON.parse(await readFile(this.meta, 'utf8')) as PartMeta;
      } catch {
        meta = null;
      }
      if (meta !== null && meta.url !== url) return null;
      if (partSize === 0) return null;
      return { size: partSize, ifRange: meta === null ? null : ifRangeOf(meta), contentEncoding: coding(meta?.contentEncoding) };
    }
    const finalSize = await regularFileSize(this.path);
    if (finalSize === null || finalSize === 0) return null;
    try {
      await rename(this.path, this.part);
    } catch (error) {
      throw writeError(this.path, this.part, error);
    }
    return { size: finalSize, ifRange: null, contentEncoding: null };
  }

  /**
   * Says what to do with the response to a request made with {@link resumeHeaders}`(partial)`:
   *
   * - no partial file, or a 2xx other than 206 (the server sent the whole representation: the
   *   validator changed, or it ignores `Range`): `write` the file afresh;
   * - a `206` that starts where the file ends, in the file's coding: `append`;
   * - a `416` saying the representation is as long as the file: `complete` (nothing to fetch).
   *
   * Throws core's `RangeMismatchError` for a 206 with another range, a {@link DownloadError}
   * `STRAND_RESUME_MISMATCH` for a 206 in another coding or a 416 of another length, and the
   * response's `HTTPStatusError` for any other status >= 300 (after discarding its body); the
   * partial file is then kept.
   */
  async decide(response: ClientResponse, partial: PartialDownload | null): Promise<DownloadStep> {
    if (partial === null) return 'write';
    const code = response.code;
    if (code === 416) {
      await response.dump();
      const outcome = checkRangeResponse(response, normalizeRanges({ start: partial.size }));
      const total = outcome.kind === 'unsatisfiable' ? outcome.completeLength : undefined;
      if (total !== partial.size) {
        const has = total === undefined ? 'does not say how long it is' : `has ${total} bytes`;
        throw new DownloadError('STRAND_RESUME_MISMATCH', `cannot resume "${this.path}": the server ${has}, the partial file ${partial.size}`, this.path, { url: response.url });
      }
      return 'complete';
    }
    if (code < 200 || code > 299) {
      await response.dump();
      response.raiseForStatus();
      throw new DownloadError('STRAND_RESUME_MISMATCH', `cannot resume "${this.path}": HTTP ${code}`, this.path, { url: response.url });
    }
    if (code !== 206) return 'write';
    checkRangeResponse(response, normalizeRanges({ start: partial.size }), response.url);
    const got = coding(response.headers.get('content-encoding'));
    if (got !== partial.contentEncoding) {
      throw new DownloadError(
        'STRAND_RESUME_MISMATCH',
        `cannot resume "${this.path}": the server sent the range with Content-Encoding ${got ?? 'identity'}, the partial file holds ${partial.contentEncoding ?? 'identity'}`,
        this.path,
        { url: response.url },
      );
    }
    return 'append';
  }

  /**
   * Opens `NAME.part` for the body of `response`: appended to when `append` (a 206 that continues
   * it), else truncated. Records the response's validators and coding for a later resume.
   */
  async open(url: string, response: ClientResponse, append: boolean): Promise<FileWriter> {
    const etag = response.headers.get('etag');
    const lastModified = response.headers.get('last-modified');
    const contentEncoding = coding(response.headers.get('content-encoding'));
    try {
      if (etag !== undefined || lastModified !== undefined) {
        const meta: PartMeta = {
          url,
          ...(etag === undefined ? {} : { etag }),
          ...(lastModified === undefined ? {} : { lastModified }),
          ...(contentEncoding === null ? {} : { contentEncoding }),
        };
        await writeFile(this.meta, `${JSON.stringify(meta)}\n`);
      } else if (!append) {
        await rm(this.meta, { force: true });
      }
    } catch (error) {
      throw writeError(this.path, this.meta, error);
    }
    let handle: FileHandle;
    try {
      handle = await open(this.part, append ? 'a' : 'w');
    } catch (error) {
      throw writeError(this.path, this.part, error);
    }
    return new FileSink(handle, this.path, this.part, () => this.complete());
  }

  /** The `.part` file is the whole body: give it its name (and drop its `.part.json`). */
  async complete(): Promise<void> {
    try {
      await rename(this.part, this.path);
      await rm(this.meta, { force: true });
    } catch (error) {
      throw writeError(this.path, this.path, error);
    }
  }
}

/** The validator for `If-Range` from what was kept (see core's `ifRangeValidator`). */
function ifRangeOf(meta: PartMeta): string | null {
  const headers = new Headers();
  if (typeof meta.etag === 'string') headers.set('ETag', meta.etag);
  if (typeof meta.lastModified === 'string') headers.set('Last-Modified', meta.lastModified);
  return ifRangeValidator(headers) ?? null;
}

/**
 * The request headers that continue `partial`: `Range: bytes=<size>-`, `If-Range` with its
 * validator when one was kept, and `Accept-Encoding: identity` (a range is of the
 * representation as sent: asking for it compressed would give bytes of another one).
 */
export function resumeHeaders(partial: PartialDownload): Array<[string, string]> {
  const headers: Array<[string, string]> = [
    ['Range', `bytes=${partial.size}-`],
    ['Accept-Encoding', partial.contentEncoding ?? 'identity'],
  ];
  if (partial.ifRange !== null) headers.push(['If-Range', partial.ifRange]);
  return headers;
}

/** Writes to an open file; `finish` closes it and then runs `done` (the rename). */
export class FileSink implements FileWriter {
  private readonly handle: FileHandle;
  private readonly path: string;
  private readonly name: string;
  private readonly done: () => Promise<void>;
  private closed = false;

  /** @param path - the download's final name (for errors); `name` is the file written. */
  constructor(handle: FileHandle, path: string, name: string, done: () => Promise<void>) {
    this.handle = handle;
    this.path = path;
    this.name = name;
    this.done = done;
  }

  async write(chunk: Uint8Array | string): Promise<void> {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    try {
      let offset = 0;
      while (offset < bytes.length) {
        const { bytesWritten } = await this.handle.write(bytes, offset, bytes.length - offset);
        offset += bytesWritten;
      }
    } catch (error) {
      throw writeError(this.path, this.name, error);
    }
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.handle.close();
    } catch (error) {
      throw writeError(this.path, this.name, error);
    }
  }

  async finish(): Promise<void> {
    await this.close();
    await this.done();
  }

  async abandon(): Promise<void> {
    await this.close().catch(() => {});
  }
}

/** Options of {@link download}: request options (no body; the response is always streamed) plus where to resume. */
export interface DownloadOptions extends Omit<ClientRequestOptions, 'data' | 'json' | 'files' | 'unbuffered' | 'decompress' | 'range' | 'ifRange'> {
  /**
   * Continue an unfinished download of the same URL (`NAME.part`, or a `NAME` left by another
   * tool) with `Range` + `If-Range`, as curl's `-C -`. Default false: the file is downloaded afresh.
   */
  resume?: boolean;
  /** The client to send the request with (its cookies, defaults, pool). Default: the module functions' shared client. */
  client?: HTTPClient;
}

/** How a {@link download} ended. */
export interface DownloadResult {
  /** The file written (the final name). */
  readonly path: string;
  /** The final response (its body has been read into the file). */
  readonly response: ClientResponse;
  /**
   * `downloaded`: written whole (no partial file); `resumed`: a 206 continued the partial file;
   * `restarted`: there was a partial file but the server sent the whole representation (it
   * changed, or the server ignores ranges), which replaced it; `complete`: the partial file
   * already held everything (the server answered `416` with its length).
   */
  readonly outcome: 'downloaded' | 'resumed' | 'restarted' | 'complete';
  /** Bytes that were already in the partial file (0 when there was none). */
  readonly resumedFrom: number;
  /** Body bytes written by this call. */
  readonly written: number;
  /** The file's size now. */
  readonly size: number;
}

/** `init` as `[name, value]` pairs, without the fields named in `drop` (lower case). */
function headerPairs(init: RequestHeadersInit | undefined, drop: ReadonlySet<string>): Array<readonly [string, string | null | undefined]> {
  if (init === undefined) return [];
  const pairs: Array<readonly [string, string | null | undefined]> = [];
  const push = (name: string, value: string | readonly string[] | null | undefined): void => {
    if (drop.has(name.toLowerCase())) return;
    if (Array.isArray(value)) for (const one of value as readonly string[]) pairs.push([name, one]);
    else pairs.push([name, value as string | null | undefined]);
  };
  if (init instanceof Headers) for (const [name, value] of init) push(name, value);
  else if (typeof (init as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function') for (const [name, value] of init as Iterable<readonly [string, string | null | undefined]>) push(name, value);
  else for (const [name, value] of Object.entries(init as Record<string, string | readonly string[] | null | undefined>)) push(name, value);
  return pairs;
}

const RESUME_FIELDS: ReadonlySet<string> = new Set(['range', 'if-range', 'accept-encoding']);

/**
 * Downloads `url` into the file `path`: the body goes to `path.part`, renamed to `path` once
 * complete. With `resume: true`, an unfinished earlier download is continued with `Range` and
 * `If-Range` (see {@link DownloadResult.outcome} for what can happen). The body is asked for
 * as the server stores it (`Accept-Encoding: identity`) and written as it comes, never decoded,
 * so its bytes can be continued by a range; a range in another coding than the bytes already
 * there is refused rather than appended.
 *
 * Rejects with the response's `HTTPStatusError` for a status >= 400 (nothing is written; a
 * partial file is kept), core's `RangeMismatchError` (a 206 that does not continue the file), a
 * {@link DownloadError}, or the request's own errors; an interrupted body leaves `path.part` for
 * the next `resume`.
 *
 * @example
 * ```ts
 * const result = await download('http://127.0.0.1:8080/big.iso', '/tmp/big.iso', { resume: true });
 * console.log(result.outcome, result.resumedFrom, result.size);
 * ```
 */
export async function download(url: string | URL, path: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const { resume = false, client, ...rest } = options;
  const href = String(url);
  const file = new PartFile(path);
  const partial = resume ? await file.resumable(href) : null;
  const headers = [...headerPairs(rest.headers, RESUME_FIELDS), ...(partial === null ? [['Accept-Encoding', 'identity'] as const] : resumeHeaders(partial))];
  const requestOptions: ClientRequestOptions = { ...rest, headers, decompress: false, unbuffered: true };
  const response = client === undefined ? await request('GET', href, requestOptions) : await client.request('GET', href, requestOptions);
  let writer: FileWriter | null = null;
  let written = 0;
  try {
    const step = await file.decide(response, partial);
    const resumedFrom = partial?.size ?? 0;
    if (step === 'complete') {
      await file.complete();
      return { path, response, outcome: 'complete', resumedFrom, written: 0, size: resumedFrom };
    }
    if (response.code >= 400) {
      await response.dump();
      response.raiseForStatus();
    }
    writer = await file.open(href, response, step === 'append');
    for await (const chunk of response) {
      await writer.write(chunk);
      written += chunk.length;
    }
    await writer.finish();
    const outcome = step === 'append' ? 'resumed' : partial === null ? 'downloaded' : 'restarted';
    return { path, response, outcome, resumedFrom, written, size: (step === 'append' ? resumedFrom : 0) + written };
  } catch (error) {
    await writer?.abandon();
    await response.dump().catch(() => {});
    throw error;
  }
}

brand(DownloadError, 'client.DownloadError');
