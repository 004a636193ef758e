// One factory per client library. A factory gets the run's context and returns
// `{ once(): Promise<number>, close(): Promise<void> }`: `once` makes one request, reads the whole
// body the library's usual way, checks the status, and resolves to the body's byte count. All the
// loops of a run share what the factory built (one agent / dispatcher / pool sized for them).
//
// ctx: { url, origin, host, port, path, method, body (Buffer|null), contentType, connections,
//        https, ca (PEM string|null), scenario, stream }
//
// With `ctx.stream` the body is consumed the library's streaming way and only counted (nothing
// is kept), like the raw sockets and the undici-*-dispatch clients always do.
//
// To add a client: add a factory below and its name to CLIENTS; `availability` may skip it.
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';

/**
 * Default order. undici's fastest public paths for one origin are `undici-pool-dispatch` and
 * `undici-pool-request` (a `new Pool(origin, { connections: N })`, no Agent routing): the report
 * takes its main ratio against the faster of the two in each scenario and names it.
 * `undici-request` (the top-level `undici.request(url, { dispatcher: Agent })`) stays as the
 * everyday-usage reference.
 */
export const CLIENTS = ['strand-core', 'strand-client', 'undici-pool-dispatch', 'undici-pool-request', 'undici-request', 'undici-fetch', 'node-http', 'got', 'axios', 'node-fetch', 'raw-socket', 'raw-onread'];
/** Clients that run only when named in `--client` (kept out of the full run's time budget). */
export const EXTRA_CLIENTS = ['undici-agent-dispatch'];
/** The everyday-usage reference (second ratio column). */
export const BASELINE = 'undici-request';
/** undici's per-origin Pool paths; the main ratio is against the faster of the two. */
export const POOL_BASELINES = ['undici-pool-dispatch', 'undici-pool-request'];
/** Kept in every filtered run, so the ratios always have their references. */
export const REFERENCE_CLIENTS = [...POOL_BASELINES, BASELINE];
/**
 * A client name may carry variant suffixes, run in the same rounds as the plain client:
 * `strand-core+dc` subscribes a no-op listener to `strand:request:headers` in the worker
 * (through STRAND_BENCH_SUBSCRIBE, see worker.mjs). Returns { base, env } or null when unknown.
 */
export const VARIANTS = {
  dc: { about: "a no-op diagnostics_channel subscriber on 'strand:request:headers'", env: { STRAND_BENCH_SUBSCRIBE: 'strand:request:headers' } },
  hdrs: { about: "strand-core sends the client's default head (its User-Agent and Accept-Encoding), to tell a longer head's cost from the client layer's", env: { STRAND_BENCH_CLIENT_HEADERS: '1' } },
};
export function parseClientName(name) {
  const [base, ...suffixes] = name.split('+');
  if (!CLIENTS.includes(base) && !EXTRA_CLIENTS.includes(base)) return null;
  const env = {};
  for (const suffix of suffixes) {
    if (!(suffix in VARIANTS)) return null;
    Object.assign(env, VARIANTS[suffix].env);
  }
  return { base, env };
}
/** Clients with a per-connection pipelining option (the pipeline-* scenarios). */
const PIPELINING_CLIENTS = new Set(['strand-core', 'strand-client', 'undici-pool-dispatch', 'undici-pool-request', 'undici-request']);
/** The clients that can run over @strand/testing's in-memory agent. */
export const STRAND_CLIENTS = new Set(['strand-core', 'strand-client']);

/** Clients that need a running module to exist: checked once per run of the harness. */
export async function availability(name) {
  const client = parseClientName(name)?.base ?? name;
  if (client === 'strand-client') {
    try {
      const mod = await import('@strand/client');
      if (typeof mod.get !== 'function') return 'not built yet (@strand/client does not export get)';
    } catch (error) {
      return `cannot import @strand/client: ${error.message}`;
    }
  }
  if (client === 'strand-core') {
    try {
      const mod = await import('@strand/core');
      if (typeof mod.HttpAgent !== 'function') return '@strand/core does not export HttpAgent';
    } catch (error) {
      return `cannot import @strand/core (run pnpm build): ${error.message}`;
    }
  }
  return null;
}

