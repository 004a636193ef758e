/**
 * Runs the definitions of the public HTTP cache test suite (test/fixtures/cache-tests, BSD
 * 3-Clause; see the README there) against an {@link Agent}: a loopback origin that answers each
 * test's requests as the suite's server does, and the suite's client checks, written for Strand.
 *
 * Time is a {@link ManualClock}: the wall clock of the origin (its `Date`, `Server-Now` and the
 * relative dates of the definitions) and of the cache is `EPOCH + clock.now()`, and a test's
 * `pause_after` (three seconds in the suite) or `response_pause` advances it instead of waiting.
 */
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Agent } from '../../src/agent.js';
import { Headers } from '../../src/message/headers.js';
import { BytesProducer } from '../../src/message/producers.js';
import { readBody } from '../../src/message/response.js';
import type { ManualClock } from '../../src/time/clock.js';
import type { InformationalResponse } from '../../src/message/exchange.js';

/** A header in a definition: `[name, value]`, or `[name, value, false]` (not checked afterwards). */
type HeaderDef = [string, string | number, boolean?];

/** One request of a test, as the definitions describe it (only the members the runner reads). */
export interface RequestDef {
  request_method?: string;
  request_headers?: HeaderDef[];
  request_body?: string;
  /** The Fetch cache mode of the request (the suite passes it to `fetch()`; only browser-cache tests have one). */
  cache?: 'default' | 'no-store' | 'reload' | 'no-cache' | 'force-cache' | 'only-if-cached';
  query_arg?: string;
  filename?: string;
  response_status?: [number, string];
  response_headers?: HeaderDef[];
  response_body?: string;
  response_pause?: number;
  disconnect?: boolean;
  interim_responses?: [number, [string, string][]?][];
  expected_interim_responses?: [number, [string, string][]?][];
  expected_type?: 'cached' | 'not_cached' | 'lm_validated' | 'etag_validated';
  expected_status?: number | null;
  expected_method?: string;
  expected_response_headers?: (string | [string, string | number] | [string, string, string | number])[];
  expected_response_headers_missing?: (string | [string, string])[];
  expected_request_headers?: (string | [string, string])[];
  expected_request_headers_missing?: (string | [string, string])[];
  expected_response_text?: string | null;
  check_body?: boolean;
  magic_ims?: boolean;
  magic_locations?: boolean;
  rfc850date?: string[];
  pause_after?: boolean;
  setup?: boolean;
  setup_tests?: string[];
}

/** One test of the suite. */
export interface TestDef {
  id: string;
  name: string;
  kind?: 'required' | 'optimal' | 'check';
  requests: RequestDef[];
  depends_on?: string[];
  /** Run only against a browser (user agent) cache. */
  browser_only?: boolean;
  /** Not run against a browser (user agent) cache. */
  browser_skip?: boolean;
  /** Not run against a browser (user agent) cache; run against intermediaries (the suite runs them on any proxy). */
  cdn_only?: boolean;
}

/**
 * The tests the suite's own runner (`test-engine/client/runner.mjs`) runs against a cache:
 * against a browser's, that is a user agent's private cache, it skips `cdn_only` and
 * `browser_skip` tests; against an intermediary (a proxy or a CDN), `browser_only` ones.
 */
export function selectTests(suites: readonly SuiteDef[], cache: 'browser' | 'intermediary'): TestDef[] {
  const applies = (test: TestDef): boolean => (cache === 'browser' ? test.cdn_only !== true && test.browser_skip !== true : test.browser_only !== true);
  return suites.flatMap((suite) => suite.tests.filter(applies));
}

/** A suite of tests (one definitions file). */
export interface SuiteDef {
  id: string;
  name: string;
  tests: TestDef[];
}

/** A test's raw outcome: passed, an assertion failed, or its setup failed (the suite's three). */
export type RawResult = { outcome: 'pass' } | { outcome: 'fail' | 'setup'; message: string };

/** What the suite's report calls each result (results.mjs's categories, by meaning). */
export type Verdict = 'pass' | 'fail' | 'optional_fail' | 'yes' | 'no' | 'setup_fail' | 'dependency_fail';

class Check extends Error {
  constructor(
    readonly setup: boolean,
    message: string,
  ) {
    super(message);
  }
}

