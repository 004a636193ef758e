/**
 * {@link FileCacheStore}: a {@link CacheStore} in a directory, safe to share between processes.
 *
 * Layout: `<dir>/<sha256(key)>/<sha256(variant)>` holds one response; `<dir>/tmp/` holds entries
 * being written. An entry file is the body, then the head as JSON, then the JSON's length (4
 * bytes) and a magic (8 bytes); the head carries the body's length and SHA-256. An entry is
 * written to `tmp/` and renamed into place, so a reader sees a whole entry or none; one that does
 * not check out (truncated, corrupt, another key) is removed and never served.
 *
 * @packageDocumentation
 */

import { createHash, randomBytes } from 'node:crypto';
import { type WriteStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../../errors.js';
import { brand } from '../../brand.js';
import type { CacheStore, CacheStoreWriter, StoredHead, StoredResponse } from './store.js';

const MAGIC = Buffer.from('STRNDC01', 'latin1');
const TRAILER = 4 + MAGIC.length;

/** Options of {@link FileCacheStore}. */
export interface FileCacheStoreOptions {
  /** The most bytes the directory's entries may take, all together. Default 256 MiB. */
  maxSize?: number;
  /** The largest single entry, in bytes (a larger response is not stored). Default `maxSize / 8`. */
  maxEntrySize?: number;
}

interface EntryHead extends StoredHead {
  readonly size: number;
  readonly sha256: string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A {@link CacheStore} in a directory (Node built-ins only). Entries are written beside the
 * cache and renamed into place; a size bound is kept by removing the least recently modified
 * entries; entries that are truncated or corrupt are removed and never served. Any failure of
 * the file system (a full or read-only disk) is a failure of the store, which the
 * `CachingAgent` treats as a miss.
 *
 * @example
 * ```ts
 * const agent = new CachingAgent(new HttpAgent(), { store: new FileCacheStore('/var/cache/my-app') });
 * ```
 */
export class FileCacheStore implements CacheStore {
  /** The directory. */
  readonly dir: string;
  /** The most bytes held. */
  readonly maxSize: number;
  /** The largest single entry, in bytes. */
  readonly maxEntrySize: number;
  /** Bytes written by this process since the last size check. */
  private written = 0;
  private evicting: Promise<void> = Promise.resolve();
  /** Commits under way (awaited by {@link flush}). */
  private readonly committing = new Set<Promise<void>>();

  constructor(dir: string, options: FileCacheStoreOptions = {}) {
    if (typeof dir !== 'string' || dir === '') throw new InvalidArgumentError('FileCacheStore: dir must be a directory path');
    const maxSize = options.maxSize ?? 256 * 1024 * 1024;
    if (!(Number.isSafeInteger(maxSize) && maxSize >= 0)) throw new InvalidArgumentError(`FileCacheStore: maxSize must be a non-negative integer, got ${String(options.maxSize)}`);
    const maxEntrySize = options.maxEntrySize ?? Math.floor(maxSize / 8);
    if (!(Number.isSafeInteger(maxEntrySize) && maxEntrySize >= 0)) throw new InvalidArgumentError(`FileCacheStore: maxEntrySize must be a non-negative integer, got ${String(options.maxEntrySize)}`);
    this.dir = path.resolve(dir);
    this.maxSize = maxSize;
    this.maxEntrySize = Math.min(maxEntrySize, maxSize);
  }

  private keyDir(key: string): string {
    return path.join(this.dir, sha256(key));
  }

  private entryPath(key: string, variant: string): string {
    return path.join(this.keyDir(key), sha256(variant));
  }

  async get(key: string): Promise<readonly StoredResponse[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.keyDir(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const found: StoredResponse[] = [];
    for (const name of names) {
      const entry = await this.read(path.join(this.keyDir(key), name), key);
      if (entry !== null) found.push(entry);
    }
    return found;
  }

  /** Reads and checks one entry file; a bad one is removed and null returned. */
  private async read(file: string, key: string): Promise<StoredResponse | null> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const head = parseEntry(bytes);
    if (head === null || head.key !== key) {
      await fs.rm(file, { force: true }).catch(() => undefined);
      return null;
    }
    const body = bytes.subarray(0, head.size);
    const { sha256: _digest, ...stored } = head;
    return { ...stored, body: [body] };
  }

  open(head: StoredHead): CacheStoreWriter {
    const tmpDir = path.join(this.dir, 'tmp');
    const tmp = path.join(tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    let state: 'writing' | 'failed' | 'done' = 'writing';
    // The temporary file is made at the first write (or the commit): a body nobody reads leaves nothing behind.
    let opened: Promise<WriteStream> | null = null;
    const stream = (): Promise<WriteStream> => {
      if (opened !== null) return opened;
      opened = fs.mkdir(tmpDir, { recursive: true }).then(() => {
        const created = createWriteStream(tmp, { flags: 'wx' });
        created.on('error', () => {
          if (state === 'writing') state = 'failed';
        });
        return created;
      });
      opened.catch(() => {
        if (state === 'writing') state = 'failed';
      });
      return opened;
    };
    const fail = (): void => {
      state = 'failed';
      if (opened === null) return;
      void opened.then((s) => s.destroy(), () => undefined).then(() => fs.rm(tmp, { force: true })).catch(() => undefined);
    };
    const commit = async (): Promise<void> => {
      if (state !== 'writing') return;
      const json = Buffer.from(JSON.stringify({ ...head, size, sha256: hash.digest('hex') } satisfies EntryHead), 'utf8');
      const trailer = Buffer.alloc(TRAILER);
      trailer.writeUInt32BE(json.length, 0);
      MAGIC.copy(trailer, 4);
      const s = await stream();
      await new Promise<void>((resolve, reject) => {
        s.on('error', reject);
        s.end(Buffer.concat([json, trailer]), () => resolve());
      });
      if (state !== 'writing') throw new Error('the cache entry could not be written');
      state = 'done';
      const final = this.entryPath(head.key, head.variant);
      try {
        await fs.mkdir(path.dirname(final), { recursive: true });
        await fs.rename(tmp, final);
      } catch (error) {
        await fs.rm(tmp, { force: true }).catch(() => undefined);
        throw error;
      }
      this.written += size + json.length + TRAILER;
      if (this.written > this.maxSize / 16) await this.evict();
    };
    return {
      write: (chunk) => {
        if (state !== 'writing') return;
        size += chunk.length;
        if (size > this.maxEntrySize) {
          fail();
          return;
        }
        hash.update(chunk);
        const copy = Buffer.from(chunk);
        void stream().then((s) => s.write(copy), () => undefined);
      },
      commit: () => {
        const done = commit();
        this.committing.add(done);
        const settle = (): void => {
          this.committing.delete(done);
        };
        done.then(settle, settle);
        return done;
      },
      abort: () => {
        if (state === 'writing') fail();
      },
    };
  }

  async update(head: StoredHead): Promise<void> {
    const file = this.entryPath(head.key, head.variant);
    const current = await this.read(file, head.key);
    if (current === null) return;
    const writer = this.open(head);
    for (const chunk of current.body) writer.write(chunk);
    await writer.commit();
  }

  async delete(key: string, variant?: string): Promise<void> {
    if (variant !== undefined) await fs.rm(this.entryPath(key, variant), { force: true });
    else await fs.rm(this.keyDir(key), { recursive: true, force: true });
  }

  /** Resolves once the entries being committed by this store are in place (or have failed). */
  async flush(): Promise<void> {
    while (this.committing.size > 0) await Promise.allSettled([...this.committing]);
  }

  /** Removes the least recently modified entries until the directory is within `maxSize` (one pass at a time). */
  evict(): Promise<void> {
    const pass = this.evicting.then(() => this.evictNow());
    this.evicting = pass.catch(() => undefined);
    return pass;
  }

  private async evictNow(): Promise<void> {
    this.written = 0;
    const entries: { file: string; size: number; mtime: number }[] = [];
    let total = 0;
    for (const dir of await fs.readdir(this.dir)) {
      if (dir === 'tmp') continue;
      let names: string[];
      try {
        names = await fs.readdir(path.join(this.dir, dir));
      } catch {
        continue;
      }
      for (const name of names) {
        const file = path.join(this.dir, dir, name);
        try {
          const stat = await fs.stat(file);
          entries.push({ file, size: stat.size, mtime: stat.mtimeMs });
          total += stat.size;
        } catch {
          // Removed by another process meanwhile.
        }
      }
    }
    if (total <= this.maxSize) return;
    entries.sort((a, b) => a.mtime - b.mtime);
    for (const entry of entries) {
      if (total <= this.maxSize) break;
      await fs.rm(entry.file, { force: true }).catch(() => undefined);
      total -= entry.size;
    }
  }
}

/** The head of an entry file, checked (magic, lengths, JSON shape, body SHA-256); null when it does not check out. */
function parseEntry(bytes: Buffer): EntryHead | null {
  if (bytes.length < TRAILER || !bytes.subarray(bytes.length - MAGIC.length).equals(MAGIC)) return null;
  const jsonLength = bytes.readUInt32BE(bytes.length - TRAILER);
  const jsonStart = bytes.length - TRAILER - jsonLength;
  if (jsonStart < 0) return null;
  let head: EntryHead;
  try {
    head = JSON.parse(bytes.subarray(jsonStart, bytes.length - TRAILER).toString('utf8')) as EntryHead;
  } catch {
    return null;
  }
  if (typeof head !== 'object' || head === null || head.size !== jsonStart || typeof head.key !== 'string' || typeof head.variant !== 'string') return null;
  if (!Array.isArray(head.headers) || !head.headers.every((s) => typeof s === 'string') || typeof head.code !== 'number') return null;
  if (createHash('sha256').update(bytes.subarray(0, head.size)).digest('hex') !== head.sha256) return null;
  return head;
}

brand(FileCacheStore, 'core.FileCacheStore');
