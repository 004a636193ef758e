/**
 * A response whose body is relayed from another, with a hook when the body ends: how an
 * unbuffered response tells the client that its request is over (the concurrency slot is
 * released, the total timeout cleared, the body timing taken) whoever reads the body.
 */

import { type BodyEndReason, type Response, deriveResponse } from '@strand/core';

/**
 * A new core `Response` with `inner`'s head; its body is `inner`'s (core's `deriveResponse`:
 * read on demand, back-pressure and in-place reads passed through). `onEnd` is called once, when
 * the body ends (complete, failed or abandoned). `mapReason` may replace the end reason the
 * consumer sees (the client turns a cancellation by its own deadline into a `TimeoutError`).
 */
export function relayResponse(inner: Response, onEnd: (reason: BodyEndReason) => void, mapReason: (reason: BodyEndReason) => BodyEndReason = (r) => r): Response {
  return deriveResponse(inner, {
    onEnd(reason) {
      const mapped = mapReason(reason);
      onEnd(mapped);
      return mapped;
    },
  });
}
