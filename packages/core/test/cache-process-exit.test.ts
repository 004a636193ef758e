/**
 * A script whose last request was answered from the cache while a stale-while-revalidate
 * validation runs in the background exits by itself: the background request is bounded by
 * `revalidationTimeout`, and when it is answered its connection goes idle (unref'd) at once.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleScript, runUntilExit } from './support/child-script.js';

/** Far below the 60 s the origin keeps connections open, generous for a loaded machine. */
const EXIT_WITHIN = 8000;

const SCRIPT = `
import { CachingAgent, HttpAgent, readBody } from '@strand/core';
const agent = new CachingAgent(new HttpAgent(), { revalidationTimeout: 500 });
void (async () => {
  const url = process.argv[2] as string;
  await readBody(await agent.request('GET', url)); // stored, stale at once
  const stale = await agent.request('GET', url); // served stale; validated in the background
  process.stdout.write(JSON.stringify({ body: (await readBody(stale)).toString(), status: stale.headers.get('cache-status') }));
})();
`;

let dir: string;
let script: string;
let server: http.Server;
let base: string;
const held: http.ServerResponse[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-cache-exit-'));
  script = bundleScript(dir, 'swr', SCRIPT);
  server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    const first = req.headers['if-none-match'] === undefined;
    if (first) {
      res.writeHead(200, { ETag: '"a"', 'Cache-Control': 'max-age=0, stale-while-revalidate=60' }).end('stale body');
    } else if (req.url === '/stall') {
      held.push(res); // the validation is never answered
    } else {
      res.writeHead(304, { ETag: '"a"', 'Cache-Control': 'max-age=60' }).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of held) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('a background revalidation and the end of the process', () => {
  it('lets the process exit once the background validation is answered', async () => {
    const run = await runUntilExit(script, [`${base}/answered`], EXIT_WITHIN);
    expect({ code: run.code, out: JSON.parse(run.stdout) as unknown, err: run.stderr }).toEqual({
      code: 0,
      out: { body: 'stale body', status: expect.stringMatching(/^Strand;hit;ttl=-?\d+;detail=stale-while-revalidate$/) },
      err: '',
    });
  });

  it('lets the process exit when the origin never answers, once revalidationTimeout has passed', async () => {
    const run = await runUntilExit(script, [`${base}/stall`], EXIT_WITHIN);
    expect({ code: run.code, err: run.stderr }).toEqual({ code: 0, err: '' });
    expect(held.length).toBe(1);
  });
});
