/**
 * `multipart/form-data` bodies (RFC 7578), streamed: a {@link MultipartProducer} writes each
 * part's head from memory and its content from its own producer (a file is read while it is
 * sent, never loaded whole).
 */

import { randomBytes } from 'node:crypto';
import { basename, extname } from 'node:path';
import { Readable } from 'node:stream';
import { lookup } from 'mime-types';
import {
  type BodyConsumer,
  type BodyLength,
  type BodyProducer,
  BytesProducer,
  FileBodyProducer,
  InvalidArgumentError,
  UNKNOWN_LENGTH,
  isBodyProducer,
} from '@strand/core';
import { describe, isPlainObject } from './fields.js';
import { BlobProducer, isBlob } from './web-bodies.js';
import type { FileField, FileInit, FilesInit } from './types.js';

/** One part of a multipart body: a text field, or a file with its content producer. */
export interface MultipartPart {
  /** The form field name. */
  readonly name: string;
  /** `filename` parameter, or null for a plain field. */
  readonly filename: string | null;
  /** The part's Content-Type, or null for none (text fields). */
  readonly contentType: string | null;
  /** The part's bytes. */
  readonly content: BodyProducer;
}

/**
 * A Content-Type guessed from a file name's extension (any case) with `mime-types`, the mime-db
 * table: `photo.JPG` is `image/jpeg`, `a.heic` `image/heic`, `data.json` `application/json`.
 * `application/octet-stream` for a name without an extension the table knows (a name that is
 * only an extension, such as `png`, has none).
 */
export function guessContentType(filename: string | null): string {
  if (filename === null) return 'application/octet-stream';
  const ext = extname(filename);
  if (ext === '') return 'application/octet-stream';
  return lookup(ext) || 'application/octet-stream';
}

/** A fresh boundary: 32 random hex digits from `crypto`, which no content can be expected to contain. */
export function makeBoundary(): string {
  return `----StrandFormBoundary${randomBytes(16).toString('hex')}`;
}

/** Quotes a name for a Content-Disposition parameter the way browsers do (HTML's form-data encoding). */
function quote(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function checkContentType(value: unknown, where: string): string {
  if (typeof value !== 'string' || !/^[\x21-\x7e][\x20-\x7e]*$/.test(value)) {
    throw new InvalidArgumentError(`${where} must be a non-empty string of visible ASCII (a media type), got ${typeof value === 'string' ? JSON.stringify(value) : describe(value)}`);
  }
  return value;
}

function isStreamLike(value: unknown): value is Readable | AsyncIterable<Uint8Array | string> {
  return value instanceof Readable || (value !== null && typeof value === 'object' && typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function');
}

/** Runs `make`, prefixing an InvalidArgumentError's message with the option's name. */
function naming<T>(where: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`${where}: ${error.message.replace(/^FileBodyProducer: /, '')}`, { cause: error });
    throw error;
  }
}

function fileLength(length: unknown, where: string): number | undefined {
  if (length === undefined) return undefined;
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw new InvalidArgumentError(`${where}.length must be a non-negative safe integer, got ${typeof length === 'number' ? length : describe(length)}`);
  }
  return length;
}

function contentProducer(content: FileField['content'], length: number | undefined, where: string): BodyProducer {
  if (typeof content === 'string' || content instanceof Uint8Array) {
    const producer = new BytesProducer(content);
    if (length !== undefined && length !== producer.length) throw new InvalidArgumentError(`${where}.length is ${length} but the content has ${producer.length} bytes`);
    return producer;
  }
  if (isBlob(content)) {
    if (length !== undefined && length !== content.size) throw new InvalidArgumentError(`${where}.length is ${length} but the Blob has ${content.size} bytes`);
    return new BlobProducer(content);
  }
  if (isBodyProducer(content)) return content;
  if (isStreamLike(content)) return naming(where, () => new FileBodyProducer(content, length === undefined ? {} : { length }));
  throw new InvalidArgumentError(`${where}.content must be bytes, a string, a Blob, a stream or a BodyProducer, got ${describe(content)}`);
}

