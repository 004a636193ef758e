// The cost and the gain of core's CachingAgent, on loopback (reporting only, like the rest of bench/):
//
//   network      HttpAgent GET of a 1 KiB response, read whole                        req/s, client CPU µs/req
//   fresh hit    the same request answered by CachingAgent from a MemoryCacheStore    req/s, ratio to network
//   full 64 KiB  HttpAgent GET of a 64 KiB response                                   req/s, client CPU µs/req
//   304          CachingAgent revalidating a stored 64 KiB response (max-age=0, ETag:
//                a conditional request, a 304, the stored body served)                req/s, ratio to full 64 KiB
//   memory       --urls distinct URLs (default 100 000) through one CachingAgent whose store is bounded
//                at 16 MiB: the store's bytes and the heap after a GC
//
// The origin is a child process (node:http), so the CPU figures are the client's alone. Each pair
// (network / fresh hit, full 64 KiB / 304) is measured in --rounds alternating rounds of
// --duration ms each; the table gives medians and the ratio of the medians.
//
//   pnpm build && node --expose-gc bench/cache.mjs [--duration MS] [--rounds N] [--urls N]
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));

if ('serve' in args) {
  const small = Buffer.alloc(1024, 'a');
  const large = Buffer.alloc(64 * 1024, 'b');
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/validate') {
      if (req.headers['if-none-match'] === '"v"') return res.writeHead(304, { ETag: '"v"', 'Cache-Control': 'max-age=0' }).end();
      return res.writeHead(200, { ETag: '"v"', 'Cache-Control': 'max-age=0', 'Content-Length': large.length }).end(large);
    }
    const body = req.url === '/large' ? large : small;
    res.writeHead(200, { 'Cache-Control': 'max-age=3600', 'Content-Length': body.length }).end(body);
  });
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
  process.stdin.on('end', () => process.exit(0)).resume();
} else {
  await main();
}

async function main() {
  const { CachingAgent, HTTPConnectionPool, HttpAgent, MemoryCacheStore, readBody } = await import('@strand/core');
  const duration = Number(args.duration ?? 2000);
  const rounds = Number(args.rounds ?? 3);
  const urls = Number(args.urls ?? 100_000);

  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', '1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (line) => resolve(JSON.parse(String(line)).port));
    child.once('exit', (code) => reject(new Error(`origin exited with ${code}`)));
  });
  const base = `http://127.0.0.1:${port}`;

  /** Requests `path` through `agent` for `duration` ms: req/s and the client's CPU µs per request. */
  async function rate(agent, path) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const end = started + duration;
    let n = 0;
    while (performance.now() < end) {
      await readBody(await agent.request('GET', base + path));
      n++;
    }
    const used = process.cpuUsage(cpu);
    return { perSecond: n / ((performance.now() - started) / 1000), cpu: (used.user + used.system) / n };
  }

  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const line = (name, runs) => {
    const perSecond = median(runs.map((r) => r.perSecond));
    console.log(`${name.padEnd(14)} ${perSecond.toFixed(0).padStart(8)} req/s  ${median(runs.map((r) => r.cpu)).toFixed(1).padStart(7)} µs CPU/req`);
    return perSecond;
  };

  /** `a` and `b` in alternating rounds. */
  async function pair(a, b) {
    const first = [];
    const second = [];
    for (let round = 0; round < rounds; round++) {
      first.push(await rate(...a));
      second.push(await rate(...b));
    }
    return [first, second];
  }

  const pool = new HTTPConnectionPool();
  const network = new HttpAgent({ pool });
  const cache = new CachingAgent(new HttpAgent({ pool }), { store: new MemoryCacheStore() });
  await rate(network, '/small'); // warm-up
  await rate(cache, '/validate');
  const [netRuns, hitRuns] = await pair([network, '/small'], [cache, '/small']);
  const net = line('network', netRuns);
  const hit = line('fresh hit', hitRuns);
  const [fullRuns, revalidatedRuns] = await pair([network, '/large'], [cache, '/validate']);
  const full = line('full 64 KiB', fullRuns);
  const revalidated = line('304', revalidatedRuns);
  const cpuRatio = median(fullRuns.map((r) => r.cpu)) / median(revalidatedRuns.map((r) => r.cpu));
  console.log(`fresh hit / network: ${(hit / net).toFixed(1)}x; 304 / full 64 KiB fetch: ${(revalidated / full).toFixed(2)}x req/s, ${cpuRatio.toFixed(2)}x less client CPU`);

  const bound = 16 * 1024 * 1024;
  const store = new MemoryCacheStore({ maxSize: bound });
  const many = new CachingAgent(new HttpAgent({ pool }), { store });
  for (let i = 0; i < urls; i++) await readBody(await many.request('GET', `${base}/item/${i}`));
  globalThis.gc?.();
  const heap = process.memoryUsage().heapUsed;
  console.log(`memory: ${urls} URLs, store holds ${store.count} entries, ${(store.size / 1048576).toFixed(1)} MiB of a ${bound / 1048576} MiB bound; heap after GC ${(heap / 1048576).toFixed(1)} MiB`);

  await pool.close();
  child.stdin.end();
}
