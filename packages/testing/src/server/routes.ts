/**
 * Route tables: a list of request patterns with their replies, answered first match first.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from '@strand/core';
import { UnexpectedRequestError } from '../errors.js';
import { type RequestPattern, checkPatternKeys, closestPattern, describePattern, formatMismatches, matchRequest } from './pattern.js';
import type { RecordedRequest } from './recorded-request.js';
import type { Handler, ReplyLike } from './reply.js';

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
  reply: ReplyLike | Handler;
  /** How many requests this route answers; after that it no longer matches. Default: any number. */
  times?: number;
}

/**
 * Something that answers requests. `assertNoPending()`, when present, is called by the fake's own
 * `assertNoPending()`.
 */
export interface RequestHandlerObject {
  handle(request: RecordedRequest): ReplyLike | Promise<ReplyLike>;
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

  constructor(routes: readonly Route[] = [], options: RouteTableOptions = {}) {
    this.unmatchedMode = options.unmatched ?? 'fail';
    for (const route of routes) this.add(route);
  }

  /** Adds a route at the end (it is tried after the existing ones). */
  add(route: Route): this {
    if (route === null || typeof route !== 'object') throw new InvalidArgumentError('route: expected an object with a reply');
    checkPatternKeys(route, ROUTE_KEYS, 'route');
    if (!('reply' in route)) throw new InvalidArgumentError(`route ${describePattern(route)}: reply is missing`);
    if (route.times !== undefined && (!Number.isInteger(route.times) || route.times < 0)) {
      throw new InvalidArgumentError(`route ${describePattern(route)}: times must be a non-negative integer, got ${String(route.times)}`);
    }
    this.routes.push(route);
    this.uses.push(0);
    return this;
  }

  handle(request: RecordedRequest): ReplyLike | Promise<ReplyLike> {
    for (let i = 0; i < this.routes.length; i++) {
      const route = this.routes[i] as Route;
      const used = this.uses[i] as number;
      if (route.times !== undefined && used >= route.times) continue;
      const result = matchRequest(route, request);
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
  throw new InvalidArgumentError('expected a handler function, an array of routes, or an object with a handle(request) method');
}