/** Scenarios that need a module to exist; returns a reason to skip, or null. */
export async function scenarioAvailability(scenario) {
  if (!scenario.inMemory) return null;
  try {
    const testing = await import('@strand/testing');
    if (inMemoryAgentFactory(testing) === null) return 'not exported yet: @strand/testing has no in-memory agent (wire it in bench/clients.mjs inMemoryAgentFactory)';
  } catch (error) {
    return `cannot import @strand/testing: ${error.message}`;
  }
  return null;
}

/**
 * How to build @strand/testing's in-memory agent (the real HttpAgent, parser and pool over
 * in-memory connections to an http.Server in this process) answering with `handler`, a
 * `(request) => reply` function. Returns a `(handler) => agent` or null when it is not exported.
 */
export function inMemoryAgentFactory(testing) {
  if (typeof testing.createFakeAgent === 'function') return (handler) => testing.createFakeAgent(handler);
  if (typeof testing.FakeAgent === 'function') return (handler) => new testing.FakeAgent(handler);
  return null;
}

/** Which (client, scenario) pairs make sense; returns a reason to skip, or null. */
export function unsupported(name, scenario) {
  const client = parseClientName(name)?.base ?? name;
  if (scenario.inMemory) return STRAND_CLIENTS.has(client) ? null : 'in-memory transport is Strand-only';
  if (client.startsWith('raw-') && scenario.chunked) return `${client} only parses Content-Length framing`;
  if (scenario.pipelining !== undefined && !PIPELINING_CLIENTS.has(client)) return `${client} has no pipelining option`;
  return null;
}

function statusError(status) {
  return new Error(`unexpected status ${status}`);
}

/** Reads a Node Readable or a web ReadableStream to its end, counting bytes, keeping none. */
async function countStream(stream, status) {
  let n = 0;
  for await (const chunk of stream) n += chunk.byteLength;
  if (status !== 200) throw statusError(status);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Strand

/** An @strand/core HttpAgent for the run: a pool keeping ≥ N connections, CA for https. */
async function strandAgent(ctx) {
  const core = await import('@strand/core');
  // A pipelined run caps connections per host (pipelining starts where that cap is reached).
  const pipelined = ctx.pipelining > 1 || ctx.scenario.startsWith('pipeline-');
  const pool = new core.HTTPConnectionPool({
    maxPersistentPerHost: Math.max(1000, ctx.connections),
    ...(pipelined ? { maxConnectionsPerHost: ctx.connections, pipelining: ctx.pipelining } : {}),
  });
  const options = { pool };
  if (ctx.https) {
    // Current API: a TLS policy trusting our CA. (An earlier core took `{ tls: { ca } }`.)
    options.endpointFactory =
      typeof core.BrowserLikePolicyForHTTPS === 'function'
        ? new core.StandardEndpointFactory({ tlsPolicy: new core.BrowserLikePolicyForHTTPS({ ca: ctx.ca }) })
        : new core.StandardEndpointFactory({ tls: { ca: ctx.ca } });
  }
  return { core, agent: new core.HttpAgent(options) };
}

/** The fake-agent scenario: @strand/testing's in-memory agent answering like /small. */
async function strandInMemoryAgent() {
  const [core, testing, { SMALL_BODY }] = await Promise.all([import('@strand/core'), import('@strand/testing'), import('./scenarios.mjs')]);
  const make = inMemoryAgentFactory(testing);
  if (make === null) throw new Error('@strand/testing exports no in-memory agent');
  const fake = make(() => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: SMALL_BODY }));
  return { core, agent: fake, close: () => fake.close() };
}

/** The agent a Strand client runs on: in memory for fake-agent, else an HttpAgent with a big pool. */
async function strandAgentFor(ctx) {
  if (ctx.inMemory) return strandInMemoryAgent();
  const made = await strandAgent(ctx);
  return { ...made, close: () => made.agent.pool.closeCachedConnections() };
}

