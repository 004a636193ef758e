// Builds every package: ESM (.mjs) and CommonJS (.cjs) bundles with esbuild, then the
// declaration files with `tsc -b` (project references keep core -> client -> testing order).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['core', 'client', 'testing'];

for (const name of packages) {
  const dir = join(root, 'packages', name);
  rmSync(join(dir, 'dist'), { recursive: true, force: true });

  const entries = [{ in: join(dir, 'src/index.ts'), out: 'index' }];
  if (existsSync(join(dir, 'src/cli.ts'))) entries.push({ in: join(dir, 'src/cli.ts'), out: 'cli' });
  const common = {
    entryPoints: entries,
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    outdir: join(dir, 'dist'),
    logLevel: 'warning',
  };
  await build({ ...common, format: 'esm', outExtension: { '.js': '.mjs' } });
  await build({ ...common, format: 'cjs', outExtension: { '.js': '.cjs' } });
}

execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'tsconfig.json')], {
  stdio: 'inherit',
});
console.log(`built ${packages.map((p) => '@strand/' + p).join(', ')}`);
