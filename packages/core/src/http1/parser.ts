/**
 * The incremental HTTP/1.1 response parser (RFC 9112), strict, as a client's parser should be.
 *
 * It is a byte-level state machine: every byte is looked at once, errors are reported as soon as
 * the offending byte arrives, a head split over many chunks costs no re-scanning and no buffer
 * concatenation (only the partial token at a chunk boundary is kept, as a string), and body bytes
 * are handed out as views of the input.
 *
 * Phases (`phase`), each with its own fine-grained `state`:
 *
 * - `P_IDLE`: constructed, `reset()` not called yet. `execute` is a programming error.
 * - `P_HEAD`: a head is being read: optional empty lines, the status line, the header fields and
 *   the empty line (`H_*` states). Interim 1xx heads are reported and the next head is read in
 *   the same phase. Also used for the trailer section of a chunked body (`trailers === true`,
 *   starting at `H_LINE_START`).
 * - `P_LENGTH`: a Content-Length body; `remaining` bytes to go.
 * - `P_CHUNKED`: a chunked body (`C_*` states): chunk lines, chunk data, the CRLF after data.
 * - `P_CLOSE`: a close-delimited body; everything is body until `finish()`.
 * - `P_DONE`: the message is complete; further input is stray (not consumed) until `reset()`.
 * - `P_DEAD`: a parse error (or a handler exception) was thrown; until `reset()`.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError, ParseError, type ParseErrorKind } from '../errors.js';
import { COLON, CR, DQUOTE, EQUALS, FIELD_CHAR, HEX, HTAB, LF, QDTEXT, SEMICOLON, SP, BACKSLASH, TCHAR, latin1 } from './parser-chars.js';
import {
  CL_MISMATCH,
  CONN_CLOSE,
  CONN_KEEP_ALIVE,
  TransferCodings,
  connectionTokens,
  equalsLowerAt,
  parseContentLength,
} from './parser-framing.js';

/** How a response body is delimited. */
export type BodyFraming = 'none' | 'length' | 'chunked' | 'close';

/** Hard limits of the parser (options of the agents that make connections, too). */
export interface ParserLimits {
  /** Max bytes of one head: status line + header lines + final CRLF. Also applies separately to each 1xx head and to the trailer block. Default 16384. */
  maxHeaderBytes?: number;
  /** Max number of header fields in one head (and in the trailers). Default 128. */
  maxHeaderCount?: number;
  /**
   * Max interim (1xx) responses before the final one, per exchange; one more is a
   * {@link ParseError} of kind `TOO_MANY_INTERIM_RESPONSES`. Default 10 (Go allows 5; a server
   * sends one `100 Continue` and perhaps a few `103 Early Hints`).
   */
  maxInterimResponses?: number;
}

/** Default `maxHeaderBytes`: 16 KiB per head. */
export const DEFAULT_MAX_HEADER_BYTES = 16384;
/** Default `maxHeaderCount`: 128 fields per head. */
export const DEFAULT_MAX_HEADER_COUNT = 128;
/** Default `maxInterimResponses`: 10 interim responses per exchange. */
export const DEFAULT_MAX_INTERIM_RESPONSES = 10;

/** The option names of {@link ParserLimits}. */
export const PARSER_LIMIT_KEYS = ['maxHeaderBytes', 'maxHeaderCount', 'maxInterimResponses'] as const;


/** A parsed response head (final or interim). */
export interface ResponseHead {
  /** Always 1. */
  versionMajor: number;
  /** 0 or 1. */
  versionMinor: number;
  /** The three-digit status code, 100..999. */
  code: number;
  /** The reason phrase, latin1-decoded, may be ''. */
  phrase: string;
  /** Flat `[name, value, name, value, ...]` in wire order; names as sent; values trimmed of SP/HTAB; obs-fold unfolded to one SP. */
  rawHeaders: string[];
  /** How the body is delimited. */
  framing: BodyFraming;
  /** The length when `framing === 'length'`, otherwise -1. */
  contentLength: number;
  /** May this connection carry another request after this message completes. */
  keepAlive: boolean;
}

