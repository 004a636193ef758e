/**
 * Typed errors. Every failure Strand reports is a {@link StrandError} with a stable `code`;
 * the class says *where* the exchange failed, which is what retry safety depends on:
 *
 * - {@link RequestNotSentError} (and its {@link ConnectError} family): not one byte of the
 *   request reached the server. Always safe to retry.
 * - {@link RequestGenerationFailedError}: the body producer failed or lied about its length.
 * - {@link RequestTransmissionFailedError}: the connection failed while the request was written.
 * - {@link ResponseNeverReceivedError}: the request was written, the response head never came.
 * - {@link ResponseFailedError}: the head came, the body did not finish.
 * - {@link ParseError}: the server sent bytes that are not valid HTTP/1.1.
 * - {@link BodyTooLargeError}, {@link CancelledError}, {@link InvalidArgumentError} and friends.
 *
 * Messages carry the request URL with any credentials removed.
 *
 * @packageDocumentation
 */


/** Options shared by every Strand error constructor. */
import { brand } from './brand.js';

/** Options every Strand error takes: the request URL (credentials are removed in the message) and the `cause`. */
export interface StrandErrorOptions {
  /** The underlying error, kept as the standard `cause`. */
  cause?: unknown;
  /** The URL of the request; credentials are removed before it is stored or printed. */
  url?: string | URL | undefined;
}

/**
 * Returns `url` as a string with any `user:password@` removed, for messages and logs.
 * Unparseable input is returned with everything before an `@` in the authority dropped.
 */
export function redactUrl(url: string | URL): string {
  if (typeof url !== 'string') {
    if (url.username === '' && url.password === '') return url.href;
    const copy = new URL(url.href);
    copy.username = '';
    copy.password = '';
    return copy.href;
  }
  if (!url.includes('@')) return url;
  try {
    return redactUrl(new URL(url));
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1');
  }
}

/** The base class of every error Strand raises. `code` is stable and safe to switch on. */
export class StrandError extends Error {
  /** A stable, machine-readable identifier such as `STRAND_CONNECTION_REFUSED`. */
  readonly code: string;
  /** The request URL (credentials removed), when the error belongs to a request. */
  readonly url: string | undefined;

  constructor(code: string, message: string, options: StrandErrorOptions = {}) {
    const url = options.url === undefined ? undefined : redactUrl(options.url);
    super(url === undefined ? message : `${message} (${url})`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.url = url;
  }
}

/**
 * The pool or agent was closed (`close()`, `destroy()` or `await using`): it takes no more
 * requests. Make a new one. Code `STRAND_CLOSED`.
 */
export class ClosedError extends StrandError {
  constructor(message: string, options?: StrandErrorOptions) {
    super('STRAND_CLOSED', message, options);
  }
}

/** A caller passed a wrong argument (a bad option, a wrong type). Raised before any I/O. */
export class InvalidArgumentError extends StrandError {
  constructor(message: string, options?: StrandErrorOptions, code = 'STRAND_INVALID_ARGUMENT') {
    super(code, message, options);
  }
}

/** A header name is not a token, or a header value contains CR, LF or NUL. Raised before any byte is written. */
export class InvalidHeaderError extends InvalidArgumentError {
  /** The offending header name, as the caller gave it. */
  readonly headerName: string;

