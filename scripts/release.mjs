// `pnpm release`: builds the three packages, packs each with `pnpm pack` (which rewrites the
// `workspace:` ranges to the versions released together), and checks the tarballs as users get
// them (scripts/check-packed.mjs: publint --strict, are-the-types-wrong in node10, node16 CJS and
// ESM and bundler resolution, the contents and the manifest, then npm installs them into
// throwaway ESM, CommonJS and jest + ts-jest projects that run the README examples).
// With --publish, the very tarballs that were checked are published, then tagged.
//
//   pnpm release [--out DIR] [--no-build] [--no-projects] [--keep] [--publish [--dry-run] [--tag TAG]]
//
// The versions and changelogs come from changesets beforehand: `pnpm changeset` with each
// change, `pnpm version-packages` to release them (see docs/RELEASING.md).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkTarballs, tryInProjects } from './check-packed.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** In dependency order: a package is published after what it depends on. */
const PACKAGES = ['core', 'client', 'testing'];

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const known = new Set(['--out', '--no-build', '--no-projects', '--keep', '--publish', '--dry-run', '--tag']);
for (const [i, arg] of args.entries()) {
  if (arg.startsWith('--') && !known.has(arg)) fail(`unknown option ${arg}`);
  if (!arg.startsWith('--') && !['--out', '--tag'].includes(args[i - 1])) fail(`unexpected argument ${arg}`);
}

function fail(message) {
  console.error(`release: ${message}`);
  process.exit(1);
}

function step(message) {
  console.log(`\n--- ${message}`);
}

const started = Date.now();
if (!flag('--no-build')) {
  step('build');
  execFileSync('pnpm', ['build'], { cwd: ROOT, stdio: 'inherit' });
}

const manifests = PACKAGES.map((name) => JSON.parse(readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8')));
const versions = new Set(manifests.map((m) => m.version));
if (versions.size !== 1) fail(`the packages are released together at one version, found ${[...versions].join(', ')}`);

step('pack (pnpm pack)');
const out = option('--out') ? resolve(option('--out')) : mkdtempSync(join(tmpdir(), `strand-release-${[...versions][0]}-`));
mkdirSync(out, { recursive: true });
const tarballs = [];
for (const name of PACKAGES) {
  const result = JSON.parse(execFileSync('pnpm', ['pack', '--json', '--pack-destination', out], { cwd: join(ROOT, 'packages', name), encoding: 'utf8' }));
  tarballs.push(result.filename);
  console.log(`${result.name}@${result.version}: ${result.filename} (${result.files.length} files)`);
}

step('check the tarballs (publint --strict, attw, contents, manifest)');
const problems = await checkTarballs(tarballs);
if (problems.length > 0) fail(`${problems.length} problem(s):\n- ${problems.join('\n- ')}`);

if (!flag('--no-projects')) {
  step('install the tarballs into throwaway ESM, CommonJS and jest projects and run the README examples');
  await tryInProjects(tarballs, { keep: flag('--keep') });
}

if (flag('--publish')) {
  step(flag('--dry-run') ? 'publish (dry run)' : 'publish');
  const status = execFileSync('git', ['status', '--porcelain', '--', 'packages', 'pnpm-lock.yaml', 'package.json'], { cwd: ROOT, encoding: 'utf8' });
  if (status.trim() !== '' && !flag('--dry-run')) fail(`commit the release first (changes under packages/):\n${status}`);
  for (const [i, file] of tarballs.entries()) {
    const { name, version } = manifests[i];
    let published = '';
    try {
      published = execFileSync('npm', ['view', `${name}@${version}`, 'version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      // Not on the registry yet (npm view fails for an unknown package).
    }
    if (published === version) {
      console.log(`${name}@${version} is already published: skipped`);
      continue;
    }
    const publishArgs = ['publish', file, '--access', 'public'];
    if (option('--tag')) publishArgs.push('--tag', option('--tag'));
    if (flag('--dry-run')) publishArgs.push('--dry-run');
    execFileSync('npm', publishArgs, { cwd: ROOT, stdio: 'inherit' });
  }
  if (!flag('--dry-run')) execFileSync('pnpm', ['exec', 'changeset', 'tag'], { cwd: ROOT, stdio: 'inherit' });
}

console.log(`\nrelease: ${tarballs.length} tarballs in ${out} checked in ${((Date.now() - started) / 1000).toFixed(0)} s${flag('--publish') ? (flag('--dry-run') ? ', publish dry run done' : ', published') : ' (not published: add --publish)'}`);