/** Receives what the parser finds, synchronously, from inside `execute` / `finish`. */
export interface ResponseParserHandler {
  /** An interim 1xx (not 101); parsing then continues with the next head. */
  onInformational(head: ResponseHead): void;
  /** The final response head. */
  onHead(head: ResponseHead): void;
  /** Body bytes, framing removed: a view of the input chunk (no copy). */
  onBody(chunk: Buffer): void;
  /** Chunked trailers, flat like rawHeaders; called only when there is at least one trailer field. */
  onTrailers(rawTrailers: string[]): void;
  /** The message is complete. The handler may call `reset()` here. */
  onComplete(): void;
}

// Phases.
const P_IDLE = 0;
const P_HEAD = 1;
const P_LENGTH = 2;
const P_CHUNKED = 3;
const P_CLOSE = 4;
const P_DONE = 5;
const P_DEAD = 6;

// Head states (also used for trailers, from H_LINE_START on).
const H_START = 0; //        before the status line: empty lines (CRLF) are skipped
const H_START_LF = 1; //     CR seen before the status line, LF expected
const H_PROTO = 2; //        inside "HTTP/" (protoIdx says where)
const H_MAJOR = 3;
const H_DOT = 4;
const H_MINOR = 5;
const H_VERSION_SP = 6; //   the SP after the version
const H_CODE = 7; //         the three status digits
const H_AFTER_CODE = 8; //   SP (then reason) or CR
const H_REASON = 9; //       token state: reason phrase
const H_STATUS_LF = 10;
const H_LINE_START = 11; //  first byte of a field line, or CR of the empty line
const H_NAME = 12; //        token state: field name
const H_VALUE_OWS = 13; //   OWS before the value
const H_VALUE = 14; //       token state: field value
const H_VALUE_LF = 15;
const H_FOLD_OWS = 16; //    whitespace that starts an obs-fold continuation line
const H_END_LF = 17; //      LF of the empty line ending the head / trailers

// Chunked-body states.
const C_SIZE_START = 0; //   first hex digit of a chunk size
const C_SIZE = 1; //         more hex digits, ';' or CR
const C_EXT_BWS = 2; //      after ';': BWS then an extension name
const C_EXT_NAME = 3;
const C_EXT_NAME_BWS = 4; // BWS after a name: only '=' may follow
const C_EXT_VALUE_BWS = 5; // after '=': BWS then token or quoted-string
const C_EXT_TOKEN = 6;
const C_EXT_QUOTED = 7;
const C_EXT_QPAIR = 8;
const C_EXT_AFTER_QUOTED = 9;
const C_SIZE_LF = 10;
const C_DATA = 11;
const C_DATA_CR = 12;
const C_DATA_LF = 13;

/** "HTTP/" */
const HTTP_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f];

function trimEndOws(s: string): string {
  let e = s.length;
  while (e > 0) {
    const c = s.charCodeAt(e - 1);
    if (c !== SP && c !== HTAB) break;
    e--;
  }
  return e === s.length ? s : s.slice(0, e);
}

