/**
 * Running the hooks of one call around the request (see hooks.ts for the order): what a
 * `beforeRequest` hook changed, checked and applied; the `afterResponse` chain with its one
 * `retry()`; the `beforeError` chain.
 */

import { Headers, InvalidArgumentError, InvalidHeaderError, isToken, prepareRequest } from '@strand/core';
import { type DataToBodyProducer, dataBody } from './body.js';
import { describe } from './fields.js';
import { type NormalizedRequest, normalizeAuth } from './options.js';
import { ClientResponse } from './response.js';
import type { AfterResponseHook, AfterResponseState, BeforeErrorHook, ClientRequestOptions, HookRequest, RequestHeadersInit } from './types.js';

/** What the caller asked for, kept by a call with hooks so that `retry()` can ask again. */
export interface HookedCall {
  readonly method: string;
  /** The URL as given (after `baseUrl`). */
  readonly url: string | URL;
  readonly options: ClientRequestOptions;
  /** The hooks' shared `context`. */
  readonly context: Record<string, unknown>;
}

/**
 * `req` as the `beforeRequest` hooks left `request`: a changed method, URL, headers or body is
 * checked as the options are (an `InvalidArgumentError` or `InvalidRequestError` naming
 * `beforeRequest`), credentials in a new URL become Basic auth (when `auth` gave none), and a
 * new body is converted as `data` is, its implied Content-Type added when the headers have none.
 */
export function applyHookRequest(req: NormalizedRequest, request: HookRequest, convert: DataToBodyProducer | null): NormalizedRequest {
  let method = req.method;
  if (request.method !== method) {
    const given: unknown = request.method;
    if (typeof given !== 'string' || !isToken(given)) throw new InvalidArgumentError(`beforeRequest: method must be a method name (a token), got ${typeof given === 'string' ? JSON.stringify(given) : describe(given)}`);
    method = given.toUpperCase();
  }
  const givenUrl: unknown = request.url;
  if (!(givenUrl instanceof URL) && typeof givenUrl !== 'string') throw new InvalidArgumentError(`beforeRequest: url must be a URL or a string, got ${describe(givenUrl)}`);
  let url = req.url;
  let auth = req.auth;
  const href = String(givenUrl);
  if (href !== url.href || method !== req.method) {
    // Core's edge checks again (an http(s) URL without controls or spaces, a token method); a copy, as in options.ts.
    url = new URL(prepareRequest(method, href).url.href);
    if (url.username !== '' || url.password !== '') {
      if (auth === null) auth = normalizeAuth({ username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }, 'beforeRequest: url');
      url.username = '';
      url.password = '';
    }
  }
  let headers: Headers;
  const givenHeaders: unknown = request.headers;
  if (givenHeaders instanceof Headers) {
    headers = givenHeaders;
  } else {
    try {
      headers = new Headers(givenHeaders as RequestHeadersInit as ConstructorParameters<typeof Headers>[0]);
    } catch (error) {
      if (error instanceof InvalidHeaderError) throw new InvalidHeaderError(error.headerName, `beforeRequest: headers: ${error.message}`, { cause: error });
      if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`beforeRequest: headers: ${error.message}`, { cause: error });
      throw error;
    }
  }
  let body = req.body;
  if (request.body !== req.body) {
    if (request.body === null || request.body === undefined) {
      body = null;
    } else {
      let prepared;
      try {
        prepared = dataBody(request.body, convert);
      } catch (error) {
        if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`beforeRequest: body: ${error.message}`, { cause: error });
        throw error;
      }
      body = prepared.producer;
      if (prepared.contentType !== null && !headers.has('content-type')) headers.set('Content-Type', prepared.contentType);
    }
  }
  return { ...req, method, url, headers, body, auth };
}

/**
 * Runs the `afterResponse` hooks: each gets the response the previous one returned (a hook that
 * returns nothing keeps it). A response replaced by another is discarded (an unbuffered body is
 * dumped, its connection and slot released). `retry(changes)` sends the request again once; the
 * response it resolves with has been through every hook, so when a hook returns it, the hooks
 * after that one are not run again.
 */
export async function runAfterResponse(
  hooks: readonly AfterResponseHook[],
  response: ClientResponse,
  request: HookRequest,
  retryCount: number,
  sendAgain: (changes: ClientRequestOptions | undefined) => Promise<ClientResponse>,
): Promise<ClientResponse> {
  let current = response;
  let retried: ClientResponse | null = null;
  let retryUsed = false;
  const state: AfterResponseState = {
    request,
    retryCount,
    async retry(changes) {
      if (retryUsed) throw new InvalidArgumentError('afterResponse: retry() was called twice; a request is sent again once at most');
      retryUsed = true;
      await current.dump();
      retried = await sendAgain(changes);
      return retried;
    },
  };
  for (const hook of hooks) {
    const result = await hook(current, state);
    if (result === undefined || result === current) continue;
    if (!(result instanceof ClientResponse)) throw new InvalidArgumentError(`afterResponse: a hook must return a ClientResponse or nothing, got ${describe(result)}`);
    if (result !== retried) await current.dump();
    current = result;
    if (result === retried) break;
  }
  return current;
}

/** Errors that went through the `beforeError` hooks already (a retried request's reach the first call's catch too). */
const reported = new WeakSet<object>();

/** Runs the `beforeError` hooks over `error`: each may return a replacement. Returns the error to reject with. */
export async function runBeforeError(hooks: readonly BeforeErrorHook[], error: unknown, request: HookRequest | null): Promise<unknown> {
  if (typeof error === 'object' && error !== null && reported.has(error)) return error;
  let current = error;
  for (const hook of hooks) {
    const replaced = await hook(current, request);
    if (replaced !== undefined) current = replaced;
  }
  if (typeof current === 'object' && current !== null) reported.add(current);
  return current;
}

const BODY_OPTIONS = ['data', 'json', 'files'] as const;

/** `[name, value]` pairs of any headers option, values `null`/`undefined` kept (they mean something there). */
function headerPairs(init: RequestHeadersInit | undefined): Array<readonly [string, unknown]> {
  if (init === undefined || init === null) return [];
  if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') {
    const pairs: Array<readonly [string, unknown]> = [];
    for (const entry of init as Iterable<readonly [string, unknown]>) pairs.push([entry[0], entry[1]]);
    return pairs;
  }
  const pairs: Array<readonly [string, unknown]> = [];
  const record = init as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    const value = record[name];
    if (Array.isArray(value)) for (const one of value as unknown[]) pairs.push([name, one]);
    else pairs.push([name, value]);
  }
  return pairs;
}

/**
 * The options of a `retry(changes)`: `changes` over the call's options, `headers` merged name by
 * name (a name in `changes` replaces the call's fields of that name). `newBody`: `changes` gives
 * a body; otherwise the call's body options are left out (the body already made is sent again).
 */
export function mergeRetryOptions(options: ClientRequestOptions, changes: ClientRequestOptions): { options: ClientRequestOptions; newBody: boolean } {
  const newBody = BODY_OPTIONS.some((key) => changes[key] !== undefined);
  const merged: ClientRequestOptions = { ...options };
  if (!newBody) for (const key of BODY_OPTIONS) delete merged[key];
  Object.assign(merged, changes);
  if (options.headers !== undefined && changes.headers !== undefined) {
    const replacing = headerPairs(changes.headers);
    const names = new Set(replacing.map(([name]) => name.toLowerCase()));
    merged.headers = [...headerPairs(options.headers).filter(([name]) => !names.has(name.toLowerCase())), ...replacing] as RequestHeadersInit;
  }
  return { options: merged, newBody };
}
