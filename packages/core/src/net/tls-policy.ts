/**
 * TLS policies: which `tls.connect` options a connection to a given host uses (Twisted's
 * `IPolicyForHTTPS`). The default, {@link BrowserLikePolicyForHTTPS}, verifies the certificate
 * chain and the host name like a browser does; turning verification off takes an explicit
 * {@link InsecurePolicyForHTTPS}.
 *
 * @packageDocumentation
 */

import * as net from 'node:net';
import * as tls from 'node:tls';
import { InvalidArgumentError } from '../errors.js';
import { brand } from '../brand.js';

/**
 * Chooses the TLS options for one host (Twisted's `IPolicyForHTTPS`).
 *
 * `creatorForNetloc(hostname, port)` is called for each new TLS connection; `hostname` is the
 * URL's host without IPv6 brackets. It returns options for `tls.connect`; the endpoint then
 * sets `host`, `port` and the TCP options itself (any `host`, `port`, `path` or `socket`
 * returned here is overridden).
 *
 * `id` identifies the policy in endpoint keys: the pool only reuses a TLS connection for a
 * request whose policy has the same `id`, so two policies that may produce different options
 * must have different ids. The policies in this module number each instance (`browser-like#3`);
 * reuse one instance rather than building an equal one per request.
 *
 * @example A policy for a host whose certificate carries another name (Twisted's "one hostname
 * workaround"), written by hand; {@link HostnameMappingPolicy} does the same.
 * ```ts
 * const normal = new BrowserLikePolicyForHTTPS();
 * const policy: TLSPolicy = {
 *   id: 'example-workaround',
 *   creatorForNetloc: (hostname, port) =>
 *     normal.creatorForNetloc(hostname === 'example.com' ? 'example.net' : hostname, port),
 * };
 * ```
 */
export interface TLSPolicy {
  /** Stable and unique per distinct configuration; part of every endpoint key. */
  readonly id: string;
  /** The `tls.connect` options for a connection to `hostname:port`. */
  creatorForNetloc(hostname: string, port: number): tls.ConnectionOptions;
}

/** Client certificate options shared by the policies. */
export interface ClientCertificateOptions {
  /** Client certificate chain (PEM), sent when the server asks for one. Needs `key`. */
  cert?: string | Buffer | Array<string | Buffer>;
  /** Private key(s) of the client certificate (PEM). */
  key?: string | Buffer | Array<string | Buffer>;
  /** Passphrase of `key` or `pfx`. */
  passphrase?: string;
  /** A PKCS#12 bundle with the client certificate and key, instead of `cert` + `key`. */
  pfx?: string | Buffer | Array<string | Buffer>;
}

/** Options of {@link BrowserLikePolicyForHTTPS}. */
export interface BrowserLikePolicyOptions extends ClientCertificateOptions {
  /**
   * Trusted root certificates (PEM) that replace the default trust store, like Twisted's
   * `trustRoot` or curl's `--cacert`. Default: Node's trust store (the Mozilla roots bundled
   * with Node, plus `NODE_EXTRA_CA_CERTS`; the OpenSSL store with `--use-openssl-ca`).
   */
  ca?: string | Buffer | Array<string | Buffer>;
  /** With `ca`: trust Node's bundled roots as well instead of only `ca`. Default false. */
  keepDefaultCAs?: boolean;
  /** Lowest TLS version offered. Default Node's (`TLSv1.2`). */
  minVersion?: tls.SecureVersion;
  /** Highest TLS version offered. Default Node's (`TLSv1.3`). */
  maxVersion?: tls.SecureVersion;
  /** OpenSSL cipher list. Default Node's. */
  ciphers?: string;
}

/** Options of {@link InsecurePolicyForHTTPS}. */
export type InsecurePolicyOptions = ClientCertificateOptions & Pick<BrowserLikePolicyOptions, 'minVersion' | 'maxVersion' | 'ciphers'>;

/** ALPN: Strand speaks HTTP/1.1 only. */
const ALPN: readonly string[] = Object.freeze(['http/1.1']);

const ids = new Map<string, number>();
function nextId(prefix: string): string {
  const n = (ids.get(prefix) ?? 0) + 1;
  ids.set(prefix, n);
  return `${prefix}#${n}`;
}

