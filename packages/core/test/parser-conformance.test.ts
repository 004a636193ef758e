/**
 * Runs the llhttp response corpus (test/fixtures/llhttp, extracted from llhttp v9.4.2's
 * markdown tests, MIT, Copyright © 2018 Fedor Indutny; see the NOTICE there) through
 * ResponseParser, whole and split at every chunk size, and checks the outcome matches llhttp's
 * strict mode, except for the few cases listed in DIFFERENCES, whose Strand behaviour is
 * asserted instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ParseError, type ParseErrorKind } from '../src/errors.js';
import { type BodyFraming, type ResponseHead, type ResponseParserHandler, ResponseParser } from '../src/http1/parser.js';

// ---- the corpus ----

interface CorpusHeader {
  name: string;
  value: string;
}
interface CorpusMessage {
  offset: number;
  status?: number;
  reason?: string;
  headers: CorpusHeader[];
  flags?: string[];
  content_length?: number;
  headers_complete_offset?: number;
  body?: string;
  complete: boolean;
  skip_body?: boolean;
}
interface CorpusCase {
  id: string;
  name: string;
  mode: string;
  lenient: string[];
  input: string;
  input_bytes: number;
  expect: 'ok' | 'error';
  error?: { code: number; name: string; reason: string; offset: number };
  upgrade?: { offset: number };
  scan?: boolean;
  pause_on?: string;
  skip_body?: boolean;
  calls_finish?: boolean;
  finish?: number;
  messages: CorpusMessage[];
}

const CORPUS_PATH = path.join(__dirname, 'fixtures', 'llhttp', 'llhttp-response-cases.json');

function loadCorpus(): CorpusCase[] {
  if (!fs.existsSync(CORPUS_PATH)) {
    throw new Error(`the llhttp conformance corpus is missing: expected it at ${CORPUS_PATH}`);
  }
  const data = JSON.parse(fs.readFileSync(CORPUS_PATH, 'utf8')) as { count: number; cases: CorpusCase[] };
  if (!Array.isArray(data.cases) || data.cases.length !== data.count || data.cases.length === 0) {
    throw new Error(`the llhttp conformance corpus at ${CORPUS_PATH} is malformed`);
  }
  return data.cases;
}

const CASES = loadCorpus();
const byId = new Map(CASES.map((c) => [c.id, c]));

// ---- where Strand deliberately differs (the only such list) ----

type Different =
  /** We reject the input with this ParseError kind. */
  | { outcome: 'error'; kind: ParseErrorKind }
  /**
   * We complete the first message (keepAlive false) and leave the rest unconsumed: execute returns
   * `consumed`; the connection drops the bytes and never reuses the socket.
   */
  | { outcome: 'stray'; consumed: number }
  /** Everything matches llhttp except `keepAlive`, which is this. */
  | { outcome: 'keepAlive'; keepAlive: boolean };

const DIFFERENCES: Record<string, { reason: string } & Different> = {
  'sample:40': { outcome: 'error', kind: 'INVALID_VERSION', reason: 'RTSP/1.1 is not HTTP; an HTTP client accepts only HTTP/1.0 and HTTP/1.1' },
  'sample:60': { outcome: 'error', kind: 'INVALID_VERSION', reason: 'ICE/1.1 is not HTTP; an HTTP client accepts only HTTP/1.0 and HTTP/1.1' },
  'sample:645': { outcome: 'error', kind: 'INVALID_VERSION', reason: 'HTTP/0.9 has no status line; a status line claiming 0.9 is invalid' },
  'connection:164': {
    outcome: 'stray',
    consumed: 46,
    reason: 'bytes after a `Connection: close` message are not parsed: execute stops at onComplete and the caller drops the rest (llhttp raises CLOSED_CONNECTION)',
  },
  'connection:225': {
    outcome: 'stray',
    consumed: 70,
    reason: 'bytes after a `Connection: close` message are not parsed: execute stops at onComplete and the caller drops the rest (llhttp raises CLOSED_CONNECTION)',
  },
  'connection:293': { outcome: 'error', kind: 'UNEXPECTED_UPGRADE', reason: 'Strand never requests an upgrade, so a 101 is an error, not a pause' },
  'connection:331': { outcome: 'error', kind: 'UNEXPECTED_UPGRADE', reason: 'Strand never requests an upgrade, so a 101 is an error, not a pause' },
  'connection:4': {
    outcome: 'keepAlive',
    keepAlive: true,
    reason: '`Proxy-Connection` is not a standard field (RFC 9110 §7.6.1); only `Connection: close` ends reuse (llhttp treats Proxy-Connection like Connection)',
  },
};

