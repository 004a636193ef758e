/**
 * The server side shared by the fake agent and the stub server: Node's own `http.Server` (never
 * listening) that is handed each connection's server end, records every request and answers it
 * with the test's handler, route table or sequence.
 *
 * @packageDocumentation
 */

import * as http from 'node:http';
import { type Clock } from '@strand/core';
import { StubHandlerError, PendingRequestsError, UnexpectedRequestError, throwFailures } from '../errors.js';
import { ServerSocket, type ServerSocketInfo } from '../transport/memory-socket.js';
import type { ActivityCounter, ByteSink } from '../transport/wire.js';
import { RecordedRequest } from './recorded-request.js';
import { type ReplyLike, normalizeReply, writeReply } from './reply.js';
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

const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

function requestUrl(req: http.IncomingMessage, origin: string): URL {
  const target = req.url ?? '/';
  if (ABSOLUTE.test(target)) {
    try {
      return new URL(target);
    } catch {
      // fall through: treat it as a path
    }
  }
  const scheme = origin.slice(0, origin.indexOf(':'));
  const host = req.headers.host;
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
  private readonly http: http.Server;
  private readonly sockets = new Set<ServerSocket>();
  private readonly inFlight = new Set<InFlight>();
  private nextConnectionId = 1;
  private closed = false;

  constructor(
    behaviour: ServerBehaviour,
    private readonly clock: Clock,
  ) {
    this.handler = toHandlerObject(behaviour);
    this.http = http.createServer({ requestTimeout: 0, headersTimeout: 0 }, this.onRequest);
    // Idle connections stay open until the client closes them (no hidden timers), so no
    // `Keep-Alive: timeout` hint is sent either.
    this.http.keepAliveTimeout = 0;
    this.http.timeout = 0;
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
   * Creates the server end of a new connection, whose response bytes go to `sink`, and gives it
   * to the HTTP server.
   */
  accept(sink: ByteSink, info: Omit<ServerSocketInfo, 'connectionId'>): ServerSocket {
    const socket = new ServerSocket(sink, this.activity, { ...info, connectionId: this.nextConnectionId++ });
    this.sockets.add(socket);
    this.activity.value++;
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.activity.value++;
    });
    this.http.emit('connection', socket);
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

  private readonly onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    res.sendDate = false;
    const socket = req.socket as unknown as ServerSocket;
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

  private dispatch(req: http.IncomingMessage, res: http.ServerResponse, socket: ServerSocket, body: Buffer): void {
    if (this.closed) return;
    const recorded = new RecordedRequest({
      index: this.requests.length,
      method: req.method ?? '',
      url: requestUrl(req, socket.origin),
      target: req.url ?? '',
      httpVersion: req.httpVersion,
      rawHeaders: req.rawHeaders,
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

  private reply(res: http.ServerResponse, socket: ServerSocket, recorded: RecordedRequest, reply: ReplyLike): void {
    this.activity.value++;
    if (res.destroyed || res.headersSent) return;
    let normalized;
    try {
      normalized = normalizeReply(reply);
    } catch (error) {
      this.fail(res, recorded, error);
      return;
    }
    if (normalized.fault !== null) socket.wire.setFault(normalized.fault, 'response');
    writeReply(res, normalized, this.clock).catch((error: unknown) => {
      this.failures.push(new StubHandlerError(recorded, `the reply to ${recorded.toString()} failed: ${messageOf(error)}`, error));
    });
  }

  private fail(res: http.ServerResponse, recorded: RecordedRequest, error: unknown): void {
    this.activity.value++;
    const unexpected = error instanceof UnexpectedRequestError;
    const failure = unexpected ? error : new StubHandlerError(recorded, `the handler for ${recorded.toString()} failed: ${messageOf(error)}`, error);
    this.failures.push(failure);
    if (res.destroyed || res.headersSent) return;
    res.statusCode = unexpected ? 599 : 500;
    res.statusMessage = unexpected ? 'Unexpected Request' : 'Handler Failed';
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(`strand test double: ${failure.message}\n`);
  }
}
