/**
 * HTTP Digest access authentication (RFC 7616): parsing `WWW-Authenticate` challenges and
 * computing the `Authorization` answer. Algorithms MD5, SHA-256, SHA-512-256 and SHA-512 (and
 * their `-sess` variants), `qop=auth` or no qop (RFC 2069), hashed usernames (`userhash=true`)
 * and `username*` for usernames beyond ASCII. `auth-int` is not supported.
 *
 * SHA-512-256 is SHA-512/256 of FIPS 180-4 (its own initial values), as RFC 7616 §3.2 says and
 * curl computes it. The example of RFC 7616 §3.9.2 was computed with SHA-512 truncated to 256
 * bits instead (erratum 4897), so its published `username` and `response` are not what a
 * SHA-512/256 client sends.
 */

import { createHash, randomBytes } from 'node:crypto';

/** One challenge of a `WWW-Authenticate` field: a scheme and its parameters (names lower-cased). */
export interface AuthChallenge {
  /** The auth scheme as sent (`Digest`, `Basic`…); compare it case-insensitively. */
  readonly scheme: string;
  /** The challenge parameters, names lower-cased, values unquoted. */
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

/** A Node `crypto` hash name. */
type HashName = 'md5' | 'sha256' | 'sha512-256' | 'sha512';

const ALGORITHMS: Readonly<Record<string, HashName>> = {
  MD5: 'md5',
  'MD5-SESS': 'md5',
  'SHA-256': 'sha256',
  'SHA-256-SESS': 'sha256',
  'SHA-512-256': 'sha512-256',
  'SHA-512-256-SESS': 'sha512-256',
  // Not in RFC 7616's registry, but offered by some servers.
  'SHA-512': 'sha512',
  'SHA-512-SESS': 'sha512',
};

/** Which challenge to answer when a server offers several: RFC 7616's own SHA-512-256 first, then the longer hashes. */
const STRENGTH: Readonly<Record<HashName, number>> = { md5: 0, sha256: 1, sha512: 2, 'sha512-256': 3 };

/** A Digest challenge the client can answer. */
export interface DigestChallenge {
  /** The protection space's name, shown to users and hashed into the answer. */
  readonly realm: string;
  /** The server's nonce for this challenge. */
  readonly nonce: string;
  /** Echoed back unchanged when the server sent one. */
  readonly opaque: string | undefined;
  /** The algorithm as the server spelled it (echoed back), e.g. `SHA-256`. */
  readonly algorithm: string;
  /** The hash function the algorithm names (`md5`, `sha256`, `sha512-256`, `sha512`). */
  readonly hash: HashName;
  /** A `-sess` algorithm: the session key includes the nonces. */
  readonly session: boolean;
  /** `auth` when the server offers it, null when it sent no qop (RFC 2069). */
  readonly qop: 'auth' | null;
  /** The previous nonce expired (the credentials were right): answer again without asking the user. */
  readonly stale: boolean;
  /** The server accepts a hashed username (`userhash=true`, RFC 7616 §3.4.4): the answer sends `H(username:realm)` instead of the name. */
  readonly userhash: boolean;
  /** The `domain` parameter's URIs as sent (space-separated in the field): where the protection space reaches; empty for the whole origin. */
  readonly domain: readonly string[];
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
      userhash: params.get('userhash')?.toLowerCase() === 'true',
      domain: (params.get('domain') ?? '').split(/[ \t]+/).filter((uri) => uri !== ''),
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

/** RFC 8187 `attr-char`: what an ext-value may carry without percent-encoding. */
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

/** `UTF-8''…`, the RFC 8187 ext-value of `value` (for `username*`). */
function extValue(value: string): string {
  let out = "UTF-8''";
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && ATTR_CHAR.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The username parameter (RFC 7616 §3.4.4): `H(username:realm)` with `userhash`, else the name
 * quoted, or as `username*` (UTF-8, percent-encoded) when it is not all ASCII.
 */
function usernameParam(challenge: DigestChallenge, username: string): string {
  if (challenge.userhash) return `username=${quoted(h(challenge.hash, `${username}:${challenge.realm}`))}`;
  // Control characters never get here: the auth option refuses them.
  return /^[\x20-\x7e]*$/.test(username) ? `username=${quoted(username)}` : `username*=${extValue(username)}`;
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
    usernameParam(challenge, request.username),
    `realm=${quoted(challenge.realm)}`,
    `nonce=${quoted(challenge.nonce)}`,
    `uri=${quoted(request.uri)}`,
    `algorithm=${challenge.algorithm}`,
    `response=${quoted(response)}`,
  ];
  if (challenge.opaque !== undefined) parts.push(`opaque=${quoted(challenge.opaque)}`);
  if (challenge.qop === 'auth') parts.push('qop=auth', `nc=${nc}`, `cnonce=${quoted(cnonce)}`);
  if (challenge.userhash) parts.push('userhash=true');
  return `Digest ${parts.join(', ')}`;
}