/**
 * The `response-lenient-*` cases that have a strict twin: Strand is strict, so it must behave
 * like the twin (reject, or ignore the data after `Connection: close`). transfer-encoding:389 has
 * no twin (llhttp tests obs-fold only leniently); a folded Transfer-Encoding is an error for us.
 */
const LENIENT_REJECTED: Record<string, Different> = {
  'sample:351': { outcome: 'error', kind: 'INVALID_LINE_ENDING' }, // twin sample:330, bare LF
  'invalid:304': { outcome: 'error', kind: 'INVALID_LINE_ENDING' }, // twin invalid:287, bare LF
  'invalid:348': { outcome: 'error', kind: 'INVALID_LINE_ENDING' }, // twin invalid:327, bare LF
  'invalid:151': { outcome: 'error', kind: 'INVALID_LINE_ENDING' }, // twin invalid:132, bare CR
  'lenient-version:4': { outcome: 'error', kind: 'INVALID_VERSION' }, // twin invalid:195, HTTP/5.6
  'connection:191': { outcome: 'stray', consumed: 70 }, // twin connection:225, data after close
  'connection:260': { outcome: 'stray', consumed: 46 }, // twin connection:164, data after close
  'transfer-encoding:389': { outcome: 'error', kind: 'INVALID_TRANSFER_ENCODING' }, // obs-fold in Transfer-Encoding
};

/** The ParseError kind we raise for each llhttp error (llhttp's STRICT is split by its reason). */
function expectedKind(c: CorpusCase): ParseErrorKind {
  const error = c.error!;
  // We reject the bare CR before the status line itself; llhttp skips it and fails at the tab.
  if (c.id === 'invalid:90') return 'INVALID_LINE_ENDING';
  switch (error.name) {
    case 'INVALID_CONSTANT':
    case 'INVALID_VERSION':
      return 'INVALID_VERSION';
    case 'INVALID_STATUS':
      return 'INVALID_STATUS';
    case 'CR_EXPECTED':
    case 'LF_EXPECTED':
      return 'INVALID_LINE_ENDING';
    case 'INVALID_HEADER_TOKEN':
    case 'UNEXPECTED_SPACE':
      return 'INVALID_HEADER';
    case 'INVALID_CHUNK_SIZE':
      return 'INVALID_CHUNK';
    case 'STRICT':
      return /chunk/i.test(error.reason) ? 'INVALID_CHUNK' : 'INVALID_LINE_ENDING';
    default:
      throw new Error(`${c.id}: no mapping for llhttp error ${error.name}`);
  }
}

// ---- running the parser the way the connection does ----

interface SeenMessage {
  informational: boolean;
  head: ResponseHead;
  body: Buffer[];
  trailers: string[] | null;
  complete: boolean;
}

interface Outcome {
  messages: SeenMessage[];
  error: ParseError | null;
  /** Bytes left unconsumed after a message that does not keep the connection alive. */
  stray: number;
  /** execute's return value at the stray stop. */
  strayConsumed: number;
}

function run(input: Buffer, chunkSize: number, method: string, callFinish: boolean): Outcome {
  const messages: SeenMessage[] = [];
  let current: SeenMessage | null = null;
  let completedNow = false;
  const handler: ResponseParserHandler = {
    onInformational(head) {
      messages.push({ informational: true, head, body: [], trailers: null, complete: true });
    },
    onHead(head) {
      current = { informational: false, head, body: [], trailers: null, complete: false };
      messages.push(current);
    },
    onBody(chunk) {
      expect(current).not.toBeNull();
      current!.body.push(chunk);
    },
    onTrailers(raw) {
      current!.trailers = raw;
    },
    onComplete() {
      expect(current).not.toBeNull();
      current!.complete = true;
      completedNow = true;
    },
  };
  const parser = new ResponseParser(handler);
  parser.reset(method);
  const outcome: Outcome = { messages, error: null, stray: 0, strayConsumed: -1 };
  try {
    for (let off = 0; off < input.length; off += chunkSize) {
      let chunk = input.subarray(off, Math.min(off + chunkSize, input.length));
      for (;;) {
        completedNow = false;
        const consumed = parser.execute(chunk);
        expect(consumed).toBeLessThanOrEqual(chunk.length);
        if (consumed < chunk.length) expect(completedNow).toBe(true); // fewer bytes only at completion
        if (!completedNow) break;
        const done = current as SeenMessage | null;
        current = null;
        if (done !== null && !done.head.keepAlive) {
          // Like the connection: the rest is stray, never parsed.
          outcome.stray = input.length - off - consumed;
          outcome.strayConsumed = off + consumed;
          return outcome;
        }
        parser.reset(method);
        chunk = chunk.subarray(consumed);
        if (chunk.length === 0) break;
      }
    }
    if (callFinish) parser.finish();
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    outcome.error = error;
  }
  return outcome;
}

