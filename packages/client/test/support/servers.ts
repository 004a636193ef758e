import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A loopback server under test; `close()` destroys its sockets and stops it. */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  /** Requests seen so far, in order. */
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** What the server saw of one request. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

function track(server: net.Server, url: string, requests: RecordedRequest[]): TestServer {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function listener(handler: Handler, requests: RecordedRequest[]): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body });
      handler(req, res, body);
    });
  };
}

/** `host:port` for a URL (an IPv6 address in brackets). */
function authority(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Node's HTTP server on `host` (a loopback address; 127.0.0.1 by default), port 0; the handler gets the whole request body. */
export async function startServer(handler: Handler, host = '127.0.0.1'): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer({ keepAliveTimeout: 5000 }, listener(handler, requests));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return track(server, `http://${authority(host, port)}`, requests);
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl once per test file. */
export interface TestCertificate {
  readonly key: Buffer;
  readonly cert: Buffer;
}

let certificate: TestCertificate | null = null;

export function testCertificate(): TestCertificate {
  if (certificate !== null) return certificate;
  const dir = mkdtempSync(join(tmpdir(), 'strand-client-tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    certificate = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Node's HTTPS server on `host` (a loopback address; 127.0.0.1 by default), port 0, with {@link testCertificate}. */
export async function startTLSServer(handler: Handler, host = '127.0.0.1'): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const { key, cert } = testCertificate();
  const server = https.createServer({ key, cert, keepAliveTimeout: 5000 }, listener(handler, requests));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return track(server, `https://${authority(host, port)}`, requests);
}

/** What {@link echo} answers: the request as the server saw it. */
export interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Replies with a JSON echo of the request (an {@link Echo}). */
export const echo: Handler = (req, res, body) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString('utf8') }));
};
