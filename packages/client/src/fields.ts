/**
 * Query parameters and urlencoded forms: one reader for the three accepted shapes (object,
 * `URLSearchParams`, pairs), used by `params` and `data`.
 */

import { InvalidArgumentError, describeType } from '@strand/core';
import type { FieldValue, FormInit, ParamsInit } from './types.js';

/** Type name for messages (core's `describeType`). */
export const describe: (value: unknown) => string = describeType;

/** True for `{}`-literals and null-prototype objects, without narrowing the argument's type. */
export function isObjectLiteral(value: unknown): boolean {
  return isPlainObject(value);
}

/** True for `{}`-literals and null-prototype objects (not class instances, arrays, buffers…). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function fieldString(value: unknown, where: string): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidArgumentError(`${where} must be a finite number, got ${value}`);
      return String(value);
    case 'boolean':
    case 'bigint':
      return String(value);
    default:
      throw new InvalidArgumentError(`${where} must be a string, number, boolean or bigint, got ${describe(value)}`);
  }
}

/**
 * True for every shape {@link readFields} reads, the one test `params` and `data` share: a
 * `URLSearchParams`, a plain object, or any other synchronous iterable (an array of pairs, a
 * `Map`, a generator…). Strings and bytes are iterable too but never fields.
 */
export function isFieldsInit(value: unknown): value is ParamsInit | FormInit {
  if (value === null || typeof value !== 'object') return false;
  if (isPlainObject(value)) return true;
  return typeof (value as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function' && !ArrayBuffer.isView(value);
}

/**
 * Reads `[key, value]` pairs out of an object, a `URLSearchParams` or an iterable of pairs.
 * `option` names the option in error messages. With `skipNullish`, `null`/`undefined` values
 * of an object are left out (for `params`); otherwise they are an error.
 */
export function readFields(init: ParamsInit | FormInit, option: string, skipNullish: boolean): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (init instanceof URLSearchParams) {
    for (const [k, v] of init) out.push([k, v]);
    return out;
  }
  if (isPlainObject(init)) {
    for (const key of Object.keys(init)) {
      const value = init[key];
      if (value == null) {
        if (skipNullish) continue;
        throw new InvalidArgumentError(`${option}.${key} must be a string, number, boolean or bigint, got ${String(value)}`);
      }
      if (Array.isArray(value)) {
        value.forEach((v: unknown, i) => out.push([key, fieldString(v, `${option}.${key}[${i}]`)]));
      } else {
        out.push([key, fieldString(value, `${option}.${key}`)]);
      }
    }
    return out;
  }
  if (isFieldsInit(init)) {
    let i = 0;
    for (const entry of init as Iterable<unknown>) {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') {
        throw new InvalidArgumentError(`${option}[${i}] must be a [key, value] pair with a string key`);
      }
      out.push([entry[0], fieldString(entry[1] as FieldValue, `${option}[${i}]`)]);
      i++;
    }
    return out;
  }
  throw new InvalidArgumentError(`${option} must be an object, a URLSearchParams or an iterable of [key, value] pairs, got ${describe(init)}`);
}

/** `application/x-www-form-urlencoded` serialisation of pairs (spaces as `+`, as browsers do). */
export function encodeForm(pairs: ReadonlyArray<readonly [string, string]>): string {
  const search = new URLSearchParams();
  for (const [k, v] of pairs) search.append(k, v);
  return search.toString();
}

/** Appends `pairs` to `url`'s query, after what it already has. Mutates and returns `url`. */
export function appendParams(url: URL, pairs: ReadonlyArray<readonly [string, string]>): URL {
  if (pairs.length === 0) return url;
  const extra = encodeForm(pairs);
  const current = url.search;
  url.search = current.length > 1 ? `${current.slice(1)}&${extra}` : extra;
  return url;
}
