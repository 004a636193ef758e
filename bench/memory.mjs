#!/usr/bin/env node
// Memory checks for Strand (reporting only; run at the end of `pnpm bench`, or
// `pnpm bench --memory`, or `node bench/memory.mjs [--quick] [--json out.json]`):
//
//   stream      a 1 GiB body generated on the fly by the Node server, streamed through
//               response.deliverBody (and through `for await`): peak RSS stays flat?
//   sequential  100,000 sequential small requests on one agent: RSS (after GC) at 10k and 100k
//   close       50 connections opened, then pool.closeCachedConnections(): sockets the server
//               still sees open
//
// undici-request runs the stream check too, as a reference (the sequential check supports it:
// add ['sequential', 'undici-request'] to the plan; left out to keep `pnpm bench` under 10 min). Each check runs in
// its own client process (pinned to the client core, started with --expose-gc).
import { writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { join } from 'node:path';
import { BENCH_DIR, runPinnedNode, startNodeServer } from './servers.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const GiB = 1024 * 1024 * 1024;
const MB = 1024 * 1024;
const STREAM_BYTES = quick ? GiB / 4 : GiB;
const SEQ_TOTAL = quick ? 20_000 : 100_000;
const SEQ_FIRST = SEQ_TOTAL / 10;
const CLOSE_CONNECTIONS = 50;


// ---------------------------------------------------------------------------------------------
// Orchestration

async function main() {
  const jsonPath = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : null;
  let output;
  let server = null;
  try {
    server = await startNodeServer(null);
    const plan = [
      ['stream', 'strand-core (deliverBody)'],
      ['stream', 'strand-core (for await)'],
      ['stream', 'undici-request'],
      ['sequential', 'strand-core'],
      ['close', 'strand-core'],
    ];
    const rows = [];
    for (const [name, client] of plan) {
      process.stderr.write(`memory: ${name} / ${client}...\n`);
      const outcome = await runChild(name, client, server.port);
      rows.push({ check: checkTitle(name), client, result: outcome.error ? `FAILED: ${outcome.error}` : outcome.result.summary, raw: outcome.result ?? null });
      process.stderr.write(`memory:   ${rows.at(-1).result}\n`);
    }
    output = { server: server.version, quick, rows };
  } catch (error) {
    output = { error: String(error?.message ?? error) };
  } finally {
    await server?.stop();
  }
  if (jsonPath !== null) writeFileSync(jsonPath, `${JSON.stringify(output, null, 2)}\n`);
  else if (output.error) process.stdout.write(`memory check failed: ${output.error}\n`);
  else for (const row of output.rows) process.stdout.write(`${row.check} | ${row.client} | ${row.result}\n`);
}

function checkTitle(name) {
  switch (name) {
    case 'stream':
      return `${STREAM_BYTES / GiB >= 1 ? `${STREAM_BYTES / GiB} GiB` : `${STREAM_BYTES / MB} MiB`} body streamed`;
    case 'sequential':
      return `${SEQ_TOTAL.toLocaleString('en-US')} sequential small requests`;
    default:
      return `${CLOSE_CONNECTIONS} connections, then closeCachedConnections()`;
  }
}

function runChild(name, client, port) {
  const args = ['--expose-gc', join(BENCH_DIR, 'memory.mjs'), '--check', name, '--client', client, '--port', String(port), ...(quick ? ['--quick'] : [])];
  return runPinnedNode(args, 120_000, 'check');
}

// ---------------------------------------------------------------------------------------------
// The checks (in the child process)

const rssMB = () => process.memoryUsage.rss() / MB;
const maxRssMB = () => (process.resourceUsage().maxRSS * 1024) / MB;
const mb = (x) => `${x.toFixed(1)} MB`;

function gcRss() {
  globalThis.gc?.();
  globalThis.gc?.();
  return { rss: rssMB(), heap: process.memoryUsage().heapUsed / MB };
}

async function strandAgent() {
  const core = await import('@strand/core');
  return { core, agent: new core.HttpAgent({ pool: new core.HTTPConnectionPool({ maxPersistentPerHost: 1000 }) }) };
}

async function runCheck(name, client, port) {
  const base = `http://127.0.0.1:${port}`;
  if (name === 'stream') return streamCheck(client, `${base}/stream?bytes=${STREAM_BYTES}`);
  if (name === 'sequential') return sequentialCheck(client, `${base}/small`);
  if (name === 'close') return closeCheck(base, port);
  throw new Error(`unknown check ${name}`);
}

async function streamCheck(client, url) {
  let bodyFn;
  if (client.startsWith('strand-core')) {
    const { core, agent } = await strandAgent();
    const viaIterator = client.includes('for await');
    bodyFn = async () => {
      const response = await agent.request('GET', url);
      if (viaIterator) {
        let n = 0;
        for await (const chunk of response) n += chunk.length;
        return n;
      }
      return new Promise((resolve, reject) => {
        let n = 0;
        response.deliverBody({
          dataReceived(chunk) {
            n += chunk.length;
          },
          connectionLost(reason) {
            if (reason instanceof core.ResponseDone || reason?.name === 'ResponseDone') resolve(n);
            else reject(reason);
          },
        });
      });
    };
  } else {
    const undici = await import('undici');
    const dispatcher = new undici.Agent({ connections: 1 });
    bodyFn = async () => {
      const { body } = await undici.request(url, { dispatcher });
      let n = 0;
      for await (const chunk of body) n += chunk.length;
      return n;
    };
  }
  const before = gcRss();
  let sampledPeak = rssMB();
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, rssMB());
  }, 20);
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  let error = null;
  try {
    bytes = await bodyFn();
  } catch (e) {
    error = String(e?.message ?? e);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(sampler);
  const peak = Math.max(sampledPeak, maxRssMB());
  const ok = error === null && bytes === STREAM_BYTES;
  return {
    bytes,
    expected: STREAM_BYTES,
    seconds,
    mbPerSec: bytes / MB / seconds,
    rssBeforeMB: before.rss,
    peakRssMB: peak,
    error,
    summary: `${ok ? '' : `ERROR (${error ?? `${bytes} of ${STREAM_BYTES} bytes`}); `}peak RSS ${mb(peak)} (RSS ${mb(before.rss)} before the request), ${(bytes / MB / seconds).toFixed(0)} MB/s`,
  };
}

