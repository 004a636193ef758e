/**
 * Request bodies from the `data`, `json` and `files` options.
 */

import { Readable } from 'node:stream';
import { type BodyProducer, BytesProducer, FileBodyProducer, InvalidArgumentError, isBodyProducer } from '@strand/core';
import { describe, encodeForm, isFieldsInit, isPlainObject, readFields } from './fields.js';
import { serializeJson } from './json.js';
import { type MultipartPart, MultipartProducer, formDataParts, readFiles, textPart } from './multipart.js';
import { BlobProducer, blobContentType, isBlob, isFormData } from './web-bodies.js';
import type { DataInit, FilesInit, FormInit, ParamsInit } from './types.js';

/**
 * Turns a `data` value that is not a form into a producer (treq's `data_to_body_producer`).
 * Give your own to {@link HTTPClient} to accept other types; return `undefined` to fall back to
 * the default.
 */
export type DataToBodyProducer = (data: unknown) => BodyProducer | undefined;

/** A body and the Content-Type that goes with it (null: none implied). */
export interface PreparedBody {
  readonly producer: BodyProducer;
  readonly contentType: string | null;
}

/**
 * True for the containers of fields that are a form whatever `dataToBodyProducer` says: a plain
 * object, a `URLSearchParams`, an array of pairs and a `Map`. Other iterables of pairs (a
 * generator, a class of yours) are a form only when no producer takes them; see {@link dataBody}.
 */
function isFormContainer(data: unknown): data is FormInit {
  return isPlainObject(data) || Array.isArray(data) || data instanceof URLSearchParams || data instanceof Map;
}

function formBody(data: ParamsInit | FormInit): PreparedBody {
  return { producer: new BytesProducer(encodeForm(readFields(data, 'data', false))), contentType: 'application/x-www-form-urlencoded' };
}

/** The default conversion: strings (UTF-8), bytes, `Blob`s, producers, Node `Readable`s and async iterables (WHATWG `ReadableStream`s among them). */
export function defaultDataToBodyProducer(data: unknown): BodyProducer | undefined {
  if (isBodyProducer(data)) return data;
  if (isBlob(data)) return new BlobProducer(data);
  if (typeof data === 'string' || data instanceof Uint8Array) return new BytesProducer(data);
  if (data instanceof ArrayBuffer) return new BytesProducer(new Uint8Array(data));
  if (ArrayBuffer.isView(data)) return new BytesProducer(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (data instanceof Readable) return new FileBodyProducer(data);
  if (data !== null && typeof data === 'object' && typeof (data as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function') {
    return new FileBodyProducer(data as AsyncIterable<Uint8Array | string>);
  }
  return undefined;
}

/**
 * The body of `data`. A plain object, `URLSearchParams`, array of pairs or `Map` is a form
 * (urlencoded, read by the same {@link readFields} as `params`); anything else goes through
 * `convert`, then the default conversion; a synchronous iterable that neither takes is read as
 * a form too (a generator of pairs).
 */
export function dataBody(data: DataInit, convert: DataToBodyProducer | null): PreparedBody {
  if (isBlob(data)) return { producer: new BlobProducer(data), contentType: blobContentType(data) };
  if (isFormData(data)) return multipartOf(formDataParts(data));
  if (isFormContainer(data)) return formBody(data);
  const producer = convert?.(data) ?? defaultDataToBodyProducer(data);
  if (producer !== undefined && isBodyProducer(producer)) return { producer, contentType: null };
  if (isFieldsInit(data)) return formBody(data);
  throw new InvalidArgumentError(
    `data must be a string, bytes, a form (object, URLSearchParams, Map or [key, value] pairs), a Blob, a FormData, a BodyProducer, a Readable, a ReadableStream or an async iterable, got ${describe(data)}`,
  );
}

/**
 * The body of `json`: serialised once, now, so a value JSON cannot carry (see
 * {@link serializeJson}) fails before any I/O.
 */
export function jsonBody(value: unknown): PreparedBody {
  return { producer: new BytesProducer(serializeJson(value)), contentType: 'application/json' };
}

/** The multipart body of `files`, with `data`'s form fields (if any; a `FormData`'s files too) first. */
export function multipartBody(files: FilesInit, data: DataInit | undefined): PreparedBody {
  const parts: MultipartPart[] = [];
  if (data !== undefined) {
    if (isFormData(data)) parts.push(...formDataParts(data));
    else if (isBodyProducer(data) || !isFieldsInit(data)) throw new InvalidArgumentError(`data must be a form (object, URLSearchParams, Map, [key, value] pairs or FormData) when files is given, got ${describe(data)}`);
    else for (const [name, value] of readFields(data, 'data', false)) parts.push(textPart(name, value));
  }
  parts.push(...readFiles(files));
  return multipartOf(parts);
}

function multipartOf(parts: readonly MultipartPart[]): PreparedBody {
  const producer = new MultipartProducer(parts);
  return { producer, contentType: producer.contentType };
}
