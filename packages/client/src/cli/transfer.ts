/**
 * One transfer, as both sub-commands run it: the request (with `Range` + `If-Range` when
 * resuming), the checks on the answer, and the body written to a {@link Sink} — stdout, a file
 * in place, or `NAME.part` renamed to `NAME` once complete.
 */

import { redactUrl } from '@strand/core';
import type { HTTPClient } from '../client.js';
import type { ClientResponse } from '../response.js';
import type { ClientRequestOptions } from '../types.js';
import { CommandError, EXIT } from './exit-codes.js';
import { PartFile, type PartialDownload, type Sink, isSpecialFile, openInPlace } from './output.js';
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

/** Checks a 206 against the partial file: it must start where the file ends, in the file's coding. */
function checkContinuation(response: ClientResponse, partial: PartialDownload, path: string): void {
  const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
  if (range === null || Number(range[1]) !== partial.size) {
    throw new CommandError(`cannot resume "${path}" at byte ${partial.size}: the server answered with Content-Range ${response.headers.get('content-range') ?? '(none)'}`, EXIT.RANGE_ERROR);
  }
  const coding = response.headers.get('content-encoding');
  if (coding !== undefined && coding.toLowerCase() !== 'identity') {
    throw new CommandError(`cannot resume "${path}": the server sent the range with Content-Encoding ${coding}`, EXIT.RANGE_ERROR);
  }
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
      // The range is of the representation as sent: ask for it uncompressed and do not decode.
      headers.push(['Range', `bytes=${partial.size}-`], ['Accept-Encoding', 'identity']);
      if (partial.ifRange !== null) headers.push(['If-Range', partial.ifRange]);
      options = { ...options, decompress: false };
    }
    response = await client.request(spec.method, spec.url, { ...options, headers });
    await hooks.onResponse?.(response, partial?.size ?? 0);
    const code = response.code;

    if (partial !== null && partFile !== null) {
      if (code === 416) {
        bodyTaken = true;
        await response.dump();
        const total = /^bytes \*\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
        if (total !== null && Number(total[1]) !== partial.size) {
          throw new CommandError(`cannot resume "${partFile.path}": the server has ${total[1]} bytes, the partial file ${partial.size}`, EXIT.RANGE_ERROR);
        }
        // The file already holds everything the server has.
        await partFile.complete();
        return { response, bytes: 0, resumed: true, error: null };
      }
      if (code < 200 || code > 299) {
        // Keep the partial file rather than replace it with an error page.
        bodyTaken = true;
        await response.dump();
        throw new CommandError(`${statusMessage(response)}; the partial file "${partFile.part}" is kept`, EXIT.HTTP_ERROR);
      }
    }
    if (spec.fail && code >= 400) {
      bodyTaken = true;
      await response.dump();
      throw new CommandError(statusMessage(response), EXIT.HTTP_ERROR);
    }
    let append = false;
    if (partial !== null && partFile !== null && code === 206) {
      checkContinuation(response, partial, partFile.path);
      append = true;
      resumed = true;
    }
    const target = spec.target;
    if (target.kind === 'sink') sink = target.sink;
    else if (partFile !== null) sink = await partFile.open(spec.url, response, append);
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