  constructor(headerName: string, message: string, options?: StrandErrorOptions) {
    super(message, options, 'STRAND_INVALID_HEADER');
    this.headerName = headerName;
  }
}

/** The request itself is invalid: a bad method, URI or path, or headers that conflict with the body. */
export class InvalidRequestError extends InvalidArgumentError {
  constructor(message: string, options?: StrandErrorOptions) {
    super(message, options, 'STRAND_INVALID_REQUEST');
  }
}

/** Nothing of the request was sent. Safe to retry whatever the method. */
export class RequestNotSentError extends StrandError {
  constructor(message: string, options?: StrandErrorOptions, code = 'STRAND_REQUEST_NOT_SENT') {
    super(code, message, options);
  }
}

/** Opening the connection failed. Subclasses name the reason. */
export class ConnectError extends RequestNotSentError {
  constructor(message: string, options?: StrandErrorOptions, code = 'STRAND_CONNECT_FAILED') {
    super(message, options, code);
  }
}

/** The server actively refused the connection (`ECONNREFUSED`). */
export class ConnectionRefusedError extends ConnectError {
  constructor(message: string, options?: StrandErrorOptions) {
    super(message, options, 'STRAND_CONNECTION_REFUSED');
  }
}

/** The host name could not be resolved (`ENOTFOUND`, `EAI_AGAIN`). */
export class DNSLookupError extends ConnectError {
  constructor(message: string, options?: StrandErrorOptions) {
    super(message, options, 'STRAND_DNS_LOOKUP_FAILED');
  }
}

/** The body producer threw, rejected, or wrote a different number of bytes than its `length`. */
export class RequestGenerationFailedError extends StrandError {
  constructor(message: string, options?: StrandErrorOptions) {
    super('STRAND_REQUEST_GENERATION_FAILED', message, options);
  }
}

/** The connection failed while the request was being written: the server may have seen part of it. */
export class RequestTransmissionFailedError extends StrandError {
  constructor(message: string, options?: StrandErrorOptions) {
    super('STRAND_REQUEST_TRANSMISSION_FAILED', message, options);
  }
}

/** The request was sent but the connection ended before a complete response head arrived. */
export class ResponseNeverReceivedError extends StrandError {
  /** How many bytes of the response had arrived (0: the server said nothing at all). */
  readonly bytesReceived: number;

  constructor(message: string, bytesReceived: number, options?: StrandErrorOptions) {
    super('STRAND_RESPONSE_NEVER_RECEIVED', message, options);
    this.bytesReceived = bytesReceived;
  }
}

/** The response head arrived but its body did not complete: what was delivered is partial. */
export class ResponseFailedError extends StrandError {
  constructor(message: string, options?: StrandErrorOptions) {
    super('STRAND_RESPONSE_FAILED', message, options);
  }
}

/** Machine-readable reasons for a {@link ParseError}. */
export type ParseErrorKind =
  | 'INVALID_STATUS_LINE'
  | 'INVALID_VERSION'
  | 'INVALID_STATUS'
  | 'INVALID_HEADER'
  | 'INVALID_LINE_ENDING'
  | 'HEADERS_TOO_LARGE'
  | 'TOO_MANY_HEADERS'
  | 'TOO_MANY_INTERIM_RESPONSES'
  | 'INVALID_CONTENT_LENGTH'
  | 'INVALID_TRANSFER_ENCODING'
  | 'CONFLICTING_FRAMING'
  | 'INVALID_CHUNK'
  | 'INVALID_TRAILER'
  | 'UNEXPECTED_UPGRADE'
  | 'UNEXPECTED_EOF';

/** The server sent bytes that are not a valid HTTP/1.1 response. The connection is never reused. */
export class ParseError extends StrandError {
  /** What was wrong, for programs. */
  readonly kind: ParseErrorKind;
  /** Offset in the parser's input stream where the problem was found, when known. */
  readonly offset: number | undefined;

  constructor(kind: ParseErrorKind, message: string, options?: StrandErrorOptions & { offset?: number }) {
    super('STRAND_PARSE_ERROR', message, options);
    this.kind = kind;
    this.offset = options?.offset;
  }
}

/** A body (or header block) grew past a configured limit; reading stopped at the limit. */
export class BodyTooLargeError extends StrandError {
  /** The limit in bytes that was passed. */
  readonly limit: number;