function splitSizes(c: CorpusCase, input: Buffer): number[] {
  if (c.scan === false) return [input.length];
  const sizes: number[] = [];
  for (let s = 1; s <= input.length; s++) sizes.push(s);
  return sizes;
}

/** A comparable summary of an outcome, so all split sizes can be checked against each other. */
function summary(o: Outcome): unknown {
  return {
    error: o.error === null ? null : { kind: o.error.kind, offset: o.error.offset },
    stray: o.stray,
    messages: o.messages.map((m) => ({ ...m, body: Buffer.concat(m.body).toString('latin1') })),
  };
}

function expectedFraming(m: CorpusMessage, method: string): { framing: BodyFraming; contentLength: number } {
  const flags = m.flags ?? [];
  const status = m.status!;
  if (status < 200 || status === 204 || status === 304 || method === 'HEAD') return { framing: 'none', contentLength: -1 };
  if (flags.includes('CHUNKED')) return { framing: 'chunked', contentLength: -1 };
  if (flags.includes('TRANSFER_ENCODING')) return { framing: 'close', contentLength: -1 };
  if (flags.includes('CONTENT_LENGTH')) return { framing: 'length', contentLength: m.content_length! };
  return { framing: 'close', contentLength: -1 };
}

/** llhttp_should_keep_alive, from the flags at headers-complete. */
function expectedKeepAlive(m: CorpusMessage, framing: BodyFraming, versionMinor: number): boolean {
  const flags = m.flags ?? [];
  if (framing === 'close') return false;
  if (versionMinor === 1) return !flags.includes('CONNECTION_CLOSE');
  return flags.includes('CONNECTION_KEEP_ALIVE');
}

function checkMessages(c: CorpusCase, seen: SeenMessage[], method: string, finished: boolean): void {
  const expected = c.messages.filter((m) => m.headers_complete_offset !== undefined);
  expect(seen).toHaveLength(expected.length);
  expected.forEach((m, index) => {
    const ours = seen[index]!;
    const head = ours.head;
    expect(head.code).toBe(m.status);
    expect(Buffer.from(head.phrase, 'latin1')).toEqual(Buffer.from(m.reason ?? '', 'utf8'));
    const pairs: CorpusHeader[] = [];
    for (let k = 0; k < head.rawHeaders.length; k += 2) pairs.push({ name: head.rawHeaders[k]!, value: head.rawHeaders[k + 1]! });
    expect(pairs).toEqual(m.headers.map((h) => ({ name: h.name, value: h.value })));
    expect(head.versionMajor).toBe(1);
    expect(ours.informational).toBe(m.status! < 200);
    if (ours.informational) return;
    const framing = expectedFraming(m, method);
    expect({ framing: head.framing, contentLength: head.contentLength }).toEqual(framing);
    const difference = DIFFERENCES[c.id];
    const keepAlive = difference?.outcome === 'keepAlive' ? difference.keepAlive : expectedKeepAlive(m, framing.framing, head.versionMinor);
    expect(head.keepAlive).toBe(keepAlive);
    expect(Buffer.concat(ours.body)).toEqual(Buffer.from(m.body ?? '', 'utf8'));
    // llhttp_finish in SAFE_WITH_CB state (finish: 1) completes a close-delimited message.
    const complete = m.complete || (finished && c.finish === 1 && index === expected.length - 1);
    expect(ours.complete).toBe(complete);
    expect(ours.trailers).toBeNull(); // the corpus has no trailers
  });
}

