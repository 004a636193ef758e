/**
 * One identity across copies: a branded class answers `instanceof` by a registered symbol on the
 * value, not by its own prototype, so an error, a `Headers` or a pool made by the CommonJS build
 * is an instance of the same class in the ESM build (and in another installed copy of Strand),
 * as undici does for its errors.
 *
 * @packageDocumentation
 */

/** Where a branded class keeps the symbol its instances carry. */
const BRAND = Symbol.for('strand.brand');
const ordinaryHasInstance = Function.prototype[Symbol.hasInstance];

type AnyClass = abstract new (...args: never[]) => unknown;

/**
 * Brands `cls` as `strand.<name>`: its instances (and its branded subclasses' instances) carry
 * `Symbol.for('strand.<name>')`, and `instanceof cls` checks for it. A subclass that is not
 * branded itself (a user's `class MyError extends StrandError`) keeps the ordinary `instanceof`.
 * `name` must never change: it is what copies of Strand agree on. For Strand's own packages.
 */
export function brand(cls: AnyClass, name: string): void {
  const key = Symbol.for(`strand.${name}`);
  Object.defineProperty(cls.prototype, key, { value: true });
  Object.defineProperty(cls, BRAND, { value: key });
  Object.defineProperty(cls, Symbol.hasInstance, { value: hasBrand, configurable: true });
}

/** `value instanceof this`, by brand; the ordinary check for a class without a brand of its own. */
function hasBrand(this: AnyClass, value: unknown): boolean {
  if (!Object.prototype.hasOwnProperty.call(this, BRAND)) return ordinaryHasInstance.call(this, value);
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  return (value as Record<symbol, unknown>)[(this as unknown as Record<symbol, symbol>)[BRAND] as symbol] === true;
}