async function sequentialCheck(client, url) {
  let once;
  if (client === 'strand-core') {
    const { core, agent } = await strandAgent();
    once = async () => {
      const response = await agent.request('GET', url);
      await core.readBody(response);
    };
  } else {
    const undici = await import('undici');
    const dispatcher = new undici.Agent({ connections: 1 });
    once = async () => {
      const { body } = await undici.request(url, { dispatcher });
      await body.arrayBuffer();
    };
  }
  const start = gcRss();
  let errors = 0;
  let firstError = null;
  let atFirst = null;
  const t0 = process.hrtime.bigint();
  for (let i = 1; i <= SEQ_TOTAL; i++) {
    try {
      await once();
    } catch (e) {
      errors++;
      firstError ??= String(e?.message ?? e);
    }
    if (i === SEQ_FIRST) atFirst = gcRss();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const atEnd = gcRss();
  const k = (n) => `${n / 1000}k`;
  return {
    errors,
    firstError,
    startRssMB: start.rss,
    rssAtFirstMB: atFirst.rss,
    rssAtEndMB: atEnd.rss,
    heapAtFirstMB: atFirst.heap,
    heapAtEndMB: atEnd.heap,
    reqPerSec: SEQ_TOTAL / seconds,
    summary:
      `${errors > 0 ? `${errors} ERRORS (${firstError}); ` : ''}RSS after GC ${mb(atFirst.rss)} at ${k(SEQ_FIRST)} → ${mb(atEnd.rss)} at ${k(SEQ_TOTAL)} (${atEnd.rss - atFirst.rss >= 0 ? '+' : ''}${(atEnd.rss - atFirst.rss).toFixed(1)} MB); ` +
      `heap ${mb(atFirst.heap)} → ${mb(atEnd.heap)}; ${Math.round(SEQ_TOTAL / seconds).toLocaleString('en-US')} req/s`,
  };
}

/** The server's count of its open connections, asked over a connection of its own (not counted). */
function serverConnections(port) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/_conns', agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(JSON.parse(text).open));
      })
      .on('error', reject);
  });
}

async function closeCheck(base, port) {
  const { core, agent } = await strandAgent();
  const before = await serverConnections(port);
  let errors = 0;
  await Promise.all(
    Array.from({ length: CLOSE_CONNECTIONS }, async () => {
      try {
        await core.readBody(await agent.request('GET', `${base}/small`));
      } catch {
        errors++;
      }
    }),
  );
  const stats = JSON.stringify(agent.pool.stats());
  const open = await serverConnections(port);
  await agent.pool.closeCachedConnections();
  // The server sees the close a moment later; poll for up to a second.
  let after = await serverConnections(port);
  for (let i = 0; i < 20 && after > before; i++) {
    await new Promise((r) => setTimeout(r, 50));
    after = await serverConnections(port);
  }
  const statsAfter = JSON.stringify(agent.pool.stats());
  return {
    errors,
    serverOpenBefore: before,
    serverOpenWithPool: open,
    serverOpenAfterClose: after - before,
    poolStats: stats,
    poolStatsAfter: statsAfter,
    summary: `${errors > 0 ? `${errors} ERRORS; ` : ''}server saw ${open - before} open with the pool warm (pool.stats ${stats}); ${after - before} still open after closeCachedConnections() (pool.stats ${statsAfter})`,
  };
}

// ---------------------------------------------------------------------------------------------
// Entry point (last, so every const above is initialised): a check in a child, or the orchestration.

const check = argv.includes('--check') ? argv[argv.indexOf('--check') + 1] : null;
if (check !== null) {
  const client = argv[argv.indexOf('--client') + 1];
  const port = Number(argv[argv.indexOf('--port') + 1]);
  const result = await runCheck(check, client, port);
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
} else {
  await main();
}