/** Turns one {@link FileInit} into a part. `where` is the option path for messages, e.g. `files.avatar`. */
export function filePart(name: string, file: FileInit, where: string): MultipartPart {
  if (typeof file === 'string') {
    const content = naming(where, () => new FileBodyProducer(file));
    const filename = basename(file);
    return { name, filename, contentType: guessContentType(filename), content };
  }
  if (isBlob(file)) return blobPart(name, file);
  if (file instanceof Uint8Array) return { name, filename: name, contentType: 'application/octet-stream', content: new BytesProducer(file) };
  if (isBodyProducer(file)) return { name, filename: name, contentType: 'application/octet-stream', content: file };
  if (isStreamLike(file)) {
    const path = (file as { path?: unknown }).path;
    const filename = typeof path === 'string' ? basename(path) : name;
    return { name, filename, contentType: guessContentType(filename), content: naming(where, () => new FileBodyProducer(file)) };
  }
  if (!isPlainObject(file)) {
    throw new InvalidArgumentError(`${where} must be a file path, bytes, a Blob or File, a stream, a BodyProducer or { path | content, filename?, contentType?, length? }, got ${describe(file)}`);
  }
  for (const key of Object.keys(file)) {
    if (!['path', 'content', 'filename', 'contentType', 'length'].includes(key)) throw new InvalidArgumentError(`${where}.${key} is not a file option; use path, content, filename, contentType or length`);
  }
  const field = file as FileField;
  const hasPath = field.path !== undefined;
  const hasContent = field.content !== undefined;
  if (hasPath === hasContent) throw new InvalidArgumentError(`${where} needs exactly one of path and content`);
  const length = fileLength(field.length, where);
  let filename: string | null;
  if (field.filename === undefined) filename = hasPath ? basename(field.path as string) : ((isBlob(field.content) ? fileName(field.content) : null) ?? name);
  else if (field.filename === null || typeof field.filename === 'string') filename = field.filename;
  else throw new InvalidArgumentError(`${where}.filename must be a string or null, got ${describe(field.filename)}`);
  let content: BodyProducer;
  if (hasPath) {
    if (typeof field.path !== 'string') throw new InvalidArgumentError(`${where}.path must be a string, got ${describe(field.path)}`);
    const path = field.path;
    content = naming(where, () => new FileBodyProducer(path, length === undefined ? {} : { length }));
  } else {
    content = contentProducer(field.content, length, where);
  }
  const blobType = isBlob(field.content) ? field.content.type : '';
  const contentType = field.contentType === undefined ? (blobType === '' ? guessContentType(filename) : blobType) : checkContentType(field.contentType, `${where}.contentType`);
  return { name, filename, contentType, content };
}

/** The name of a `File`, or null for a plain `Blob`. */
function fileName(blob: Blob): string | null {
  const name = (blob as Partial<File>).name;
  return typeof name === 'string' ? name : null;
}

/**
 * A `Blob`/`File` as a multipart part: the `File`'s name (a plain `Blob` is named after the
 * field), its `type`, else a type guessed from the name, else `application/octet-stream`.
 */
export function blobPart(name: string, blob: Blob, filename: string | null = fileName(blob) ?? name): MultipartPart {
  return { name, filename, contentType: blob.type === '' ? guessContentType(filename) : blob.type, content: new BlobProducer(blob) };
}

/** Line breaks of a form's text value as HTML's form-data encoding sends them: CRLF. */
function crlf(value: string): string {
  return value.replace(/\r\n|\r|\n/g, '\r\n');
}

/**
 * The parts of a `FormData`, in order: text entries as text fields (line breaks as CRLF, as
 * browsers and `fetch` send them), `File` entries as file parts (see {@link blobPart}).
 */
export function formDataParts(form: FormData): MultipartPart[] {
  const parts: MultipartPart[] = [];
  for (const [name, value] of form as unknown as Iterable<[string, string | Blob]>) {
    parts.push(typeof value === 'string' ? textPart(name, crlf(value)) : blobPart(name, value));
  }
  return parts;
}