/** The `+hdrs` variant's fields: the client's default User-Agent and the decoder's Accept-Encoding. */
async function clientDefaultHead(core) {
  if (process.env.STRAND_BENCH_CLIENT_HEADERS !== '1') return {};
  const { VERSION } = await import('@strand/client');
  return { 'User-Agent': `strand/${VERSION}`, 'Accept-Encoding': core.ContentDecoderAgent.defaultAcceptEncoding };
}

async function strandCore(ctx) {
  const { core, agent, close } = await strandAgentFor(ctx);
  const { readBody, BytesProducer } = core;
  const { url, method, body } = ctx;
  const extra = await clientDefaultHead(core);
  const fields = { ...(body === null ? {} : { 'content-type': ctx.contentType }), ...extra };
  const headers = Object.keys(fields).length === 0 ? null : fields;
  if (ctx.stream) {
    return {
      async once() {
        const response = await agent.request(method, url, headers, body === null ? null : new BytesProducer(body));
        if (response.code !== 200) throw statusError(response.code);
        return new Promise((resolve, reject) => {
          let n = 0;
          response.deliverBody({
            dataReceived: (chunk) => (n += chunk.length),
            connectionLost: (reason) => (reason instanceof core.StrandError ? reject(reason) : resolve(n)),
          });
        });
      },
      close,
    };
  }
  return {
    async once() {
      const response = await agent.request(method, url, headers, body === null ? null : new BytesProducer(body));
      const data = await readBody(response);
      if (response.code !== 200) throw statusError(response.code);
      return data.length;
    },
    close,
  };
}

/**
 * @strand/client (treq-style): an `HTTPClient` on the same agent as strand-core, so the
 * difference is the client layer (options, cookie jar, ClientResponse, `content()`).
 */
async function strandClient(ctx) {
  const client = await import('@strand/client');
  const { agent, close } = await strandAgentFor(ctx);
  const httpClient = new client.HTTPClient({ agent });
  const options = ctx.body === null ? {} : { data: ctx.body, headers: { 'content-type': ctx.contentType } };
  if (ctx.stream) {
    options.unbuffered = true;
    return {
      async once() {
        const response = await httpClient.request(ctx.method, ctx.url, options);
        if (response.code !== 200) throw statusError(response.code);
        let n = 0;
        await response.collect((chunk) => {
          n += chunk.length;
        });
        return n;
      },
      close,
    };
  }
  return {
    async once() {
      const response = await httpClient.request(ctx.method, ctx.url, options);
      const data = await response.content();
      if (response.code !== 200) throw statusError(response.code);
      return data.length;
    },
    close,
  };
}

// ---------------------------------------------------------------------------------------------
// undici 7

async function undiciAgent(ctx) {
  const undici = await import('undici');
  const dispatcher = new undici.Agent({ connections: ctx.connections, pipelining: ctx.pipelining, ...(ctx.https ? { connect: { ca: ctx.ca } } : {}) });
  return { undici, dispatcher };
}

/** One `undici.Pool` for the run's origin, N connections: no Agent routing per request. */
async function undiciPool(ctx) {
  const undici = await import('undici');
  return new undici.Pool(ctx.origin, { connections: ctx.connections, pipelining: ctx.pipelining, ...(ctx.https ? { connect: { ca: ctx.ca } } : {}) });
}

/** `undici.request(url, { dispatcher: Agent })`: URL parsing + Agent routing + request's body stream. */
async function undiciRequest(ctx) {
  const { undici, dispatcher } = await undiciAgent(ctx);
  const options = { dispatcher, method: ctx.method };
  if (ctx.body !== null) Object.assign(options, { body: ctx.body, headers: { 'content-type': ctx.contentType } });
  return {
    async once() {
      const { statusCode, body } = await undici.request(ctx.url, options);
      if (ctx.stream) return countStream(body, statusCode);
      const data = await body.arrayBuffer();
      if (statusCode !== 200) throw statusError(statusCode);
      return data.byteLength;
    },
    close: () => dispatcher.close(),
  };
}

