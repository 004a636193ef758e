import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { BrowserLikePolicyForHTTPS, HTTPConnectionPool, HttpAgent, InvalidArgumentError, StandardEndpointFactory, TLSSessionCache, readBody } from '../src/index.js';
import { pem, serverCert } from './fixtures/tls/servers.js';

let server: https.Server;
let port: number;
const ca = pem('ca.pem');

beforeAll(async () => {
  // Answers whether the TLS session of the connection was resumed.
  server = https.createServer(serverCert('localhost'), (req, res) => res.end(String((req.socket as TLSSocket).isSessionReused())));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** An agent that opens a new connection for every request (so every request makes a handshake). */
function freshConnectionAgent(factory: StandardEndpointFactory): HttpAgent {
  return new HttpAgent({ pool: new HTTPConnectionPool({ persistent: false }), endpointFactory: factory });
}

async function resumed(agent: HttpAgent, host: string): Promise<string> {
  return (await readBody(await agent.request('GET', `https://${host}:${port}/`))).toString();
}

describe('TLS session resumption', () => {
  it('resumes the session on a new connection to a host seen before', async () => {
    const agent = freshConnectionAgent(new StandardEndpointFactory({ tlsPolicy: new BrowserLikePolicyForHTTPS({ ca }) }));
    expect(await resumed(agent, 'localhost')).toBe('false');
    expect(await resumed(agent, 'localhost')).toBe('true');
    expect(await resumed(agent, 'localhost')).toBe('true');
  });

  it('makes a full handshake every time with tlsSessionCacheSize 0', async () => {
    const agent = freshConnectionAgent(new StandardEndpointFactory({ tlsPolicy: new BrowserLikePolicyForHTTPS({ ca }), tlsSessionCacheSize: 0 }));
    expect(await resumed(agent, 'localhost')).toBe('false');
    expect(await resumed(agent, 'localhost')).toBe('false');
  });

  it('never offers a session to another host name or under another policy', async () => {
    const policy = new BrowserLikePolicyForHTTPS({ ca });
    const agent = freshConnectionAgent(new StandardEndpointFactory({ tlsPolicy: policy }));
    expect(await resumed(agent, 'localhost')).toBe('false');
    expect(await resumed(agent, '127.0.0.1')).toBe('false'); // same server, another name
    const otherPolicy = freshConnectionAgent(new StandardEndpointFactory({ tlsPolicy: new BrowserLikePolicyForHTTPS({ ca }) }));
    expect(await resumed(otherPolicy, 'localhost')).toBe('false'); // another factory, another policy
    expect(await resumed(agent, 'localhost')).toBe('true');
  });

  it.each([-1, 1.5, '10', NaN])('refuses tlsSessionCacheSize %p', (size) => {
    expect(() => new StandardEndpointFactory({ tlsSessionCacheSize: size as number })).toThrow(InvalidArgumentError);
  });
});

describe('TLSSessionCache', () => {
  it('keeps the newest session per key and drops the least recently used past its size', () => {
    const cache = new TLSSessionCache(2);
    cache.set('a', Buffer.from('a1'));
    cache.set('b', Buffer.from('b1'));
    cache.set('a', Buffer.from('a2'));
    expect(cache.get('a')?.toString()).toBe('a2');
    cache.get('b'); // b is now the most recently used
    cache.set('c', Buffer.from('c1'));
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')?.toString()).toBe('b1');
    cache.delete('b');
    expect(cache.get('b')).toBeUndefined();
  });

  it('keeps nothing at size 0', () => {
    const cache = new TLSSessionCache(0);
    cache.set('a', Buffer.from('a1'));
    expect(cache.size).toBe(0);
  });
});
