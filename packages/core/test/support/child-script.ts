/**
 * Runs a small script in a child `node` process, for tests about what keeps a process alive.
 * The script is TypeScript importing `@strand/core`, bundled with esbuild from the sources (as
 * `pnpm build` bundles them), so it tests the working tree, not a stale `dist`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

const CORE_SOURCES = join(__dirname, '..', '..', 'src', 'index.ts');

/**
 * Bundles `source` into `outdir/<name>.cjs` (CommonJS, node20) and returns its path. `aliases`
 * adds import names to bundle from given files; `@strand/core` is always its sources.
 * `external` names packages left to `require` at run time (they must resolve from `outdir`).
 */
export function bundleScript(outdir: string, name: string, source: string, options: { aliases?: Record<string, string>; external?: string[] } = {}): string {
  const outfile = join(outdir, `${name}.cjs`);
  buildSync({
    stdin: { contents: source, loader: 'ts', resolveDir: outdir, sourcefile: `${name}.ts` },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: options.external ?? [],
    alias: { '@strand/core': CORE_SOURCES, ...options.aliases },
    logLevel: 'error',
  });
  return outfile;
}

/** How a child run ended. */
export interface ChildRun {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit (for messages only: never assert on it). */
  ms: number;
}

/**
 * Runs `node script ...args` and resolves when the child exits by itself. Rejects, after
 * killing it, when it is still running after `withinMs`: the bounded wait that makes "the script
 * exits at once" a test that fails instead of one that hangs.
 */
export function runUntilExit(script: string, args: string[], withinMs: number, env: NodeJS.ProcessEnv = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const output = (): { stdout: string; stderr: string } => ({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      const { stdout, stderr } = output();
      reject(new Error(`the child was still running ${withinMs} ms after it started (killed); stdout: ${JSON.stringify(stdout)}, stderr: ${JSON.stringify(stderr)}`));
    }, withinMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, ...output(), ms: Date.now() - started });
    });
  });
}
