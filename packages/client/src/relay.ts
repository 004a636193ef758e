/**
 * A response whose body is relayed from another, with a hook when the body ends: how an
 * unbuffered response tells the client that its request is over (the concurrency slot is
 * released, the total timeout cleared, the body timing taken) whoever reads the body.
 */

import { type BodyEndReason, type BodyProtocol, type BodySource, type BodyTransport, Response } from '@strand/core';

/**
 * A new core `Response` with `inner`'s head; its body is `inner`'s, read only once a consumer
 * asks for it, with back-pressure passed through. `onEnd` is called once, when the body ends
 * (complete, failed or abandoned). `mapReason` may replace the end reason the consumer sees
 * (the client turns a cancellation by its own deadline into a `TimeoutError`).
 */
export function relayResponse(inner: Response, onEnd: (reason: BodyEndReason) => void, mapReason: (reason: BodyEndReason) => BodyEndReason = (r) => r): Response {
  let transport: BodyTransport | null = null;
  let started = false;
  let ended = false;
  const finish = (reason: BodyEndReason): void => {
    if (ended) return;
    ended = true;
    onEnd(reason);
  };
  const protocol: BodyProtocol = {
    makeConnection(t) {
      transport = t;
    },
    dataReceived(chunk) {
      outer._pipe.push(chunk);
    },
    connectionLost(reason) {
      transport = null;
      // Trailers are set by a body's source before it ends the body (core's BodySource contract).
      outer._pipe.trailers = inner.trailers;
      const mapped = mapReason(reason);
      outer._pipe.end(mapped);
      finish(mapped);
    },
  };
  const source: BodySource = {
    pauseBody() {
      transport?.pauseProducing();
    },
    resumeBody() {
      if (!started) {
        started = true;
        inner.deliverBody(protocol);
        return;
      }
      transport?.resumeProducing();
    },
    stopBody() {
      if (!started) {
        started = true;
        inner.deliverBody(protocol);
      }
      transport?.stopProducing();
    },
  };
  const outer: Response = new Response({
    version: inner.version,
    code: inner.code,
    phrase: inner.phrase,
    headers: inner.headers,
    length: inner.length,
    request: inner.request,
    previousResponse: inner.previousResponse,
    bodySource: source,
  });
  return outer;
}