/** `example.com.` -> `example.com`: neither SNI (RFC 6066) nor certificate names carry the root dot. */
function withoutRootDot(hostname: string): string {
  return hostname.length > 1 && hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
}

function contextOptions(options: BrowserLikePolicyOptions, trust: boolean): tls.SecureContextOptions {
  const context: tls.SecureContextOptions = {};
  if (trust && options.ca !== undefined) {
    const ca = Array.isArray(options.ca) ? options.ca : [options.ca];
    context.ca = options.keepDefaultCAs === true ? [...tls.rootCertificates, ...ca] : ca;
  }
  if (options.cert !== undefined) context.cert = options.cert;
  if (options.key !== undefined) context.key = options.key;
  if (options.passphrase !== undefined) context.passphrase = options.passphrase;
  if (options.pfx !== undefined) context.pfx = options.pfx;
  if (options.minVersion !== undefined) context.minVersion = options.minVersion;
  if (options.maxVersion !== undefined) context.maxVersion = options.maxVersion;
  if (options.ciphers !== undefined) context.ciphers = options.ciphers;
  return context;
}

/** Builds the secure context once, on first use, so a bad certificate or key fails loudly there. */
function createContext(options: tls.SecureContextOptions, policy: string): tls.SecureContext {
  try {
    return tls.createSecureContext(options);
  } catch (cause) {
    throw new InvalidArgumentError(`${policy}: invalid TLS options: ${(cause as Error).message}`, { cause });
  }
}

/**
 * The default policy: verifies the server's certificate chain against the trust store and its
 * name against the host name, the way a browser does (Twisted's `BrowserLikePolicyForHTTPS`).
 *
 * - The chain must lead to a trusted root (Node's trust store, or `ca`), every certificate
 *   within its validity period; the leaf must name the host in its subjectAltName (DNS name,
 *   or IP address for an IP literal URL).
 * - SNI carries the host name (never an IP literal, as RFC 6066 requires); ALPN offers
 *   `http/1.1` only.
 * - Verification is always on: `rejectUnauthorized` is set explicitly, so
 *   `NODE_TLS_REJECT_UNAUTHORIZED=0` does not turn it off behind your back. To turn it off,
 *   use {@link InsecurePolicyForHTTPS}, by name.
 * - A client certificate (`cert` + `key`, or `pfx`) is sent when the server asks for one.
 *
 * The secure context (trust roots, client certificate) is built once, on the first connection,
 * and shared by every connection of this policy.
 *
 * @example
 * ```ts
 * const policy = new BrowserLikePolicyForHTTPS({ ca: fs.readFileSync('internal-ca.pem') });
 * const agent = new HttpAgent({ endpointFactory: new StandardEndpointFactory({ tlsPolicy: policy }) });
 * ```
 */
export class BrowserLikePolicyForHTTPS implements TLSPolicy {
  readonly id: string;
  private readonly contextOptions: tls.SecureContextOptions;
  private context: tls.SecureContext | undefined;

  constructor(options: BrowserLikePolicyOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('BrowserLikePolicyForHTTPS options must be an object');
    if (options.keepDefaultCAs === true && options.ca === undefined) throw new InvalidArgumentError('keepDefaultCAs only makes sense with ca');
    this.id = nextId('browser-like');
    this.contextOptions = contextOptions(options, true);
  }

  creatorForNetloc(hostname: string, _port: number): tls.ConnectionOptions {
    this.context ??= createContext(this.contextOptions, 'BrowserLikePolicyForHTTPS');
    const name = withoutRootDot(hostname);
    const options: tls.ConnectionOptions = {
      secureContext: this.context,
      rejectUnauthorized: true,
      ALPNProtocols: [...ALPN],
      // Check the name given here, not the `host` the socket connects to: that is what lets a
      // policy verify a different name than the one it connects to (HostnameMappingPolicy).
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
    };
    if (net.isIP(name) === 0) options.servername = name;
    return options;
  }
}

let insecureWarned = false;

/**
 * **Turns certificate verification off.** Any server, or anyone on the path, can pretend to be
 * the host: the connection is encrypted to an unknown party. Use it only against a test server
 * whose certificate you cannot get; prefer `new BrowserLikePolicyForHTTPS({ ca })` with the
 * server's certificate or CA, or {@link HostnameMappingPolicy} for a certificate carrying
 * another name. The first instance in a process emits a `STRAND_TLS_INSECURE` process warning.
 *
 * SNI and ALPN are sent as by {@link BrowserLikePolicyForHTTPS}; a client certificate can be given.
 */
