/**
 * Where a {@link CachingAgent} keeps responses: the {@link CacheStore} contract (anyone can
 * implement it: a file store, a shared store) and {@link MemoryCacheStore}, an LRU bounded in
 * bytes.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from '../../errors.js';
import { brand } from '../../brand.js';

/** The head of a stored response: everything but its body. */
export interface StoredHead {
  /** The cache key: the request URL without its fragment (see `cacheKey`). */
  readonly key: string;
  /**
   * Which variant of `key` this is: the request's values of the fields the response's `Vary`
   * names, encoded as a string. A store keeps one response per `(key, variant)`.
   */
  readonly variant: string;
  /** The request's values of the fields the response's `Vary` names (lower-case names; null when absent). */
  readonly varyValues: Readonly<Record<string, string | null>>;
  /** Status code. */
  readonly code: number;
  /** Reason phrase. */
  readonly phrase: string;
  /** HTTP version of the response. */
  readonly version: readonly [number, number];
  /** Response header fields as a flat `[name, value, name, value, ...]` list (hop-by-hop fields removed). */
  readonly headers: readonly string[];
  /** When the request that produced this response was sent, ms since the epoch (RFC 9111 §4.2.3 `request_time`). */
  readonly requestTime: number;
  /** When the response was received, ms since the epoch (RFC 9111 §4.2.3 `response_time`). */
  readonly responseTime: number;
}

/** A stored response: its head and its whole body. */
export interface StoredResponse extends StoredHead {
  /** The body, in pieces. A store must never change them once stored. */
  readonly body: readonly Buffer[];
  /** The body's length in bytes. */
  readonly size: number;
}

/**
 * Receives one response body as it is read. Nothing is visible in the store before
 * {@link CacheStoreWriter.commit}; after {@link CacheStoreWriter.abort} nothing ever is.
 */
export interface CacheStoreWriter {
  /** A piece of the body. The buffer is only valid during the call: copy what you keep. */
  write(chunk: Buffer): void;
  /** The body ended complete: store the response (replacing the same `(key, variant)`). */
  commit(): void | Promise<void>;
  /** The body failed, was cut short or was too large: drop what was written. */
  abort(): void;
}

/**
 * The storage contract of a {@link CachingAgent}. Methods may answer synchronously or with a
 * promise; a store that fails (a promise rejects, a method throws) never fails a request: the
 * agent treats it as a miss and goes to the network.
 */
export interface CacheStore {
  /** The stored responses (variants) for `key`, in any order. */
  get(key: string): readonly StoredResponse[] | Promise<readonly StoredResponse[]>;
  /** Starts storing a response whose head is `head`; the body follows through the writer. */
  open(head: StoredHead): CacheStoreWriter;
  /**
   * Replaces the head of the stored response `(head.key, head.variant)` (after a `304`
   * refreshed it), keeping its body. Does nothing if that response is gone.
   */
  update(head: StoredHead): void | Promise<void>;
  /** Removes the variant `variant` of `key`, or every variant of `key` when `variant` is undefined. */
  delete(key: string, variant?: string): void | Promise<void>;
}

/** Options of {@link MemoryCacheStore}. */
export interface MemoryCacheStoreOptions {
  /** The most bytes held (bodies plus header text), all entries together. Default 64 MiB. */
  maxSize?: number;
  /** The largest single entry, in bytes; a larger response is not stored. Default `maxSize / 8`. */
  maxEntrySize?: number;
}

/** Bytes counted for an entry: its body and its header text (names, values, separators). */
function headBytes(head: StoredHead): number {
  let n = head.key.length + head.variant.length + head.phrase.length + 64;
  for (const s of head.headers) n += s.length + 2;
  return n;
}

/** One stored response in {@link MemoryCacheStore}'s recency list (least recently used at the head). */
interface LruNode {
  readonly id: string;
  entry: StoredResponse;
  bytes: number;
  prev: LruNode | null;
  next: LruNode | null;
}

/** The variants of one key: their nodes, and the array {@link MemoryCacheStore.get} answers with (rebuilt when they change). */
interface KeyEntries {
  readonly nodes: LruNode[];
  responses: readonly StoredResponse[];
}

const NONE: readonly StoredResponse[] = Object.freeze([]);

/**
 * An in-memory {@link CacheStore}: least recently used entries are evicted first so that the
 * bytes held stay within `maxSize`. Bodies are copied as they are written, so the store never
 * shares memory with a consumer. A lookup touches its entries in O(1) without allocating (a
 * doubly linked recency list) and answers with an array kept per key.
 *
 * @example
 * ```ts
 * const store = new MemoryCacheStore({ maxSize: 16 << 20 });
 * const agent = new CachingAgent(new HttpAgent(), { store });
 * ```
 */
export class MemoryCacheStore implements CacheStore {
  /** The most bytes held. */
  readonly maxSize: number;
  /** The largest single entry, in bytes. */
  readonly maxEntrySize: number;
  /** Entries by `key + '\n' + variant`. */
  private readonly nodes = new Map<string, LruNode>();
  /** The entries of each key. */
  private readonly byKey = new Map<string, KeyEntries>();
  /** Least recently used. */
  private oldest: LruNode | null = null;
  /** Most recently used. */
  private newest: LruNode | null = null;
  private total = 0;

