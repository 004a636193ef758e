// How fast is the in-memory fake agent? Sends requests through createFakeAgent (the real
// HttpAgent, parser and pool over in-memory connections to Node's http.Server) and prints req/s.
// Not a test: run it by hand with `node packages/testing/bench/fake-agent.mjs [requests]`.
// It bundles the TypeScript sources with esbuild into a temporary file first (no build needed).
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const packages = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = mkdtempSync(join(tmpdir(), 'strand-bench-'));
const outFile = join(outDir, 'testing.mjs');

await build({
  stdin: {
    contents: "export { createFakeAgent } from './testing/src/index.ts'; export { BytesProducer } from './core/src/index.ts';",
    resolveDir: packages,
    loader: 'ts',
  },
  outfile: outFile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  logLevel: 'warning',
  // Use the sources of the other packages, never a stale dist/.
  plugins: [
    {
      name: 'strand-sources',
      setup(b) {
        b.onResolve({ filter: /^@strand\/(core|client)$/ }, (args) => ({ path: join(packages, args.path.slice('@strand/'.length), 'src/index.ts') }));
      },
    },
  ],
});
const { createFakeAgent, BytesProducer } = await import(pathToFileURL(outFile).href);
rmSync(outDir, { recursive: true, force: true });

const total = Number(process.argv[2] ?? 1000);
const rounds = 5;
const body = JSON.stringify({ id: 1, name: 'strand', tags: ['a', 'b', 'c'] });

async function run(label, concurrency) {
  const fake = createFakeAgent([
    { method: 'GET', path: '/items/:id', reply: { json: { id: 1, name: 'strand' } } },
    { method: 'POST', path: '/items', reply: { status: 201, body } },
  ]);
  const one = async (i) => {
    const response =
      i % 2 === 0
        ? await fake.request('GET', `http://bench.test/items/${i}`)
        : await fake.request('POST', 'http://bench.test/items', { 'content-type': 'application/json' }, new BytesProducer(body));
    for await (const chunk of response) void chunk;
  };
  const batch = async (count) => {
    let next = 0;
    const worker = async () => {
      while (next < count) await one(next++);
    };
    const start = process.hrtime.bigint();
    await Promise.all(Array.from({ length: concurrency }, worker));
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const cold = await batch(total);
  const warm = [];
  for (let r = 0; r < rounds; r++) warm.push(await batch(total));
  warm.sort((a, b) => a - b);
  const median = warm[Math.floor(rounds / 2)];
  await fake.close();
  console.log(
    `${label}: ${total} requests: first batch ${cold.toFixed(0)} ms, then median ${median.toFixed(0)} ms ` +
      `(${Math.round((total / median) * 1000)} req/s; best ${warm[0].toFixed(0)} ms) over ${fake.connectionsOpened} connection(s)`,
  );
}

await run('sequential   ', 1);
await run('10 concurrent', 10);
