import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

const root = join(__dirname, '..', '..');
const outdir = join(root, 'node_modules', '.cache', 'strand-cli-test');

/**
 * Bundles the real entry point `src/cli.ts` the way `pnpm build` does (CommonJS, node20,
 * dependencies external), with `@strand/core` taken from its sources, and returns its path.
 */
export function buildCli(): string {
  mkdirSync(outdir, { recursive: true });
  buildSync({
    entryPoints: [join(root, 'src', 'cli.ts')],
    outfile: join(outdir, 'cli.cjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['tough-cookie', 'cli-progress'],
    alias: { '@strand/core': join(root, '..', 'core', 'src', 'index.ts') },
    logLevel: 'error',
  });
  return join(outdir, 'cli.cjs');
}

/** What a run of the command produced. */
export interface CliResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs `node <cli> ...args` in `cwd`, feeding `stdin`, and collects its output. */
export function runCli(cli: string, args: string[], options: { stdin?: string; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: options.cwd ?? root, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.end(options.stdin ?? '');
  });
}