function assertDifferent(c: CorpusCase, first: Outcome, want: Different, method: string): void {
  switch (want.outcome) {
    case 'error':
      expect(first.error).not.toBeNull();
      expect(first.error!.kind).toBe(want.kind);
      return;
    case 'stray': {
      expect(first.error).toBeNull();
      expect(first.strayConsumed).toBe(want.consumed);
      expect(first.stray).toBe(c.input_bytes - want.consumed);
      // The message itself is llhttp's first message, complete, not reusable.
      checkMessages({ ...c, messages: c.messages.slice(0, 1) }, first.messages, method, false);
      expect(first.messages[0]!.head.keepAlive).toBe(false);
      return;
    }
    case 'keepAlive':
      expect(first.error).toBeNull();
      checkMessages(c, first.messages, method, false);
  }
}

// ---- the tests ----

const strict = CASES.filter((c) => c.lenient.length === 0);
const lenient = CASES.filter((c) => c.lenient.length !== 0);

describe('the llhttp response corpus', () => {
  it('is present and has the documented shape', () => {
    expect(CASES).toHaveLength(85);
    expect(strict.filter((c) => c.mode === 'response' && c.pause_on === undefined && c.skip_body !== true)).toHaveLength(64);
    for (const id of [...Object.keys(DIFFERENCES), ...Object.keys(LENIENT_REJECTED)]) expect(byId.has(id)).toBe(true);
    // Every lenient case is either rejected on purpose or would be an unexplained gap.
    expect(lenient.map((c) => c.id).sort()).toEqual(Object.keys(LENIENT_REJECTED).sort());
  });

  describe.each(strict.map((c) => [`${c.id} ${c.name}`, c] as const))('strict case %s', (_title, c) => {
    const input = Buffer.from(c.input, 'utf8');
    const method = c.skip_body === true ? 'HEAD' : 'GET';
    const callFinish = c.calls_finish === true;
    const difference = DIFFERENCES[c.id];

    it('gives the same outcome whole and at every split size', () => {
      expect(input.length).toBe(c.input_bytes);
      const whole = run(input, input.length, method, callFinish);
      const reference = summary(whole);
      for (const size of splitSizes(c, input)) {
        expect([size, summary(run(input, size, method, callFinish))]).toEqual([size, reference]);
      }
    });

    if (difference !== undefined) {
      it(`differs from llhttp on purpose: ${difference.reason}`, () => {
        assertDifferent(c, run(input, input.length, method, callFinish), difference, method);
      });
      return;
    }

    if (c.expect === 'ok') {
      it('parses like llhttp: same heads, bodies and completeness', () => {
        const outcome = run(input, input.length, method, callFinish);
        expect(outcome.error).toBeNull();
        expect(outcome.stray).toBe(0);
        checkMessages(c, outcome.messages, method, callFinish);
      });
    } else {
      it(`rejects it like llhttp (${c.error!.name}: ${c.error!.reason})`, () => {
        const outcome = run(input, input.length, method, callFinish);
        expect(outcome.error).not.toBeNull();
        expect(outcome.error!.kind).toBe(expectedKind(c));
        // Offsets, compared loosely: ours points at the offending byte, so it is never later than
        // llhttp's and at most a few bytes earlier (llhttp often reports after the token; for
        // invalid:90 we stop at the bare CR that llhttp skips).
        const offset = outcome.error!.offset!;
        expect(offset).toBeLessThanOrEqual(c.error!.offset);
        expect(offset).toBeGreaterThanOrEqual(c.id === 'invalid:90' ? 1 : c.error!.offset - 3);
        // Heads completed before the error are the same as llhttp's.
        checkMessages(c, outcome.messages, method, false);
      });
    }
  });

  describe.each(lenient.map((c) => [`${c.id} ${c.name}`, c] as const))('lenient-only case %s, run strictly', (_title, c) => {
    const input = Buffer.from(c.input, 'utf8');
    const want = LENIENT_REJECTED[c.id]!;

    it(want.outcome === 'error' ? `is rejected (${want.kind})` : 'stops at the end of the Connection: close message', () => {
      const whole = run(input, input.length, 'GET', false);
      const reference = summary(whole);
      for (const size of splitSizes(c, input)) {
        expect([size, summary(run(input, size, 'GET', false))]).toEqual([size, reference]);
      }
      if (want.outcome === 'stray') {
        // Same as the strict twin: the first message, then nothing.
        const twin = c.id === 'connection:191' ? byId.get('connection:225')! : byId.get('connection:164')!;
        assertDifferent(twin, whole, want, 'GET');
      } else {
        assertDifferent(c, whole, want, 'GET');
      }
    });
  });
});
