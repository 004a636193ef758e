import * as diagnosticsChannel from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HttpAgent, HTTPConnectionPool, readBody } from '../../src/index.js';
import { type NginxServer, nginxAvailable, startNginx } from '../support/nginx.js';

const available = nginxAvailable();
const describeNginx = available ? describe : describe.skip;

describeNginx('interop: pipelining against nginx', () => {
  let nginx: NginxServer;
  let pool: HTTPConnectionPool;
  let agent: HttpAgent;

  beforeAll(async () => {
    nginx = await startNginx(
      (port, dir) => `
    listen 127.0.0.1:${port};
    keepalive_requests 1000;
    root ${dir}/www;
    location /few/ { alias ${dir}/www/; keepalive_requests 5; }
    `,
      (dir) => {
        for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(dir, 'www', `file-${i}.txt`), `file ${i} `.repeat(200 * (i + 1)));
      },
    );
  });

  afterAll(async () => {
    await nginx?.stop();
  });

  beforeEach(() => {
    pool = new HTTPConnectionPool({ maxConnectionsPerHost: 2, pipelining: 10 });
    agent = new HttpAgent({ pool });
  });

  afterEach(() => pool.destroy());

  const url = (p: string): string => `http://127.0.0.1:${nginx.port}${p}`;

  it('answers 200 pipelined GETs and HEADs over two connections, each with its own body, in order', async () => {
    const paths = Array.from({ length: 200 }, (_, i) => `/file-${i % 8}.txt`);
    const responses = await Promise.all(
      paths.map(async (p, i) => {
        const response = await agent.request(i % 5 === 4 ? 'HEAD' : 'GET', url(p));
        return { code: response.code, length: response.headers.get('content-length'), body: (await readBody(response)).toString() };
      }),
    );
    for (const [i, p] of paths.entries()) {
      const expected = `file ${i % 8} `.repeat(200 * ((i % 8) + 1));
      const got = responses[i];
      expect(got?.code).toBe(200);
      expect(got?.length).toBe(String(expected.length));
      expect(got?.body).toBe(i % 5 === 4 ? '' : expected);
      expect(p).toBe(`/file-${i % 8}.txt`);
    }
  });

  it('really pipelines: more requests are written than answered on two connections, and never so without pipelining on', async () => {
    // Requests written (their heads sent) minus response heads received, at its highest.
    async function mostOutstanding(run: () => Promise<unknown>): Promise<number> {
      let outstanding = 0;
      let most = 0;
      const onSent = (): void => {
        most = Math.max(most, ++outstanding);
      };
      const onHead = (): void => {
        outstanding--;
      };
      diagnosticsChannel.subscribe('strand:client:sendHeaders', onSent);
      diagnosticsChannel.subscribe('strand:request:headers', onHead);
      try {
        await run();
      } finally {
        diagnosticsChannel.unsubscribe('strand:client:sendHeaders', onSent);
        diagnosticsChannel.unsubscribe('strand:request:headers', onHead);
      }
      return most;
    }
    const fetchAll = (through: HttpAgent) => Promise.all(Array.from({ length: 40 }, (_, i) => through.request('GET', url(`/file-${i % 8}.txt`)).then((r) => readBody(r))));
    expect(await mostOutstanding(() => fetchAll(agent))).toBeGreaterThan(2);
    const plain = new HTTPConnectionPool({ maxConnectionsPerHost: 2 });
    try {
      expect(await mostOutstanding(() => fetchAll(new HttpAgent({ pool: plain })))).toBeLessThanOrEqual(2);
    } finally {
      await plain.destroy();
    }
  });

  it('gets every answer when nginx closes the connection after a few requests mid-pipeline (the rest are sent again)', async () => {
    // keepalive_requests 5: nginx closes after the fifth response, with more requests written.
    const bodies = await Promise.all(Array.from({ length: 30 }, (_, i) => agent.request('GET', url(`/few/file-${i % 8}.txt`)).then((r) => readBody(r)).then((b) => b.toString())));
    expect(bodies).toEqual(Array.from({ length: 30 }, (_, i) => `file ${i % 8} `.repeat(200 * ((i % 8) + 1))));
  });
});
