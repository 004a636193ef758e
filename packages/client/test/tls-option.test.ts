/**
 * The `tls` option over core's TLS policies, with real TLS on loopback: a private CA, turning
 * verification off (and the warning that says so), client certificates, and pooled connections
 * shared by requests that pass equal options.
 */
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type * as tls from 'node:tls';
import { HTTPConnectionPool, InvalidArgumentError, TLSUnknownCAError } from '@strand/core';
import { HTTPClient } from '@strand/client';
import { type TestServer, echo, startTLSServer, testCertificate } from './support/servers';

let server: TestServer;
let pool: HTTPConnectionPool;

beforeEach(async () => {
  server = await startTLSServer(echo);
  pool = new HTTPConnectionPool();
});

afterEach(async () => {
  jest.restoreAllMocks();
  await pool.closeCachedConnections();
  await server.close();
});

it('verifies certificates against Node\'s trust store by default, so a self-signed server is refused', async () => {
  await expect(new HTTPClient({ pool }).get(`${server.url}/`)).rejects.toBeInstanceOf(TLSUnknownCAError);
  expect(server.requests).toHaveLength(0);
});

it('trusts the roots given as tls.ca (a Buffer, a string, or an array of them)', async () => {
  const pem = testCertificate().cert;
  expect((await new HTTPClient({ pool, tls: { ca: pem } }).get(`${server.url}/buffer`)).code).toBe(200);
  expect((await new HTTPClient({ pool, tls: { ca: pem.toString('latin1') } }).get(`${server.url}/string`)).code).toBe(200);
  expect((await new HTTPClient({ pool, tls: { ca: [pem] } }).get(`${server.url}/array`)).code).toBe(200);
});

it('takes tls per request, over the client\'s', async () => {
  const client = new HTTPClient({ pool });
  expect((await client.get(`${server.url}/own`, { tls: { ca: testCertificate().cert } })).code).toBe(200);
  await expect(client.get(`${server.url}/default`)).rejects.toBeInstanceOf(TLSUnknownCAError);
});

it('lets requests with equal tls options share one pooled connection', async () => {
  const client = new HTTPClient({ pool });
  // Two equal option objects, not the same one: the policy is found by content.
  await client.get(`${server.url}/1`, { tls: { ca: Buffer.from(testCertificate().cert) } });
  await client.get(`${server.url}/2`, { tls: { ca: Buffer.from(testCertificate().cert) } });
  expect(server.requests).toHaveLength(2);
  expect(Object.values(pool.stats())).toEqual([expect.objectContaining({ open: 1, idle: 1 })]);
});

it('turns verification off with rejectUnauthorized: false, through core\'s InsecurePolicyForHTTPS, and warns', async () => {
  const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  const client = new HTTPClient({ pool, tls: { rejectUnauthorized: false } });
  expect((await client.get(`${server.url}/insecure`)).code).toBe(200);
  expect(warn).toHaveBeenCalledWith(expect.stringMatching(/not verified/), expect.objectContaining({ code: 'STRAND_TLS_INSECURE' }));
});

describe('client certificates', () => {
  let mtls: https.Server;
  let url: string;
  const peers: Array<string | undefined> = [];

  beforeEach(async () => {
    const { key, cert } = testCertificate();
    // The server trusts the test certificate as the CA of client certificates, and asks for one.
    mtls = https.createServer({ key, cert, ca: cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const peer = (req.socket as tls.TLSSocket).getPeerCertificate();
      const cn = peer.subject?.CN;
      peers.push(Array.isArray(cn) ? cn.join(',') : cn);
      res.end('hello, certified client');
    });
    await new Promise<void>((resolve) => mtls.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(mtls.address() as AddressInfo).port}/`;
    peers.length = 0;
  });

  afterEach(async () => {
    mtls.closeAllConnections();
    await new Promise<void>((resolve) => mtls.close(() => resolve()));
  });

  it('sends tls.cert and tls.key when the server asks for a certificate', async () => {
    const { key, cert } = testCertificate();
    const response = await new HTTPClient({ pool, tls: { ca: cert, cert, key } }).get(url);
    expect(await response.text()).toBe('hello, certified client');
    expect(peers).toEqual(['127.0.0.1']);
  });

  it('is refused by such a server without one', async () => {
    await expect(new HTTPClient({ pool, tls: { ca: testCertificate().cert } }).get(url)).rejects.toMatchObject({ code: expect.stringMatching(/^STRAND_/) });
    expect(peers).toEqual([]);
  });
});

describe('bad tls options', () => {
  it.each([
    ['a string', { tls: 'strict' }, /^tls must be an object of TLS options/],
    ['an unknown key', { tls: { verify: false } }, /^tls\.verify is not a TLS option; use ca, cert, key, passphrase, pfx or rejectUnauthorized/],
    ['a number as ca', { tls: { ca: 42 } }, /^tls\.ca must be PEM text or bytes/],
    ['a file name as ca', { tls: { ca: '/etc/ssl/certs/internal-ca.pem' } }, /^tls\.ca holds no PEM certificate .* not a file name/],
    ['an empty ca array', { tls: { ca: [] } }, /^tls\.ca is an empty array/],
    ['cert without key', { tls: { cert: 'CERTIFICATE-----' } }, /^tls\.cert needs tls\.key/],
    ['a non-boolean rejectUnauthorized', { tls: { rejectUnauthorized: 'no' } }, /^tls\.rejectUnauthorized must be a boolean/],
    ['ca with rejectUnauthorized: false', { tls: { rejectUnauthorized: false, ca: '-----BEGIN CERTIFICATE-----' } }, /^tls\.ca cannot be used with rejectUnauthorized: false/],
    ['a ca that is not a certificate', { tls: { ca: '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n' } }, /^tls\.ca: certificate 1 cannot be read/],
    ['a truncated ca', { tls: { ca: '-----BEGIN CERTIFICATE-----\nMIIB' } }, /^tls\.ca holds no complete PEM certificate/],
    ['a key that cannot be loaded', { tls: { cert: testCertificate().cert, key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' } }, /^tls: invalid TLS options: /],
  ])('refuses %s with an InvalidArgumentError naming the option', (_label, options, message) => {
    const make = (): HTTPClient => new HTTPClient(options as never);
    expect(make).toThrow(InvalidArgumentError);
    expect(make).toThrow(message);
  });

  it('refuses a bad per-request tls before sending anything', async () => {
    await expect(new HTTPClient({ pool }).get(`${server.url}/`, { tls: { ca: 1 } as never })).rejects.toThrow(/^tls\.ca must be PEM text or bytes/);
    expect(server.requests).toHaveLength(0);
  });

  it('cannot be combined with an agent', () => {
    const agent = { request: () => Promise.reject(new Error('unused')) };
    expect(() => new HTTPClient({ agent, tls: { rejectUnauthorized: true } })).toThrow(/^proxy and tls configure the default agent/);
  });
});
