/**
 * The `tls` option, mapped onto core's TLS policies: `BrowserLikePolicyForHTTPS` (verified; `ca`
 * replaces the trust store, `cert`/`key`/`pfx` are the client certificate) or, with
 * `rejectUnauthorized: false`, `InsecurePolicyForHTTPS` (which warns). Equal options give the same
 * policy object, so requests that pass the same `tls` share pooled connections.
 */

import { X509Certificate, createHash } from 'node:crypto';
import { BrowserLikePolicyForHTTPS, InsecurePolicyForHTTPS, InvalidArgumentError, type TLSPolicy } from '@strand/core';
import { describe, isPlainObject } from './fields.js';

const TLS_KEYS: ReadonlySet<string> = new Set(['ca', 'cert', 'key', 'passphrase', 'pfx', 'rejectUnauthorized']);
const KEY_LIST = 'ca, cert, key, passphrase, pfx or rejectUnauthorized';

/** Policies by a digest of their options; bounded. */
const policies = new Map<string, TLSPolicy>();
const MAX_POLICIES = 32;

type Pem = string | Buffer | Array<string | Buffer>;

/**
 * Reads a PEM option: text or bytes, or an array of them. `marker` (`CERTIFICATE-----`,
 * `PRIVATE KEY-----`) must appear in each, as OpenSSL quietly loads nothing from text that is
 * not PEM (a CA file's path given instead of its content, say): every connection would then
 * fail verification far from the mistake. `pfx` (binary PKCS#12) has no marker.
 */
function pem(value: unknown, option: string, marker: string | null): Pem | undefined {
  if (value === undefined) return undefined;
  const one = (v: unknown): string | Buffer => {
    let item: string | Buffer;
    if (typeof v === 'string') item = v;
    else if (v instanceof Uint8Array) item = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    else throw new InvalidArgumentError(`${option} must be PEM text or bytes (a string, a Buffer, or an array of them), got ${describe(v)}`);
    if (marker !== null && !item.includes(marker)) {
      throw new InvalidArgumentError(`${option} holds no PEM ${marker.slice(0, -5).toLowerCase()} ("-----BEGIN …${marker}"): give the PEM text or bytes, not a file name`);
    }
    return item;
  };
  if (Array.isArray(value)) {
    if (value.length === 0) throw new InvalidArgumentError(`${option} is an empty array: give at least one PEM`);
    return value.map(one);
  }
  return one(value);
}

/**
 * Parses every certificate of a PEM option, so one that is not a certificate is reported now:
 * OpenSSL skips a CA it cannot read without a word, and every connection would then fail
 * verification.
 */
function checkCertificates(value: Pem, option: string): void {
  let n = 0;
  for (const item of Array.isArray(value) ? value : [value]) {
    const text = typeof item === 'string' ? item : item.toString('latin1');
    for (const block of text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) {
      n++;
      try {
        new X509Certificate(block);
      } catch (cause) {
        throw new InvalidArgumentError(`${option}: certificate ${n} cannot be read: ${(cause as Error).message}`, { cause });
      }
    }
  }
  if (n === 0) throw new InvalidArgumentError(`${option} holds no complete PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)`);
}

function digestOf(parts: ReadonlyArray<readonly [string, Pem | string | undefined]>): string {
  const hash = createHash('sha256');
  for (const [name, value] of parts) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      const bytes = typeof item === 'string' ? Buffer.from(item, 'utf8') : item;
      hash.update(`${name}:${bytes.length}:`).update(bytes);
    }
  }
  return hash.digest('hex');
}

/**
 * Checks the `tls` option and returns its policy, or null for core's default (verified against
 * Node's trust store, no client certificate). A certificate, key or bundle that cannot be loaded
 * fails here, naming the option, not on the first connection.
 */
export function normalizeTls(value: unknown, option = 'tls'): TLSPolicy | null {
  if (value === undefined) return null;
  if (!isPlainObject(value)) throw new InvalidArgumentError(`${option} must be an object of TLS options (${KEY_LIST}), got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (!TLS_KEYS.has(key)) throw new InvalidArgumentError(`${option}.${key} is not a TLS option; use ${KEY_LIST}`);
  }
  const ca = pem(value['ca'], `${option}.ca`, 'CERTIFICATE-----');
  const cert = pem(value['cert'], `${option}.cert`, 'CERTIFICATE-----');
  const key = pem(value['key'], `${option}.key`, 'PRIVATE KEY-----');
  const pfx = pem(value['pfx'], `${option}.pfx`, null);
  const passphrase = value['passphrase'];
  if (passphrase !== undefined && typeof passphrase !== 'string') throw new InvalidArgumentError(`${option}.passphrase must be a string, got ${describe(passphrase)}`);
  const reject = value['rejectUnauthorized'];
  if (reject !== undefined && typeof reject !== 'boolean') throw new InvalidArgumentError(`${option}.rejectUnauthorized must be a boolean, got ${describe(reject)}`);
  if ((cert === undefined) !== (key === undefined)) throw new InvalidArgumentError(`${option}.${cert === undefined ? 'key' : 'cert'} needs ${option}.${cert === undefined ? 'cert' : 'key'}: a client certificate is a certificate and its private key`);
  if (reject === false && ca !== undefined) throw new InvalidArgumentError(`${option}.ca cannot be used with rejectUnauthorized: false, which verifies nothing; keep verification on and give the CA`);
  const insecure = reject === false;
  if (!insecure && ca === undefined && cert === undefined && pfx === undefined) return null;

  const digest = digestOf([
    ['insecure', insecure ? '1' : '0'],
    ['ca', ca],
    ['cert', cert],
    ['key', key],
    ['pfx', pfx],
    ['passphrase', passphrase],
  ]);
  let policy = policies.get(digest);
  if (policy !== undefined) return policy;
  const options: { ca?: Pem; cert?: Pem; key?: Pem; pfx?: Pem; passphrase?: string } = {};
  if (ca !== undefined) options.ca = ca;
  if (cert !== undefined) options.cert = cert;
  if (key !== undefined) options.key = key;
  if (pfx !== undefined) options.pfx = pfx;
  if (passphrase !== undefined) options.passphrase = passphrase;
  if (ca !== undefined) checkCertificates(ca, `${option}.ca`);
  if (cert !== undefined) checkCertificates(cert, `${option}.cert`);
  try {
    policy = insecure ? new InsecurePolicyForHTTPS(options) : new BrowserLikePolicyForHTTPS(options);
    // Builds the secure context now, so a PEM that cannot be loaded is reported here.
    policy.creatorForNetloc('localhost', 443);
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`${option}: ${error.message.replace(/^\w+PolicyForHTTPS: /, '')}`, { cause: error });
    throw error;
  }
  if (policies.size >= MAX_POLICIES) policies.clear();
  policies.set(digest, policy);
  return policy;
}