export class InsecurePolicyForHTTPS implements TLSPolicy {
  readonly id: string;
  private readonly contextOptions: tls.SecureContextOptions;
  private context: tls.SecureContext | undefined;

  constructor(options: InsecurePolicyOptions = {}) {
    this.id = nextId('insecure');
    this.contextOptions = contextOptions(options, false);
    if (!insecureWarned) {
      insecureWarned = true;
      process.emitWarning('InsecurePolicyForHTTPS: TLS certificates and host names are not verified', { code: 'STRAND_TLS_INSECURE' });
    }
  }

  creatorForNetloc(hostname: string, _port: number): tls.ConnectionOptions {
    this.context ??= createContext(this.contextOptions, 'InsecurePolicyForHTTPS');
    const name = withoutRootDot(hostname);
    const options: tls.ConnectionOptions = {
      secureContext: this.context,
      rejectUnauthorized: false,
      ALPNProtocols: [...ALPN],
      checkServerIdentity: () => undefined,
    };
    if (net.isIP(name) === 0) options.servername = name;
    return options;
  }
}

/**
 * How {@link HostnameMappingPolicy} maps a URL's host name to the name the certificate must
 * carry: a table keyed by host name (lower case; an IPv6 literal without brackets), or a
 * function returning the expected name (or `undefined` to keep the host name).
 */
export type HostnameMapping = Readonly<Record<string, string>> | ((hostname: string, port: number) => string | undefined);

/**
 * Verifies some hosts against another name (Twisted's "one hostname workaround"): the
 * connection still goes to the URL's host, but SNI and the certificate check use the mapped
 * name. Everything else, chain verification included, is the wrapped policy's.
 *
 * @example
 * `https://10.0.0.7/` serves a certificate for `api.internal`:
 * ```ts
 * const policy = new HostnameMappingPolicy(new BrowserLikePolicyForHTTPS({ ca }), { '10.0.0.7': 'api.internal' });
 * ```
 */
export class HostnameMappingPolicy implements TLSPolicy {
  readonly id: string;
  private readonly lookup: (hostname: string, port: number) => string | undefined;

  constructor(
    private readonly policy: TLSPolicy,
    mapping: HostnameMapping,
  ) {
    if (policy === null || typeof policy !== 'object' || typeof policy.creatorForNetloc !== 'function') {
      throw new InvalidArgumentError('HostnameMappingPolicy needs a TLSPolicy to wrap');
    }
    if (typeof mapping === 'function') {
      this.lookup = mapping;
    } else if (mapping !== null && typeof mapping === 'object') {
      const table = new Map<string, string>();
      for (const [from, to] of Object.entries(mapping)) {
        if (typeof to !== 'string' || to === '') throw new InvalidArgumentError(`HostnameMappingPolicy: the name for ${from} must be a non-empty string`);
        table.set(from.toLowerCase(), to);
      }
      this.lookup = (hostname) => table.get(hostname.toLowerCase());
    } else {
      throw new InvalidArgumentError('HostnameMappingPolicy: mapping must be an object or a function');
    }
    this.id = nextId(`hostname-mapping(${policy.id})`);
  }

  creatorForNetloc(hostname: string, port: number): tls.ConnectionOptions {
    return this.policy.creatorForNetloc(this.lookup(hostname, port) ?? hostname, port);
  }
}

let defaultPolicy: BrowserLikePolicyForHTTPS | undefined;

/**
 * The shared {@link BrowserLikePolicyForHTTPS} used when no policy is given, so endpoints of
 * different default factories share pooled connections.
 */
export function defaultTLSPolicy(): TLSPolicy {
  defaultPolicy ??= new BrowserLikePolicyForHTTPS();
  return defaultPolicy;
}

brand(BrowserLikePolicyForHTTPS, 'core.BrowserLikePolicyForHTTPS');
brand(InsecurePolicyForHTTPS, 'core.InsecurePolicyForHTTPS');
brand(HostnameMappingPolicy, 'core.HostnameMappingPolicy');
