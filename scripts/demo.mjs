// `pnpm demo`: starts an HTTP server on 127.0.0.1 (no internet needed) and runs a few requests
// through @strand/core's agent, printing what came back. Grows as features land.
import * as http from 'node:http';
import { HttpAgent, BytesProducer, FileBodyProducer, readBody, ResponseDone, CancelledError, RedirectAgent, ContentDecoderAgent, RetryAgent } from '../packages/core/dist/index.mjs';
import * as zlib from 'node:zlib';
import { HTTPClient, post } from '../packages/client/dist/index.mjs';
import { Readable } from 'node:stream';

let flaky = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`line ${++n}\n`);
        if (n === 5) {
          clearInterval(timer);
          res.end();
        }
      }, 20);
      return;
    }
    if (req.url === '/old') {
      res.writeHead(301, { location: '/new' });
      res.end();
      return;
    }
    if (req.url === '/new') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      res.end(zlib.gzipSync(`compressed for a client that sent Accept-Encoding: ${req.headers['accept-encoding']}\n`));
      return;
    }
    if (req.url === '/flaky') {
      flaky++;
      res.writeHead(flaky < 3 ? 503 : 200, { 'retry-after': '0' });
      res.end(flaky < 3 ? 'busy' : `served on attempt ${flaky}`);
      return;
    }
    if (req.url === '/login') {
      res.writeHead(302, { location: '/me', 'set-cookie': 'session=s3cr3t; Path=/; HttpOnly' });
      res.end();
      return;
    }
    if (req.url === '/me') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ cookie: req.headers.cookie ?? null }));
      return;
    }
    if (req.url === '/missing') {
      res.writeHead(404);
      res.end('no such page');
      return;
    }
    if (req.url === '/slow') {
      const timer = setTimeout(() => res.end('too late'), 5000);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, userAgent: req.headers['user-agent'], body }));
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
const agent = new HttpAgent();
const show = (title) => console.log(`\n— ${title}`);

show('GET with a custom User-Agent');
let response = await agent.request('GET', `${base}/hello?lang=en`, { 'User-Agent': 'Strand demo' });
console.log(`HTTP/${response.version.join('.')} ${response.code} ${response.phrase}`);
for (const [name, value] of response.headers) console.log(`${name}: ${value}`);
console.log((await readBody(response)).toString());

show('POST a body from a BytesProducer');
response = await agent.request('POST', `${base}/submit`, { 'Content-Type': 'text/plain' }, new BytesProducer('Hello, Strand!'));
console.log(response.code, (await readBody(response)).toString());

show('upload a stream of unknown length (sent chunked)');
const stream = Readable.from(['one ', 'two ', 'three']);
response = await agent.request('PUT', `${base}/upload`, null, new FileBodyProducer(stream));
console.log(response.code, (await readBody(response)).toString());

show('print a body as it streams, pausing after each line');
response = await agent.request('GET', `${base}/stream`);
await new Promise((resolve) => {
  response.deliverBody({
    makeConnection(transport) {
      this.transport = transport;
    },
    dataReceived(chunk) {
      process.stdout.write(`  got ${JSON.stringify(chunk.toString())}, pausing 10 ms\n`);
      this.transport.pauseProducing();
      setTimeout(() => this.transport.resumeProducing(), 10);
    },
    connectionLost(reason) {
      console.log(`  body ended: ${reason instanceof ResponseDone ? 'ResponseDone' : reason}`);
      resolve();
    },
  });
});

show('cancel a request whose answer is slow');
try {
  await agent.request('GET', `${base}/slow`, null, null, { signal: AbortSignal.timeout(100) });
} catch (error) {
  console.log(`  ${error instanceof CancelledError ? 'cancelled' : 'failed'}: ${error.code} ${error.message}`);
}

show('wrapper agents: redirects, content decoding and retries around the same pool');
const wrapped = new RetryAgent(new RedirectAgent(new ContentDecoderAgent(agent)), { baseDelay: 10 });
response = await wrapped.request('GET', `${base}/old`);
console.log(`  ${response.code} after ${response.previousResponse?.code} from ${response.previousResponse?.request.uri}`);
process.stdout.write(`  ${(await readBody(response)).toString()}`);
response = await wrapped.request('GET', `${base}/flaky`);
console.log(`  ${response.code}: ${(await readBody(response)).toString()}`);

show('@strand/client: JSON, a cookie session across a redirect, many pages two at a time');
const posted = await post(`${base}/items`, { json: { name: 'strand' } });
console.log(`  post json -> ${posted.code}`, await posted.json());
const client = new HTTPClient({ maxConcurrentRequests: 4 });
const login = await client.post(`${base}/login`, { data: { user: 'ada' } });
console.log(`  login: ${login.history().map((r) => r.code).join(' -> ')} -> ${login.code} at ${login.url}`, await login.json());
const again = await client.get(`${base}/me`);
console.log('  a later request sends the cookie:', await again.json());
const many = await client.getMany([`${base}/a`, `${base}/missing`, `${base}/b`], { concurrency: 2, throwForStatus: true });
for (const item of many) console.log(`  ${item.ok ? `ok ${item.value.code} ${item.value.url}` : `failed: ${item.error.code} ${item.error.message}`}`);
const t = again.timings;
console.log(`  timings of the last request (ms): total ${t.total?.toFixed(2)}, first byte ${t.firstByte?.toFixed(2)}`);

show('connection pool');
console.log(agent.pool.stats());
await agent.pool.closeCachedConnections();
server.close();
console.log('\ndemo done');
