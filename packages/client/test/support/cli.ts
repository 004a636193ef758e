import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { buildSync } from 'esbuild';
import { main } from '../../src/cli/main';

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

/** A `node --require` script that answers DNS without a network: `*.invalid` fails, `*.hang.test` never answers, other `*.test` are 127.0.0.1. */
export const dnsPreload = join(__dirname, 'dns-preload.cjs');

/** Options of {@link runCli}. */
export interface RunOptions {
  stdin?: string;
  cwd?: string;
  /** Added to the environment (HOME for ~/.netrc…). */
  env?: Record<string, string>;
  /** Scripts to load first with `node --require`. */
  require?: string[];
  /** Kill the command after this many ms (default 20 000); a test never waits for ever. */
  killAfter?: number;
}

/** Runs `node <cli> ...args` in `cwd`, feeding `stdin`, and collects its output. The resolver is {@link dnsPreload}'s. */
export function runCli(cli: string, args: string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const preloads = [dnsPreload, ...(options.require ?? [])].flatMap((file) => ['--require', file]);
    const child = spawn(process.execPath, [...preloads, cli, ...args], { cwd: options.cwd ?? root, env: { ...withoutProxies(process.env), ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfter ?? 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** The test process's environment without proxy variables: a child strand sees only the proxies a test gives it. */
function withoutProxies(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) if (!/^(?:http|https|all|no)_proxy$/i.test(name)) kept[name] = value;
  return kept;
}

/** Collects what the command writes to a stream, as text. */
class TextSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

/** Runs the command's `main` in this process (no child, no bundle), with empty stdin: its exit code and what it wrote. */
export async function runMain(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new TextSink();
  const stderr = new TextSink();
  const code = await main(argv, { stdin: Readable.from([]), stdout, stderr, stderrIsTTY: false });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
