/**
 * The `json` option's serialisation: `JSON.stringify`, but a value JSON cannot carry is an
 * `InvalidArgumentError` naming where it is (`json.items[2].price is NaN`), instead of the
 * `null` that `JSON.stringify` silently writes for `NaN` and `±Infinity`, or its bare
 * `TypeError` for a BigInt.
 */

import { InvalidArgumentError } from '@strand/core';

/**
 * `value` as JSON text. Throws an `InvalidArgumentError` when it holds a non-finite number or a
 * BigInt anywhere (after `toJSON`, as `JSON.stringify` sees it), when it has no JSON form at all
 * (`undefined`, a function or a symbol at the top), or when `JSON.stringify` fails (a cycle, a
 * throwing `toJSON`). The message names `option` and the path of the bad value.
 *
 * The common case costs one native `JSON.stringify`: a non-finite number can only have become
 * `null` in the text, so only a text that contains `null` is walked (in plain JavaScript: about a
 * fifth of the stringify's time) to look for one. That walk reads the value again: getters and
 * `toJSON` methods run a second time.
 */
export function serializeJson(value: unknown, option = 'json'): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    // A BigInt (a TypeError that does not say where), a cycle, a throwing toJSON: say where if it is the first.
    let found: Found | typeof TOO_DEEP | null = null;
    try {
      found = findUncarriable('', value, 0);
    } catch {
      // toJSON threw again: report the first failure.
    }
    if (found !== null && found !== TOO_DEEP) throw new InvalidArgumentError(message(option, found), { cause });
    throw new InvalidArgumentError(`${option} cannot be serialised: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  // undefined, a function or a symbol at the top, maybe by way of toJSON.
  if (text === undefined) throw new InvalidArgumentError(`${option} is ${kindOf(afterToJSON('', value))}, which has no JSON form`);
  if (text.includes('null')) {
    const found = findUncarriable('', value, 0);
    if (found === TOO_DEEP) {
      if (!carriable(value)) throw new InvalidArgumentError(`${option} holds NaN, Infinity or a BigInt more than ${MAX_DEPTH} levels deep, which JSON cannot carry`);
    } else if (found !== null) {
      throw new InvalidArgumentError(message(option, found));
    }
  }
  return text;
}

/** A value JSON cannot carry: what it is, and the path to it, innermost segment first. */
interface Found {
  readonly what: string;
  readonly segments: string[];
}

/** Deeper than this, the walk hands over to {@link carriable} (which has no paths) rather than risk the stack. */
const MAX_DEPTH = 1000;
const TOO_DEEP = Symbol('too deep');
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function message(option: string, found: Found): string {
  const path = option + found.segments.reverse().join('');
  const why = found.what === 'a BigInt' ? 'which JSON cannot carry: convert it to a string or a number first' : 'which JSON cannot carry (JSON.stringify would send null)';
  return `${path} is ${found.what}, ${why}`;
}

function kindOf(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  return typeof value;
}

/** `value` as `JSON.stringify` sees it under `key`: through its `toJSON` when it has one (objects, and BigInts when `BigInt.prototype.toJSON` is defined). */
function afterToJSON(key: string, value: unknown): unknown {
  if ((value !== null && typeof value === 'object') || typeof value === 'bigint') {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return (toJSON as (this: unknown, key: string) => unknown).call(value, key);
  }
  return value;
}

/**
 * Walks `value` (found under `key`) as `JSON.stringify` does — `toJSON` first, boxed numbers
 * unwrapped, arrays by index, other objects by their own enumerable string keys — and returns
 * the first non-finite number or BigInt, null when there is none, or {@link TOO_DEEP}.
 */
function findUncarriable(key: string, value: unknown, depth: number): Found | typeof TOO_DEEP | null {
  // Strings, booleans and finite numbers, most of any value, leave after one typeof.
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? null : { what: String(value), segments: [] };
    case 'object':
    case 'bigint':
      break;
    default:
      return null;
  }
  let v = afterToJSON(key, value);
  if (v instanceof Number || v instanceof BigInt) v = v.valueOf();
  if (typeof v === 'number') return Number.isFinite(v) ? null : { what: String(v), segments: [] };
  if (typeof v === 'bigint') return { what: 'a BigInt', segments: [] };
  if (v === null || typeof v !== 'object') return null;
  if (depth >= MAX_DEPTH) return TOO_DEEP;
  if (Array.isArray(v)) {
    const items: unknown[] = v;
    for (let i = 0; i < items.length; i++) {
      const found = findUncarriable(String(i), items[i], depth + 1);
      if (found === null) continue;
      if (found !== TOO_DEEP) found.segments.push(`[${i}]`);
      return found;
    }
    return null;
  }
  const record = v as Record<string, unknown>;
  for (const k of Object.keys(record)) {
    const found = findUncarriable(k, record[k], depth + 1);
    if (found === null) continue;
    if (found !== TOO_DEEP) found.segments.push(IDENTIFIER.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`);
    return found;
  }
  return null;
}

/** Thrown by {@link stopAtUncarriable} to end the walk: a plain object, so no stack is captured. */
/** Thrown out of JSON.stringify's replacer to end the walk early (an Error, as throws should be). */
const STOP = new Error('json: stop the walk');

/** A replacer that stops at a non-finite number or a BigInt (boxed ones too: JSON.stringify unwraps them after the replacer). */
function stopAtUncarriable(_key: string, v: unknown): unknown {
  const primitive = v instanceof Number || v instanceof BigInt ? v.valueOf() : v;
  if ((typeof primitive === 'number' && !Number.isFinite(primitive)) || typeof primitive === 'bigint') throw STOP;
  return v;
}

/** False when `value` holds a non-finite number or a BigInt at any depth: the check for values too deep for {@link findUncarriable}. */
function carriable(value: unknown): boolean {
  try {
    JSON.stringify(value, stopAtUncarriable);
    return true;
  } catch (error) {
    if (error === STOP) return false;
    throw error;
  }
}
