/**
 * Helpers shared by the wrapper agents: copying caller headers once, discarding a body that is
 * not wanted (so its connection can go back to the pool).
 *
 * @packageDocumentation
 */

import type { BodyTransport } from '../body-pipe.js';
import { InvalidHeaderError } from '../errors.js';
import { Headers, type HeadersInit } from '../headers.js';
import type { Response } from '../response.js';

/** How much of an unwanted body is read and thrown away before its connection is closed instead. */
export const DEFAULT_DISCARD_BYTES = 64 * 1024;

/**
 * A validated, independent copy of the caller's headers (any {@link HeadersInit} form), so a
 * wrapper can change it per attempt or hop without touching the caller's object. A bad header
 * is an {@link InvalidHeaderError} naming the URL.
 */
export function copyHeaders(init: HeadersInit | null | undefined, uri: string | URL): Headers {
  try {
    return new Headers(init);
  } catch (error) {
    if (error instanceof InvalidHeaderError) throw new InvalidHeaderError(error.headerName, error.message, { url: String(uri), cause: error });
    throw error;
  }
}

/**
 * Reads and discards `response`'s body so that its connection can be reused, up to `maxBytes`;
 * past that (an endless or huge body) the body is abandoned, which closes the connection.
 * Resolves once the body has ended, whatever the reason. Does nothing if the body was taken.
 */
export function discardBody(response: Response, maxBytes = DEFAULT_DISCARD_BYTES): Promise<void> {
  if (response.bodyUsed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    let transport: BodyTransport | null = null;
    response.deliverBody({
      makeConnection(t) {
        transport = t;
      },
      dataReceived(chunk) {
        seen += chunk.length;
        if (seen > maxBytes) transport?.stopProducing();
      },
      connectionLost() {
        resolve();
      },
    });
  });
}

/** Abandons `response`'s body unread: its connection is closed rather than read to the end. */
export function abandonBody(response: Response): void {
  if (response.bodyUsed) return;
  response.deliverBody({
    makeConnection(transport) {
      transport.stopProducing();
    },
    dataReceived() {},
    connectionLost() {},
  });
}