  constructor(options: MemoryCacheStoreOptions = {}) {
    const maxSize = options.maxSize ?? 64 * 1024 * 1024;
    if (!(Number.isSafeInteger(maxSize) && maxSize >= 0)) throw new InvalidArgumentError(`MemoryCacheStore: maxSize must be a non-negative integer, got ${String(options.maxSize)}`);
    const maxEntrySize = options.maxEntrySize ?? Math.floor(maxSize / 8);
    if (!(Number.isSafeInteger(maxEntrySize) && maxEntrySize >= 0)) throw new InvalidArgumentError(`MemoryCacheStore: maxEntrySize must be a non-negative integer, got ${String(options.maxEntrySize)}`);
    this.maxSize = maxSize;
    this.maxEntrySize = Math.min(maxEntrySize, maxSize);
  }

  /** Bytes held now (bodies plus header text). */
  get size(): number {
    return this.total;
  }

  /** Responses stored now, variants counted apart. */
  get count(): number {
    return this.nodes.size;
  }

  get(key: string): readonly StoredResponse[] {
    const entries = this.byKey.get(key);
    if (entries === undefined) return NONE;
    for (const node of entries.nodes) this.touch(node);
    return entries.responses;
  }

  open(head: StoredHead): CacheStoreWriter {
    const chunks: Buffer[] = [];
    let size = 0;
    const overhead = headBytes(head);
    let state: 'writing' | 'too-large' | 'done' = overhead > this.maxEntrySize ? 'too-large' : 'writing';
    return {
      write: (chunk) => {
        if (state !== 'writing') return;
        size += chunk.length;
        if (size + overhead > this.maxEntrySize) {
          state = 'too-large';
          chunks.length = 0;
          return;
        }
        chunks.push(Buffer.from(chunk));
      },
      commit: () => {
        if (state !== 'writing') return;
        state = 'done';
        this.insert({ ...head, body: chunks, size }, size + overhead);
      },
      abort: () => {
        state = 'done';
        chunks.length = 0;
      },
    };
  }

  update(head: StoredHead): void {
    const id = `${head.key}\n${head.variant}`;
    const node = this.nodes.get(id);
    if (node === undefined) return;
    const { body, size } = node.entry;
    const bytes = size + headBytes(head);
    if (bytes > this.maxEntrySize) {
      this.remove(id);
      return;
    }
    // In place: the node keeps its place among the key's variants and becomes the most recently used.
    node.entry = { ...head, body, size };
    this.total += bytes - node.bytes;
    node.bytes = bytes;
    this.touch(node);
    const entries = this.byKey.get(head.key) as KeyEntries;
    entries.responses = entries.nodes.map((n) => n.entry);
    while (this.total > this.maxSize && this.oldest !== null) this.remove(this.oldest.id);
  }

  delete(key: string, variant?: string): void {
    if (variant !== undefined) {
      this.remove(`${key}\n${variant}`);
      return;
    }
    const entries = this.byKey.get(key);
    if (entries === undefined) return;
    for (const node of entries.nodes.slice()) this.remove(node.id);
  }

  private insert(entry: StoredResponse, bytes: number): void {
    const id = `${entry.key}\n${entry.variant}`;
    this.remove(id);
    const node: LruNode = { id, entry, bytes, prev: null, next: null };
    this.nodes.set(id, node);
    this.append(node);
    let entries = this.byKey.get(entry.key);
    if (entries === undefined) this.byKey.set(entry.key, (entries = { nodes: [], responses: NONE }));
    entries.nodes.push(node);
    entries.responses = entries.nodes.map((n) => n.entry);
    this.total += bytes;
    while (this.total > this.maxSize && this.oldest !== null) this.remove(this.oldest.id);
  }

  private remove(id: string): void {
    const node = this.nodes.get(id);
    if (node === undefined) return;
    this.nodes.delete(id);
    this.unlink(node);
    this.total -= node.bytes;
    const entries = this.byKey.get(node.entry.key);
    if (entries === undefined) return;
    const at = entries.nodes.indexOf(node);
    if (at !== -1) entries.nodes.splice(at, 1);
    if (entries.nodes.length === 0) this.byKey.delete(node.entry.key);
    else entries.responses = entries.nodes.map((n) => n.entry);
  }

  /** Makes `node` the most recently used. */
  private touch(node: LruNode): void {
    if (node === this.newest) return;
    this.unlink(node);
    this.append(node);
  }

  private append(node: LruNode): void {
    node.prev = this.newest;
    node.next = null;
    if (this.newest === null) this.oldest = node;
    else this.newest.next = node;
    this.newest = node;
  }

  private unlink(node: LruNode): void {
    if (node.prev === null) this.oldest = node.next;
    else node.prev.next = node.next;
    if (node.next === null) this.newest = node.prev;
    else node.next.prev = node.prev;
    node.prev = null;
    node.next = null;
  }
}

brand(MemoryCacheStore, 'core.MemoryCacheStore');