function check(setup: boolean, condition: boolean, message: string): void {
  if (!condition) throw new Check(setup, message);
}

function isSetup(req: RequestDef, member: string): boolean {
  return req.setup === true || (req.setup_tests?.includes(member) ?? false);
}

const DATE_FIELDS = new Set(['date', 'expires', 'last-modified', 'if-modified-since', 'if-unmodified-since']);
const LOCATION_FIELDS = new Set(['location', 'content-location']);
const NO_BODY = new Set([204, 304]);
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function httpDate(now: number, deltaSeconds: number, rfc850: boolean): string {
  const at = new Date(now + deltaSeconds * 1000);
  if (!rfc850) return at.toUTCString();
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[at.getUTCDay()]}, ${two(at.getUTCDate())}-${MONTHS[at.getUTCMonth()]}-${two(at.getUTCFullYear() % 100)} ${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())} GMT`;
}

/**
 * A definition's header value made concrete: a number in a date field is seconds from the
 * origin's `Server-Now`; a location with `magic_locations` is made absolute-path on the test's
 * base path.
 */
function concrete(name: string, value: string | number, serverNow: number, basePath: string, req: RequestDef): string {
  const lower = name.toLowerCase();
  if (DATE_FIELDS.has(lower) && typeof value === 'number') return httpDate(serverNow, value, req.rfc850date?.includes(lower) ?? false);
  if (LOCATION_FIELDS.has(lower) && req.magic_locations === true) return value === '' ? basePath : `${basePath}/${String(value)}`;
  return String(value);
}

interface ServerRecord {
  request_num: number;
  request_method: string;
  request_headers: http.IncomingHttpHeaders;
  /** The checked response fields as sent, multi-valued ones joined with ", ". */
  response_headers: [string, string][];
}

interface TestState {
  readonly requests: RequestDef[];
  readonly records: ServerRecord[];
  /** The concrete response fields sent for each request number (validators of the next one). */
  readonly sent: Map<number, [string, string][]>;
}

/** The loopback origin: answers `/test/<uuid>/...` as the suite's server does. */
export class SuiteOrigin {
  readonly tests = new Map<string, TestState>();
  private server: http.Server | null = null;
  private port = 0;

  constructor(
    private readonly clock: ManualClock,
    private readonly wallClock: () => number,
  ) {}

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = http.createServer({ keepAliveTimeout: 2000 }, (req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume();
    const segments = new URL(req.url ?? '/', this.base).pathname.split('/');
    const state = segments[1] === 'test' ? this.tests.get(segments[2] ?? '') : undefined;
    if (state === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such test');
      return;
    }
    const uuid = segments[2] as string;
    const serverNum = state.records.length + 1;
    const clientNum = Number.parseInt(String(req.headers['req-num']), 10);
    const num = Number.isNaN(clientNum) ? serverNum : clientNum;
    const def = state.requests[num - 1];
    if (def === undefined) {
      res.writeHead(409, { 'Content-Type': 'text/plain' }).end(`no request ${num}`);
      return;
    }
    if (def.response_pause !== undefined) this.clock.advance(def.response_pause * 1000);
    const now = this.wallClock();
    for (const [status, fields = []] of def.interim_responses ?? []) {
      if (status === 102) res.writeProcessing();
      else if (status === 103) res.writeEarlyHints(Object.fromEntries(fields));
    }
    let status: [number, string] = def.response_status ?? [200, 'OK'];
    if (def.expected_type?.endsWith('validated') === true) {
      // The previous request's fields as sent, or as defined when the cache answered it (a
      // relative date then never matches, as in the suite's own server).
      const previous = state.sent.get(num - 1) ?? (state.requests[num - 2]?.response_headers ?? []).map(([n, v]): [string, string] => [n, String(v)]);
      const field = (name: string): string | undefined => previous.find(([n]) => n.toLowerCase() === name)?.[1];
      const lastModified = field('last-modified');
      const etag = field('etag');
      status = [999, '304 Not Generated'];
      if (lastModified !== undefined && req.headers['if-modified-since'] === lastModified) status = [304, 'Not Modified'];
      if (etag !== undefined && req.headers['if-none-match'] === etag) status = [304, 'Not Modified'];
    }
    const basePath = req.url ?? '/';
    const fields: [string, string][] = [
      ['Server-Base-Url', basePath],
      ['Server-Request-Count', String(serverNum)],
      ['Client-Request-Count', String(clientNum)],
      ['Server-Now', String(now)],
    ];
    const checked = new Map<string, string[]>();
    const sent: [string, string][] = [];
    for (const [name, value, keep] of def.response_headers ?? []) {
      const text = concrete(name, value, now, basePath, def);
      fields.push([name, text]);
      sent.push([name, text]);
      if (keep !== false) {
        const lines = checked.get(name) ?? [];
        lines.push(text);
        checked.set(name, lines);
      }
    }
    state.sent.set(num, sent);
    if (!fields.some(([n]) => n.toLowerCase() === 'content-type')) fields.push(['Content-Type', 'text/plain']);
    // Node would add a Date from the real clock: the origin's clock is the test's.
    if (!fields.some(([n]) => n.toLowerCase() === 'date')) fields.push(['Date', httpDate(now, 0, false)]);
    state.records.push({
      request_num: clientNum,
      request_method: req.method ?? '',
      request_headers: req.headers,
      response_headers: [...checked].map(([name, lines]) => [name, lines.join(', ')]),
    });
    fields.push(['Request-Numbers', state.records.map((r) => r.request_num).join(' ')]);
    if (def.disconnect === true) {
      req.socket.destroy();
      return;
    }
    res.sendDate = false;
    res.statusCode = status[0];
    res.statusMessage = status[1];
    const grouped = new Map<string, string[]>();
    for (const [name, value] of fields) grouped.set(name, [...(grouped.get(name) ?? []), value]);
    for (const [name, values] of grouped) res.setHeader(name, values.length === 1 ? (values[0] as string) : values);
    if (NO_BODY.has(status[0])) res.end();
    else res.end(def.response_body ?? uuid);
  }
}

/** One request of a test, as a {@link SuiteClient} sends it. */
export interface SuiteRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly body: string | null;
  /** The Fetch cache mode the definition asks for, if any. */
  readonly cache: RequestDef['cache'];
}

/** What a {@link SuiteClient} received: the final response, its body read whole, and the interim responses before it. */
export interface SuiteResponse {
  readonly code: number;
  readonly headers: Headers;
  readonly text: string;
  readonly interim: readonly { readonly code: number; readonly headers: Headers }[];
}

/** The cache under test, behind one function: Strand's agents, or another client through an adapter. */
export type SuiteClient = (request: SuiteRequest) => Promise<SuiteResponse>;

/** A {@link SuiteClient} sending through a Strand {@link Agent} (the Fetch cache mode goes to a `CachingAgent`'s `cache` option). */
export function agentClient(agent: Agent): SuiteClient {
  return async ({ method, url, headers, body, cache }) => {
    const interim: InformationalResponse[] = [];
    const producer = body === null ? null : new BytesProducer(Buffer.from(body));
    const options = { timeout: 5000, onInformational: (info: InformationalResponse) => interim.push(info), ...(cache === undefined ? {} : { cache }) };
    const response = await agent.request(method, url, headers, producer, options);
    const text = (await readBody(response)).toString('utf8');
    return { code: response.code, headers: response.headers, text, interim };
  };
}

/** Runs one test through `client` (a cache made fresh for it) and says how it went. */
export async function runTest(test: TestDef, origin: SuiteOrigin, client: SuiteClient, clock: ManualClock): Promise<RawResult> {
  const uuid = randomUUID();
  const requests = test.requests;
  const state: TestState = { requests, records: [], sent: new Map() };
  origin.tests.set(uuid, state);
  const received: Headers[] = [];
  try {
    for (let i = 0; i < requests.length; i++) {
      const req = requests[i] as RequestDef;
      const num = i + 1;
      let path = `/test/${uuid}`;
      if (req.filename !== undefined) path += `/${req.filename}`;
      if (req.query_arg !== undefined) path += `?${req.query_arg}`;
      const headers = new Headers();
      const previous = received[i - 1];
      for (const [name, value] of req.request_headers ?? []) {
        if (req.magic_ims === true && name.toLowerCase() === 'if-modified-since' && previous !== undefined) {
          headers.add(name, concrete(name, value, Number(previous.get('server-now')), '', req));
        } else {
          headers.add(name, String(value));
        }
      }
      headers.add('Test-Name', test.name);
      headers.add('Test-ID', test.id);
      headers.add('Req-Num', String(num));
      const method = req.request_method ?? 'GET';
      const response = await client({ method, url: origin.base + path, headers, body: req.request_body ?? null, cache: req.cache });
      received.push(response.headers);
      checkResponse(req, num, uuid, response.code, response.headers, response.text, response.interim, method);
      if (req.pause_after === true) clock.advance(3000);
    }
    checkOrigin(requests, received, state.records);
    return { outcome: 'pass' };
  } catch (error) {
    if (error instanceof Check) return { outcome: error.setup ? 'setup' : 'fail', message: error.message };
    return { outcome: 'fail', message: `error: ${(error as Error).message}` };
  } finally {
    origin.tests.delete(uuid);
  }
}

function checkResponse(req: RequestDef, num: number, uuid: string, code: number, headers: Headers, text: string, interim: SuiteResponse['interim'], method: string): void {
  const served = Number.parseInt(headers.get('server-request-count') ?? '', 10);
  const numbers = headers.get('request-numbers');
  if (numbers !== undefined) {
    const list = numbers.split(' ');
    check(true, list.length === new Set(list).size, 'retry');
  }
  if (req.expected_type === 'cached' && !(code === 304 && Number.isNaN(served))) {
    check(isSetup(req, 'expected_type'), served < num, `Response ${num} does not come from cache`);
  }
  if (req.expected_type === 'not_cached') check(isSetup(req, 'expected_type'), served === num, `Response ${num} comes from cache`);
  if (req.expected_status !== undefined) {
    if (req.expected_status !== null) check(isSetup(req, 'expected_status'), code === req.expected_status, `Response ${num} status is ${code}, not ${req.expected_status}`);
  } else if (req.response_status !== undefined) {
    check(true, code === req.response_status[0], `Response ${num} status is ${code}, not ${req.response_status[0]}`);
  } else if (code === 999) {
    check(isSetup(req, 'expected_type'), false, `Request ${num} should have been conditional, but it was not.`);
  } else {
    check(true, code === 200, `Response ${num} status is ${code}, not 200`);
  }
  const presentSetup = isSetup(req, 'expected_response_headers');
  for (const expected of req.expected_response_headers ?? []) {
    if (typeof expected === 'string') {
      check(presentSetup, headers.has(expected), `Response ${num} ${expected} header not present.`);
    } else if (expected.length === 3) {
      const [name, op, operand] = expected;
      check(presentSetup, headers.has(name), `Response ${num} ${name} header not present.`);
      const value = headers.get(name);
      if (op === '=') check(presentSetup, value === headers.get(String(operand)), `Response ${num} header ${name} is ${value}, should match ${operand}`);
      else check(presentSetup, Number.parseInt(value ?? '', 10) > Number(operand), `Response ${num} header ${name} is ${value}, should be bigger than ${operand}`);
    } else {
      const [name, value] = expected;
      const want = concrete(name, value, Number(headers.get('server-now')), headers.get('server-base-url') ?? '', req);
      check(presentSetup, headers.get(name) === want, `Response ${num} header ${name} is "${headers.get(name)}", not "${want}"`);
    }
  }
  const missingSetup = isSetup(req, 'expected_response_headers_missing');
  for (const missing of req.expected_response_headers_missing ?? []) {
    if (typeof missing === 'string') {
      check(missingSetup, !headers.has(missing), `Response ${num} includes unexpected header ${missing}: "${headers.get(missing)}"`);
    } else {
      const value = headers.get(missing[0]);
      if (value !== undefined) check(missingSetup, !value.includes(missing[1]), `Response ${num} header ${missing[0]} still has value "${value}"`);
    }
  }
  if (req.expected_interim_responses !== undefined) {
    const setup = isSetup(req, 'expected_interim_responses');
    req.expected_interim_responses.forEach(([status, fields = []], index) => {
      const got = interim[index];
      check(setup, got !== undefined, `Interim response ${index + 1} not received`);
      check(setup, got?.code === status, `Interim response ${index + 1} status is ${got?.code}, not ${status}`);
      for (const [name] of fields) check(setup, got?.headers.has(name) === true, `Interim response ${index + 1} ${name} header not present.`);
    });
    check(setup, interim.length === req.expected_interim_responses.length, `Received ${interim.length} interim response(s), expected ${req.expected_interim_responses.length}`);
  }
  if (req.check_body === false) return;
  if (req.expected_response_text !== undefined) {
    if (req.expected_response_text !== null) check(isSetup(req, 'expected_response_text'), text === req.expected_response_text, `Response body is "${text}", not "${req.expected_response_text}"`);
  } else if (req.response_body !== undefined && req.response_body !== null) {
    check(true, text === req.response_body, `Response body is "${text}", not "${req.response_body}"`);
  } else if (!NO_BODY.has(code) && method !== 'HEAD') {
    check(true, text === uuid, `Response body is "${text}", not "${uuid}"`);
  }
}

function checkOrigin(requests: RequestDef[], received: Headers[], records: ServerRecord[]): void {
  let seen = 0;
  for (let i = 0; i < requests.length; i++) {
    const req = requests[i] as RequestDef;
    const num = i + 1;
    const record = records[seen];
    const setup = isSetup(req, 'expected_type');
    const validators: string[] = [];
    if (req.expected_type === 'cached') continue;
    if (req.expected_type === 'not_cached') check(setup, record?.request_num === num, `Response ${num} comes from cache (${record?.request_num} on server)`);
    if (req.expected_type === 'etag_validated') validators.push('if-none-match');
    if (req.expected_type === 'lm_validated') validators.push('if-modified-since');
    seen++;
    for (const name of validators) {
      check(setup, record !== undefined, `request ${num} wasn't sent to server`);
      check(setup, record !== undefined && name in record.request_headers, `request ${num} doesn't have ${name} header`);
    }
    const presentSetup = isSetup(req, 'expected_request_headers');
    for (const expected of req.expected_request_headers ?? []) {
      if (typeof expected === 'string') check(presentSetup, record !== undefined && expected.toLowerCase() in record.request_headers, `Request ${num} ${expected} header not present.`);
      else check(presentSetup, record?.request_headers[expected[0].toLowerCase()] === expected[1], `Request ${num} header ${expected[0]} is "${String(record?.request_headers[expected[0].toLowerCase()])}", not "${expected[1]}"`);
    }
    const missingSetup = isSetup(req, 'expected_request_headers_missing');
    for (const missing of req.expected_request_headers_missing ?? []) {
      if (typeof missing === 'string') check(missingSetup, record === undefined || !(missing.toLowerCase() in record.request_headers), `Request ${num} ${missing} header present.`);
      else check(missingSetup, record?.request_headers[missing[0].toLowerCase()] !== missing[1], `Request ${num} header ${missing[0]} is "${missing[1]}"`);
    }
    const headers = received[i];
    if (record !== undefined && headers !== undefined) {
      for (const [name, value] of record.response_headers) {
        if (name.toLowerCase() === 'date') continue;
        check(true, headers.get(name) === value, `Response ${num} header ${name} is "${headers.get(name)}", not "${value}"`);
      }
    }
    if (req.expected_method !== undefined) check(isSetup(req, 'expected_method'), record?.request_method === req.expected_method, `Request ${num} had method ${record?.request_method}, not ${req.expected_method}`);
  }
}

/** The suite's verdict for a test, dependencies honoured (results.mjs's rules). */
export function verdict(test: TestDef, results: ReadonlyMap<string, RawResult>, tests: ReadonlyMap<string, TestDef>): Verdict {
  const result = results.get(test.id) as RawResult;
  for (const dependency of test.depends_on ?? []) {
    const dep = tests.get(dependency);
    const depVerdict = dep === undefined ? 'dependency_fail' : verdict(dep, results, tests);
    if (depVerdict !== 'pass' && depVerdict !== 'yes') return 'dependency_fail';
  }
  if (result.outcome === 'setup') return 'setup_fail';
  const passed = result.outcome === 'pass';
  switch (test.kind ?? 'required') {
    case 'required':
      return passed ? 'pass' : 'fail';
    case 'optimal':
      return passed ? 'pass' : 'optional_fail';
    case 'check':
      return passed ? 'yes' : 'no';
  }
}
