// Checks the packed tarballs of the three packages, as users get them.
//
//   node scripts/check-packed.mjs [--projects] [--keep] <tarball.tgz>...
//
// Always (fast, offline):
//   - publint --strict, with suggestions counted as failures;
//   - @arethetypeswrong/cli (profile strict): every entry point resolves to the right
//     declarations in node10, node16 from CommonJS, node16 from ESM and bundler resolution;
//   - the contents: exactly the shipped files (bundles, the bin, .d.ts + .d.mts pairs, README,
//     CHANGELOG, LICENSE), no source maps, no .tsbuildinfo, no sources;
//   - the manifest: no `workspace:` range left, ranges between the packages satisfied by the
//     versions packed together, the metadata a registry page needs.
// With --projects (needs the npm registry for third-party packages): installs the tarballs with
// npm into throwaway projects under the temp directory and runs what a user would run:
//   esm/   "type": "module": imports every package, type-checks the README scripts with
//          moduleResolution node16 and bundler, runs them against the example server (each must
//          exit by itself); a default import of a package must not type-check
//   cjs/   "type": "commonjs": requires every package, the README scripts as CommonJS,
//          type-checked with node16 and node10 resolution and run; the `strand` bin
//   jest/  jest + ts-jest with a plain CommonJS tsconfig: the README's jest examples
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { EXAMPLE_ORIGIN, writeExamples } from './readme-examples/blocks.mjs';
import { startExampleServer } from './readme-examples/server.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = (await import('node:module')).createRequire(import.meta.url);
const bin = (name) => join(ROOT, 'node_modules', '.bin', name);

/** What each package ships, besides dist/types/**: anything else in a tarball is an error. */
const SHIPPED = {
  '@strand/core': ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'dist/index.mjs', 'dist/index.cjs'],
  '@strand/client': ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'dist/index.mjs', 'dist/index.cjs', 'dist/cli.cjs'],
  '@strand/testing': ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'dist/index.mjs', 'dist/index.cjs'],
};
const ATTW_MODES = ['node10', 'node16-cjs', 'node16-esm', 'bundler'];

