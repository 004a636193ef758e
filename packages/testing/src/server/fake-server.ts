/**
 * The server side shared by the fake agent and the stub server: Node's own `http.Server` (never
 * listening) that is handed each connection's server end, records every request and answers it
 * with the test's handler, route table or sequence. With the `h2` protocol it is Node's `http2`
 * server instead (HTTP/2 with prior knowledge), answering through its compatibility API.
 *
 * @packageDocumentation
 */

import * as http from 'node:http';
import * as http2 from 'node:http2';
import { type Clock, InvalidArgumentError } from '@strand/core';
import { StubHandlerError, PendingRequestsError, UnexpectedRequestError, throwFailures } from '../errors.js';
import { ServerSocket, type ServerSocketInfo } from '../transport/memory-socket.js';
import type { NormalizedFault } from '../transport/faults.js';
import type { ActivityCounter, ByteSink } from '../transport/wire.js';
import { RecordedRequest } from './recorded-request.js';
import { type ReplyLike, type ReplyResponse, isHttp2Response, normalizeReply, responseGone, writeReply } from './reply.js';
import { type RequestHandlerObject, type ServerBehaviour, toHandlerObject } from './routes.js';

interface InFlight {
  readonly label: string;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as Partial<PromiseLike<unknown>>).then === 'function';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function withoutPseudoHeaders(raw: string[]): string[] {
  if (!raw.some((name, i) => i % 2 === 0 && name.startsWith(':'))) return raw;
  const kept: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (!(raw[i] as string).startsWith(':')) kept.push(raw[i] as string, raw[i + 1] as string);
  return kept;
}

function ignore(): void {}

const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** What the fake server speaks: HTTP/1.1 (Node's `http` server) or HTTP/2 with prior knowledge (Node's `http2` server). */
export type FakeProtocol = 'http/1.1' | 'h2';

/** A request as either of Node's servers gives it. */
type ServerRequest = http.IncomingMessage | http2.Http2ServerRequest;

function requestUrl(req: ServerRequest, origin: string): URL {
  const target = req.url ?? '/';
  if (ABSOLUTE.test(target)) {
    try {
      return new URL(target);
    } catch {
      // fall through: treat it as a path
    }
  }
  const scheme = origin.slice(0, origin.indexOf(':'));
  // HTTP/2 names the host in its :authority pseudo-header field.
  const authority = req.headers[':authority'];
  const host = req.headers.host ?? (typeof authority === 'string' ? authority : undefined);
  if (host !== undefined && host !== '') {
    try {
      return new URL(`${scheme}://${host}${target.startsWith('/') ? target : `/${target}`}`);
    } catch {
      // a Host header that is not a host: use the origin connected to
    }
  }
  return new URL(target.startsWith('/') ? target : `/${target}`, origin);
}

/** @internal The request-answering half of `FakeAgent` and `StubServer`. */
export class FakeHttpServer {
  /** Every request received, in order of arrival (recorded once its body has arrived). */
  readonly requests: RecordedRequest[] = [];
  /** Failures recorded while answering (unexpected requests, handlers that threw). */
  readonly failures: Error[] = [];
  /** Bumped by everything that happens, for `flush()`. */
  readonly activity: ActivityCounter = { value: 0 };
  readonly handler: RequestHandlerObject;
  private readonly http: http.Server | http2.Http2Server;
  private readonly sockets = new Set<ServerSocket>();
  /** HTTP/2: the server end each session runs on (Node wraps it, so a request cannot reach it otherwise). */
  private readonly sessionSockets = new WeakMap<http2.Http2Session, ServerSocket>();
  /** HTTP/2: the connection being handed to the server (its session is made while it is). */
  private accepting: ServerSocket | null = null;
  private readonly inFlight = new Set<InFlight>();
  private nextConnectionId = 1;
  private closed = false;

  constructor(
    behaviour: ServerBehaviour,
    private readonly clock: Clock,
    /** The protocol it speaks. */
    readonly protocol: FakeProtocol = 'http/1.1',
  ) {
    this.handler = toHandlerObject(behaviour);
    if (protocol === 'h2') {
      const server = http2.createServer(this.onRequest);
      server.on('session', (session: http2.ServerHttp2Session) => {
        if (this.accepting !== null) this.sessionSockets.set(session, this.accepting);
        // A session's errors end its streams, which report them; nothing may crash the test.
        session.on('error', ignore);
      });
      // No idle timeout: sessions stay open until the client closes them (no hidden timers).
      server.setTimeout(0);
      this.http = server;
      return;
    }
    const server = http.createServer({ requestTimeout: 0, headersTimeout: 0 }, this.onRequest);
    // Idle connections stay open until the client closes them (no hidden timers), so no
    // `Keep-Alive: timeout` hint is sent either.
    server.keepAliveTimeout = 0;
    server.timeout = 0;
    this.http = server;
  }

  /** Connections opened so far. */
  get connectionsOpened(): number {
    return this.nextConnectionId - 1;
  }

