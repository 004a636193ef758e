import { X509Certificate } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import type * as tls from 'node:tls';
import {
  BrowserLikePolicyForHTTPS,
  ConnectError,
  HostnameMappingPolicy,
  HTTPConnectionPool,
  HttpAgent,
  InsecurePolicyForHTTPS,
  InvalidArgumentError,
  RequestNotSentError,
  StandardEndpointFactory,
  TLSCertificateError,
  TLSCertificateExpiredError,
  TLSEndpoint,
  TLSError,
  TLSHandshakeError,
  TLSHostnameMismatchError,
  type TLSPolicy,
  TLSUnknownCAError,
  readBody,
  tlsError,
} from '../src/index.js';
import { strandFailureOf } from './support/failures.js';
import { type LoopbackServer, pem, serverCert, startHttpServer, startHttpsServer } from './fixtures/tls/servers.js';

const ca = pem('ca.pem');
const trustTestCA = new BrowserLikePolicyForHTTPS({ ca });

const servers: LoopbackServer[] = [];
const agents: HttpAgent[] = [];

async function server(...args: Parameters<typeof startHttpsServer>): Promise<LoopbackServer> {
  const s = await startHttpsServer(...args);
  servers.push(s);
  return s;
}

function agentWith(tlsPolicy: TLSPolicy, pool?: HTTPConnectionPool): HttpAgent {
  const agent = new HttpAgent({ endpointFactory: new StandardEndpointFactory({ tlsPolicy }), ...(pool === undefined ? {} : { pool }) });
  agents.push(agent);
  return agent;
}

async function get(agent: HttpAgent, url: string): Promise<{ code: number; body: string }> {
  const response = await agent.request('GET', url);
  return { code: response.code, body: (await readBody(response)).toString() };
}


afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.pool.closeCachedConnections()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('BrowserLikePolicyForHTTPS', () => {
  test('accepts a certificate from the trusted CA for localhost, 127.0.0.1 and [::1], with SNI only for the name and ALPN http/1.1', async () => {
    const v4 = await server(serverCert('localhost'));
    const v6 = await server(serverCert('localhost'), undefined, '::1');
    const agent = agentWith(trustTestCA);

    expect(await get(agent, `https://localhost:${v4.port}/a`)).toEqual({ code: 200, body: 'ok' });
    expect(await get(agent, `https://127.0.0.1:${v4.port}/b`)).toEqual({ code: 200, body: 'ok' });
    expect(await get(agent, `https://[::1]:${v6.port}/c`)).toEqual({ code: 200, body: 'ok' });

    expect(v4.requests.map((r) => [r.url, r.servername, r.alpnProtocol])).toEqual([
      ['/a', 'localhost', 'http/1.1'],
      ['/b', false, 'http/1.1'],
    ]);
    expect(v6.requests.map((r) => [r.url, r.servername, r.remoteAddress])).toEqual([['/c', false, '::1']]);
  });

  test('records the TCP connect and the TLS handshake as separate milestones', async () => {
    const s = await server(serverCert('localhost'));
    const response = await agentWith(trustTestCA).request('GET', `https://127.0.0.1:${s.port}/t`);
    await readBody(response);
    const t = response.timings;
    expect(t?.dnsEnd).toBeUndefined(); // an IP literal needs no lookup
    expect(typeof t?.tcpEnd).toBe('number');
    expect(t?.tlsEnd).toBeGreaterThanOrEqual(t?.tcpEnd as number);
    expect(t?.connectEnd).toBeGreaterThanOrEqual(t?.tlsEnd as number);
  });

  test('checks the host name without its root dot and sends SNI without it', async () => {
    const s = await server(serverCert('localhost'));
    // /etc/hosts does not list `localhost.`; a resolver that does stands in for DNS.
    const lookup: LookupFunction = (hostname, options, callback) => {
      if (hostname !== 'localhost.') throw new Error(`unexpected lookup of ${hostname}`);
      if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    };
    const agent = new HttpAgent({ endpointFactory: new StandardEndpointFactory({ tlsPolicy: trustTestCA, lookup }) });
    agents.push(agent);
    expect(await get(agent, `https://localhost.:${s.port}/`)).toEqual({ code: 200, body: 'ok' });
    expect(s.requests[0]?.servername).toBe('localhost');
  });

  test('refuses a certificate for another name with TLSHostnameMismatchError naming both names', async () => {
    const s = await server(serverCert('other-name'));
    const error = await strandFailureOf(agentWith(trustTestCA).request('GET', `https://localhost:${s.port}/`));
    expect(error).toBeInstanceOf(TLSHostnameMismatchError);
    expect(error).toBeInstanceOf(TLSCertificateError);
    expect(error.code).toBe('STRAND_TLS_HOSTNAME_MISMATCH');
    expect(error.message).toContain('localhost');
    expect(error.message).toContain('strand-other.test');
    expect(s.requests).toHaveLength(0);
  });

  test('refuses a certificate whose IP SANs do not include the IP literal connected to', async () => {
    const s = await server(serverCert('other-name'));
    const error = await strandFailureOf(agentWith(trustTestCA).request('GET', `https://127.0.0.1:${s.port}/`));
    expect(error).toBeInstanceOf(TLSHostnameMismatchError);
    expect(error.message).toContain('127.0.0.1');
  });

  test('refuses an expired certificate with TLSCertificateExpiredError', async () => {
    const s = await server(serverCert('expired'));
    const error = await strandFailureOf(agentWith(trustTestCA).request('GET', `https://localhost:${s.port}/`));
    expect(error).toBeInstanceOf(TLSCertificateExpiredError);
    expect(error.code).toBe('STRAND_TLS_CERT_EXPIRED');
    expect(error.message).toMatch(/expired/);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('CERT_HAS_EXPIRED');
  });

  test('refuses a certificate signed by an unknown CA with TLSUnknownCAError', async () => {
    const s = await server(serverCert('unknown-ca-localhost'));
    const error = await strandFailureOf(agentWith(trustTestCA).request('GET', `https://localhost:${s.port}/`));
    expect(error).toBeInstanceOf(TLSUnknownCAError);
    expect(error.code).toBe('STRAND_TLS_UNKNOWN_CA');
    expect(error.message).toMatch(/unknown CA/);
    expect(s.requests).toHaveLength(0);
  });

  test('refuses a self-signed certificate with TLSUnknownCAError saying it is self-signed', async () => {
    const s = await server(serverCert('self-signed'));
    const error = await strandFailureOf(agentWith(trustTestCA).request('GET', `https://localhost:${s.port}/`));
    expect(error).toBeInstanceOf(TLSUnknownCAError);
    expect(error.message).toMatch(/self-signed/);
  });

  test('by default trusts Node’s store, not the test CA, and NODE_TLS_REJECT_UNAUTHORIZED=0 does not switch verification off', async () => {
    const s = await server(serverCert('localhost'));
    const saved = process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
    process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0';
    try {
      const agent = new HttpAgent();
      agents.push(agent);
      const error = await strandFailureOf(agent.request('GET', `https://localhost:${s.port}/`));
      expect(error).toBeInstanceOf(TLSUnknownCAError);
    } finally {
      if (saved === undefined) delete process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
      else process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = saved;
    }
    expect(s.requests).toHaveLength(0);
  });

  test('with keepDefaultCAs trusts the given CA as well as the default store', async () => {
    const s = await server(serverCert('localhost'));
    const policy = new BrowserLikePolicyForHTTPS({ ca, keepDefaultCAs: true });
    expect(await get(agentWith(policy), `https://localhost:${s.port}/`)).toEqual({ code: 200, body: 'ok' });
    // Still a verifying policy: a certificate from another CA is refused.
    const other = await server(serverCert('unknown-ca-localhost'));
    expect(await strandFailureOf(agentWith(policy).request('GET', `https://localhost:${other.port}/`))).toBeInstanceOf(TLSUnknownCAError);
  });

  test('TLS failures are connect errors: nothing of the request was sent', async () => {
    const s = await server(serverCert('expired'));
    const error = await strandFailureOf(agentWith(trustTestCA).request('POST', `https://localhost:${s.port}/`));
    expect(error).toBeInstanceOf(TLSError);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toBeInstanceOf(RequestNotSentError);
    expect(error.url).toBe(`https://localhost:${s.port}`);
  });

  test('fails with TLSHandshakeError when the server speaks plain HTTP', async () => {
    const plain = await startHttpServer({ host: '127.0.0.1' });
    servers.push(plain);
    const error = await strandFailureOf(agentWith(trustTestCA).request('GET', `https://127.0.0.1:${plain.port}/`));
    expect(error).toBeInstanceOf(TLSHandshakeError);
    expect(error.code).toBe('STRAND_TLS_HANDSHAKE_FAILED');
    expect(error.message).toMatch(/does not speak TLS/);
  });

  test('fails with TLSHandshakeError when the server offers no HTTP/1.1 over ALPN', async () => {
    const s = await server({ ...serverCert('localhost'), ALPNProtocols: ['h2'] });
    const error = await strandFailureOf(agentWith(trustTestCA).request('GET', `https://localhost:${s.port}/`));
    expect(error).toBeInstanceOf(TLSHandshakeError);
    expect(error.message).toMatch(/HTTP\/1\.1 \(ALPN\)/);
  });

  test('an invalid CA or key fails the connection with InvalidArgumentError', async () => {
    const s = await server(serverCert('localhost'));
    const bad = new BrowserLikePolicyForHTTPS({ ca, cert: pem('client.pem'), key: 'not a key' });
    const error = await strandFailureOf(agentWith(bad).request('GET', `https://localhost:${s.port}/`));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toMatch(/BrowserLikePolicyForHTTPS: invalid TLS options/);
    expect(s.connections).toBe(0);
  });

  test('keepDefaultCAs without ca is refused', () => {
    expect(() => new BrowserLikePolicyForHTTPS({ keepDefaultCAs: true })).toThrow(InvalidArgumentError);
  });
});

