/**
 * Where a body goes: stdout, or a file that is written under a temporary name (`NAME.part`) and
 * renamed to `NAME` only once the body is complete, so nothing partial ever sits under the final
 * name. Next to a `.part` file, `NAME.part.json` keeps the URL and the validators (`ETag`,
 * `Last-Modified`) of the response it came from, so a later `-C -` / `--continue` asks for the
 * rest with `Range` *and* `If-Range`: the server sends the missing bytes only if the resource
 * is still the same, and the whole new version otherwise.
 */

import { type FileHandle, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { ClientResponse } from '../response.js';
import { CommandError, EXIT } from './exit-codes.js';

/** A destination for body bytes. Every failure to write is a {@link CommandError} with exit 23. */
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
      const fail = (error: Error): void => reject(new CommandError(`cannot write the output: ${describeError(error)}`, EXIT.WRITE_ERROR, { cause: error }));
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

function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}

function writeError(path: string, error: unknown): CommandError {
  return new CommandError(`cannot write "${path}": ${describeError(error)}`, EXIT.WRITE_ERROR, { cause: error });
}

/** What is known of an earlier, unfinished download of a file. */
export interface PartialDownload {
  /** Bytes already there (in `NAME.part`). */
  readonly size: number;
  /** The `If-Range` value to send (a strong ETag, else Last-Modified), or null when none was kept. */
  readonly ifRange: string | null;
}

/** What `NAME.part.json` holds. */
interface PartMeta {
  readonly url: string;
  readonly etag?: string;
  readonly lastModified?: string;
}

async function regularFileSize(path: string): Promise<number | null> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : null;
  } catch {
    return null;
  }
}

/** `-o` targets that are not regular files (`/dev/null`, a FIFO) are written in place. */
export async function isSpecialFile(path: string): Promise<boolean> {
  try {
    return !(await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * A file that becomes `path` when its body is complete: written as `path.part`, with the
 * response's validators in `path.part.json`, renamed at the end.
 */
export class PartFile {
  readonly path: string;
  readonly part: string;
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
      return { size: partSize, ifRange: meta === null ? null : ifRangeOf(meta) };
    }
    const finalSize = await regularFileSize(this.path);
    if (finalSize === null || finalSize === 0) return null;
    try {
      await rename(this.path, this.part);
    } catch (error) {
      throw writeError(this.part, error);
    }
    return { size: finalSize, ifRange: null };
  }

  /**
   * Opens `NAME.part` for the body of `response`: appended to when `append` (a 206 that continues
   * it), else truncated. Records the response's validators for a later resume.
   */
  async open(url: string, response: ClientResponse, append: boolean): Promise<Sink> {
    const etag = response.headers.get('etag');
    const lastModified = response.headers.get('last-modified');
    try {
      if (etag !== undefined || lastModified !== undefined) {
        const meta: PartMeta = { url, ...(etag === undefined ? {} : { etag }), ...(lastModified === undefined ? {} : { lastModified }) };
        await writeFile(this.meta, `${JSON.stringify(meta)}\n`);
      } else if (!append) {
        await rm(this.meta, { force: true });
      }
    } catch (error) {
      throw writeError(this.meta, error);
    }
    let handle: FileHandle;
    try {
      handle = await open(this.part, append ? 'a' : 'w');
    } catch (error) {
      throw writeError(this.part, error);
    }
    return new FileSink(handle, this.part, async () => {
      try {
        await rename(this.part, this.path);
        await rm(this.meta, { force: true });
      } catch (error) {
        throw writeError(this.path, error);
      }
    });
  }

  /** The `.part` file is already the whole body (the server answered the resume with 416): give it its name. */
  async complete(): Promise<void> {
    try {
      await rename(this.part, this.path);
      await rm(this.meta, { force: true });
    } catch (error) {
      throw writeError(this.path, error);
    }
  }
}

/** The validator for `If-Range`: a strong ETag (a weak one may not be used there), else the date. */
function ifRangeOf(meta: PartMeta): string | null {
  if (meta.etag !== undefined && !meta.etag.startsWith('W/')) return meta.etag;
  return meta.lastModified ?? null;
}

/** Opens `path` itself (a special file such as `/dev/null`), for writing in place. */
export async function openInPlace(path: string): Promise<Sink> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'w');
  } catch (error) {
    throw writeError(path, error);
  }
  return new FileSink(handle, path, async () => {});
}

/** Writes to an open file; `finish` closes it and then runs `done` (the rename). */
class FileSink implements Sink {
  private readonly handle: FileHandle;
  private readonly name: string;
  private readonly done: () => Promise<void>;
  private closed = false;

  constructor(handle: FileHandle, name: string, done: () => Promise<void>) {
    this.handle = handle;
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
      throw writeError(this.name, error);
    }
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.handle.close();
    } catch (error) {
      throw writeError(this.name, error);
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