/** The files of a tarball with their sizes, and its package.json. */
export function readTarball(file) {
  const listing = execFileSync('tar', ['-tzvf', file], { encoding: 'utf8' });
  const files = [];
  for (const line of listing.trim().split('\n')) {
    const parts = line.trim().split(/\s+/);
    const path = parts.slice(5).join(' ');
    if (!path.endsWith('/')) files.push({ path: path.replace(/^package\//, ''), size: Number(parts[2]) });
  }
  const pkg = JSON.parse(execFileSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' }));
  return { files, pkg, packed: readFileSync(file).length, unpacked: files.reduce((n, f) => n + f.size, 0) };
}

function satisfiesCaret(range, version) {
  // The ranges between our packages are ^x.y.z (workspace:^) or an exact version (workspace:*).
  const m = /^(\^)?(\d+)\.(\d+)\.(\d+)$/.exec(range);
  const v = /^(\d+)\.(\d+)\.(\d+)(?:-.*)?$/.exec(version);
  if (!m || !v) return false;
  const [want, have] = [m.slice(2).map(Number), v.slice(1).map(Number)];
  if (!m[1]) return want.every((n, i) => n === have[i]);
  const cmp = have[0] - want[0] || have[1] - want[1] || have[2] - want[2];
  if (cmp < 0) return false;
  if (want[0] > 0) return have[0] === want[0];
  if (want[1] > 0) return have[0] === 0 && have[1] === want[1];
  return have[0] === 0 && have[1] === 0 && have[2] === want[2];
}

/** Static checks of the tarballs; returns a list of problems (empty when all is well). */
export async function checkTarballs(tarballs, log = console.log) {
  const problems = [];
  const packages = tarballs.map((file) => ({ file, ...readTarball(file) }));
  const versions = new Map(packages.map((p) => [p.pkg.name, p.pkg.version]));
  const rootLicense = readFileSync(join(ROOT, 'LICENSE'), 'utf8');

  for (const { file, files, pkg } of packages) {
    const name = pkg.name;
    const fail = (message) => problems.push(`${name}: ${message}`);
    const shipped = SHIPPED[name];
    if (!shipped) {
      fail(`not one of ${Object.keys(SHIPPED).join(', ')}`);
      continue;
    }

    // Contents.
    const paths = new Set(files.map((f) => f.path));
    for (const path of shipped) if (!paths.has(path)) fail(`${path} is missing from the tarball`);
    for (const { path } of files) {
      if (shipped.includes(path)) continue;
      if (/^dist\/types\/.+\.d\.ts$/.test(path)) {
        if (!paths.has(path.replace(/\.d\.ts$/, '.d.mts'))) fail(`${path} has no .d.mts twin for import`);
      } else if (/^dist\/types\/.+\.d\.mts$/.test(path)) {
        if (!paths.has(path.replace(/\.d\.mts$/, '.d.ts'))) fail(`${path} has no .d.ts twin for require`);
      } else {
        fail(`ships ${path}, which is not part of the package (source map, build info, source or stray file?)`);
      }
    }
    const license = execFileSync('tar', ['-xzOf', file, 'package/LICENSE'], { encoding: 'utf8' });
    if (license !== rootLicense) fail('LICENSE differs from the repository LICENSE');
    const changelog = execFileSync('tar', ['-xzOf', file, 'package/CHANGELOG.md'], { encoding: 'utf8' });
    if (!changelog.includes(`\n## ${pkg.version}\n`)) fail(`CHANGELOG.md has no "## ${pkg.version}" section`);
    if (pkg.bin) {
      for (const target of Object.values(pkg.bin)) {
        const text = execFileSync('tar', ['-xzOf', file, `package/${target.replace(/^\.\//, '')}`], { encoding: 'utf8' });
        if (!text.startsWith('#!/usr/bin/env node')) fail(`bin ${target} does not start with #!/usr/bin/env node`);
      }
    }

    // Manifest.
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const [dep, range] of Object.entries(pkg[field] ?? {})) {
        if (String(range).startsWith('workspace:')) fail(`${field}.${dep} is still "${range}" (pack with pnpm pack)`);
        else if (versions.has(dep) && !satisfiesCaret(range, versions.get(dep))) fail(`${field}.${dep} "${range}" does not accept ${versions.get(dep)}, the version packed with it`);
      }
    }
    for (const key of ['description', 'keywords', 'homepage', 'bugs', 'repository', 'license', 'type', 'engines', 'exports', 'types', 'main']) {
      if (pkg[key] === undefined) fail(`package.json has no "${key}"`);
    }
    if (pkg.publishConfig?.access !== 'public') fail('publishConfig.access is not "public"');
    if (pkg.repository?.directory !== `packages/${name.split('/')[1]}`) fail(`repository.directory is not packages/${name.split('/')[1]}`);
    if (name === '@strand/testing') {
      for (const dep of ['@strand/core', '@strand/client']) {
        if (!pkg.peerDependencies?.[dep]) fail(`${dep} is not a peer dependency`);
        if (pkg.dependencies?.[dep]) fail(`${dep} is a dependency (a version mismatch would install a second copy)`);
      }
    }
    if (new Set(packages.map((p) => p.pkg.version)).size !== 1) fail('the packages are released together (changesets "fixed"): their versions differ');

    // publint --strict, suggestions included.
    const bytes = readFileSync(file);
    const tarball = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const lint = await publint({ pack: { tarball }, strict: true, level: 'suggestion' });
    for (const message of lint.messages) fail(`publint (${message.type}): ${formatMessage(message, lint.pkg, { color: false })}`);

    // are the types wrong?
    const attw = spawnSync(bin('attw'), ['--format', 'json', '--no-definitely-typed', '--profile', 'strict', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    let analysis;
    try {
      analysis = JSON.parse(attw.stdout).analysis;
    } catch {
      fail(`attw did not run: ${attw.stderr || attw.stdout}`);
      continue;
    }
    for (const problem of analysis.problems ?? []) fail(`attw: ${problem.kind} ${JSON.stringify(problem)}`);
    const modes = [];
    for (const [subpath, entry] of Object.entries(analysis.entrypoints)) {
      if (subpath.endsWith('package.json')) continue;
      for (const mode of ATTW_MODES) {
        const resolution = entry.resolutions[mode]?.resolution;
        if (!resolution?.isTypeScript) fail(`attw ${mode}: ${subpath} does not resolve to declarations`);
        modes.push(`${mode} → ${resolution?.fileName.replace(`/node_modules/${name}/`, '') ?? 'nothing'}`);
      }
    }
    log(`${name}@${pkg.version}: attw ${analysis.problems?.length ? 'PROBLEMS' : 'green'} (${modes.join(', ')}); publint --strict: ${lint.messages.length === 0 ? 'clean' : `${lint.messages.length} messages`}`);
  }

  log('\n| package | packed | unpacked | files |\n| --- | ---: | ---: | ---: |');
  for (const p of packages) log(`| ${p.pkg.name} | ${(p.packed / 1024).toFixed(1)} KiB | ${(p.unpacked / 1024).toFixed(1)} KiB | ${p.files.length} |`);
  return problems;
}

/**
 * Runs a command without blocking this process (the example server runs in it); resolves to its
 * stdout; rejects with its output when it fails or outlives `timeout`.
 */
function sh(command, args, { cwd, timeout = 240_000 } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} in ${cwd}: ${error}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(out);
      else reject(new Error(`${command} ${args.join(' ')} in ${cwd}: ${signal ? `killed (${signal}) after ${timeout} ms` : `exit ${code}`}\n${out}\n${err}`));
    });
  });
}

