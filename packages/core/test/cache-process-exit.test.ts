/**
 * A script whose last request was answered stale under stale-while-revalidate exits by itself
 * once its own work is done, whether the background validation was answered or the origin never
 * answers it (default `revalidationTimeout`, 30 s): that request is sent with `holdProcess:
 * false`, so its busy socket does not hold the event loop (the agent's timers are unref'd).
 * Without that, the socket of a request waiting for its answer held the process for 30 s.
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
// argv: the URL, the agent's options (JSON), how long the script stays busy afterwards (ms).
const agent = new CachingAgent(new HttpAgent(), JSON.parse(process.argv[3] ?? '{}'));
void (async () => {
  const url = process.argv[2] as string;
  await readBody(await agent.request('GET', url)); // stored, stale at once
  const stale = await agent.request('GET', url); // served stale; validated in the background
  process.stdout.write(JSON.stringify({ body: (await readBody(stale)).toString(), status: stale.headers.get('cache-status') }));
  const busy = Number(process.argv[4] ?? 0);
  if (busy > 0) setTimeout(() => undefined, busy); // more work of the script's own
})();
`;

/** An HttpAgent request that nobody awaits to the end, sent with holdProcess false or not (argv[3]). */
const PLAIN = `
import { HttpAgent } from '@strand/core';
const agent = new HttpAgent();
void agent.request('GET', process.argv[2] as string, null, null, { holdProcess: process.argv[3] === 'hold' }).catch(() => undefined);
setTimeout(() => undefined, 100); // the request is written and waiting by then
`;

let dir: string;
let script: string;
let plain: string;
let server: http.Server;
let base: string;
const held: http.ServerResponse[] = [];
/** Validation requests the origin received, by path. */
const validations: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strand-cache-exit-'));
  script = bundleScript(dir, 'swr', SCRIPT);
  plain = bundleScript(dir, 'plain', PLAIN);
  server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    const first = req.headers['if-none-match'] === undefined;
    if (!first) validations.push(req.url ?? '');
    if (req.url === '/never') {
      held.push(res);
    } else if (first) {
      res.writeHead(200, { ETag: '"a"', 'Cache-Control': 'max-age=0, stale-while-revalidate=60' }).end('stale body');
    } else if (req.url?.startsWith('/stall') === true) {
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
  it('lets a script that is still busy exit once the background validation is answered', async () => {
    const run = await runUntilExit(script, [`${base}/answered`, '{}', '300'], EXIT_WITHIN);
    expect({ code: run.code, out: JSON.parse(run.stdout) as unknown, err: run.stderr }).toEqual({
      code: 0,
      out: { body: 'stale body', status: expect.stringMatching(/^Strand;hit;ttl=-?\d+;detail=stale-while-revalidate$/) },
      err: '',
    });
    expect(validations).toContain('/answered');
  });

  it('lets a script with nothing left to do exit at once while its background validation waits for an origin that never answers (default revalidationTimeout)', async () => {
    const stalled = held.length;
    const run = await runUntilExit(script, [`${base}/stall`, '{}'], EXIT_WITHIN);
    expect({ code: run.code, err: run.stderr }).toEqual({ code: 0, err: '' });
    expect(held.length).toBe(stalled + 1); // the validation was sent, and is still unanswered
  });
});

describe('holdProcess: false on an HttpAgent request', () => {
  it('lets the process exit while the request waits for an answer that never comes', async () => {
    const stalled = held.length;
    const run = await runUntilExit(plain, [`${base}/never`, 'no'], EXIT_WITHIN);
    expect({ code: run.code, err: run.stderr }).toEqual({ code: 0, err: '' });
    expect(held.length).toBe(stalled + 1);
  });

  it('is what lets it exit: the same request holding the process is still waiting when the test gives up', async () => {
    await expect(runUntilExit(plain, [`${base}/never`, 'hold'], 1500)).rejects.toThrow(/still running/);
  });
});