  constructor(limit: number, options?: StrandErrorOptions) {
    super('STRAND_BODY_TOO_LARGE', `body is larger than the limit of ${limit} bytes`, options);
    this.limit = limit;
  }
}

/**
 * The request was cancelled through its `AbortSignal`. `cause` is the signal's reason; a signal
 * that timed out (`AbortSignal.timeout(ms)`, whose reason is a `TimeoutError` DOMException) is
 * said so in the message.
 */
export class CancelledError extends StrandError {
  constructor(message = 'request cancelled', options?: StrandErrorOptions) {
    super('STRAND_CANCELLED', timedOutSignal(options?.cause) ? `${message}: its signal timed out (AbortSignal.timeout)` : message, options);
  }
}

/** Whether an abort reason is the one `AbortSignal.timeout()` gives. */
function timedOutSignal(reason: unknown): boolean {
  return typeof DOMException === 'function' && reason instanceof DOMException && reason.name === 'TimeoutError';
}

/**
 * The reason a body ended when its framing (Content-Length or chunked) proves it complete.
 * Passed to {@link BodyProtocol.connectionLost}; not an error.
 */
export class ResponseDone {
  /** Always `'ResponseDone'`. */
  readonly name = 'ResponseDone';
}

/**
 * The reason a close-delimited body ended: the server closed the connection, which is how such
 * a body ends, but a truncation cannot be told apart. Not an error; callers that need
 * certainty treat it as one.
 */
export class PotentialDataLoss {
  /** Always `'PotentialDataLoss'`. */
  readonly name = 'PotentialDataLoss';
}

/** Why a response body stopped: complete, possibly complete, or a real error. */
export type BodyEndReason = ResponseDone | PotentialDataLoss | StrandError;

/** The named phases a timeout can cover; see `TimeoutOptions`. */
export type TimeoutPhase = 'queue' | 'connect' | 'sendIdle' | 'headers' | 'bodyIdle' | 'total';

/**
 * A per-phase timeout fired. `phase` names it; `sent` says whether any of the request may have
 * reached the server (false for `queue` and `connect`: those are always safe to retry).
 */
export class TimeoutError extends StrandError {
  /** The phase whose timeout fired (`queue`, `connect`, `sendIdle`, `headers`, `bodyIdle`, `total`). */
  readonly phase: TimeoutPhase;
  /** The timeout's length in milliseconds. */
  readonly timeout: number;
  /** Whether any of the request may have reached the server (false for `queue` and `connect`: always safe to retry). */
  readonly sent: boolean;

  constructor(phase: TimeoutPhase, timeout: number, sent: boolean, options?: StrandErrorOptions) {
    super(TIMEOUT_CODES[phase], `${TIMEOUT_TEXT[phase]} timed out after ${timeout} ms`, options);
    this.phase = phase;
    this.timeout = timeout;
    this.sent = sent;
  }
}

const TIMEOUT_CODES: Record<TimeoutPhase, string> = {
  queue: 'STRAND_QUEUE_TIMEOUT',
  connect: 'STRAND_CONNECT_TIMEOUT',
  sendIdle: 'STRAND_SEND_TIMEOUT',
  headers: 'STRAND_HEADERS_TIMEOUT',
  bodyIdle: 'STRAND_BODY_TIMEOUT',
  total: 'STRAND_TOTAL_TIMEOUT',
};

const TIMEOUT_TEXT: Record<TimeoutPhase, string> = {
  queue: 'waiting for a free connection',
  connect: 'connecting',
  sendIdle: 'sending the request (no byte accepted by the connection)',
  headers: 'waiting for the response head',
  bodyIdle: 'waiting for more of the response body',
  total: 'the request',
};

/**
 * A `Content-Encoding` could not be decoded: the compressed data is corrupt or truncated, or the
 * response stacks more encodings than allowed. The body ends with this error; what was delivered
 * before it is not the whole body.
 */
export class DecodingError extends StrandError {
  /** The content-coding that failed, e.g. `gzip`, or the whole header for too many codings. */
  readonly encoding: string;

