/**
 * TLS over a socket that is already connected: how a tunnel (HTTP CONNECT, SOCKS) becomes an
 * `https:` connection to the origin.
 *
 * @packageDocumentation
 */

import type * as net from 'node:net';
import * as tls from 'node:tls';
import { CancelledError, type StrandError, TLSHandshakeError } from '../errors.js';
import { tlsError } from './endpoints.js';
import type { TLSPolicy } from './tls-policy.js';

/**
 * Runs a TLS handshake over an already connected `socket` (a proxy tunnel, a SOCKS connection),
 * verifying `host` as `policy` says, offering HTTP/1.1 over ALPN. Resolves with the TLS socket;
 * rejects with a typed TLS error (or {@link CancelledError} when `signal` fires) after
 * destroying both sockets, so nothing is left open on failure. `url` names the request in errors.
 */
export function startTLS(socket: net.Socket, host: string, port: number, policy: TLSPolicy, url: string, signal: AbortSignal | undefined): Promise<tls.TLSSocket> {
  let options: tls.ConnectionOptions;
  try {
    // The endpoint decides where the socket goes; a policy only shapes the handshake.
    const { socket: _socket, path: _path, host: _host, port: _port, ...policyOptions } = policy.creatorForNetloc(host, port);
    options = policyOptions;
  } catch (error) {
    socket.destroy();
    return Promise.reject(error);
  }
  if (signal?.aborted === true) {
    socket.destroy();
    return Promise.reject(new CancelledError('request cancelled before the TLS handshake', { url, cause: signal.reason }));
  }
  const secure = tls.connect({ ALPNProtocols: ['http/1.1'], ...options, socket, host, port });
  return new Promise((resolve, reject) => {
    const settle = (error: StrandError | null): void => {
      secure.removeListener('secureConnect', onReady);
      secure.removeListener('error', onError);
      secure.removeListener('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (error === null) {
        secure.setNoDelay(true);
        resolve(secure);
        return;
      }
      secure.on('error', ignoreError);
      secure.destroy();
      socket.destroy();
      reject(error);
    };
    const onReady = (): void => settle(null);
    const onError = (error: Error): void => settle(tlsError(error, url));
    const onClose = (): void => settle(new TLSHandshakeError('TLS handshake failed: the connection closed during the handshake', { url }));
    const onAbort = (): void => settle(new CancelledError('request cancelled during the TLS handshake', { url, cause: signal?.reason }));
    secure.once('secureConnect', onReady);
    secure.once('error', onError);
    secure.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function ignoreError(): void {}
