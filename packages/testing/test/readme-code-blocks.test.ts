/**
 * Every TypeScript block of the READMEs (README.md, packages/*\/README.md) that is not marked as
 * a fragment type-checks under the repository's strict settings and runs, against the sources:
 * scripts as their own `node` process against the example server (each must exit by itself),
 * jest blocks as tests of this file. The blocks are read and classified by
 * scripts/readme-examples/blocks.mjs, which CI also uses to run them against the packed
 * tarballs (scripts/check-packed.mjs). A README that gains a block using names it never defines
 * fails here until the block is completed or marked `<!-- fragment -->`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import * as ts from 'typescript';
import { runUntilExit } from '../../core/test/support/child-script';

const repo = join(__dirname, '..', '..', '..');
const generator = join(repo, 'scripts', 'readme-examples', 'blocks.mjs');
/** How long a script may take to finish and exit: generous for a loaded machine. */
const EXIT_WITHIN = 20_000;

interface Example {
  name: string;
  kind: 'script' | 'jest' | 'dts';
  readme: string;
  line: number;
  section: string;
  file: string;
}

function generate(out: string, kinds: string, url = ''): Example[] {
  const args = [generator, 'write', '--out', out, '--kinds', kinds, '--script-ext', '.mts'];
  if (url) args.push('--url', url);
  return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })) as Example[];
}

// The jest blocks become tests of this file, so they are written while jest collects the tests.
const testsDir = mkdtempSync(join(tmpdir(), 'strand-readme-tests-'));
const testExamples = generate(testsDir, 'jest,dts');
// Scripts are written again in beforeAll, pointing at the example server; this list names the tests.
const scriptsDir = mkdtempSync(join(tmpdir(), 'strand-readme-scripts-'));
const scriptExamples = generate(scriptsDir, 'script');
// Bundles go beside the client's node_modules, so their external dependencies resolve.
const cacheDir = join(repo, 'packages', 'client', 'node_modules', '.cache');

let server: ChildProcess;
let serverUrl: string;
let bundleDir: string;

beforeAll(async () => {
  server = spawn(process.execPath, [join(repo, 'scripts', 'readme-examples', 'server.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
  serverUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('\n')) resolve(out.trim());
    });
    server.on('error', reject);
    server.on('exit', (code) => reject(new Error(`the example server exited (${code})`)));
  });
  generate(scriptsDir, 'script', serverUrl);
  mkdirSync(cacheDir, { recursive: true });
  bundleDir = mkdtempSync(join(cacheDir, 'strand-readme-'));
});

afterAll(() => {
  server?.stdin?.end();
  server?.kill();
  for (const dir of [testsDir, scriptsDir, bundleDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Type-checks the files with the options of tsconfig.check.json (strict, paths to the sources). */
function typeErrors(files: string[], types: string[], host: ts.CompilerHost): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(repo, 'tsconfig.check.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!config) throw new Error('cannot read tsconfig.check.json');
  const options: ts.CompilerOptions = { ...config.options, noEmit: true, types, typeRoots: [join(repo, 'node_modules', '@types')] };
  const program = ts.createProgram(files, options, host);
  const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`${file} is not in the program`);
    diagnostics.push(...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source));
  }
  return diagnostics.map((d) => ts.formatDiagnostic(d, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => repo, getNewLine: () => '\n' }).trim());
}

function cachingHost(): ts.CompilerHost {
  const host = ts.createCompilerHost({});
  const cache = new Map<string, ts.SourceFile | undefined>();
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    const key = `${fileName}\0${typeof languageVersion === 'object' ? languageVersion.impliedNodeFormat : ''}`;
    if (!cache.has(key)) cache.set(key, getSourceFile(fileName, languageVersion, ...rest));
    return cache.get(key);
  };
  return host;
}

describe('the README examples type-check', () => {
  const host = cachingHost();

  it('scripts, under strict settings with Node types only', () => {
    const files = scriptExamples.map((e) => join(scriptsDir, e.file));
    expect(typeErrors(files, ['node'], host)).toEqual([]);
  }, 120_000);

  it('jest examples, with the matchers declared as the testing README says', () => {
    const files = testExamples.map((e) => join(testsDir, e.file));
    expect(typeErrors(files, ['node', 'jest'], host)).toEqual([]);
  }, 120_000);
});

const clientManifest = JSON.parse(readFileSync(join(repo, 'packages', 'client', 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
const clientDependencies = [...Object.keys(clientManifest.dependencies ?? {}), ...Object.keys(clientManifest.optionalDependencies ?? {})].filter((name) => !name.startsWith('@strand/'));

describe('the README scripts run against the example server and exit by themselves', () => {
  it.each(scriptExamples.map((e) => [`${e.readme}:${e.line} (${e.section})`, e] as const))('%s', async (_title, example) => {
    const out = join(bundleDir, example.name + '.mjs');
    buildSync({
      entryPoints: [join(scriptsDir, example.file)],
      outfile: out,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      // The client's npm dependencies stay packages (resolved from the client's node_modules), as for a user.
      external: clientDependencies,
      alias: Object.fromEntries(['core', 'client', 'testing'].map((p) => [`@strand/${p}`, join(repo, 'packages', p, 'src', 'index.ts')])),
      logLevel: 'error',
    });
    const result = await runUntilExit(out, [], EXIT_WITHIN);
    if (result.code !== 0 || result.stderr !== '') {
      throw new Error(`${example.readme}:${example.line} exited with ${result.code}\n--- stderr\n${result.stderr}\n--- stdout\n${result.stdout}\n--- source\n${readFileSync(join(scriptsDir, example.file), 'utf8')}`);
    }
  }, EXIT_WITHIN + 15_000);
});

for (const example of testExamples.filter((e) => e.kind === 'jest')) {
  describe(`${example.readme}:${example.line} (${example.section})`, () => {
    // The block's test(...) calls register here, as if they were written in this describe.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(join(testsDir, example.file));
  });
}