/** Runs a program with node; resolves when it exits; rejects if it fails or has not exited within `within` ms. */
function runNode(file, cwd, within = 20_000) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [file], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} had not exited ${within} ms after it started (killed)\n${out}${err}`));
    }, within);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && err === '') resolvePromise(out);
      else reject(new Error(`${file} exited with ${code}\n--- stdout\n${out}\n--- stderr\n${err}`));
    });
  });
}

const TSCONFIG = (options, include) => JSON.stringify({ compilerOptions: { target: 'ES2022', strict: true, skipLibCheck: false, types: ['node'], ...options }, include }, null, 2);

/** The toolchain versions the repository itself uses, so the projects test the same ones. */
/** A jest test of @strand/testing's msw adapter as the README shows it. */
const MSW_JEST_TEST = `import { http, HttpResponse } from 'msw';
import { HTTPClient } from '@strand/client';
import { createMswAgent } from '@strand/testing';

test('msw handlers answer through the real stack under jest', async () => {
  const fake = createMswAgent([http.get('https://api.example.test/users/:id', ({ params }) => HttpResponse.json({ id: params['id'] }))]);
  const client = new HTTPClient({ agent: fake });
  expect(await (await client.get('https://api.example.test/users/7')).json()).toEqual({ id: '7' });
  fake.assertNoPending();
  await fake.close();
});
`;

function toolVersion(name) {
  return require(join(ROOT, 'node_modules', name, 'package.json')).version;
}

/** Installs the tarballs into throwaway projects and runs the README examples there. */
export async function tryInProjects(tarballs, { keep = false, log = console.log } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'strand-packed-'));
  log(`projects in ${dir}`);
  const server = await startExampleServer();
  try {
    // One install for the three projects below (they find node_modules in their parent).
    const devTools = {
      typescript: toolVersion('typescript'),
      '@types/node': toolVersion('@types/node'),
      jest: toolVersion('jest'),
      'ts-jest': toolVersion('ts-jest'),
      '@types/jest': toolVersion('@types/jest'),
      // @strand/testing's optional peer, for createMswAgent under jest (the version its tests use).
      msw: require(join(ROOT, 'packages', 'testing', 'node_modules', 'msw', 'package.json')).version,
    };
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'strand-packed-check', private: true }, null, 2));
    const started = Date.now();
    await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs.map((t) => resolve(t))], { cwd: dir });
    await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', '--save-dev', ...Object.entries(devTools).map(([n, v]) => `${n}@${v}`)], { cwd: dir });
    log(`npm install: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // One copy of each package: @strand/testing's peers are the installed core and client.
    const tree = JSON.parse(await sh('npm', ['ls', '--all', '--json'], { cwd: dir }));
    const copies = { '@strand/core': new Set(), '@strand/client': new Set() };
    (function walk(deps) {
      for (const [name, node] of Object.entries(deps ?? {})) {
        if (copies[name] && node.resolved) copies[name].add(node.resolved);
        walk(node.dependencies);
      }
    })(tree.dependencies);
    for (const [name, set] of Object.entries(copies)) if (set.size !== 1) throw new Error(`${name} is installed ${set.size} times: ${[...set].join(', ')}`);
    const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');

    // --- ESM
    const esm = join(dir, 'esm');
    mkdirSync(join(esm, 'examples'), { recursive: true });
    writeFileSync(join(esm, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(
      join(esm, 'smoke.mjs'),
      `import { HttpAgent, StrandError } from '@strand/core';
import { get, HTTPClient } from '@strand/client';
import { StubClient, createFakeAgent } from '@strand/testing';
for (const [name, value] of Object.entries({ HttpAgent, StrandError, get, HTTPClient, StubClient, createFakeAgent })) {
  if (typeof value !== 'function') throw new Error(name + ' is not exported');
}
const response = await get(process.argv[2] + '/health');
if ((await response.text()) !== 'ok') throw new Error('unexpected body');
console.log('esm ok');
`,
    );
    writeFileSync(
      join(esm, 'examples', 'no-default-export.ts'),
      `// An ESM importer sees ESM declarations: there is no default export to import.
// @ts-expect-error TS1192: Module has no default export.
import strand from '@strand/client';
void strand;
`,
    );
    const esmExamples = writeExamples(join(esm, 'examples'), { url: server.url, kinds: ['script'], module: 'esm', scriptExt: '.ts' });
    writeFileSync(join(esm, 'tsconfig.json'), TSCONFIG({ module: 'node16', moduleResolution: 'node16', outDir: 'build', rootDir: 'examples' }, ['examples']));
    writeFileSync(join(esm, 'tsconfig.bundler.json'), TSCONFIG({ module: 'preserve', moduleResolution: 'bundler', noEmit: true }, ['examples']));
    await sh(process.execPath, [join(esm, 'smoke.mjs'), server.url], { cwd: esm, timeout: 30_000 });
    log('esm: import of the three packages ok');
    await sh(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: esm });
    log(`esm: ${esmExamples.length} README scripts type-check with moduleResolution node16 (ESM)`);
    await sh(process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], { cwd: esm });
    log(`esm: ${esmExamples.length} README scripts type-check with moduleResolution bundler`);
    for (const example of esmExamples) await runNode(join('build', example.file.replace(/\.ts$/, '.js')), esm);
    log(`esm: ${esmExamples.length} README scripts ran and exited`);

    // --- CommonJS
    const cjs = join(dir, 'cjs');
    mkdirSync(join(cjs, 'examples'), { recursive: true });
    writeFileSync(join(cjs, 'package.json'), JSON.stringify({ type: 'commonjs' }));
    writeFileSync(
      join(cjs, 'smoke.cjs'),
      `const { HttpAgent, StrandError } = require('@strand/core');
const { get, HTTPClient } = require('@strand/client');
const { StubClient, createFakeAgent } = require('@strand/testing');
for (const [name, value] of Object.entries({ HttpAgent, StrandError, get, HTTPClient, StubClient, createFakeAgent })) {
  if (typeof value !== 'function') throw new Error(name + ' is not exported');
}
get(process.argv[2] + '/health').then(async (response) => {
  if ((await response.text()) !== 'ok') throw new Error('unexpected body');
  console.log('cjs ok');
});
`,
    );
    const cjsExamples = writeExamples(join(cjs, 'examples'), { url: server.url, kinds: ['script'], module: 'cjs', scriptExt: '.ts' });
    writeFileSync(join(cjs, 'tsconfig.json'), TSCONFIG({ module: 'node16', moduleResolution: 'node16', outDir: 'build', rootDir: 'examples' }, ['examples']));
    writeFileSync(join(cjs, 'tsconfig.node10.json'), TSCONFIG({ module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true, noEmit: true }, ['examples']));
    await sh(process.execPath, [join(cjs, 'smoke.cjs'), server.url], { cwd: cjs, timeout: 30_000 });
    log('cjs: require of the three packages ok');
    await sh(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: cjs });
    log(`cjs: ${cjsExamples.length} README scripts type-check with moduleResolution node16 (CommonJS)`);
    await sh(process.execPath, [tsc, '-p', 'tsconfig.node10.json'], { cwd: cjs });
    log(`cjs: ${cjsExamples.length} README scripts type-check with moduleResolution node10`);
    for (const example of cjsExamples) await runNode(join('build', example.file.replace(/\.ts$/, '.js')), cjs);
    log(`cjs: ${cjsExamples.length} README scripts ran and exited`);
    // The bin, as the README shows it (from the project that installed it).
    const help = await sh('npx', ['--no-install', 'strand', '--help'], { cwd: dir });
    if (!/strand/.test(help)) throw new Error(`strand --help printed no usage:\n${help}`);
    const fetched = await sh('npx', ['--no-install', 'strand', '-H', 'Accept: application/json', `${server.url}/items`], { cwd: dir, timeout: 30_000 });
    if (!fetched.includes('"items"')) throw new Error(`strand ${EXAMPLE_ORIGIN}/items printed:\n${fetched}`);
    log('cjs: the strand bin runs (--help, and a fetch)');

    // --- jest + ts-jest
    const jest = join(dir, 'jest');
    mkdirSync(jest, { recursive: true });
    writeFileSync(join(jest, 'package.json'), JSON.stringify({ type: 'commonjs' }));
    writeFileSync(join(jest, 'jest.config.js'), `module.exports = { preset: 'ts-jest', testEnvironment: 'node', rootDir: __dirname };\n`);
    writeFileSync(join(jest, 'tsconfig.json'), TSCONFIG({ module: 'commonjs', esModuleInterop: true, types: ['node', 'jest'], noEmit: true }, ['*.ts']));
    const jestExamples = writeExamples(jest, { url: server.url, kinds: ['jest', 'dts'], scriptExt: '.ts' });
    // createMswAgent loads msw on first use: under jest's CommonJS runtime that must be a require.
    writeFileSync(join(jest, 'msw-agent.test.ts'), MSW_JEST_TEST);
    await sh(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: jest });
    const tests = jestExamples.filter((e) => e.kind === 'jest').length + 1;
    await sh(process.execPath, [join(dir, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--colors=false'], { cwd: jest, timeout: 300_000 });
    log(`jest: ${tests} test files (the README examples and the msw adapter) type-check and pass under jest + ts-jest`);
  } finally {
    await server.close();
    if (keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const projects = args.includes('--projects');
  const keep = args.includes('--keep');
  let tarballs = args.filter((a) => !a.startsWith('--'));
  if (tarballs.length === 1 && !tarballs[0].endsWith('.tgz')) tarballs = readdirSync(tarballs[0]).filter((f) => f.endsWith('.tgz')).map((f) => join(tarballs[0], f));
  if (tarballs.length === 0) {
    console.error('usage: node scripts/check-packed.mjs [--projects] [--keep] <tarball.tgz...> | <directory>');
    process.exit(2);
  }
  const problems = await checkTarballs(tarballs);
  if (problems.length > 0) {
    console.error(`\n${problems.length} problem(s) in ${tarballs.map((t) => basename(t)).join(', ')}:\n- ${problems.join('\n- ')}`);
    process.exit(1);
  }
  if (projects) await tryInProjects(tarballs, { keep });
}
