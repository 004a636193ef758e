/**
 * Where a body goes: stdout, a special file written in place (`/dev/null`), or a file written
 * as `NAME.part` and renamed when complete: the library's `PartFile` (`../download.ts`), which
 * `-C -` / `--continue` resumes with `Range` and `If-Range`.
 */

import { type FileHandle, open, stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { FileSink } from '../download.js';
import { CommandError, EXIT } from './exit-codes.js';
import { describeWriteError } from '../file-errors.js';

/** A destination for body bytes. Every failure to write is exit 23 (a {@link CommandError}, or the library's `STRAND_DOWNLOAD_WRITE_FAILED`). */
export interface Sink {
  write(chunk: Uint8Array | string): Promise<void>;
  /** The body is complete: close, and move the file to its final name. */
  finish(): Promise<void>;
  /** The transfer failed: close and leave what was written (a `.part` file stays for `-C -`). */
  abandon(): Promise<void>;
}

/** Writes to a stream (stdout), waiting for each chunk to be handed over, so a closed pipe is seen (exit 23). */
export class StreamSink implements Sink {
  private readonly stream: Writable;
  private error: Error | null = null;

  constructor(stream: Writable) {
    this.stream = stream;
    // An EPIPE is also emitted as 'error': keep it rather than crash, and fail the next write.
    stream.on('error', (error: Error) => {
      this.error ??= error;
    });
  }

  write(chunk: Uint8Array | string): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => reject(new CommandError(`cannot write the output: ${describeWriteError(error)}`, EXIT.WRITE_ERROR, { cause: error }));
      if (this.error !== null) {
        fail(this.error);
        return;
      }
      this.stream.write(chunk, (error) => (error ? fail(error) : resolve()));
    });
  }

  async finish(): Promise<void> {}

  async abandon(): Promise<void> {}
}

function writeError(path: string, error: unknown): CommandError {
  return new CommandError(`cannot write "${path}": ${describeWriteError(error)}`, EXIT.WRITE_ERROR, { cause: error });
}

/** `-o` targets that are not regular files (`/dev/null`, a FIFO) are written in place. */
export async function isSpecialFile(path: string): Promise<boolean> {
  try {
    return !(await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Opens `path` itself (a special file such as `/dev/null`), for writing in place. */
export async function openInPlace(path: string): Promise<Sink> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'w');
  } catch (error) {
    throw writeError(path, error);
  }
  return new FileSink(handle, path, path, async () => {});
}
