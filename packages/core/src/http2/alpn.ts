/**
 * TLS for an agent that speaks HTTP/2: the caller's {@link TLSPolicy} (verification, trust
 * roots, client certificates) with ALPN offering `h2` before `http/1.1`; and the hand-over of a
 * socket on which the server chose HTTP/1.1 to the HTTP/1.1 agent, so that first contact with
 * such a server costs one handshake, not two.
 *
 * @packageDocumentation
 */

import type { Duplex } from 'node:stream';
import type * as tls from 'node:tls';
import type { Endpoint, EndpointFactory } from '../net/endpoints.js';
import type { ConnectMilestones } from '../message/exchange.js';
import type { TLSPolicy } from '../net/tls-policy.js';

/** ALPN protocol ids offered, most preferred first (RFC 7301; `h2` is RFC 9113 §3.2). */
const H2_ALPN: readonly string[] = Object.freeze(['h2', 'http/1.1']);

/** `policy`, offering `h2` and `http/1.1` over ALPN; everything else (verification first) is the policy's. */
export class H2AlpnPolicy implements TLSPolicy {
  readonly id: string;
  private readonly policy: TLSPolicy;

  constructor(policy: TLSPolicy) {
    this.policy = policy;
    this.id = `${policy.id}+alpn-h2`;
  }

  creatorForNetloc(hostname: string, port: number): tls.ConnectionOptions {
    return { ...this.policy.creatorForNetloc(hostname, port), ALPNProtocols: [...H2_ALPN] };
  }
}

/**
 * The endpoints of the HTTP/1.1 agent an `Http2Agent` falls back to: the given factory's, except
 * that a connected socket parked with {@link park} (a TLS connection on which the server chose
 * HTTP/1.1) is used by the next connection to its endpoint instead of a new one. A parked socket
 * nobody takes is closed by {@link discard} (the agent calls it once the fallback request has a
 * connection) or when the agent closes.
 */
export class HandOverEndpointFactory implements EndpointFactory {
  private readonly inner: EndpointFactory;
  private readonly spares = new Map<string, Duplex>();

  constructor(inner: EndpointFactory) {
    this.inner = inner;
  }

  endpointForURI(uri: URL): Endpoint {
    const endpoint = this.inner.endpointForURI(uri);
    if (this.spares.size === 0) return endpoint;
    const spares = this.spares;
    const wrapped: Endpoint = {
      key: endpoint.key,
      connect(signal?: AbortSignal, milestones?: ConnectMilestones): Promise<Duplex> {
        const spare = spares.get(endpoint.key);
        if (spare !== undefined) {
          spares.delete(endpoint.key);
          if (!spare.destroyed) return Promise.resolve(spare);
        }
        return endpoint.connect(signal, milestones);
      },
    };
    if (endpoint.requestTarget !== undefined) wrapped.requestTarget = endpoint.requestTarget.bind(endpoint);
    return wrapped;
  }

  /** Keeps `socket` for the next connection to the endpoint of `uri`. */
  park(uri: URL, socket: Duplex): void {
    const key = this.inner.endpointForURI(uri).key;
    this.spares.get(key)?.destroy();
    this.spares.set(key, socket);
  }

  /** Closes the socket parked for `uri`, if nobody took it. */
  discard(uri: URL): void {
    const key = this.inner.endpointForURI(uri).key;
    const spare = this.spares.get(key);
    if (spare === undefined) return;
    this.spares.delete(key);
    spare.destroy();
  }

  /** Closes every parked socket. */
  discardAll(): void {
    for (const spare of this.spares.values()) spare.destroy();
    this.spares.clear();
  }
}
