// The TypeScript code blocks of the READMEs (README.md and packages/*/README.md), as runnable
// files. Every ```ts block is one of:
//
//   a script      (the default)  a complete program: imports, top-level await; it must type-check
//                                under `strict`, run against the example server and exit by itself
//   a jest test   (the default for a block that calls test(...)/it(...)/describe(...)) a complete
//                                jest test file, type-checked and run by jest
//   <!-- example: jest-setup -->  imports and setup put in front of every jest block that follows
//                                in the same section (the block is not run on its own)
//   <!-- example: dts -->        a declaration file that the jest examples' project includes
//   <!-- fragment -->            not run: it uses names defined elsewhere; the comment may say why,
//   <!-- fragment: why -->       as in <!-- fragment: `agent` and `url` as above -->
//
// A marker is an HTML comment (invisible on GitHub and npm) on the last non-blank line before the
// fence. Examples talk to http://127.0.0.1:8080; the files written here point at `--url` instead.
//
// Used by the repository's jest suite (packages/testing/test/readme-code-blocks.test.ts) against
// the sources, and by scripts/check-packed.mjs against the packed tarballs.
//
//   node scripts/readme-examples/blocks.mjs list
//   node scripts/readme-examples/blocks.mjs write --out DIR [--url URL] [--kinds script,jest,dts] [--module esm|cjs] [--script-ext .ts]
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const EXAMPLE_ORIGIN = 'http://127.0.0.1:8080';

const KINDS = new Set(['script', 'jest', 'jest-setup', 'dts', 'fragment']);
const CODE_LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs', 'cjs', 'tsx', 'jsx']);

/** The README files: the repository's and each package's. */
export function readmeFiles(root = ROOT) {
  const files = [join(root, 'README.md')];
  for (const name of readdirSync(join(root, 'packages')).sort()) {
    const file = join(root, 'packages', name, 'README.md');
    if (existsSync(file)) files.push(file);
  }
  return files;
}

/**
 * Every fenced code block of a code language in the READMEs, with its kind. Throws for a block
 * that cannot be classified (an unknown marker, a JavaScript block, a marker on a non-code block).
 */
export function readmeBlocks(root = ROOT) {
  const blocks = [];
  for (const file of readmeFiles(root)) {
    const readme = relative(root, file);
    const slug = readme === 'README.md' ? 'root' : readme.split('/')[1];
    const lines = readFileSync(file, 'utf8').split('\n');
    let section = '';
    let marker = null; // { kind, reason, line }
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const heading = /^#{1,6}\s+(.*)$/.exec(line);
      if (heading) {
        section = heading[1].trim();
        marker = null;
        continue;
      }
      const comment = /^<!--\s*(example:\s*([\w-]+)|fragment)(?::?\s*(.*?))?\s*-->\s*$/.exec(line.trim());
      if (comment) {
        const kind = comment[2] ?? 'fragment';
        if (!KINDS.has(kind)) throw new Error(`${readme}:${i + 1}: unknown example kind "${kind}" (expected one of ${[...KINDS].join(', ')})`);
        marker = { kind, reason: comment[3] ?? '', line: i + 1 };
        continue;
      }
      const fence = /^```\s*([\w-]*)(.*)$/.exec(line);
      if (!fence) {
        if (line.trim() !== '') marker = null;
        continue;
      }
      const language = fence[1].toLowerCase();
      const start = i + 1;
      const body = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
      if (i >= lines.length) throw new Error(`${readme}:${start}: the code block never ends`);
      const code = body.join('\n') + '\n';
      if (!CODE_LANGUAGES.has(language)) {
        if (marker) throw new Error(`${readme}:${marker.line}: an example marker on a \`\`\`${language} block (only TypeScript blocks are examples)`);
        continue;
      }
      if (language !== 'ts' && language !== 'typescript' && marker?.kind !== 'fragment') {
        throw new Error(`${readme}:${start}: a \`\`\`${language} block: write examples in TypeScript (\`\`\`ts) or mark the block <!-- fragment -->`);
      }
      const kind = marker?.kind ?? (/^\s*(test|it|describe)(\.\w+)?\(/m.test(code) ? 'jest' : 'script');
      blocks.push({ readme, line: start, section, kind, reason: marker?.reason ?? '', code, name: `${slug}-line${start}` });
      marker = null;
    }
  }
  // Setup blocks go in front of the jest blocks after them in their section.
  for (const [index, block] of blocks.entries()) {
    if (block.kind !== 'jest') continue;
    block.setup = [];
    for (let j = index - 1; j >= 0; j--) {
      const before = blocks[j];
      if (before.readme !== block.readme || before.section !== block.section) break;
      if (before.kind === 'jest-setup') block.setup.unshift(before.code);
    }
  }
  return blocks;
}

