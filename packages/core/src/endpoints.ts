import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { CancelledError, ConnectError, ConnectionRefusedError, DNSLookupError, InvalidRequestError } from './errors.js';

/**
 * Somewhere a connection can be opened to. `key` identifies everything that makes two
 * connections interchangeable (scheme, host, port, TLS settings...): the pool only reuses a
 * connection for a request whose endpoint has the same key.
 */
export interface Endpoint {
  readonly key: string;
  /** Opens a connected (for TLS: handshaken) Duplex. Rejects with a {@link ConnectError} or {@link CancelledError}. */
  connect(signal?: AbortSignal): Promise<Duplex>;
}

/** Chooses the endpoint for a request URI (Twisted's `IAgentEndpointFactory`). */
export interface EndpointFactory {
  endpointForURI(uri: URL): Endpoint;
}

/** Options of {@link StandardEndpointFactory}. */
export interface StandardEndpointOptions {
  /** Extra options for `tls.connect` (CA, client certificate...). Verification stays on unless you turn it off here. */
  tls?: tls.ConnectionOptions;
}

/** Opens TCP connections for `http:` and verified TLS connections for `https:` URIs. */
export class StandardEndpointFactory implements EndpointFactory {
  private readonly tlsOptions: tls.ConnectionOptions | undefined;

  constructor(options: StandardEndpointOptions = {}) {
    this.tlsOptions = options.tls;
  }

  endpointForURI(uri: URL): Endpoint {
    const secure = uri.protocol === 'https:';
    if (!secure && uri.protocol !== 'http:') throw new InvalidRequestError(`unsupported URL scheme ${uri.protocol}`, { url: uri });
    const host = uri.hostname.startsWith('[') ? uri.hostname.slice(1, -1) : uri.hostname;
    const port = uri.port === '' ? (secure ? 443 : 80) : Number(uri.port);
    return secure ? new TLSEndpoint(host, port, this.tlsOptions) : new TCPEndpoint(host, port);
  }
}

/** A plain TCP endpoint. */
export class TCPEndpoint implements Endpoint {
  readonly key: string;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    this.key = `http://${host}:${port}`;
  }

  connect(signal?: AbortSignal): Promise<Duplex> {
    return openSocket(() => net.connect({ host: this.host, port: this.port, noDelay: true }), 'connect', this.key, signal);
  }
}

/** A TLS endpoint; the certificate and host name are verified unless the options say otherwise. */
export class TLSEndpoint implements Endpoint {
  readonly key: string;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly options: tls.ConnectionOptions | undefined,
  ) {
    this.key = `https://${host}:${port}`;
  }

  connect(signal?: AbortSignal): Promise<Duplex> {
    const servername = net.isIP(this.host) === 0 ? this.host : undefined;
    return openSocket(
      () => {
        const socket = tls.connect({ ...this.options, host: this.host, port: this.port, ...(servername === undefined ? {} : { servername }), ALPNProtocols: ['http/1.1'] });
        socket.setNoDelay(true);
        return socket;
      },
      'secureConnect',
      this.key,
      signal,
    );
  }
}

function openSocket(create: () => net.Socket, readyEvent: string, key: string, signal: AbortSignal | undefined): Promise<Duplex> {
  if (signal?.aborted === true) return Promise.reject(new CancelledError('request cancelled before connecting', { url: key, cause: signal.reason }));
  return new Promise((resolve, reject) => {
    const socket = create();
    const cleanup = (): void => {
      socket.removeListener(readyEvent, onReady);
      socket.removeListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const onReady = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (error: NodeJS.ErrnoException): void => {
      cleanup();
      socket.destroy();
      reject(connectError(error, key));
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(new CancelledError('request cancelled while connecting', { url: key, cause: signal?.reason }));
    };
    socket.once(readyEvent, onReady);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Maps a Node connect error to the Strand error that names it. */
export function connectError(error: NodeJS.ErrnoException, url: string): ConnectError {
  switch (error.code) {
    case 'ECONNREFUSED':
      return new ConnectionRefusedError(`connection refused: ${error.message}`, { url, cause: error });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
      return new DNSLookupError(`could not resolve the host name: ${error.message}`, { url, cause: error });
    default:
      return new ConnectError(`could not connect: ${error.message}`, { url, cause: error });
  }
}
