// `pnpm version-packages`: `changeset version` (versions and CHANGELOG.md files from the pending
// changesets), then the lockfile.
//
// One workaround: changesets bumps a package *major* whenever a peer dependency of it gets a
// minor or major release, even inside a "fixed" group (at 0.x that turns a 0.2.0 into 1.0.0 for
// all three packages). Our peer edges (@strand/testing -> core, client) carry no versioning
// information for changesets: the three packages are fixed at one version, and `pnpm pack`
// writes the peer ranges from the versions released together (`workspace:^` -> ^X.Y.Z). So the
// peer dependencies are hidden from changesets while it runs, and put back as they were.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['core', 'client', 'testing'];

const saved = new Map();
for (const name of PACKAGES) {
  const file = join(ROOT, 'packages', name, 'package.json');
  const text = readFileSync(file, 'utf8');
  const pkg = JSON.parse(text);
  const internal = Object.keys(pkg.peerDependencies ?? {}).filter((dep) => dep.startsWith('@strand/'));
  if (internal.length === 0) continue;
  saved.set(file, { text, peers: pkg.peerDependencies });
  const peers = Object.fromEntries(Object.entries(pkg.peerDependencies).filter(([dep]) => !dep.startsWith('@strand/')));
  if (Object.keys(peers).length === 0) delete pkg.peerDependencies;
  else pkg.peerDependencies = peers;
  writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
}

try {
  execFileSync('pnpm', ['exec', 'changeset', 'version'], { cwd: ROOT, stdio: 'inherit' });
} finally {
  for (const [file, { text, peers }] of saved) {
    // Keep what changesets changed (the version), with the original key order and peers.
    const original = JSON.parse(text);
    const changed = JSON.parse(readFileSync(file, 'utf8'));
    const merged = {};
    for (const key of Object.keys(original)) merged[key] = key === 'peerDependencies' ? peers : (changed[key] ?? original[key]);
    for (const key of Object.keys(changed)) if (!(key in merged)) merged[key] = changed[key];
    writeFileSync(file, JSON.stringify(merged, null, 2) + '\n');
  }
}

execFileSync('pnpm', ['install', '--lockfile-only'], { cwd: ROOT, stdio: 'inherit' });
