/**
 * One transfer, as both sub-commands run it: the request (with `Range` + `If-Range` when
 * resuming), the checks on the answer, and the body written to a {@link Sink} — stdout, a file
 * in place, or `NAME.part` renamed to `NAME` once complete.
 */

import { RangeMismatchError, redactUrl } from '@strand/core';
import type { HTTPClient } from '../client.js';
import { DownloadError, type DownloadStep, PartFile, type PartialDownload, resumeHeaders } from '../download.js';
import { HTTPStatusError } from '../errors.js';
import type { ClientResponse } from '../response.js';
import type { ClientRequestOptions } from '../types.js';
import { CommandError, EXIT } from './exit-codes.js';
import { type Sink, isSpecialFile, openInPlace } from './output.js';
import type { HeaderPair } from './session.js';

/** Where the body of a transfer goes. */
export type TransferTarget = { readonly kind: 'sink'; readonly sink: Sink } | { readonly kind: 'file'; readonly path: string };

/** One transfer to run. */
export interface TransferSpec {
  readonly method: string;
  readonly url: string;
  readonly headers: readonly HeaderPair[];
  readonly options: ClientRequestOptions;
  readonly target: TransferTarget;
  /** `-C -` / `--continue`: continue `NAME.part` (or `NAME`) with a range request. */
  readonly resume: boolean;
  /** `-i`: every response head of the chain before the body. */
  readonly include: boolean;
  /** `-I`: the heads are the output; there is no body. */
  readonly headOnly: boolean;
  /** `--no-body`: the body is read and dropped. */
  readonly noBody: boolean;
  /** `-f`: a status >= 400 writes nothing and fails with 22. */
  readonly fail: boolean;
}

/** Callbacks along the way (verbose output, progress). */
export interface TransferHooks {
  /** The response head arrived (before anything is written). */
  readonly onResponse?: (response: ClientResponse, resumedFrom: number) => Promise<void> | void;
  /** Body bytes were written. */
  readonly onBytes?: (count: number) => void;
}

/** What happened: the response (if one came), the body bytes written, and the error (null on success). */
export interface TransferResult {
  readonly response: ClientResponse | null;
  readonly bytes: number;
  /** The file was continued (206) or found complete (416) rather than written afresh. */
  readonly resumed: boolean;
  readonly error: unknown;
}

function statusLine(response: ClientResponse): string {
  return `HTTP/${response.version.join('.')} ${response.code}${response.phrase === '' ? '' : ` ${response.phrase}`}`;
}

/** The status line and headers of `response`, as they came (CRLF, blank line after). */
export function headText(response: ClientResponse): string {
  let text = `${statusLine(response)}\r\n`;
  for (const [name, value] of response.headers) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}

/** `HTTP 404 Not Found (url)`: the message of an HTTP error status. */
export function statusMessage(response: ClientResponse): string {
  return `HTTP ${response.code}${response.phrase === '' ? '' : ` ${response.phrase}`} (${redactUrl(response.url)})`;
}

/**
 * The library's resume errors as the command reports them: a range that does not continue the
 * file or a coding that differs (33), a file that cannot be written (23), an error status
 * while resuming (22, the partial file kept); each names the file.
 */
function resumeFailure(error: unknown, file: PartFile, partial: PartialDownload | null, response: ClientResponse): unknown {
  if (error instanceof RangeMismatchError && partial !== null) {
    return new CommandError(`cannot resume "${file.path}" at byte ${partial.size}: the server answered with Content-Range ${error.contentRange ?? '(none)'}`, EXIT.RANGE_ERROR, { cause: error });
  }
  if (error instanceof DownloadError) {
    const failure = error as DownloadError;
    return new CommandError(failure.message.replace(/ \(http[^)]*\)$/, ''), failure.code === 'STRAND_DOWNLOAD_WRITE_FAILED' ? EXIT.WRITE_ERROR : EXIT.RANGE_ERROR, { cause: error });
  }
  if (error instanceof HTTPStatusError) return new CommandError(`${statusMessage(response)}; the partial file "${file.part}" is kept`, EXIT.HTTP_ERROR, { cause: error });
  return error;
}

