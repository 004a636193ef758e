import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BrowserLikePolicyForHTTPS, type EndpointFactory, HttpAgent, HTTPConnectionPool, ResponseDone, StandardEndpointFactory, TLSUnknownCAError, readBody } from '../../src/index.js';
import { type NginxServer, nginxAvailable, startNginx } from '../support/nginx.js';
import { delay } from '../support/servers.js';

const available = nginxAvailable();
const describeNginx = available ? describe : describe.skip;

const LARGE_SIZE = 24 * 1024 * 1024;
const FIXTURES = path.resolve(__dirname, '../fixtures/tls');

describeNginx('interop: nginx', () => {
  let nginx: NginxServer;
  let largeDigest: string;

  beforeAll(async () => {
    nginx = await startNginx(
      (port, dir, tlsPort) => `
    listen 127.0.0.1:${port};
    listen 127.0.0.1:${tlsPort} ssl;
    ssl_certificate ${FIXTURES}/localhost.pem;
    ssl_certificate_key ${FIXTURES}/localhost.key;
    keepalive_requests 100000;
    root ${dir}/www;
    location = /small { return 200 "hello from nginx\\n"; }
    location /short-keepalive/ {
      alias ${dir}/www/;
      keepalive_timeout 300ms;
    }
    location /hinted/ {
      alias ${dir}/www/;
      keepalive_timeout 2s 2s;
    }
    location = /post { client_max_body_size 1m; return 200 "posted\\n"; }
    `,
      (dir) => {
        const large = Buffer.alloc(LARGE_SIZE);
        for (let i = 0; i < large.length; i += 4096) large.writeUInt32BE(i, i);
        fs.writeFileSync(path.join(dir, 'www', 'large.bin'), large);
        fs.writeFileSync(path.join(dir, 'www', 'page.txt'), 'a static page\n');
        largeDigest = createHash('sha256').update(large).digest('hex');
      },
    );
  });

  afterAll(async () => {
    await nginx?.stop();
  });

  const url = (p: string): string => `http://127.0.0.1:${nginx.port}${p}`;

  it('reuses one keep-alive connection for 500 sequential requests', async () => {
    const agent = new HttpAgent();
    for (let i = 0; i < 500; i++) {
      const response = await agent.request('GET', url('/small'));
      expect(response.code).toBe(200);
      expect((await readBody(response)).toString()).toBe('hello from nginx\n');
    }
    expect(Object.values(agent.pool.stats())).toEqual([{ open: 1, idle: 1, inUse: 0, queued: 0 }]);
    await agent.pool.closeCachedConnections();
  });

  it('serves 1,000 requests over 20 concurrent connections with none failing', async () => {
    const agent = new HttpAgent({ pool: new HTTPConnectionPool({ maxConnectionsPerHost: 20 }) });
    let next = 0;
    let ok = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < 1000) {
          next++;
          const response = await agent.request(next % 3 === 0 ? 'POST' : 'GET', url(next % 3 === 0 ? '/post' : '/small'), null, null);
          await readBody(response);
          if (response.code === 200) ok++;
        }
      }),
    );
    expect(ok).toBe(1000);
    expect(Object.values(agent.pool.stats())[0]?.open).toBeLessThanOrEqual(20);
    await agent.pool.closeCachedConnections();
  });

  it('loses no request when nginx closes idle connections sooner than the pool would (keepalive_timeout 300ms)', async () => {
    let connects = 0;
    const standard = new StandardEndpointFactory();
    const counting: EndpointFactory = {
      endpointForURI(uri) {
        const endpoint = standard.endpointForURI(uri);
        return { key: endpoint.key, connect: (signal) => (connects++, endpoint.connect(signal)) };
      },
    };
    const agent = HttpAgent.usingEndpointFactory(counting);
    const failures: unknown[] = [];
    for (let i = 0; i < 16; i++) {
      try {
        const response = await agent.request('GET', url('/short-keepalive/page.txt'));
        expect((await readBody(response)).toString()).toBe('a static page\n');
      } catch (error) {
        failures.push(error);
      }
      // Sleep around nginx's idle timeout so some reuses race its close.
      await delay(250 + (i % 4) * 30);
    }
    expect(failures).toEqual([]);
    // nginx really did close idle connections under the pool: it had to open new ones.
    expect(connects).toBeGreaterThan(3);
    await agent.pool.closeCachedConnections();
  });

  it("retires a connection before nginx's announced Keep-Alive timeout", async () => {
    const agent = new HttpAgent();
    const response = await agent.request('GET', url('/hinted/page.txt'));
    expect(response.headers.get('keep-alive')).toBe('timeout=2');
    await readBody(response);
    // timeout=2 less the one-second margin: the connection may live one second.
    expect(Object.values(agent.pool.stats())[0]?.idle).toBe(1);
    await delay(1300);
    const again = await agent.request('GET', url('/hinted/page.txt'));
    await readBody(again);
    await agent.pool.closeCachedConnections();
  });

  it('talks TLS to nginx with the test CA, verifying its certificate, and reuses the connection', async () => {
    const ca = fs.readFileSync(path.join(FIXTURES, 'ca.pem'));
    const agent = new HttpAgent({ endpointFactory: new StandardEndpointFactory({ tlsPolicy: new BrowserLikePolicyForHTTPS({ ca }) }) });
    for (let i = 0; i < 20; i++) {
      const response = await agent.request('GET', `https://localhost:${nginx.tlsPort}/small`);
      expect((await readBody(response)).toString()).toBe('hello from nginx\n');
    }
    expect(Object.values(agent.pool.stats())).toEqual([{ open: 1, idle: 1, inUse: 0, queued: 0 }]);
    await agent.pool.closeCachedConnections();
    // Without the test CA the same server is refused.
    const strict = new HttpAgent();
    await expect(strict.request('GET', `https://localhost:${nginx.tlsPort}/small`)).rejects.toBeInstanceOf(TLSUnknownCAError);
  });

  it('streams a large static file with back-pressure and the exact bytes', async () => {
    const agent = new HttpAgent();
    const response = await agent.request('GET', url('/large.bin'));
    expect(response.length).toBe(LARGE_SIZE);
    const hash = createHash('sha256');
    let received = 0;
    const reason = await new Promise<unknown>((resolve) =>
      response.deliverBody({
        dataReceived(chunk) {
          received += chunk.length;
          hash.update(chunk);
        },
        connectionLost: resolve,
      }),
    );
    expect(reason).toBeInstanceOf(ResponseDone);
    expect(received).toBe(LARGE_SIZE);
    expect(hash.digest('hex')).toBe(largeDigest);
    await agent.pool.closeCachedConnections();
  });
});