function readLimit(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${option} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * The parser limits among `options` (the ones set), checked, for an agent to pass on.
 * @throws {@link InvalidArgumentError} naming a limit that is not a positive integer.
 */
export function parserLimitsFrom(options: ParserLimits): ParserLimits {
  const limits: ParserLimits = {};
  for (const key of PARSER_LIMIT_KEYS) {
    const value = options[key];
    if (value !== undefined) limits[key] = readLimit(value, 0, key);
  }
  return limits;
}

/** Incremental HTTP/1.1 response parser. See the module comment for its states. */
export class ResponseParser {
  private readonly handler: ResponseParserHandler;
  private readonly maxHeaderBytes: number;
  private readonly maxHeaderCount: number;
  private readonly maxInterimResponses: number;
  /** Interim heads seen in this exchange. */
  private interimResponses = 0;

  private phase = P_IDLE;
  private state = H_START;
  /** Bumped by reset(), so a handler that resets from a callback stops the running execute. */
  private epoch = 0;
  /** Stream offset (since reset) of the first byte of the chunk being executed. */
  private offset = 0;
  private failure: unknown = null;
  private isHeadRequest = false;
  /** The request was CONNECT: a 2xx answer turns the connection into a tunnel after its head. */
  private isConnectRequest = false;
  /** A byte of a status line was seen since reset (empty lines before it do not count). */
  private sawHead = false;

  // The head (or trailer block) being read.
  private headBytes = 0;
  private protoIdx = 0;
  private versionMinor = 1;
  private code = 0;
  private codeDigits = 0;
  private phrase = '';
  private rawHeaders: string[] = [];
  private fieldCount = 0;
  private trailers = false;
  /** The part of the current token (reason, name, value) that arrived in earlier chunks. */
  private tok = '';
  private name = '';
  private value = '';
  /** `name`/`value` hold a field not yet committed (an obs-fold line may still continue it). */
  private hasPending = false;
  private contentLength = -1;
  private readonly te = new TransferCodings();
  private connection = 0;

  // The body.
  private remaining = 0;
  private chunkLineBytes = 0;

  constructor(handler: ResponseParserHandler, limits?: ParserLimits) {
    this.handler = handler;
    this.maxHeaderBytes = readLimit(limits?.maxHeaderBytes, DEFAULT_MAX_HEADER_BYTES, 'maxHeaderBytes');
    this.maxHeaderCount = readLimit(limits?.maxHeaderCount, DEFAULT_MAX_HEADER_COUNT, 'maxHeaderCount');
    this.maxInterimResponses = readLimit(limits?.maxInterimResponses, DEFAULT_MAX_INTERIM_RESPONSES, 'maxInterimResponses');
  }

  /** Bytes of the current message consumed so far (since reset), as of the last execute() return. */
  get bytesConsumed(): number {
    return this.offset;
  }

  /** Bytes of a Content-Length body still to come; 0 in any other phase. */
  get lengthRemaining(): number {
    return this.phase === P_LENGTH ? this.remaining : 0;
  }

  /** Prepare for the next response, to a request with this method (HEAD => no body). Must be called before the first execute. */
  reset(method: string): void {
    this.epoch++;
    this.phase = P_HEAD;
    this.state = H_START;
    this.offset = 0;
    this.failure = null;
    this.isHeadRequest = method === 'HEAD';
    this.isConnectRequest = method === 'CONNECT';
    this.sawHead = false;
    this.interimResponses = 0;
    this.remaining = 0;
    this.chunkLineBytes = 0;
    this.startHead();
  }

  /**
   * Feed bytes. Returns how many were consumed: less than `chunk.length` only when the message
   * completed inside this chunk (onComplete was called); the rest is not parsed. Throws
   * ParseError, after which the parser is dead until reset(). Handler exceptions propagate (and
   * also leave the parser dead).
   */
  execute(chunk: Buffer): number {
    switch (this.phase) {
      case P_DONE:
        return 0;
      case P_IDLE:
        throw new Error('ResponseParser.execute() called before reset()');
      case P_DEAD:
        throw this.failure;
    }
    const epoch = this.epoch;
    const len = chunk.length;
    let i = 0;
    try {
      while (i < len) {
        switch (this.phase) {
          case P_HEAD:
            i = this.parseHead(chunk, i, len, epoch);
            break;
          case P_LENGTH:
            i = this.parseLength(chunk, i, len, epoch);
            break;
          case P_CHUNKED:
            i = this.parseChunked(chunk, i, len, epoch);
            break;
          case P_CLOSE:
            this.handler.onBody(i === 0 ? chunk : chunk.subarray(i));
            i = len;
            break;
          default:
            // P_DONE: the message completed in this chunk.
            break;
        }
        if (this.epoch !== epoch) return i; // reset() from a callback: the new message starts with the next execute
        if (this.phase === P_DONE) break;
      }
    } catch (error) {
      if (this.epoch === epoch) {
        this.phase = P_DEAD;
        this.failure = error;
      }
      throw error;
    }
    this.offset += i;
    return i;
  }

  /**
   * The peer closed the stream (EOF). Completes a close-delimited body; does nothing if no byte of
   * the message was seen (or it is already complete); otherwise throws UNEXPECTED_EOF.
   */
  finish(): void {
    switch (this.phase) {
      case P_CLOSE:
        this.complete();
        return;
      case P_HEAD:
        if (!this.trailers && !this.sawHead) return;
        throw this.die('UNEXPECTED_EOF', this.trailers ? 'the connection closed inside the trailers' : 'the connection closed inside the response head', this.offset);
      case P_LENGTH:
        throw this.die('UNEXPECTED_EOF', `the connection closed ${this.remaining} bytes before the end of the body`, this.offset);
      case P_CHUNKED:
        throw this.die('UNEXPECTED_EOF', 'the connection closed inside a chunked body', this.offset);
      default:
        return;
    }
  }

  // ---- internals ----

  private die(kind: ParseErrorKind, message: string, offset: number): ParseError {
    const error = new ParseError(kind, message, { offset });
    this.phase = P_DEAD;
    this.failure = error;
    return error;
  }

  /** A ParseError at index `i` of the chunk being executed. */
  private fail(kind: ParseErrorKind, message: string, i: number): ParseError {
    return new ParseError(kind, message, { offset: this.offset + i });
  }

  private fieldError(message: string, i: number): ParseError {
    return this.fail(this.trailers ? 'INVALID_TRAILER' : 'INVALID_HEADER', message, i);
  }

  private lineEndingError(c: number, i: number): ParseError {
    return this.fail('INVALID_LINE_ENDING', c === LF ? 'bare LF (lines must end with CRLF)' : 'CR not followed by LF', i);
  }

  private complete(): void {
    this.phase = P_DONE;
    this.handler.onComplete();
  }

  private startHead(): void {
    this.headBytes = 0;
    this.protoIdx = 0;
    this.versionMinor = 1;
    this.code = 0;
    this.codeDigits = 0;
    this.phrase = '';
    this.rawHeaders = [];
    this.fieldCount = 0;
    this.trailers = false;
    this.tok = '';
    this.name = '';
    this.value = '';
    this.hasPending = false;
    this.contentLength = -1;
    this.te.reset();
    this.connection = 0;
  }

  private takeToken(buf: Buffer, start: number, end: number): string {
    const head = this.tok;
    if (head === '') return latin1(buf, start, end);
    this.tok = '';
    return head + latin1(buf, start, end);
  }

  /** Stores the pending field; interprets the framing fields of a head. `i` is for error offsets. */
  private commitField(i: number): void {
    const name = this.name;
    const value = this.value;
    this.hasPending = false;
    this.rawHeaders.push(name, value);
    this.fieldCount++;
    if (this.trailers) return;
    switch (name.length) {
      case 14:
        if (equalsLowerAt(name, 0, 'content-length')) {
          const length = parseContentLength(value);
          if (length < 0) {
            throw this.fail('INVALID_CONTENT_LENGTH', length === CL_MISMATCH ? 'Content-Length lists different values' : 'invalid Content-Length value', i);
          }
          if (this.contentLength !== -1 && this.contentLength !== length) {
            throw this.fail('INVALID_CONTENT_LENGTH', 'conflicting Content-Length fields', i);
          }
          this.contentLength = length;
        }
        return;
      case 17:
        if (equalsLowerAt(name, 0, 'transfer-encoding')) {
          const problem = this.te.add(value);
          if (problem !== '') throw this.fail('INVALID_TRANSFER_ENCODING', problem, i);
        }
        return;
      case 10:
        if (equalsLowerAt(name, 0, 'connection')) this.connection |= connectionTokens(value);
        return;
    }
  }

  private isFramingField(name: string): number {
    if (name.length === 14 && equalsLowerAt(name, 0, 'content-length')) return 1;
    if (name.length === 17 && equalsLowerAt(name, 0, 'transfer-encoding')) return 2;
    return 0;
  }

  /**
   * Parses head (or trailer) bytes from `start`. Returns the index where it stopped: `len`, or
   * the end of the head when the phase changed (or a callback reset the parser).
   */
  private parseHead(buf: Buffer, start: number, len: number, epoch: number): number {
    let state = this.state;
    let i = start;
    let tokStart = start; // valid in the token states H_REASON, H_NAME, H_VALUE
    // A field name read wholly in this chunk is not decoded at the colon: when its value also ends
    // in this chunk the whole line is decoded once and both are sliced from it.
    let nameStart = -1;
    let nameLen = 0;
    let headStart = start;
    let limitEnd = start + (this.maxHeaderBytes - this.headBytes);
    let end = limitEnd < len ? limitEnd : len;

    while (i < end) {
      const c = buf[i]!;
      switch (state) {
        case H_START:
          if (c === CR) {
            state = H_START_LF;
            i++;
            continue;
          }
          if (c === LF) throw this.lineEndingError(c, i);
          this.sawHead = true;
          this.protoIdx = 0;
          state = H_PROTO;
          continue; // the byte is part of the status line

        case H_START_LF:
          if (c !== LF) throw this.lineEndingError(c, i);
          state = H_START;
          i++;
          continue;

        case H_PROTO:
          if (c !== HTTP_PREFIX[this.protoIdx]) throw this.fail('INVALID_VERSION', 'the status line does not start with "HTTP/"', i);
          if (++this.protoIdx === 5) state = H_MAJOR;
          i++;
          continue;

        case H_MAJOR:
          if (c !== 0x31) throw this.fail('INVALID_VERSION', 'unsupported HTTP version (only 1.0 and 1.1)', i);
          state = H_DOT;
          i++;
          continue;

        case H_DOT:
          if (c !== 0x2e) throw this.fail('INVALID_VERSION', 'invalid HTTP version', i);
          state = H_MINOR;
          i++;
          continue;

        case H_MINOR:
          if (c !== 0x30 && c !== 0x31) throw this.fail('INVALID_VERSION', 'unsupported HTTP version (only 1.0 and 1.1)', i);
          this.versionMinor = c - 0x30;
          state = H_VERSION_SP;
          i++;
          continue;

        case H_VERSION_SP:
          if (c === SP) {
            this.code = 0;
            this.codeDigits = 0;
            state = H_CODE;
            i++;
            continue;
          }
          if (c === LF) throw this.lineEndingError(c, i);
          if (c === CR) throw this.fail('INVALID_STATUS_LINE', 'the status line has no status code', i);
          throw this.fail('INVALID_VERSION', 'expected SP after the HTTP version', i);

        case H_CODE:
          if (c >= 0x30 && c <= 0x39 && (c !== 0x30 || this.codeDigits !== 0)) {
            this.code = this.code * 10 + (c - 0x30);
            if (++this.codeDigits === 3) state = H_AFTER_CODE;
            i++;
            continue;
          }
          if (c === LF) throw this.lineEndingError(c, i);
          throw this.fail('INVALID_STATUS', 'the status code must be three digits, 100 to 999', i);

        case H_AFTER_CODE:
          if (c === SP) {
            state = H_REASON;
            i++;
            tokStart = i;
            continue;
          }
          if (c === CR) {
            // "HTTP/1.1 200\r\n": no SP, no reason (accepted, like llhttp)
            state = H_STATUS_LF;
            i++;
            continue;
          }
          if (c === LF) throw this.lineEndingError(c, i);
          throw this.fail('INVALID_STATUS', 'the status code must be three digits, 100 to 999', i);

        case H_REASON: {
          let j = i;
          while (j < end && FIELD_CHAR[buf[j]!] === 1) j++;
          i = j;
          if (j === end) continue;
          const d = buf[j]!;
          if (d === CR) {
            this.phrase = this.takeToken(buf, tokStart, j);
            state = H_STATUS_LF;
            i++;
            continue;
          }
          if (d === LF) throw this.lineEndingError(d, j);
          throw this.fail('INVALID_STATUS_LINE', 'invalid character in the reason phrase', j);
        }

        case H_STATUS_LF:
          if (c !== LF) throw this.lineEndingError(c, i);
          state = H_LINE_START;
          i++;
          continue;

        case H_LINE_START:
          if (TCHAR[c] === 1) {
            if (this.hasPending) this.commitField(i);
            if (this.fieldCount >= this.maxHeaderCount) {
              throw this.fail('TOO_MANY_HEADERS', `more than ${this.maxHeaderCount} ${this.trailers ? 'trailer' : 'header'} fields`, i);
            }
            tokStart = i;
            state = H_NAME;
            i++;
            continue;
          }
          if (c === CR) {
            if (this.hasPending) this.commitField(i);
            state = H_END_LF;
            i++;
            continue;
          }
          if (c === SP || c === HTAB) {
            // obs-fold: unfolded to one SP (RFC 9112 §5.2), never for the framing fields.
            if (!this.hasPending) throw this.fieldError('a line starting with whitespace before the first field', i);
            const framing = this.isFramingField(this.name);
            if (framing !== 0) {
              throw this.fail(
                this.trailers ? 'INVALID_TRAILER' : framing === 1 ? 'INVALID_CONTENT_LENGTH' : 'INVALID_TRANSFER_ENCODING',
                `obs-fold in ${framing === 1 ? 'Content-Length' : 'Transfer-Encoding'}`,
                i,
              );
            }
            state = H_FOLD_OWS;
            i++;
            continue;
          }
          if (c === LF) throw this.lineEndingError(c, i);
          throw this.fieldError(c === COLON ? 'empty field name' : 'invalid character at the start of a field line', i);

        case H_NAME: {
          let j = i;
          while (j < end && TCHAR[buf[j]!] === 1) j++;
          i = j;
          if (j === end) continue;
          const d = buf[j]!;
          if (d === COLON) {
            if (this.tok === '') {
              nameStart = tokStart;
              nameLen = j - tokStart;
            } else {
              this.name = this.takeToken(buf, tokStart, j);
            }
            state = H_VALUE_OWS;
            i++;
            continue;
          }
          if (d === LF) throw this.lineEndingError(d, j);
          throw this.fieldError(d === SP || d === HTAB ? 'whitespace in or after a field name' : 'invalid character in a field name', j);
        }

        case H_VALUE_OWS:
          if (c === SP || c === HTAB) {
            i++;
            continue;
          }
          if (FIELD_CHAR[c] === 1) {
            tokStart = i;
            state = H_VALUE;
            i++;
            continue;
          }
          if (c === CR) {
            if (nameStart !== -1) {
              this.name = latin1(buf, nameStart, nameStart + nameLen);
              nameStart = -1;
            }
            this.value = '';
            this.hasPending = true;
            state = H_VALUE_LF;
            i++;
            continue;
          }
          if (c === LF) throw this.lineEndingError(c, i);
          throw this.fieldError('invalid character in a field value', i);

        case H_VALUE: {
          let j = i;
          while (j < end && FIELD_CHAR[buf[j]!] === 1) j++;
          i = j;
          if (j === end) continue;
          const d = buf[j]!;
          if (d === CR) {
            if (nameStart !== -1) {
              const line = latin1(buf, nameStart, j);
              this.name = line.slice(0, nameLen);
              this.value = trimEndOws(line.slice(tokStart - nameStart));
              nameStart = -1;
            } else {
              this.value = trimEndOws(this.takeToken(buf, tokStart, j));
            }
            this.hasPending = true;
            state = H_VALUE_LF;
            i++;
            continue;
          }
          if (d === LF) throw this.lineEndingError(d, j);
          throw this.fieldError('invalid character in a field value', j);
        }

        case H_VALUE_LF:
          if (c !== LF) throw this.lineEndingError(c, i);
          state = H_LINE_START;
          i++;
          continue;

        case H_FOLD_OWS:
          if (c === SP || c === HTAB) {
            i++;
            continue;
          }
          if (FIELD_CHAR[c] === 1) {
            this.tok = this.value === '' ? '' : this.value + ' ';
            tokStart = i;
            state = H_VALUE;
            i++;
            continue;
          }
          if (c === CR) {
            state = H_VALUE_LF; // a whitespace-only continuation adds nothing
            i++;
            continue;
          }
          if (c === LF) throw this.lineEndingError(c, i);
          throw this.fieldError('invalid character in a field value', i);

        case H_END_LF: {
          if (c !== LF) throw this.lineEndingError(c, i);
          i++;
          if (this.trailers) {
            this.state = H_START;
            if (this.fieldCount !== 0) {
              this.handler.onTrailers(this.rawHeaders);
              if (this.epoch !== epoch) return i;
            }
            this.complete();
            return i;
          }
          if (!this.headComplete(i, epoch)) return i; // final head: the body phase takes over
          // An interim 1xx: the next head follows, with limits of its own.
          state = H_START;
          headStart = i;
          limitEnd = i + this.maxHeaderBytes;
          end = limitEnd < len ? limitEnd : len;
          continue;
        }

        default:
          throw new Error(`ResponseParser: impossible head state ${state}`);
      }
    }

    if (i < len) {
      // Stopped at the byte limit without finishing the head.
      throw this.fail('HEADERS_TOO_LARGE', `the ${this.trailers ? 'trailer section' : 'response head'} is larger than ${this.maxHeaderBytes} bytes`, i);
    }
    if (nameStart !== -1) this.name = latin1(buf, nameStart, nameStart + nameLen);
    if (state === H_REASON || state === H_NAME || state === H_VALUE) this.tok += latin1(buf, tokStart, i);
    this.headBytes += i - headStart;
    this.state = state;
    return i;
  }

  /**
   * The empty line ending a head was consumed (`i` is just past it). Reports the head. Returns
   * true for an interim 1xx (the caller reads the next head), false when the phase changed or a
   * callback reset the parser.
   */
  private headComplete(i: number, epoch: number): boolean {
    const code = this.code;
    if (code === 101) throw this.fail('UNEXPECTED_UPGRADE', 'the server switched protocols (101) but no upgrade was requested', i);
    const minor = this.versionMinor;
    const connection = this.connection;
    let framing: BodyFraming;
    let contentLength = -1;
    // RFC 9110 §9.3.6: after a 2xx to CONNECT the connection is a tunnel; any Content-Length or
    // Transfer-Encoding in that head is ignored.
    if (code < 200 || code === 204 || code === 304 || this.isHeadRequest || (this.isConnectRequest && code < 300)) {
      framing = 'none';
    } else if (this.te.present) {
      if (this.contentLength !== -1) throw this.fail('CONFLICTING_FRAMING', 'both Transfer-Encoding and Content-Length are present', i);
      framing = this.te.lastIsChunked ? 'chunked' : 'close';
    } else if (this.contentLength !== -1) {
      framing = 'length';
      contentLength = this.contentLength;
    } else {
      framing = 'close';
    }
    let keepAlive: boolean;
    if (framing === 'close') keepAlive = false;
    else if ((connection & CONN_CLOSE) !== 0) keepAlive = false;
    else if (minor === 1) keepAlive = true;
    // HTTP/1.0: only with keep-alive, and never with Transfer-Encoding (RFC 9112 §6.1).
    else keepAlive = (connection & CONN_KEEP_ALIVE) !== 0 && !this.te.present;

    const head: ResponseHead = {
      versionMajor: 1,
      versionMinor: minor,
      code,
      phrase: this.phrase,
      rawHeaders: this.rawHeaders,
      framing,
      contentLength,
      keepAlive,
    };

    if (code < 200) {
      if (++this.interimResponses > this.maxInterimResponses) {
        throw this.fail('TOO_MANY_INTERIM_RESPONSES', `more than ${this.maxInterimResponses} interim (1xx) responses before the final one`, i);
      }
      this.startHead();
      this.handler.onInformational(head);
      return this.epoch === epoch;
    }

    // Body-less messages (and Content-Length: 0) complete right after onHead, in this execute.
    let bodiless = false;
    switch (framing) {
      case 'none':
        bodiless = true;
        break;
      case 'length':
        if (contentLength === 0) bodiless = true;
        else {
          this.remaining = contentLength;
          this.phase = P_LENGTH;
        }
        break;
      case 'chunked':
        this.state = C_SIZE_START;
        this.chunkLineBytes = 0;
        this.phase = P_CHUNKED;
        break;
      case 'close':
        this.phase = P_CLOSE;
        break;
    }
    this.handler.onHead(head);
    if (bodiless && this.epoch === epoch) this.complete();
    return false;
  }

  private parseLength(buf: Buffer, i: number, len: number, epoch: number): number {
    const remaining = this.remaining;
    const avail = len - i;
    if (avail < remaining) {
      this.remaining = remaining - avail;
      this.handler.onBody(i === 0 ? buf : buf.subarray(i));
      return len;
    }
    const end = i + remaining;
    this.remaining = 0;
    this.phase = P_DONE;
    this.handler.onBody(i === 0 && end === len ? buf : buf.subarray(i, end));
    if (this.epoch === epoch) this.handler.onComplete();
    return end;
  }

  private parseChunked(buf: Buffer, start: number, len: number, epoch: number): number {
    let state = this.state;
    let i = start;
    while (i < len) {
      if (state === C_DATA) {
        const remaining = this.remaining;
        const avail = len - i;
        if (avail <= remaining) {
          this.remaining = remaining - avail;
          if (avail === remaining) state = C_DATA_CR;
          this.state = state;
          this.handler.onBody(i === 0 ? buf : buf.subarray(i));
          return len;
        }
        const end = i + remaining;
        this.remaining = 0;
        state = C_DATA_CR;
        this.state = state;
        this.handler.onBody(buf.subarray(i, end));
        if (this.epoch !== epoch) return end;
        i = end;
        continue;
      }

      const c = buf[i]!;
      if (state <= C_SIZE_LF && ++this.chunkLineBytes > this.maxHeaderBytes) {
        throw this.fail('INVALID_CHUNK', `chunk size line longer than ${this.maxHeaderBytes} bytes`, i);
      }
      switch (state) {
        case C_SIZE_START: {
          const h = HEX[c]!;
          if (h >= 0) {
            this.remaining = h;
            state = C_SIZE;
            i++;
            continue;
          }
          if (c === LF) throw this.lineEndingError(c, i);
          throw this.fail('INVALID_CHUNK', c === CR ? 'missing chunk size' : 'invalid character in chunk size', i);
        }

        case C_SIZE: {
          const h = HEX[c]!;
          if (h >= 0) {
            const size = this.remaining * 16 + h;
            if (size > Number.MAX_SAFE_INTEGER) throw this.fail('INVALID_CHUNK', 'chunk size too large', i);
            this.remaining = size;
            i++;
            continue;
          }
          if (c === CR) state = C_SIZE_LF;
          else if (c === SEMICOLON) state = C_EXT_BWS;
          else if (c === LF) throw this.lineEndingError(c, i);
          else throw this.fail('INVALID_CHUNK', 'invalid character in chunk size', i);
          i++;
          continue;
        }

        case C_EXT_BWS:
          if (c === SP || c === HTAB) {
            i++;
            continue;
          }
          if (TCHAR[c] !== 1) throw this.chunkExtError(c, i);
          state = C_EXT_NAME;
          i++;
          continue;

        case C_EXT_NAME:
          if (TCHAR[c] === 1) {
            i++;
            continue;
          }
          if (c === EQUALS) state = C_EXT_VALUE_BWS;
          else if (c === SEMICOLON) state = C_EXT_BWS;
          else if (c === CR) state = C_SIZE_LF;
          else if (c === SP || c === HTAB) state = C_EXT_NAME_BWS;
          else throw this.chunkExtError(c, i);
          i++;
          continue;

        case C_EXT_NAME_BWS:
          if (c === EQUALS) state = C_EXT_VALUE_BWS;
          else if (c !== SP && c !== HTAB) throw this.chunkExtError(c, i);
          i++;
          continue;

        case C_EXT_VALUE_BWS:
          if (c === DQUOTE) state = C_EXT_QUOTED;
          else if (TCHAR[c] === 1) state = C_EXT_TOKEN;
          else if (c !== SP && c !== HTAB) throw this.chunkExtError(c, i);
          i++;
          continue;

        case C_EXT_TOKEN:
          if (TCHAR[c] === 1) {
            i++;
            continue;
          }
          if (c === SEMICOLON) state = C_EXT_BWS;
          else if (c === CR) state = C_SIZE_LF;
          else throw this.chunkExtError(c, i);
          i++;
          continue;

        case C_EXT_QUOTED:
          if (c === DQUOTE) state = C_EXT_AFTER_QUOTED;
          else if (c === BACKSLASH) state = C_EXT_QPAIR;
          else if (QDTEXT[c] !== 1) throw this.chunkExtError(c, i);
          i++;
          continue;

        case C_EXT_QPAIR:
          if (FIELD_CHAR[c] !== 1) throw this.chunkExtError(c, i);
          state = C_EXT_QUOTED;
          i++;
          continue;

        case C_EXT_AFTER_QUOTED:
          if (c === SEMICOLON) state = C_EXT_BWS;
          else if (c === CR) state = C_SIZE_LF;
          else throw this.chunkExtError(c, i);
          i++;
          continue;

        case C_SIZE_LF:
          if (c !== LF) throw this.lineEndingError(c, i);
          i++;
          this.chunkLineBytes = 0;
          if (this.remaining === 0) {
            // last-chunk: the trailer section follows, read like a head.
            this.startHead();
            this.trailers = true;
            this.state = H_LINE_START;
            this.phase = P_HEAD;
            return i;
          }
          state = C_DATA;
          continue;

        case C_DATA_CR:
          if (c === CR) {
            state = C_DATA_LF;
            i++;
            continue;
          }
          if (c === LF) throw this.lineEndingError(c, i);
          throw this.fail('INVALID_CHUNK', 'chunk data is not followed by CRLF', i);

        case C_DATA_LF:
          if (c !== LF) throw this.lineEndingError(c, i);
          state = C_SIZE_START;
          i++;
          continue;

        default:
          throw new Error(`ResponseParser: impossible chunked state ${state}`);
      }
    }
    this.state = state;
    return i;
  }

  private chunkExtError(c: number, i: number): ParseError {
    if (c === LF) return this.lineEndingError(c, i);
    return this.fail('INVALID_CHUNK', 'invalid character in chunk extensions', i);
  }
}
