// What each layer above the socket costs per request, with no I/O at all: the base agent is a
// stub that answers every request at once with a 12-byte response made in memory (core's
// Response over a BodySource that pushes the body when asked). The same work as a small GET
// minus the socket, the parser and the pool, so what is left is the JavaScript of the layers:
// core's Response + readBody, core's decoder and redirect wrappers, and the whole client
// (options, cookies, stack, ClientResponse, content()). CPU µs per request, median of 5 rounds,
// one process, no server: steady even on a busy machine, unlike the loopback scenarios.
//
//   node bench/layer-cost.mjs [requests per round, default 100000]
//
// Reporting only, like the rest of bench/: no number here is a pass/fail.

import { BrowserLikeRedirectAgent, ContentDecoderAgent, Headers, Response, ResponseDone, readBody } from '@strand/core';
import { HTTPClient } from '@strand/client';

const BODY = Buffer.from('hello world!');
const RAW_HEADERS = ['Content-Type', 'text/plain', 'Content-Length', String(BODY.length)];

/** Feeds one canned body: all of it on the first resume. */
class CannedBody {
  bind(sink) {
    this.sink = sink;
  }
  pauseBody() {}
  resumeBody() {
    const sink = this.sink;
    if (sink === undefined) return;
    this.sink = undefined;
    sink.push(BODY);
    sink.end(new ResponseDone());
  }
  stopBody() {}
}

/** An Agent that answers at once, without I/O. */
const stub = {
  request(method, uri, headers) {
    const requestHeaders = headers instanceof Headers ? headers : new Headers(headers ?? null);
    return Promise.resolve(
      new Response({
        version: [1, 1],
        code: 200,
        phrase: 'OK',
        headers: Headers.fromRaw(RAW_HEADERS),
        length: BODY.length,
        request: { method, uri: String(uri), headers: requestHeaders },
        bodySource: new CannedBody(),
      }),
    );
  },
};

const url = 'http://127.0.0.1:9/small';
const decoding = new ContentDecoderAgent(new BrowserLikeRedirectAgent(stub));
const client = new HTTPClient({ agent: stub });
const layers = [
  ['core Response + readBody', () => stub.request('GET', url).then((r) => readBody(r))],
  ['+ core decoder and redirects', () => decoding.request('GET', url).then((r) => readBody(r))],
  ['client get + content()', () => client.get(url).then((r) => r.content())],
];

const perRound = Number(process.argv[2] ?? 100_000);
const rounds = 5;
const samples = new Map(layers.map(([name]) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, once] of layers) {
    const before = process.cpuUsage();
    for (let i = 0; i < perRound; i++) await once();
    const used = process.cpuUsage(before);
    samples.get(name).push((used.user + used.system) / perRound);
  }
}
console.log(`| layers (no I/O; ${perRound} requests × ${rounds} rounds) | CPU µs per request (median) | added by this layer |`);
console.log('|---|--:|--:|');
let previous = 0;
for (const [name] of layers) {
  const sorted = samples.get(name).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(`| ${name} | ${median.toFixed(2)} | ${(median - previous).toFixed(2)} |`);
  previous = median;
}
