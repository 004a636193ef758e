// The cost and the gain of core's CachingAgent, on loopback (reporting only, like the rest of bench/):
//
//   network      HttpAgent GET of a 1 KiB response, read whole                        req/s
//   fresh hit    the same request answered by CachingAgent from a MemoryCacheStore    req/s, ratio to network
//   full 64 KiB  HttpAgent GET of a 64 KiB response                                   req/s
//   304          CachingAgent revalidating a stored 64 KiB response (max-age=0, ETag) req/s, ratio to full 64 KiB
//   memory       --urls distinct URLs (default 100 000) through one CachingAgent whose store is bounded
//                at 16 MiB: the store's bytes and the heap after a GC
//
//   pnpm build && node --expose-gc bench/cache.mjs [--duration MS] [--urls N]
import * as http from 'node:http';
import { CachingAgent, HTTPConnectionPool, HttpAgent, MemoryCacheStore, readBody } from '@strand/core';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));
const duration = Number(args.duration ?? 3000);
const urls = Number(args.urls ?? 100_000);

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
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

async function rate(name, agent, path) {
  const end = performance.now() + duration;
  let n = 0;
  const started = performance.now();
  while (performance.now() < end) {
    await readBody(await agent.request('GET', base + path));
    n++;
  }
  const perSecond = n / ((performance.now() - started) / 1000);
  console.log(`${name.padEnd(14)} ${perSecond.toFixed(0).padStart(8)} req/s`);
  return perSecond;
}

const pool = new HTTPConnectionPool();
const network = new HttpAgent({ pool });
const cache = new CachingAgent(new HttpAgent({ pool }), { store: new MemoryCacheStore() });
await rate('warm-up', network, '/small');
const net = await rate('network', network, '/small');
const hit = await rate('fresh hit', cache, '/small');
const full = await rate('full 64 KiB', network, '/large');
const revalidated = await rate('304', cache, '/validate');
console.log(`fresh hit / network: ${(hit / net).toFixed(1)}x; 304 / full 64 KiB fetch: ${(revalidated / full).toFixed(2)}x`);

const bound = 16 * 1024 * 1024;
const store = new MemoryCacheStore({ maxSize: bound });
const many = new CachingAgent(new HttpAgent({ pool }), { store });
for (let i = 0; i < urls; i++) await readBody(await many.request('GET', `${base}/item/${i}`));
globalThis.gc?.();
const heap = process.memoryUsage().heapUsed;
console.log(`memory: ${urls} URLs, store holds ${store.count} entries, ${(store.size / 1048576).toFixed(1)} MiB of a ${bound / 1048576} MiB bound; heap after GC ${(heap / 1048576).toFixed(1)} MiB`);

await pool.close();
server.close();
