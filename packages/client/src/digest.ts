/**
 * HTTP Digest access authentication (RFC 7616): parsing `WWW-Authenticate` challenges and
 * computing the `Authorization` answer. Algorithms MD5, SHA-256 and SHA-512-256 (and their
 * `-sess` variants), `qop=auth` or no qop (RFC 2069). `auth-int` is not supported.
 */

import { createHash, randomBytes } from 'node:crypto';

/** One challenge of a `WWW-Authenticate` field: a scheme and its parameters (names lower-cased). */
export interface AuthChallenge {
  readonly scheme: string;
  readonly params: ReadonlyMap<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses the values of `WWW-Authenticate` fields into challenges (RFC 9110 §11.6.1). A field may
 * hold several challenges separated by commas; quoted strings may hold commas. What cannot be
 * parsed is skipped, never thrown.
 */
export function parseChallenges(values: readonly string[]): AuthChallenge[] {
  const challenges: Array<{ scheme: string; params: Map<string, string> }> = [];
  for (const value of values) {
    let i = 0;
    const n = value.length;
    const skipSpace = (): void => {
      while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
    };
    const readToken = (): string => {
      const start = i;
      while (i < n && TOKEN_CHAR.test(value[i] as string)) i++;
      return value.slice(start, i);
    };
    const readValue = (): string => {
      if (value[i] !== '"') {
        const start = i;
        while (i < n && value[i] !== ',' && value[i] !== ' ' && value[i] !== '\t') i++;
        return value.slice(start, i);
      }
      i++;
      let out = '';
      while (i < n && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < n) i++;
        out += value[i];
        i++;
      }
      i++;
      return out;
    };
    let current: { scheme: string; params: Map<string, string> } | null = null;
    while (i < n) {
      skipSpace();
      if (value[i] === ',') {
        i++;
        continue;
      }
      const token = readToken();
      if (token === '') {
        // Not a token: skip to the next comma.
        while (i < n && value[i] !== ',') i++;
        continue;
      }
      skipSpace();
      if (value[i] === '=' && current !== null) {
        // `name=value`: a parameter of the current challenge.
        i++;
        skipSpace();
        current.params.set(token.toLowerCase(), readValue());
        continue;
      }
      // A new challenge: its scheme, then parameters, a token68, or nothing.
      current = { scheme: token, params: new Map() };
      challenges.push(current);
      const start = i;
      const name = readToken();
      skipSpace();
      if (name !== '' && value[i] === '=') {
        let j = i;
        while (value[j] === '=') j++;
        let k = j;
        while (value[k] === ' ' || value[k] === '\t') k++;
        if (k < n && value[k] !== ',') {
          i++;
          skipSpace();
          current.params.set(name.toLowerCase(), readValue());
          continue;
        }
      }
      // token68 (e.g. `Negotiate abc==`) or nothing: kept whole under the empty name.
      const end = value.indexOf(',', start);
      const token68 = value.slice(start, end === -1 ? n : end).trim();
      if (token68 !== '') current.params.set('', token68);
      i = end === -1 ? n : end;
    }
  }
  return challenges;
}

type HashName = 'md5' | 'sha256' | 'sha512-256';

const ALGORITHMS: Readonly<Record<string, HashName>> = {
  MD5: 'md5',
  'MD5-SESS': 'md5',
  'SHA-256': 'sha256',
  'SHA-256-SESS': 'sha256',
  'SHA-512-256': 'sha512-256',
  'SHA-512-256-SESS': 'sha512-256',
};

const STRENGTH: Readonly<Record<HashName, number>> = { md5: 0, sha256: 1, 'sha512-256': 2 };

/** A Digest challenge the client can answer. */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string | undefined;
  /** The algorithm as the server spelled it (echoed back), e.g. `SHA-256`. */
  readonly algorithm: string;
  readonly hash: HashName;
  readonly session: boolean;
  /** `auth` when the server offers it, null when it sent no qop (RFC 2069). */
  readonly qop: 'auth' | null;
  readonly stale: boolean;
}

/**
 * The strongest Digest challenge among `values` that this client can answer, or null (none
 * offered, unknown algorithm, or only `qop=auth-int`).
 */
export function pickDigestChallenge(values: readonly string[]): DigestChallenge | null {
  let best: DigestChallenge | null = null;
  for (const { scheme, params } of parseChallenges(values)) {
    if (scheme.toLowerCase() !== 'digest') continue;
    const realm = params.get('realm');
    const nonce = params.get('nonce');
    if (realm === undefined || nonce === undefined) continue;
    const algorithm = params.get('algorithm') ?? 'MD5';
    const hash = ALGORITHMS[algorithm.toUpperCase()];
    if (hash === undefined) continue;
    const qopValue = params.get('qop');
    let qop: 'auth' | null = null;
    if (qopValue !== undefined) {
      if (!qopValue.split(',').some((q) => q.trim().toLowerCase() === 'auth')) continue;
      qop = 'auth';
    }
    const challenge: DigestChallenge = {
      realm,
      nonce,
      opaque: params.get('opaque'),
      algorithm,
      hash,
      session: algorithm.toUpperCase().endsWith('-SESS'),
      qop,
      stale: params.get('stale')?.toLowerCase() === 'true',
    };
    if (best === null || STRENGTH[hash] > STRENGTH[best.hash]) best = challenge;
  }
  return best;
}

function h(hash: HashName, data: string): string {
  return createHash(hash).update(data, 'utf8').digest('hex');
}

function quoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** What {@link digestAuthorization} needs besides the challenge. */
export interface DigestRequest {
  readonly method: string;
  /** The request target (path and query). */
  readonly uri: string;
  readonly username: string;
  readonly password: string;
  /** The nonce count, 1 for the first use of a nonce. */
  readonly nc: number;
  /** The client nonce; random when not given (tests give one). */
  readonly cnonce?: string;
}

/** The `Authorization` value answering `challenge` (RFC 7616 §3.4). */
export function digestAuthorization(challenge: DigestChallenge, request: DigestRequest): string {
  const { hash } = challenge;
  const cnonce = request.cnonce ?? randomBytes(16).toString('hex');
  const nc = request.nc.toString(16).padStart(8, '0');
  let ha1 = h(hash, `${request.username}:${challenge.realm}:${request.password}`);
  if (challenge.session) ha1 = h(hash, `${ha1}:${challenge.nonce}:${cnonce}`);
  const ha2 = h(hash, `${request.method}:${request.uri}`);
  const response = challenge.qop === 'auth' ? h(hash, `${ha1}:${challenge.nonce}:${nc}:${cnonce}:auth:${ha2}`) : h(hash, `${ha1}:${challenge.nonce}:${ha2}`);
  const parts = [
    `username=${quoted(request.username)}`,
    `realm=${quoted(challenge.realm)}`,
    `nonce=${quoted(challenge.nonce)}`,
    `uri=${quoted(request.uri)}`,
    `algorithm=${challenge.algorithm}`,
    `response=${quoted(response)}`,
  ];
  if (challenge.opaque !== undefined) parts.push(`opaque=${quoted(challenge.opaque)}`);
  if (challenge.qop === 'auth') parts.push('qop=auth', `nc=${nc}`, `cnonce=${quoted(cnonce)}`);
  return `Digest ${parts.join(', ')}`;
}
