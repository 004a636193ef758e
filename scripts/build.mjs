// Builds every package into its dist/, which then holds exactly what the package ships:
//
//   dist/index.mjs, dist/index.cjs     esbuild bundles of src/index.ts (ESM for `import`, CommonJS
//                                      for `require`); unminified, no source maps (see docs/RELEASING.md)
//   dist/cli.cjs                       the `strand` bin of @strand/client (CommonJS only: a bin is
//                                      run, never imported, so an ESM copy would be dead weight)
//   dist/types/**/*.d.ts               declarations for `require` (the packages are "type": "commonjs",
//                                      so TypeScript reads a .d.ts as CommonJS)
//   dist/types/**/*.d.mts              the same declarations for `import`, relative specifiers
//                                      rewritten from .js to .mjs so they stay ESM all the way down
//
// Declarations come from `tsc -b` (project references keep core -> client -> testing order).
// Only the declaration files reachable from index.d.ts are kept (the CLI's are not part of the
// API), and the .tsbuildinfo is removed.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['core', 'client', 'testing'];

for (const name of packages) {
  const dir = join(root, 'packages', name);
  rmSync(join(dir, 'dist'), { recursive: true, force: true });

  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: false,
    outdir: join(dir, 'dist'),
    logLevel: 'warning',
  };
  const index = [{ in: join(dir, 'src/index.ts'), out: 'index' }];
  const cjsEntries = [...index];
  if (existsSync(join(dir, 'src/cli.ts'))) cjsEntries.push({ in: join(dir, 'src/cli.ts'), out: 'cli' });
  await build({ ...common, entryPoints: index, format: 'esm', outExtension: { '.js': '.mjs' } });
  await build({ ...common, entryPoints: cjsEntries, format: 'cjs', outExtension: { '.js': '.cjs' } });
}

execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'tsconfig.json')], {
  stdio: 'inherit',
});

/** Relative module specifiers of a declaration file (`from './x.js'`, `import('./x.js')`). */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*?)\.js\2/g;

for (const name of packages) {
  const types = join(root, 'packages', name, 'dist', 'types');
  // Which declaration files the public entry point reaches.
  const keep = new Set();
  const queue = [join(types, 'index.d.ts')];
  while (queue.length > 0) {
    const file = queue.pop();
    if (keep.has(file)) continue;
    if (!existsSync(file)) throw new Error(`build: ${relative(root, file)} is imported by a declaration file but was not emitted`);
    keep.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      queue.push(resolve(dirname(file), `${match[3]}.d.ts`));
    }
  }
  for (const entry of readdirSync(types, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    if (!keep.has(file)) rmSync(file);
  }
  removeEmptyDirectories(types);
  for (const file of keep) {
    const esm = readFileSync(file, 'utf8').replace(SPECIFIER, (_all, lead, quote, path) => `${lead}${quote}${path}.mjs${quote}`);
    writeFileSync(file.replace(/\.d\.ts$/, '.d.mts'), esm);
  }
}

function removeEmptyDirectories(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeEmptyDirectories(join(dir, entry.name));
  }
  if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
}

console.log(`built ${packages.map((p) => '@strand/' + p).join(', ')}`);