/** Points the example's URLs at `url` (the example server) instead of 127.0.0.1:8080. */
export function withUrl(code, url) {
  return url ? code.split(EXAMPLE_ORIGIN).join(url.replace(/\/$/, '')) : code;
}

/**
 * A script block as a CommonJS program: its imports stay at the top, the rest (which may use
 * top-level await) runs in an async function whose failure sets the exit code.
 */
export function asCommonJS(code) {
  const lines = code.split('\n');
  const imports = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '' || line.startsWith('//')) {
      imports.push(line);
      i++;
      continue;
    }
    if (!/^import\b/.test(line)) break;
    // An import may span lines: up to the one naming the module.
    while (i < lines.length && !/from\s+['"][^'"]+['"];?\s*$|^import\s+['"][^'"]+['"];?\s*$/.test(lines[i])) imports.push(lines[i++]);
    imports.push(lines[i++]);
  }
  const body = lines.slice(i).map((line) => (line === '' ? line : `  ${line}`));
  return [
    ...imports,
    'async function main(): Promise<void> {',
    ...body,
    '}',
    'main().catch((error: unknown) => {',
    '  console.error(error);',
    '  process.exitCode = 1;',
    '});',
    '',
  ].join('\n');
}

/**
 * Writes the blocks of the given kinds into `out` and returns the manifest (also written as
 * manifest.json): scripts as `<name><scriptExt>` (ESM as written, or CommonJS with `module: 'cjs'`),
 * jest blocks as `<name>.test.ts` with their setup in front, declaration blocks as `<name>.d.ts`.
 */
export function writeExamples(out, { url = '', kinds = ['script', 'jest', 'dts'], module = 'esm', scriptExt = '.mts', root = ROOT } = {}) {
  mkdirSync(out, { recursive: true });
  const manifest = [];
  for (const block of readmeBlocks(root)) {
    if (!kinds.includes(block.kind)) continue;
    const header = `// ${block.readme}:${block.line} (${block.section}), generated by scripts/readme-examples/blocks.mjs\n`;
    let file;
    let text;
    if (block.kind === 'script') {
      file = `${block.name}${scriptExt}`;
      const code = withUrl(block.code, url);
      text = header + (module === 'cjs' ? asCommonJS(code) : code);
    } else if (block.kind === 'jest') {
      file = `${block.name}.test.ts`;
      text = header + [...block.setup, block.code].map((code) => withUrl(code, url)).join('\n');
    } else if (block.kind === 'dts') {
      file = `${block.name}.d.ts`;
      text = header + block.code;
    } else {
      continue;
    }
    writeFileSync(join(out, file), text);
    manifest.push({ name: block.name, kind: block.kind, readme: block.readme, line: block.line, section: block.section, file });
  }
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (!key?.startsWith('--') || value === undefined) throw new Error(`usage: blocks.mjs write --out DIR [--url URL] [--kinds a,b] [--module esm|cjs] [--script-ext .mts]`);
    options[key.slice(2)] = value;
  }
  return options;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'list') {
    for (const b of readmeBlocks()) console.log(`${b.readme}:${b.line}\t${b.kind}\t${b.section}${b.reason ? `\t(${b.reason})` : ''}`);
  } else if (command === 'write') {
    const o = parseArgs(rest);
    if (!o.out) throw new Error('write: --out DIR is required');
    const manifest = writeExamples(o.out, {
      url: o.url ?? '',
      kinds: (o.kinds ?? 'script,jest,dts').split(','),
      module: o.module ?? 'esm',
      scriptExt: o['script-ext'] ?? '.mts',
    });
    process.stdout.write(JSON.stringify(manifest) + '\n');
  } else {
    console.error('usage: node scripts/readme-examples/blocks.mjs list | write --out DIR [...]');
    process.exitCode = 2;
  }
}