  constructor(encoding: string, message: string, options?: StrandErrorOptions) {
    super('STRAND_DECODING_FAILED', message, options);
    this.encoding = encoding;
  }
}

/**
 * The TLS handshake failed: nothing of the request was sent. Subclasses name the reason; the
 * Node/OpenSSL error (with its `code`, e.g. `CERT_HAS_EXPIRED`) is the `cause`.
 */
export class TLSError extends ConnectError {
  constructor(message: string, options?: StrandErrorOptions, code = 'STRAND_TLS_FAILED') {
    super(message, options, code);
  }
}

/** The server's certificate failed verification. Subclasses name the common reasons. */
export class TLSCertificateError extends TLSError {
  constructor(message: string, options?: StrandErrorOptions, code = 'STRAND_TLS_CERT_INVALID') {
    super(message, options, code);
  }
}

/** The server's certificate does not name the host (`ERR_TLS_CERT_ALTNAME_INVALID`). */
export class TLSHostnameMismatchError extends TLSCertificateError {
  constructor(message: string, options?: StrandErrorOptions) {
    super(message, options, 'STRAND_TLS_HOSTNAME_MISMATCH');
  }
}

/**
 * The server's certificate does not lead to a trusted root: signed by an unknown CA,
 * self-signed, or sent without its intermediate certificates.
 */
export class TLSUnknownCAError extends TLSCertificateError {
  constructor(message: string, options?: StrandErrorOptions) {
    super(message, options, 'STRAND_TLS_UNKNOWN_CA');
  }
}

/** A certificate of the server's chain has expired (`CERT_HAS_EXPIRED`). */
export class TLSCertificateExpiredError extends TLSCertificateError {
  constructor(message: string, options?: StrandErrorOptions) {
    super(message, options, 'STRAND_TLS_CERT_EXPIRED');
  }
}

/**
 * The TLS handshake failed for a reason other than the server's certificate: the server
 * requires a client certificate or rejected ours, no TLS version or cipher in common, the server
 * does not offer HTTP/1.1 over ALPN, does not speak TLS, or closed the connection mid-handshake.
 */
export class TLSHandshakeError extends TLSError {
  constructor(message: string, options?: StrandErrorOptions) {
    super(message, options, 'STRAND_TLS_HANDSHAKE_FAILED');
  }
}

// One identity across the ESM and CJS builds and across installed copies (see brand.ts).
for (const [cls, name] of [
  [StrandError, 'StrandError'],
  [ClosedError, 'ClosedError'],
  [InvalidArgumentError, 'InvalidArgumentError'],
  [InvalidHeaderError, 'InvalidHeaderError'],
  [InvalidRequestError, 'InvalidRequestError'],
  [RequestNotSentError, 'RequestNotSentError'],
  [ConnectError, 'ConnectError'],
  [ConnectionRefusedError, 'ConnectionRefusedError'],
  [DNSLookupError, 'DNSLookupError'],
  [RequestGenerationFailedError, 'RequestGenerationFailedError'],
  [RequestTransmissionFailedError, 'RequestTransmissionFailedError'],
  [ResponseNeverReceivedError, 'ResponseNeverReceivedError'],
  [ResponseFailedError, 'ResponseFailedError'],
  [ParseError, 'ParseError'],
  [BodyTooLargeError, 'BodyTooLargeError'],
  [CancelledError, 'CancelledError'],
  [ResponseDone, 'ResponseDone'],
  [PotentialDataLoss, 'PotentialDataLoss'],
  [TimeoutError, 'TimeoutError'],
  [DecodingError, 'DecodingError'],
  [TLSError, 'TLSError'],
  [TLSCertificateError, 'TLSCertificateError'],
  [TLSHostnameMismatchError, 'TLSHostnameMismatchError'],
  [TLSUnknownCAError, 'TLSUnknownCAError'],
  [TLSCertificateExpiredError, 'TLSCertificateExpiredError'],
  [TLSHandshakeError, 'TLSHandshakeError'],
] as const) {
  brand(cls, `core.${name}`);
}