/** `pool.request({ path, method })` on a per-origin Pool: undici's Promise API without Agent routing. */
async function undiciPoolRequest(ctx) {
  const pool = await undiciPool(ctx);
  const options = { path: ctx.path, method: ctx.method };
  if (ctx.body !== null) Object.assign(options, { body: ctx.body, headers: { 'content-type': ctx.contentType } });
  return {
    async once() {
      const { statusCode, body } = await pool.request(options);
      if (ctx.stream) return countStream(body, statusCode);
      const data = await body.arrayBuffer();
      if (statusCode !== 200) throw statusError(statusCode);
      return data.byteLength;
    },
    close: () => pool.close(),
  };
}

/**
 * Raw `dispatch` with the smallest handler, counting body bytes and keeping none (in every
 * scenario, buffered ones included: this is undici's floor, not a like-for-like buffered read).
 * undici 7 passes a handler with the legacy callbacks (onConnect/onHeaders/onData/onComplete/
 * onError) straight to its core; the newer onRequestStart/onResponse* shape goes through an
 * adapter that parses headers, so the legacy shape is the lower bound of undici's overhead.
 * `undici-pool-dispatch` dispatches on a per-origin Pool; `undici-agent-dispatch` (named
 * `undici-dispatch` before) on an Agent, which routes by origin first.
 */
function dispatchClient(dispatcher, ctx, origin) {
  const options = { path: ctx.path, method: ctx.method };
  if (origin) options.origin = ctx.origin;
  if (ctx.body !== null) Object.assign(options, { body: ctx.body, headers: ['content-type', ctx.contentType] });
  return {
    once() {
      return new Promise((resolve, reject) => {
        dispatcher.dispatch(options, new CountingHandler(resolve, reject));
      });
    },
    close: () => dispatcher.close(),
  };
}

async function undiciPoolDispatch(ctx) {
  return dispatchClient(await undiciPool(ctx), ctx, false);
}

async function undiciAgentDispatch(ctx) {
  const { dispatcher } = await undiciAgent(ctx);
  return dispatchClient(dispatcher, ctx, true);
}

class CountingHandler {
  constructor(resolve, reject) {
    this.resolve = resolve;
    this.reject = reject;
    this.status = 0;
    this.bytes = 0;
  }
  onConnect() {}
  onHeaders(status) {
    this.status = status;
    return true;
  }
  onData(chunk) {
    this.bytes += chunk.length;
    return true;
  }
  onComplete() {
    if (this.status === 200) this.resolve(this.bytes);
    else this.reject(statusError(this.status));
  }
  onError(error) {
    this.reject(error);
  }
}

