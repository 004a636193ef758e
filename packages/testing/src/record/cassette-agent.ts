/**
 * The cassette agent: one `Agent` that records, replays, records what is missing, or passes
 * through, as its mode (an option, or the `STRAND_RECORD` environment variable) says. CI
 * never records.
 *
 * @packageDocumentation
 */

import { type HarRedaction, type RedactOptions, harRedaction } from '@strand/client';
import { type Agent, type BodyProducer, type HeadersInit, HttpAgent, InvalidArgumentError, type RequestOptions, type Response, brand, closeAgent } from '@strand/core';
import { type FakeAgent, type FakeAgentOptions, createFakeAgent } from '../fake-agent.js';
import { Cassette } from './cassette.js';
import { type MatchOptions, matching } from './match.js';
import { CassetteReplayer, RecordingAgent, recordLive } from './replay.js';
import { checkOptions, describeValue } from '../validation.js';

/**
 * What a {@link CassetteAgent} does with a request:
 *
 * - `replay`: answers from the cassette only; a request with no recording fails with
 *   `UnexpectedRequestError` naming the closest recording and what differed.
 * - `record`: sends every request to the real agent and records it; the file is replaced on
 *   `close()`.
 * - `record-missing`: replays what the cassette has, sends the rest to the real agent and
 *   appends their recordings; the file is written on `close()` when something was added.
 * - `passthrough`: sends every request to the real agent; nothing is recorded or replayed.
 */
export type CassetteMode = 'record' | 'replay' | 'record-missing' | 'passthrough';

/** The environment variable that chooses the mode when the `mode` option does not: `STRAND_RECORD`. */
export const CASSETTE_MODE_ENV = 'STRAND_RECORD';

const MODES: readonly CassetteMode[] = ['record', 'replay', 'record-missing', 'passthrough'];

/** Options of {@link openCassette}. */
export interface CassetteOptions {
  /**
   * The mode. Default: the `STRAND_RECORD` environment variable, else `'replay'`. When `CI` is
   * `true` (or `1`), `record` and `record-missing` become `replay`: CI never records.
   */
  mode?: CassetteMode;
  /** The real agent for recording and passthrough. Default: a new `HttpAgent` (closed with the cassette agent), made only when needed. */
  agent?: Agent;
  /** How a request finds its recording (default: method, URL with the query in any order, body bytes). */
  match?: MatchOptions;
  /** Redaction of what is recorded (on by default; see `RecordingAgentOptions.redact`). */
  redact?: RedactOptions | false;
  /** The environment read for `STRAND_RECORD` and `CI`. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

const CASSETTE_KEYS = ['mode', 'agent', 'match', 'redact', 'env'] as const;

function isCI(env: Readonly<Record<string, string | undefined>>): boolean {
  const value = env['CI']?.toLowerCase();
  return value === 'true' || value === '1';
}

/**
 * The mode a cassette runs in: the option, else `STRAND_RECORD`, else `replay`; with `CI=true`
 * a recording mode becomes `replay`.
 *
 * @throws `InvalidArgumentError` for a mode that is not one of the four (naming where it came from).
 */
export function cassetteMode(option: CassetteMode | undefined, env: Readonly<Record<string, string | undefined>> = process.env): CassetteMode {
  const fromEnv = env[CASSETTE_MODE_ENV];
  const chosen: unknown = option ?? (fromEnv === undefined || fromEnv === '' ? 'replay' : fromEnv);
  if (!(MODES as readonly unknown[]).includes(chosen)) {
    const where = option !== undefined ? 'openCassette: mode' : `the ${CASSETTE_MODE_ENV} environment variable`;
    throw new InvalidArgumentError(`${where} must be one of ${MODES.join(', ')}, got ${describeValue(chosen)}`);
  }
  const mode = chosen as CassetteMode;
  return isCI(env) && (mode === 'record' || mode === 'record-missing') ? 'replay' : mode;
}

/**
 * An `Agent` over a cassette file, in one of four {@link CassetteMode}s. Replayed responses are
 * served by a fake agent, so their recorded bytes (interim responses, chunk framing, trailers,
 * compressed bodies) go through Strand's real parser, and the client's redirects, decoding and
 * cookies run on them as they did live. Make it with {@link openCassette}; `close()` it at the
 * end of the test (it writes the file when it recorded).
 */
export class CassetteAgent implements Agent {
  /** The mode in force (after the `CI` rule). */
  readonly mode: CassetteMode;
  /** The cassette: what was loaded, plus what was recorded. */
  readonly cassette: Cassette;
  private readonly realAgent: Agent | null;
  private ownAgent: Agent | null = null;
  private readonly redaction: HarRedaction | null;
  private readonly redactOption: RedactOptions | false;
  private readonly fake: FakeAgent | null = null;
  private readonly replayer: CassetteReplayer | null = null;
  private readonly recording: RecordingAgent | null = null;
  private readonly loadedEntries: number;
  private readonly claimed = new Set<Error>();
  private closed = false;

