/**
 * A script whose one request is done exits at once: the global pool's idle connection does not
 * keep the process alive (it used to, for the 30 s idle timeout), while a request in flight does.
 * Each case runs a small script in its own `node`, bundled from the sources as `pnpm build`
 * would, against a server that keeps idle connections open for a minute.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { bundleScript, runUntilExit } from '../../core/test/support/child-script';

const root = join(__dirname, '..');
/** How long a child that is done may take to exit: far below the 30 s idle timeout, generous for a loaded machine. */
const EXIT_WITHIN = 5000;
const DELAY = 1000;

const SCRIPT = `
import { get, getGlobalPool } from '@strand/client';
void (async () => {
  const response = await get(process.argv[2] as string);
  const body = await response.text();
  process.stdout.write(JSON.stringify({ code: response.code, body, stats: Object.values(getGlobalPool().stats()) }));
})();
`;

let server: http.Server;
let url: string;
let dir: string;
let script: string;

beforeAll(async () => {
  // Beside the package's node_modules, so the bundle's external dependencies resolve.
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
  dir = mkdtempSync(join(root, 'node_modules', '.cache', 'strand-exit-test-'));
  script = bundleScript(dir, 'get', SCRIPT, {
    aliases: { '@strand/client': join(root, 'src', 'index.ts') },
    external: ['tough-cookie', 'cli-progress'],
  });
  server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    const target = new URL(req.url ?? '/', 'http://x');
    setTimeout(() => res.end(`hello ${target.pathname}`), Number(target.searchParams.get('delay') ?? 0));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('a script using the module functions', () => {
  it('exits at once after `await get(url)`, its connection left idle in the global pool', async () => {
    const result = await runUntilExit(script, [`${url}/once`], EXIT_WITHIN);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ code: 200, body: 'hello /once', stats: [{ open: 1, idle: 1, inUse: 0, queued: 0 }] });
  });

  it('stays alive for a response the server delays, and prints it', async () => {
    const result = await runUntilExit(script, [`${url}/slow?delay=${DELAY}`], DELAY + EXIT_WITHIN);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ code: 200, body: 'hello /slow' });
  });
});