/** Reads the `files` option into parts, in order. */
export function readFiles(files: FilesInit): MultipartPart[] {
  const parts: MultipartPart[] = [];
  if (isPlainObject(files)) {
    for (const name of Object.keys(files)) {
      const value = files[name] as FileInit | readonly FileInit[];
      if (Array.isArray(value)) value.forEach((f: FileInit, i) => parts.push(filePart(name, f, `files.${name}[${i}]`)));
      else parts.push(filePart(name, value as FileInit, `files.${name}`));
    }
    return parts;
  }
  if (files !== null && typeof files === 'object' && typeof (files as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function') {
    let i = 0;
    for (const entry of files as Iterable<unknown>) {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') throw new InvalidArgumentError(`files[${i}] must be a [field, file] pair with a string field name`);
      parts.push(filePart(entry[0], entry[1] as FileInit, `files[${i}]`));
      i++;
    }
    return parts;
  }
  throw new InvalidArgumentError(`files must be an object of field names to files, or [field, file] pairs, got ${describe(files)}`);
}

/** A text field as a part. */
export function textPart(name: string, value: string): MultipartPart {
  return { name, filename: null, contentType: null, content: new BytesProducer(value) };
}

type Segment = Uint8Array | BodyProducer;

/**
 * A `multipart/form-data` body. Its `length` is known when every part's content length is (so
 * it is sent with `Content-Length`), else {@link UNKNOWN_LENGTH} (sent chunked). Replayable
 * when every part is (files by path and bytes are; streams are not). Pause, resume and stop are
 * passed to the part being written.
 */
export class MultipartProducer implements BodyProducer {
  /** The boundary between parts (without the leading dashes). */
  readonly boundary: string;
  /** `multipart/form-data; boundary=…`, for the Content-Type header. */
  readonly contentType: string;
  readonly length: BodyLength;
  readonly replayable: boolean;
  readonly #segments: Segment[];
  #current: BodyProducer | null = null;
  #paused = false;
  #stopped = false;
  #running = false;
  #wake: (() => void) | null = null;

  constructor(parts: readonly MultipartPart[], boundary: string = makeBoundary()) {
    if (!/^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/.test(boundary)) throw new InvalidArgumentError('multipart boundary must be 1-70 characters of RFC 2046 bchars (no space)');
    this.boundary = boundary;
    this.contentType = `multipart/form-data; boundary=${boundary}`;
    const segments: Segment[] = [];
    let length = 0;
    let known = true;
    let replayable = true;
    const addBytes = (text: string): void => {
      const bytes = Buffer.from(text, 'utf8');
      segments.push(bytes);
      length += bytes.length;
    };
    for (const part of parts) {
      let head = `--${boundary}\r\nContent-Disposition: form-data; name="${quote(part.name)}"`;
      if (part.filename !== null) head += `; filename="${quote(part.filename)}"`;
      head += '\r\n';
      if (part.contentType !== null) head += `Content-Type: ${part.contentType}\r\n`;
      addBytes(`${head}\r\n`);
      segments.push(part.content);
      if (part.content.length === UNKNOWN_LENGTH) known = false;
      else length += part.content.length;
      if (!part.content.replayable) replayable = false;
      addBytes('\r\n');
    }
    addBytes(`--${boundary}--\r\n`);
    this.#segments = segments;
    this.length = known ? length : UNKNOWN_LENGTH;
    this.replayable = replayable;
  }

  async startProducing(consumer: BodyConsumer): Promise<void> {
    if (this.#running) throw new InvalidArgumentError('MultipartProducer: startProducing called while already producing');
    this.#running = true;
    this.#paused = false;
    this.#stopped = false;
    try {
      for (const segment of this.#segments) {
        while (this.#paused && !this.#stopped) await new Promise<void>((resolve) => (this.#wake = resolve));
        if (this.#stopped) return;
        if (segment instanceof Uint8Array) {
          consumer.write(segment);
          continue;
        }
        this.#current = segment;
        await segment.startProducing(consumer);
        this.#current = null;
      }
    } finally {
      this.#current = null;
      this.#running = false;
    }
  }

  pauseProducing(): void {
    this.#paused = true;
    this.#current?.pauseProducing();
  }

  resumeProducing(): void {
    this.#paused = false;
    this.#current?.resumeProducing();
    this.#release();
  }

  /** Stops the run; before any run, releases every part's resources (streams are destroyed). */
  stopProducing(): void {
    this.#stopped = true;
    const current = this.#current;
    if (current !== null) current.stopProducing();
    else if (!this.#running) for (const segment of this.#segments) if (!(segment instanceof Uint8Array)) segment.stopProducing();
    this.#release();
  }

  #release(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