  /** @throws `InvalidArgumentError` for a bad option; `CassetteError` for a cassette file that is not HAR. */
  constructor(file: string, options: CassetteOptions = {}) {
    if (typeof file !== 'string' || file === '') throw new InvalidArgumentError(`openCassette: file must be a path, got ${describeValue(file)}`);
    const checked = checkOptions(options, CASSETTE_KEYS, 'openCassette');
    const env = (checked['env'] as CassetteOptions['env']) ?? process.env;
    this.mode = cassetteMode(checked['mode'] as CassetteMode | undefined, env);
    const agent = checked['agent'];
    if (agent !== undefined && (agent === null || typeof (agent as Partial<Agent>).request !== 'function')) throw new InvalidArgumentError(`openCassette: agent must be an Agent, got ${describeValue(agent)}`);
    this.realAgent = (agent as Agent | undefined) ?? null;
    const redact = checked['redact'] as RedactOptions | false | undefined;
    this.redactOption = redact ?? {};
    this.redaction = redact === false ? null : harRedaction(redact, 'openCassette');
    const match = matching(checked['match'] as MatchOptions | undefined, 'openCassette');
    this.cassette = this.mode === 'record' ? new Cassette(undefined, file) : Cassette.load(file);
    this.loadedEntries = this.cassette.entries.length;
    switch (this.mode) {
      case 'record':
        this.recording = new RecordingAgent(this.real(), { cassette: this.cassette, redact: this.redactOption });
        break;
      case 'replay':
      case 'record-missing': {
        const fallback = this.mode === 'record-missing' ? (request: Parameters<typeof recordLive>[1]) => recordLive(this.real(), request, this.redaction) : null;
        this.replayer = new CassetteReplayer(this.cassette, { match, redaction: this.redaction, fallback });
        this.fake = createFakeAgent(this.replayer);
        break;
      }
      case 'passthrough':
        break;
    }
  }

  /** For each cassette entry, true once it was replayed (or recorded) by this agent. */
  get replayed(): readonly boolean[] {
    return this.replayer?.replayed ?? this.cassette.entries.map(() => this.mode === 'record');
  }

  /**
   * Sends the request as the mode says. In `replay`, a request with no recording rejects with
   * `UnexpectedRequestError` (its message names the closest recording and what differed).
   */
  async request(method: string, uri: string | URL, headers?: HeadersInit | null, body?: BodyProducer | null, options?: RequestOptions): Promise<Response> {
    if (this.recording !== null) return this.recording.request(method, uri, headers, body, options);
    const fake = this.fake;
    if (fake === null) return this.real().request(method, uri, headers, body, options);
    const response = await fake.request(method, uri, headers, body, options);
    if (response.code !== 599) return response;
    // The replayer's miss for this request: the first not claimed yet with its method and URL.
    const asked = new URL(uri);
    const where = (url: URL): string => `${url.protocol}//${url.host}${url.pathname}${url.search}`;
    const miss = (this.replayer as CassetteReplayer).misses.find((m) => !this.claimed.has(m) && m.request.method === response.request.method && where(m.request.url) === where(asked));
    if (miss === undefined) return response;
    this.claimed.add(miss);
    await response.dump();
    throw miss;
  }

  /**
   * Writes the cassette file when this agent recorded (`record`: always; `record-missing`: when
   * something was added), then closes the fake agent and the real agent it made itself (a given
   * one stays open).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.mode === 'record' || (this.mode === 'record-missing' && this.cassette.entries.length > this.loadedEntries)) this.cassette.save();
    await this.fake?.close();
    if (this.ownAgent !== null) await closeAgent(this.ownAgent);
  }

  /** `await using`: {@link close} at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private real(): Agent {
    if (this.realAgent !== null) return this.realAgent;
    this.ownAgent ??= new HttpAgent();
    return this.ownAgent;
  }
}
brand(CassetteAgent, 'testing.CassetteAgent');

/**
 * Opens the cassette at `file` (a HAR file; missing is fine when recording) as an `Agent`. Give
 * it to an `HTTPClient` (or wrap it like any agent) and `close()` it at the end of the test.
 *
 * @example
 * ```ts
 * // STRAND_RECORD=record-missing npx jest   records what is missing; plain `npx jest` (and CI) replays.
 * const cassette = openCassette('test/cassettes/users.har');
 * const client = new HTTPClient({ agent: cassette });
 * const users = await (await client.get('https://api.example/users')).json();
 * await cassette.close();
 * ```
 */
export function openCassette(file: string, options: CassetteOptions = {}): CassetteAgent {
  return new CassetteAgent(file, options);
}

/** Options of {@link createReplayAgent}: the fake agent's, and how requests find their recordings. */
export interface ReplayAgentOptions extends Omit<FakeAgentOptions, 'unmatched'> {
  /** How a request finds its recording (default: method, URL with the query in any order, body bytes). */
  match?: MatchOptions;
  /** The redaction the cassette was recorded with (applied to live requests before matching): default on; `false` if it was recorded without. */
  redact?: RedactOptions | false;
}

/**
 * A {@link FakeAgent} that serves `cassette` (loaded from a file, or filled by a
 * `RecordingAgent` in the same test) byte for byte. A request with no recording gets a `599`
 * and an `UnexpectedRequestError` naming the closest recording, which `assertNoPending()`
 * throws, as for a route table. {@link openCassette} in `replay` mode is the same with the
 * error thrown at once.
 *
 * @example
 * ```ts
 * const fake = createReplayAgent(Cassette.load('test/cassettes/users.har'));
 * const response = await fake.request('GET', 'https://api.example.com/users');
 * fake.assertNoPending();
 * ```
 */
export function createReplayAgent(cassette: Cassette, options: ReplayAgentOptions = {}): FakeAgent {
  if (!(cassette instanceof Cassette)) throw new InvalidArgumentError(`createReplayAgent: cassette must be a Cassette, got ${describeValue(cassette)}`);
  const checked = checkOptions(options, ['clock', 'pool', 'agentOptions', 'match', 'redact'], 'createReplayAgent');
  const redact = checked['redact'] as RedactOptions | false | undefined;
  const redaction = redact === false ? null : harRedaction(redact, 'createReplayAgent');
  const match = matching(checked['match'] as MatchOptions | undefined, 'createReplayAgent');
  const { match: _match, redact: _redact, ...fakeOptions } = options;
  return createFakeAgent(new CassetteReplayer(cassette, { match, redaction, fallback: null }), fakeOptions);
}