  /** Server ends currently open. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Requests received whose reply has not been completely sent. */
  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * Creates the server end of a new connection, whose response bytes go to `sink` (through
   * `fault`, if any), and gives it to the HTTP server.
   */
  accept(sink: ByteSink, info: Omit<ServerSocketInfo, 'connectionId'>, fault: NormalizedFault | null = null): ServerSocket {
    const socket = new ServerSocket(sink, this.activity, { ...info, connectionId: this.nextConnectionId++ });
    // Before the server has the connection: an HTTP/2 server writes its SETTINGS at once, and they count.
    if (fault !== null) socket.wire.setFault(fault, 'connection');
    this.sockets.add(socket);
    this.activity.value++;
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.activity.value++;
    });
    this.accepting = socket;
    try {
      this.http.emit('connection', socket);
    } finally {
      this.accepting = null;
    }
    return socket;
  }

  /**
   * Throws the recorded failures (one as itself, several as `TestDoubleFailuresError`), then the
   * handler's own `assertNoPending()`, then `PendingRequestsError` when replies are still being sent.
   */
  assertNoPending(): void {
    throwFailures(this.failures);
    this.handler.assertNoPending?.();
    if (this.inFlight.size > 0) {
      throw new PendingRequestsError(`${this.inFlight.size} request(s) still being answered:\n${[...this.inFlight].map((f) => `  ${f.label}`).join('\n')}`);
    }
  }

  /** Closes every connection; replies in progress are abandoned. */
  close(): void {
    this.closed = true;
    for (const socket of this.sockets) {
      socket.wire.dispose();
      socket.destroy();
    }
    this.sockets.clear();
  }

  private readonly onRequest = (req: ServerRequest, res: ReplyResponse): void => {
    res.sendDate = false;
    const socket = isHttp2Response(res) ? this.sessionSockets.get(res.stream.session as http2.Http2Session) : (req.socket as unknown as ServerSocket);
    if (socket === undefined) {
      // Not a session this server was handed (cannot happen): refuse rather than answer blind.
      if (isHttp2Response(res)) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const entry: InFlight = { label: `${req.method ?? '?'} ${req.url ?? ''} (connection ${socket.connectionId})` };
    this.inFlight.add(entry);
    this.activity.value++;
    res.once('close', () => {
      this.inFlight.delete(entry);
      this.activity.value++;
    });
    res.once('finish', () => socket.wire.responseFinished());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
    });
    req.once('end', () => {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      this.dispatch(req, res, socket, body);
    });
  };

  private dispatch(req: ServerRequest, res: ReplyResponse, socket: ServerSocket, body: Buffer): void {
    if (this.closed) return;
    const recorded = new RecordedRequest({
      index: this.requests.length,
      method: req.method ?? '',
      url: requestUrl(req, socket.origin),
      target: req.url ?? '',
      httpVersion: req.httpVersion,
      // HTTP/2's pseudo-header fields are the method, URL and authority above, not header fields.
      rawHeaders: withoutPseudoHeaders(req.rawHeaders),
      body,
      connectionId: socket.connectionId,
    });
    this.requests.push(recorded);
    this.activity.value++;
    let result: ReplyLike | Promise<ReplyLike>;
    try {
      result = this.handler.handle(recorded);
    } catch (error) {
      this.fail(res, recorded, error);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (reply) => this.reply(res, socket, recorded, reply),
        (error: unknown) => this.fail(res, recorded, error),
      );
    } else {
      this.reply(res, socket, recorded, result);
    }
  }

  private reply(res: ReplyResponse, socket: ServerSocket, recorded: RecordedRequest, reply: ReplyLike): void {
    this.activity.value++;
    if (responseGone(res) || res.headersSent) return;
    let normalized;
    try {
      normalized = normalizeReply(reply);
    } catch (error) {
      this.fail(res, recorded, error);
      return;
    }
    if (normalized.fault !== null) {
      if (this.protocol === 'h2') {
        this.fail(res, recorded, new InvalidArgumentError('reply: fault acts on one HTTP/1.1 response; over HTTP/2 a fault is the connection’s (FakeAgent.injectFault)'));
        return;
      }
      socket.wire.setFault(normalized.fault, 'response');
    }
    writeReply(res, normalized, this.clock).catch((error: unknown) => {
      this.failures.push(new StubHandlerError(recorded, `the reply to ${recorded.toString()} failed: ${messageOf(error)}`, error));
    });
  }

  private fail(res: ReplyResponse, recorded: RecordedRequest, error: unknown): void {
    this.activity.value++;
    const unexpected = error instanceof UnexpectedRequestError;
    const failure = unexpected ? error : new StubHandlerError(recorded, `the handler for ${recorded.toString()} failed: ${messageOf(error)}`, error);
    this.failures.push(failure);
    if (responseGone(res) || res.headersSent) return;
    res.statusCode = unexpected ? 599 : 500;
    if (!isHttp2Response(res)) res.statusMessage = unexpected ? 'Unexpected Request' : 'Handler Failed';
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(`strand test double: ${failure.message}\n`);
  }
}
