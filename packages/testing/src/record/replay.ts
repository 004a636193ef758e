/**
 * Replaying a cassette: a request handler for the fake server that answers each request with
 * the bytes of its recording, and the recording agent that fills cassettes.
 *
 * @packageDocumentation
 */

import { type HarEntry, type HarRedaction, HarRecorder, type RedactOptions, harRedaction, redactEntry } from '@strand/client';
import { type Agent, type BodyProducer, BytesProducer, type HeadersInit, InvalidArgumentError, type RequestOptions, type Response, WrapperAgent, brand, readBody } from '@strand/core';
import { UnexpectedRequestError } from '../errors.js';
import type { RecordedRequest } from '../server/recorded-request.js';
import type { Reply } from '../server/reply.js';
import type { RequestHandlerObject } from '../server/routes.js';
import { Cassette, responseBytes } from './cassette.js';
import { type Matching, compareEntry, explainMiss, redactLive } from './match.js';

/** Options of {@link RecordingAgent}. */
export interface RecordingAgentOptions {
  /** Where the exchanges go (appended in the order their bodies end). Save it with `cassette.save()`. */
  cassette: Cassette;
  /**
   * Redaction before anything is stored: on by default (`Authorization`, `Proxy-Authorization`,
   * `Cookie` and `Set-Cookie` values, URL passwords, token parameters such as `access_token`,
   * `api_key`, `token`, `sig`); an object adds header and parameter names; `false` turns it off.
   */
  redact?: RedactOptions | false;
}

/**
 * A wrapper agent that records every exchange of `agent` into a {@link Cassette}: each entry
 * once its response body has ended, redacted by default. The caller gets the response
 * unchanged, streamed. Give it to an `HTTPClient` as its `agent` so each redirect hop is
 * recorded with its body as transferred (still compressed), which is what replay needs.
 *
 * @example
 * ```ts
 * const cassette = new Cassette();
 * const client = new HTTPClient({ agent: new RecordingAgent(new HttpAgent(), { cassette }) });
 * await client.get(url);
 * cassette.save('test/cassettes/example.har');
 * ```
 */
export class RecordingAgent extends WrapperAgent {
  /** The cassette being filled. */
  readonly cassette: Cassette;
  private readonly recorder: HarRecorder;

  /** @throws `InvalidArgumentError` for a missing cassette or bad redaction options. */
  constructor(agent: Agent, options: RecordingAgentOptions) {
    super(agent);
    if (options === null || typeof options !== 'object' || !(options.cassette instanceof Cassette)) throw new InvalidArgumentError('RecordingAgent: options.cassette must be a Cassette');
    for (const key of Object.keys(options)) {
      if (key !== 'cassette' && key !== 'redact') throw new InvalidArgumentError(`RecordingAgent: unknown option "${key}" (known: cassette, redact)`);
    }
    this.cassette = options.cassette;
    const redact = options.redact === false ? false : (options.redact ?? {});
    harRedaction(redact === false ? undefined : redact, 'RecordingAgent');
    this.recorder = new HarRecorder(agent, { redact, onEntry: (entry) => this.cassette.entries.push(entry) });
  }

  /** Sends the request through the wrapped agent and records the exchange. */
  request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    return this.recorder.request(method, uri, headers, body, options);
  }
}
brand(RecordingAgent, 'testing.RecordingAgent');

/** Header fields of a connection, not of a request: not passed on when a request is recorded live. */
const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection']);

/** An exchange recorded now: the entry as it happened (to answer with) and as stored (redacted). */
export interface LiveRecording {
  readonly live: HarEntry;
  readonly stored: HarEntry;
}

/**
 * Sends a request the fake server received to the real `agent`, reads the whole response, and
 * returns its entry. Used by `record-missing`.
 */
export async function recordLive(agent: Agent, request: RecordedRequest, rules: HarRedaction | null): Promise<LiveRecording> {
  let entry: HarEntry | null = null;
  const recorder = new HarRecorder(agent, {
    redact: false,
    onEntry: (e) => {
      entry = e;
    },
  });
  const headers: Array<[string, string]> = [];
  for (const [name, value] of request.headers) if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push([name, value]);
  const hasBody = request.body.length > 0 || request.headers.has('content-length') || request.headers.has('transfer-encoding');
  const response = await recorder.request(request.method, request.url.href, headers, hasBody ? new BytesProducer(request.body) : null);
  await readBody(response).catch(() => undefined);
  const recorded = entry as HarEntry | null;
  if (recorded === null) throw new Error(`the recording of ${request.toString()} did not finish`);
  return { live: recorded, stored: rules === null ? recorded : redactEntry(recorded, rules) };
}

/** Options of {@link CassetteReplayer}. */
export interface CassetteReplayerOptions {
  /** How requests find their recordings. */
  match: Matching;
  /** The redaction the recordings went through (applied to live requests before comparing), or null. */
  redaction: HarRedaction | null;
  /** For a request with no recording: record it now (record-missing). Null: it is unexpected. */
  fallback: ((request: RecordedRequest) => Promise<LiveRecording>) | null;
}

/**
 * The fake server's behaviour when replaying: the first recording that matches a request and
 * was not replayed yet answers it, with its bytes; a request with none is an
 * {@link UnexpectedRequestError} whose message names the closest recording and what differed.
 */
export class CassetteReplayer implements RequestHandlerObject {
  /** Requests no recording answered, with their errors, in order. */
  readonly misses: UnexpectedRequestError[] = [];
  private readonly used: boolean[] = [];

  constructor(
    /** The cassette replayed (entries recorded live are appended to it). */
    readonly cassette: Cassette,
    private readonly options: CassetteReplayerOptions,
  ) {}

  /** How many times the recordings were used: true for each entry replayed (or recorded live). */
  get replayed(): readonly boolean[] {
    return this.cassette.entries.map((_, i) => this.used[i] === true);
  }

  /** Answers `request` with its recording (see the class). */
  handle(request: RecordedRequest): Reply | Promise<Reply> {
    const entries = this.cassette.entries;
    const redacted = redactLive(request, this.options.redaction);
    for (let i = 0; i < entries.length; i++) {
      if (this.used[i] === true) continue;
      const entry = entries[i] as HarEntry;
      if (compareEntry(entry, this.options.match, request, redacted).length > 0) continue;
      this.used[i] = true;
      return this.reply(entry, request, `entry #${i + 1}`);
    }
    const fallback = this.options.fallback;
    if (fallback !== null) {
      return fallback(request).then(({ live, stored }) => {
        this.used[entries.length] = true;
        entries.push(stored);
        return this.reply(live, request, `the live recording of ${request.toString()}`);
      });
    }
    const error = new UnexpectedRequestError(request, explainMiss(entries, this.used, this.options.match, request, redacted, this.cassette.path ?? 'the cassette'));
    this.misses.push(error);
    throw error;
  }

  private reply(entry: HarEntry, request: RecordedRequest, where: string): Reply {
    const { bytes, close, failed } = responseBytes(entry, request.method, `${this.cassette.path ?? 'cassette'}: ${where}`, this.cassette.path);
    // A body that failed while recording fails the same way: what arrived, then a reset.
    return failed ? { raw: bytes, fault: { type: 'reset', afterBytes: bytes.length } } : { raw: bytes, close };
  }
}