async function undiciFetch(ctx) {
  const { undici, dispatcher } = await undiciAgent(ctx);
  const init = { dispatcher, method: ctx.method };
  if (ctx.body !== null) Object.assign(init, { body: ctx.body, headers: { 'content-type': ctx.contentType } });
  return {
    async once() {
      const response = await undici.fetch(ctx.url, init);
      if (ctx.stream) return countStream(response.body, response.status);
      const data = await response.arrayBuffer();
      if (response.status !== 200) throw statusError(response.status);
      return data.byteLength;
    },
    close: () => dispatcher.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// node:http, got, axios, node-fetch: all on a keep-alive node:http(s) Agent

function nodeAgent(ctx) {
  const options = { keepAlive: true, maxSockets: ctx.connections, maxFreeSockets: Math.max(256, ctx.connections) };
  return ctx.https ? new https.Agent({ ...options, ca: ctx.ca }) : new http.Agent(options);
}

async function nodeHttp(ctx) {
  const agent = nodeAgent(ctx);
  const request = ctx.https ? https.request : http.request;
  const headers = ctx.body === null ? {} : { 'content-type': ctx.contentType, 'content-length': String(ctx.body.length) };
  const options = { agent, host: ctx.host, port: ctx.port, path: ctx.path, method: ctx.method, headers };
  return {
    once() {
      return new Promise((resolve, reject) => {
        const req = request(options, (res) => {
          if (ctx.stream) {
            countStream(res, res.statusCode).then(resolve, reject);
            return;
          }
          const chunks = [];
          let length = 0;
          res.on('data', (chunk) => {
            chunks.push(chunk);
            length += chunk.length;
          });
          res.on('end', () => {
            const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
            if (res.statusCode === 200) resolve(data.length);
            else reject(statusError(res.statusCode));
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(ctx.body ?? undefined);
      });
    },
    close: async () => agent.destroy(),
  };
}

async function gotClient(ctx) {
  const { default: got } = await import('got');
  const agent = nodeAgent(ctx);
  const client = got.extend({
    agent: ctx.https ? { https: agent } : { http: agent },
    ...(ctx.https ? { https: { certificateAuthority: ctx.ca } } : {}),
    retry: { limit: 0 },
    responseType: 'buffer',
    method: ctx.method,
    ...(ctx.body === null ? {} : { body: ctx.body, headers: { 'content-type': ctx.contentType } }),
  });
  return {
    async once() {
      if (ctx.stream) {
        const stream = client.stream(ctx.url);
        let status = 0;
        stream.once('response', (response) => (status = response.statusCode));
        let n = 0;
        for await (const chunk of stream) n += chunk.length;
        if (status !== 200) throw statusError(status);
        return n;
      }
      const response = await client(ctx.url);
      if (response.statusCode !== 200) throw statusError(response.statusCode);
      return response.body.length;
    },
    close: async () => agent.destroy(),
  };
}

async function axiosClient(ctx) {
  const { default: axios } = await import('axios');
  const agent = nodeAgent(ctx);
  const client = axios.create({
    ...(ctx.https ? { httpsAgent: agent } : { httpAgent: agent }),
    proxy: false,
    responseType: 'arraybuffer',
    maxContentLength: Infinity,
    maxBodyLength: Infinity,
  });
  const config = { url: ctx.url, method: ctx.method };
  if (ctx.body !== null) Object.assign(config, { data: ctx.body, headers: { 'content-type': ctx.contentType } });
  return {
    async once() {
      if (ctx.stream) {
        const response = await client.request({ ...config, responseType: 'stream' });
        return countStream(response.data, response.status);
      }
      const response = await client.request(config);
      if (response.status !== 200) throw statusError(response.status);
      return response.data.length;
    },
    close: async () => agent.destroy(),
  };
}

async function nodeFetch(ctx) {
  const { default: fetch } = await import('node-fetch');
  const agent = nodeAgent(ctx);
  const init = { agent, method: ctx.method };
  if (ctx.body !== null) Object.assign(init, { body: ctx.body, headers: { 'content-type': ctx.contentType } });
  return {
    async once() {
      const response = await fetch(ctx.url, init);
      if (ctx.stream) return countStream(response.body, response.status);
      const data = await response.arrayBuffer();
      if (response.status !== 200) throw statusError(response.status);
      return data.byteLength;
    },
    close: async () => agent.destroy(),
  };
}

// ---------------------------------------------------------------------------------------------
// raw-socket: the physical limit of Node here. N sockets, each writing fixed request bytes and
// reading the response by Content-Length alone (no header parsing beyond that, no chunked).
// raw-socket reads with 'data' events (a fresh Buffer per read); raw-onread reads with net's
// `onread` into one reused buffer, the cheapest read Node offers (what Strand's sockets use).

function rawSocket(ctx) {
  return rawClient(ctx, false);
}

function rawOnread(ctx) {
  return rawClient(ctx, true);
}

async function rawClient(ctx, onread) {
  let head = `${ctx.method} ${ctx.path} HTTP/1.1\r\nHost: ${ctx.host}:${ctx.port}\r\n`;
  if (ctx.body !== null) head += `Content-Type: ${ctx.contentType}\r\nContent-Length: ${ctx.body.length}\r\n`;
  const requestBytes = ctx.body === null ? Buffer.from(`${head}\r\n`) : Buffer.concat([Buffer.from(`${head}\r\n`), ctx.body]);
  const free = [];
  const all = [];
  for (let i = 0; i < ctx.connections; i++) {
    const connection = new RawConnection(ctx, requestBytes, onread);
    free.push(connection);
    all.push(connection);
  }
  return {
    async once() {
      const connection = free.pop();
      try {
        return await connection.exchange();
      } finally {
        free.push(connection);
      }
    },
    close: async () => {
      for (const connection of all) connection.socket?.destroy();
    },
  };
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const RAW_READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

class RawConnection {
  constructor(ctx, requestBytes, onread) {
    this.ctx = ctx;
    this.onread = onread ? { buffer: RAW_READ_BUFFER, callback: (n, buffer) => this.onData(buffer.subarray(0, n)) } : undefined;
    this.requestBytes = requestBytes;
    this.socket = null;
    this.pending = null; // { resolve, reject }
    this.head = null; // Buffer of a partial head
    this.bodyLeft = -1; // -1: reading the head
    this.bodyBytes = 0;
    this.onData = this.onData.bind(this);
  }

  connect() {
    const { ctx } = this;
    return new Promise((resolve, reject) => {
      const onread = this.onread;
      const socket = ctx.https ? tls.connect({ host: ctx.host, port: ctx.port, ca: ctx.ca, servername: net.isIP(ctx.host) ? undefined : ctx.host, onread }) : net.connect({ host: ctx.host, port: ctx.port, onread });
      socket.setNoDelay(true);
      socket.once(ctx.https ? 'secureConnect' : 'connect', () => resolve(socket));
      socket.once('error', reject);
    }).then((socket) => {
      if (this.onread === undefined) socket.on('data', this.onData);
      const fail = (error) => {
        this.socket = null;
        const pending = this.pending;
        this.pending = null;
        pending?.reject(error ?? new Error('connection closed'));
      };
      socket.on('error', fail);
      socket.on('close', () => fail(null));
      this.socket = socket;
      return socket;
    });
  }

  async exchange() {
    const socket = this.socket ?? (await this.connect());
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.bodyLeft = -1;
      this.bodyBytes = 0;
      this.head = null;
      socket.write(this.requestBytes);
    });
  }

  onData(data) {
    if (this.bodyLeft === -2) return; // stray bytes between exchanges: ignored
    let offset = 0;
    if (this.bodyLeft === -1) {
      const buf = this.head === null ? data : Buffer.concat([this.head, data]);
      const end = buf.indexOf(CRLFCRLF);
      if (end === -1) {
        this.head = this.onread === undefined ? buf : Buffer.from(buf); // an onread buffer is reused
        return;
      }
      this.head = null;
      const headText = buf.latin1Slice(0, end);
      const match = /\r\ncontent-length:[ \t]*(\d+)/i.exec(headText);
      const status = Number(headText.slice(9, 12));
      if (match === null || status !== 200) {
        this.socket.destroy();
        return this.finish(new Error(match === null ? 'raw-socket: no Content-Length' : `unexpected status ${status}`));
      }
      this.bodyLeft = Number(match[1]);
      data = buf;
      offset = end + 4;
    }
    const available = data.length - offset;
    this.bodyBytes += Math.min(available, this.bodyLeft);
    this.bodyLeft -= available;
    if (this.bodyLeft <= 0) this.finish(null);
  }

  finish(error) {
    const pending = this.pending;
    this.pending = null;
    this.bodyLeft = -2; // idle
    if (pending === null) return;
    if (error === null) pending.resolve(this.bodyBytes);
    else pending.reject(error);
  }
}

// ---------------------------------------------------------------------------------------------

const FACTORIES = {
  'strand-core': strandCore,
  'strand-client': strandClient,
  'undici-pool-dispatch': undiciPoolDispatch,
  'undici-pool-request': undiciPoolRequest,
  'undici-request': undiciRequest,
  'undici-agent-dispatch': undiciAgentDispatch,
  'undici-fetch': undiciFetch,
  'node-http': nodeHttp,
  got: gotClient,
  axios: axiosClient,
  'node-fetch': nodeFetch,
  'raw-socket': rawSocket,
  'raw-onread': rawOnread,
};

export function makeClient(name, ctx) {
  const factory = FACTORIES[parseClientName(name)?.base ?? name];
  if (factory === undefined) throw new Error(`unknown client ${name}; known: ${Object.keys(FACTORIES).join(', ')}`);
  return factory(ctx);
}
