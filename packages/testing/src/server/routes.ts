/**
 * Route tables: a list of request patterns with their replies, answered first match first.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from '@strand/core';
import { UnexpectedRequestError } from '../errors.js';
import { type RequestPattern, checkPattern, closestPattern, comparePattern, describePattern, formatMismatches } from './pattern.js';
import type { RecordedRequest } from './recorded-request.js';
import { type Handler, type ReplyLike, checkReplyOrHandler } from './reply.js';
import { checkInteger, checkOneOf, checkOptions, describeValue, isRecord } from '../validation.js';

/**
 * A route: a {@link RequestPattern} and what to answer. `reply` is a reply (or shorthand) or a
 * handler called with the request (its `params` filled from the path).
 *
 * @example
 * ```ts
 * { method: 'GET', path: '/users/:id', reply: (req) => ({ json: { id: Number(req.params.id) } }) }
 * { method: 'POST', path: '/users', json: { name: 'ada' }, reply: { status: 201 } }
 * { path: '/flaky', times: 1, reply: { fault: 'reset' } } // first call resets, later ones fall through
 * ```
 */
export interface Route extends RequestPattern {
  /** What to answer when the request matches: a reply, or a handler that makes one. */
  reply: ReplyLike | Handler;
  /** How many requests this route answers; after that it no longer matches. Default: any number. */
  times?: number;
}

/**
 * Something that answers requests. `assertNoPending()`, when present, is called by the fake's own
 * `assertNoPending()`.
 */
export interface RequestHandlerObject {
  /** The reply to `request` (or a promise of it). */
  handle(request: RecordedRequest): ReplyLike | Promise<ReplyLike>;
  /** Throws when something the handler expected did not happen (called by the fake's own `assertNoPending()`). */
  assertNoPending?(): void;
}

/** What a fake server runs: a handler function, a route table, or a handler object (such as a `RequestSequence`). */
export type ServerBehaviour = Handler | readonly Route[] | RequestHandlerObject;

/** Options of {@link RouteTable}. */
export interface RouteTableOptions {
  /**
   * What a request no route matches gets. `'fail'` (default): a `599` whose body explains why,
   * and a recorded {@link UnexpectedRequestError} that the fake's `assertNoPending()` throws.
   * `'not-found'`: a plain `404`, not a failure.
   */
  unmatched?: 'fail' | 'not-found';
}

const ROUTE_KEYS: ReadonlySet<string> = new Set(['reply', 'times']);

/** A route table as a {@link RequestHandlerObject}: the first route that matches (and has uses left) answers. */
export class RouteTable implements RequestHandlerObject {
  private readonly routes: Route[] = [];
  private readonly uses: number[] = [];
  private readonly unmatchedMode: 'fail' | 'not-found';
  /** Requests no route matched, in order. */
  readonly unmatched: RecordedRequest[] = [];

  /** @throws `InvalidArgumentError` naming the route and the field, for a malformed route or option. */
  constructor(routes: readonly Route[] = [], options: RouteTableOptions = {}) {
    const checked = checkOptions(options, ['unmatched'], 'RouteTable');
    this.unmatchedMode = checkOneOf(checked['unmatched'], ['fail', 'not-found'], 'RouteTable: unmatched') ?? 'fail';
    if (!Array.isArray(routes)) throw new InvalidArgumentError(`RouteTable: routes must be an array, got ${describeValue(routes)}`);
    for (const route of routes as readonly Route[]) this.add(route);
  }

  /**
   * Adds a route at the end (it is tried after the existing ones).
   *
   * @throws `InvalidArgumentError` for an unknown field, a field of the wrong type, or a reply
   *   that is not valid (a reply given as data is checked now, not when a request arrives).
   */
  add(route: Route): this {
    const what = `route #${this.routes.length + 1}`;
    if (!isRecord(route)) throw new InvalidArgumentError(`${what}: expected an object with a reply, got ${describeValue(route)}`);
    checkPattern(route, ROUTE_KEYS, what);
    if (!('reply' in route)) throw new InvalidArgumentError(`${what} (${describePattern(route)}): reply is missing`);
    checkReplyOrHandler(route.reply, `${what} (${describePattern(route)})`);
    checkInteger(route.times, `${what} (${describePattern(route)}): times`, 0);
    this.routes.push(route);
    this.uses.push(0);
    return this;
  }

  /** Answers `request` from the first route that matches it (a 404 or a failure when none does, as `unmatched` says). */
  handle(request: RecordedRequest): ReplyLike | Promise<ReplyLike> {
    for (let i = 0; i < this.routes.length; i++) {
      const route = this.routes[i] as Route;
      const used = this.uses[i] as number;
      if (route.times !== undefined && used >= route.times) continue;
      const result = comparePattern(route, request);
      if (!result.matched) continue;
      this.uses[i] = used + 1;
      request.params = result.params;
      return typeof route.reply === 'function' ? route.reply(request) : route.reply;
    }
    this.unmatched.push(request);
    if (this.unmatchedMode === 'not-found') return { status: 404, body: `no route for ${request.method} ${request.url.pathname}\n` };
    throw new UnexpectedRequestError(request, this.explain(request));
  }

  private explain(request: RecordedRequest): string {
    const lines = [`no route matched ${request.method} ${request.url.href}`];
    const available = this.routes.filter((route, i) => route.times === undefined || (this.uses[i] as number) < route.times);
    if (available.length === 0) {
      lines.push(this.routes.length === 0 ? 'the route table is empty' : 'every route has been used up (times)');
      return lines.join('\n');
    }
    const closest = closestPattern(available, request);
    if (closest !== undefined) {
      lines.push(`closest route: ${describePattern(closest.pattern)}`);
      lines.push(formatMismatches(closest.result.mismatches));
    }
    lines.push('routes:');
    for (const route of available) lines.push(`  ${describePattern(route)}`);
    return lines.join('\n');
  }
}

/** @internal Turns any {@link ServerBehaviour} into a handler object. */
export function toHandlerObject(behaviour: ServerBehaviour): RequestHandlerObject {
  if (typeof behaviour === 'function') return { handle: behaviour };
  if (Array.isArray(behaviour)) return new RouteTable(behaviour as readonly Route[]);
  if (behaviour !== null && typeof behaviour === 'object' && typeof (behaviour as Partial<RequestHandlerObject>).handle === 'function') {
    return behaviour as RequestHandlerObject;
  }
  throw new InvalidArgumentError(`expected a handler function, an array of routes, or an object with a handle(request) method, got ${describeValue(behaviour)}`);
}

/**
 * @internal The handler for `behaviour`: an array of routes becomes a `RouteTable` with the
 * `unmatched` option, which means nothing for anything else (and is then an error, not ignored).
 */
export function routeTableFor(behaviour: ServerBehaviour, unmatched: 'fail' | 'not-found' | undefined, owner: string): ServerBehaviour {
  if (Array.isArray(behaviour)) return new RouteTable(behaviour as readonly Route[], unmatched === undefined ? {} : { unmatched });
  if (unmatched !== undefined) {
    throw new InvalidArgumentError(`${owner}: unmatched only applies to an array of routes; give it to new RouteTable(routes, { unmatched }) or answer unmatched requests in the handler`);
  }
  return behaviour;
}
