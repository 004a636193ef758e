/**
 * The module functions (treq's `treq.get(...)`): each call goes through a shared client that
 * uses the global persistent pool (see {@link getGlobalPool}) unless the call passes `agent`,
 * `pool` or `persistent: false`. Like treq's, they keep no cookies between calls (a redirect
 * chain still carries the cookies it sets); use an {@link HTTPClient} for a session.
 */

import { HTTPClient } from './client.js';
import type { ClientResponse } from './response.js';
import type { ClientRequestOptions } from './types.js';

let shared: HTTPClient | null = null;

function client(): HTTPClient {
  shared ??= new HTTPClient({ cookieJar: null });
  return shared;
}

/** Sends a request with `method`; see {@link HTTPClient.request}. */
export function request(method: string, url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
  return client().request(method, url, options);
}

/** `GET` on the global pool. */
export function get(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
  return client().request('GET', url, options);
}

/** `HEAD` on the global pool. */
export function head(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
  return client().request('HEAD', url, options);
}

/** `POST` on the global pool. */
export function post(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
  return client().request('POST', url, options);
}

/** `PUT` on the global pool. */
export function put(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
  return client().request('PUT', url, options);
}

/** `PATCH` on the global pool. */
export function patch(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
  return client().request('PATCH', url, options);
}

/** `DELETE` on the global pool (`delete` is a reserved word, so it is exported under that name from the package index). */
export function del(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
  return client().request('DELETE', url, options);
}