/** Opens the part file for the body, with its write failures as the command's (exit 23). */
async function openPart(file: PartFile, url: string, response: ClientResponse, append: boolean, partial: PartialDownload | null): Promise<Sink> {
  let writer: Sink;
  try {
    writer = await file.open(url, response, append);
  } catch (error) {
    throw resumeFailure(error, file, partial, response);
  }
  return {
    write: (chunk) => writer.write(chunk).catch((error: unknown) => Promise.reject(resumeFailure(error, file, partial, response))),
    finish: () => writer.finish().catch((error: unknown) => Promise.reject(resumeFailure(error, file, partial, response))),
    abandon: () => writer.abandon(),
  };
}

/** Stops a body nobody will read, so its connection is closed rather than held. */
function abandonBody(response: ClientResponse): void {
  try {
    void response[Symbol.asyncIterator]().return?.();
  } catch {
    // Already taken: whoever took it ends it.
  }
}

/** Runs one transfer; never throws (the error is in the result). */
export async function runTransfer(client: HTTPClient, spec: TransferSpec, hooks: TransferHooks = {}): Promise<TransferResult> {
  let response: ClientResponse | null = null;
  let bytes = 0;
  let resumed = false;
  let sink: Sink | null = null;
  let bodyTaken = false;
  try {
    let partFile: PartFile | null = null;
    let partial: PartialDownload | null = null;
    if (spec.target.kind === 'file' && !(await isSpecialFile(spec.target.path))) {
      partFile = new PartFile(spec.target.path);
      if (spec.resume) partial = await partFile.resumable(spec.url);
    }
    const headers: HeaderPair[] = [...spec.headers];
    let options = spec.options;
    if (partial !== null) {
      // The range is of the representation as sent: ask for it in the partial file's coding and do not decode.
      headers.push(...resumeHeaders(partial));
      options = { ...options, decompress: false };
    }
    response = await client.request(spec.method, spec.url, { ...options, headers });
    await hooks.onResponse?.(response, partial?.size ?? 0);
    const code = response.code;

    // With a partial file, the library says whether the answer continues it (206), replaces it
    // (a whole body), or finds it complete (416); anything else keeps it and fails.
    let append = false;
    if (partial !== null && partFile !== null) {
      let step: DownloadStep;
      try {
        step = await partFile.decide(response, partial);
      } catch (error) {
        bodyTaken = true;
        throw resumeFailure(error, partFile, partial, response);
      }
      if (step === 'complete') {
        bodyTaken = true;
        await partFile.complete();
        return { response, bytes: 0, resumed: true, error: null };
      }
      append = step === 'append';
      resumed = append;
    }
    if (spec.fail && code >= 400) {
      bodyTaken = true;
      await response.dump();
      throw new CommandError(statusMessage(response), EXIT.HTTP_ERROR);
    }
    const target = spec.target;
    if (target.kind === 'sink') sink = target.sink;
    else if (partFile !== null) sink = await openPart(partFile, spec.url, response, append, partial);
    else sink = await openInPlace(target.path);

    if (spec.include || spec.headOnly) {
      for (const hop of [...response.history(), response]) await sink.write(headText(hop));
    }
    bodyTaken = true;
    if (spec.headOnly || spec.noBody) {
      await response.dump();
    } else {
      for await (const chunk of response) {
        await sink.write(chunk);
        bytes += chunk.length;
        hooks.onBytes?.(chunk.length);
      }
    }
    await sink.finish();
    return { response, bytes, resumed, error: null };
  } catch (error) {
    await sink?.abandon();
    if (response !== null && !bodyTaken) abandonBody(response);
    return { response, bytes, resumed, error };
  }
}
