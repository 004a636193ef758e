/**
 * Checks of what callers pass in: options objects, clocks, counts. Every public entry point of
 * the package validates its arguments once, with these, so a misspelt option or a value of the
 * wrong type is an `InvalidArgumentError` naming it, never something silently ignored.
 *
 * @packageDocumentation
 */

import { type Clock, InvalidArgumentError, isToken as coreIsToken, isValidFieldValue, rejectUnknownOptions } from '@strand/core';

/**
 * @internal A value as an error message shows it: primitives as written (`42`, `"abc"`, `true`),
 * objects by their kind (`an array`, `an object`, `a Map`, `a RegExp /x/`).
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  if (value instanceof RegExp) return `a RegExp ${String(value)}`;
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
    case 'number':
    case 'boolean':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default: {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      return typeof name === 'string' && name !== 'Object' && name !== '' ? `a ${name}` : 'an object';
    }
  }
}

/** @internal True for an object that is not null and not an array (what an options object or a reply must be). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * @internal Checks an options argument: `undefined` (no options) or an object whose keys are all
 * in `known`. Returns it as a record (an empty one for `undefined`).
 */
export function checkOptions(value: unknown, known: readonly string[], owner: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw new InvalidArgumentError(`${owner}: options must be an object, got ${describeValue(value)}`);
  rejectUnknownOptions(value, known, owner);
  return value;
}

/** @internal Checks that `value` (option `name` of `owner`) is undefined or a {@link Clock}. */
export function checkClock(value: unknown, name: string): Clock | undefined {
  if (value === undefined) return undefined;
  const clock = value as Partial<Record<keyof Clock, unknown>> | null;
  if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
    throw new InvalidArgumentError(`${name} must be a Clock (an object with now, setTimeout and clearTimeout, such as ManualClock), got ${describeValue(value)}`);
  }
  return value as Clock;
}

/** @internal Checks that `value` is undefined or one of `allowed` (strings). */
export function checkOneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${describeValue(value)}`);
  }
  return value as T;
}

/** @internal Checks that `value` is undefined or an integer of at least `min` (`Infinity` allowed when said). */
export function checkInteger(value: unknown, name: string, min: number, options: { infinity?: boolean; max?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const ok = typeof value === 'number' && (Number.isInteger(value) || (options.infinity === true && value === Infinity)) && value >= min && value <= (options.max ?? Infinity);
  if (!ok) {
    const range = options.max !== undefined ? `from ${min} to ${options.max}` : `of at least ${min}`;
    throw new InvalidArgumentError(`${name} must be an integer ${range}${options.infinity === true ? ' (or Infinity)' : ''}, got ${describeValue(value)}`);
  }
  return value;
}

/** @internal Checks that `value` is a finite number of milliseconds, at least 0. */
export function checkMilliseconds(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`${name} must be a finite number of milliseconds >= 0, got ${describeValue(value)}`);
  return value;
}

/** @internal Checks that `value` is undefined or a boolean. */
export function checkBoolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${name} must be a boolean, got ${describeValue(value)}`);
  return value;
}

/** @internal Checks that `value` is undefined or a function. */
export function checkFunction(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'function') throw new InvalidArgumentError(`${name} must be a function, got ${describeValue(value)}`);
}

/** @internal True when `name` is an RFC 9110 token (a method or a header name). */
export const isToken: (name: string) => boolean = coreIsToken;

/** @internal True when `value` may be sent as a header value or reason phrase (no CR, LF, NUL or other control). */
export const isFieldValue: (value: string) => boolean = isValidFieldValue;