describe('client certificates', () => {
  const requireClientCert = { ...serverCert('localhost'), ca, requestCert: true, rejectUnauthorized: true };

  test('a policy with a client certificate and key is accepted by a server that requires one', async () => {
    const s = await server(requireClientCert);
    const policy = new BrowserLikePolicyForHTTPS({ ca, cert: pem('client.pem'), key: pem('client.key') });
    expect(await get(agentWith(policy), `https://localhost:${s.port}/`)).toEqual({ code: 200, body: 'ok' });
    expect(s.requests[0]?.clientCN).toBe('strand-test-client');
  });

  test('without a client certificate a TLS 1.2 server refuses the handshake: TLSHandshakeError', async () => {
    const s = await server({ ...requireClientCert, maxVersion: 'TLSv1.2' });
    const error = await strandFailureOf(agentWith(trustTestCA).request('GET', `https://localhost:${s.port}/`));
    expect(error).toBeInstanceOf(TLSHandshakeError);
    expect(error.message).toMatch(/client certificate/);
    expect(s.requests).toHaveLength(0);
  });

  test('without a client certificate a TLS 1.3 server rejects the connection after the handshake: TLSHandshakeError, unanswered', async () => {
    // TLS 1.3 servers check the client certificate after the client's handshake is complete, so
    // the rejection (alert certificate_required) arrives while the response is awaited, not
    // while connecting; tlsError() names that alert when it is reported.
    const s = await server(requireClientCert);
    const error = await strandFailureOf(agentWith(trustTestCA).request('GET', `https://localhost:${s.port}/`));
    expect(error).toBeInstanceOf(TLSHandshakeError);
    expect(error.message).toMatch(/client certificate/);
    expect(s.requests).toHaveLength(0);
    expect(s.tlsErrors).toEqual(['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE']);
    const alert = Object.assign(new Error('tlsv13 alert certificate required'), { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
    const named = tlsError(alert, 'https://localhost');
    expect(named).toBeInstanceOf(TLSHandshakeError);
    expect(named.message).toMatch(/requires a client certificate/);
  });
});

describe('HostnameMappingPolicy (one host whose certificate carries another name)', () => {
  test('verifies the mapped name, for a host name and for an IP literal, and sends it as SNI', async () => {
    const s = await server(serverCert('other-name'));
    const policy = new HostnameMappingPolicy(trustTestCA, { LocalHost: 'strand-other.test', '127.0.0.1': 'strand-other.test' });
    const agent = agentWith(policy);
    expect(await get(agent, `https://localhost:${s.port}/name`)).toEqual({ code: 200, body: 'ok' });
    expect(await get(agent, `https://127.0.0.1:${s.port}/ip`)).toEqual({ code: 200, body: 'ok' });
    expect(s.requests.map((r) => [r.url, r.servername])).toEqual([
      ['/name', 'strand-other.test'],
      ['/ip', 'strand-other.test'],
    ]);
  });

  test('leaves other hosts alone: their certificates must still carry their own names', async () => {
    const s = await server(serverCert('other-name'));
    const policy = new HostnameMappingPolicy(trustTestCA, (hostname) => (hostname === 'example.com' ? 'strand-other.test' : undefined));
    const error = await strandFailureOf(agentWith(policy).request('GET', `https://localhost:${s.port}/`));
    expect(error).toBeInstanceOf(TLSHostnameMismatchError);
  });

  test('still verifies the chain: a mapped name does not make an unknown CA acceptable', async () => {
    const s = await server(serverCert('unknown-ca-localhost'));
    const policy = new HostnameMappingPolicy(trustTestCA, { localhost: 'localhost' });
    expect(await strandFailureOf(agentWith(policy).request('GET', `https://localhost:${s.port}/`))).toBeInstanceOf(TLSUnknownCAError);
  });

  test('a hand-written policy delegating to another with a different name works the same (the Twisted guide’s example)', async () => {
    const s = await server(serverCert('other-name'));
    const policy: TLSPolicy = {
      id: 'one-hostname-workaround',
      creatorForNetloc: (hostname, port) => trustTestCA.creatorForNetloc(hostname === 'localhost' ? 'strand-other.test' : hostname, port),
    };
    expect(await get(agentWith(policy), `https://localhost:${s.port}/`)).toEqual({ code: 200, body: 'ok' });
  });
});

describe('InsecurePolicyForHTTPS', () => {
  test('connects whatever the certificate, and warns once per process', async () => {
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      // A fresh copy of the module: the warning is per process (per module instance).
      await jest.isolateModulesAsync(async () => {
        const { InsecurePolicyForHTTPS: Fresh } = await import('../src/net/tls-policy.js');
        new Fresh();
        new Fresh();
      });
      expect(emitWarning.mock.calls).toEqual([[expect.stringMatching(/not verified/), { code: 'STRAND_TLS_INSECURE' }]]);
    } finally {
      emitWarning.mockRestore();
    }
  });

  test('connects to servers whose certificates are self-signed, expired or for another name', async () => {
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const insecure = new InsecurePolicyForHTTPS();
    emitWarning.mockRestore();
    const selfSigned = await server(serverCert('self-signed'));
    const expired = await server(serverCert('expired'));
    const otherName = await server(serverCert('other-name'));
    const agent = agentWith(insecure);
    for (const s of [selfSigned, expired, otherName]) {
      expect(await get(agent, `https://localhost:${s.port}/`)).toEqual({ code: 200, body: 'ok' });
    }
    expect(selfSigned.requests[0]?.servername).toBe('localhost');
    expect(selfSigned.requests[0]?.alpnProtocol).toBe('http/1.1');
  });
});

describe('TLS policies and connection reuse', () => {
  test('a pooled connection is reused for the same policy, never for another policy', async () => {
    const s = await server(serverCert('localhost'));
    const pool = new HTTPConnectionPool();
    const first = agentWith(trustTestCA, pool);
    const samePolicy = agentWith(trustTestCA, pool);
    const equalButDistinct = new BrowserLikePolicyForHTTPS({ ca });
    const otherPolicy = agentWith(equalButDistinct, pool);
    const url = `https://localhost:${s.port}/`;

    await get(first, url);
    await get(samePolicy, url);
    expect(s.connections).toBe(1);
    await get(otherPolicy, url);
    expect(s.connections).toBe(2);
    expect(Object.keys(pool.stats()).sort()).toEqual([`https://localhost:${s.port} tls=${trustTestCA.id}`, `https://localhost:${s.port} tls=${equalButDistinct.id}`].sort());
    await pool.closeCachedConnections();
  });

  test('every policy instance has its own id, and endpoint keys carry it', () => {
    const a = new BrowserLikePolicyForHTTPS();
    const b = new BrowserLikePolicyForHTTPS();
    const mapped = new HostnameMappingPolicy(a, {});
    expect(new Set([a.id, b.id, mapped.id]).size).toBe(3);
    expect(new TLSEndpoint('localhost', 443, a).key).toBe(`https://localhost:443 tls=${a.id}`);
    expect(new TLSEndpoint('::1', 8443, b).key).toBe(`https://[::1]:8443 tls=${b.id}`);
  });

  test('a policy without an id is refused', () => {
    const noId = { creatorForNetloc: () => ({}) } as unknown as TLSPolicy;
    expect(() => new StandardEndpointFactory({ tlsPolicy: noId })).toThrow(/tlsPolicy.id/);
  });
});

describe('tlsError', () => {
  test.each([
    ['ERR_TLS_CERT_ALTNAME_INVALID', TLSHostnameMismatchError],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', TLSUnknownCAError],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', TLSUnknownCAError],
    ['SELF_SIGNED_CERT_IN_CHAIN', TLSUnknownCAError],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', TLSUnknownCAError],
    ['CERT_HAS_EXPIRED', TLSCertificateExpiredError],
    ['CERT_NOT_YET_VALID', TLSCertificateError],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', TLSHandshakeError],
    ['ECONNRESET', TLSHandshakeError],
  ])('maps %s to %p', (code, type) => {
    const cause = Object.assign(new Error(`boom ${code}`), { code });
    const error = tlsError(cause, 'https://h:1');
    expect(error).toBeInstanceOf(type);
    expect(error.cause).toBe(cause);
    expect(error.url).toBe('https://h:1');
  });

  test('the certificate-rejected codes are exact: CERT_NOT_YET_VALID is not called expired', () => {
    const error = tlsError(Object.assign(new Error('certificate is not yet valid'), { code: 'CERT_NOT_YET_VALID' }), 'https://h:1');
    expect(error).not.toBeInstanceOf(TLSCertificateExpiredError);
    expect(error.code).toBe('STRAND_TLS_CERT_INVALID');
    expect(error.message).toContain('CERT_NOT_YET_VALID');
  });
});

test('the fixture certificates are what make-certs.sh says they are', () => {
  const info = (name: string): tls.PeerCertificate => new X509Certificate(pem(`${name}.pem`)).toLegacyObject();
  expect(info('localhost').subjectaltname).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  expect(info('other-name').subjectaltname).toBe('DNS:strand-other.test');
  expect(new Date(info('expired').valid_to).getTime()).toBeLessThan(Date.now());
  expect(new Date(info('localhost').valid_to).getFullYear()).toBeGreaterThanOrEqual(2119);
});
