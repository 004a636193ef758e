/**
 * The request lifecycle on `node:diagnostics_channel`, under `strand:` in undici's shape, with
 * messages built only for listeners.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { BytesProducer, ConnectionRefusedError, HTTPConnectionPool, Headers, HttpAgent, ParseError, readBody } from '../src/index.js';
import { requestCreated } from '../src/diagnostics.js';
import { type TestServer, onRequestHead, startHttpServer, startRawServer } from './support/servers.js';
import { type ChannelEvent, recordChannels } from './support/channel-events.js';

const NAMES = [
  'strand:request:create',
  'strand:client:beforeConnect',
  'strand:client:connected',
  'strand:client:connectError',
  'strand:client:sendHeaders',
  'strand:request:bodySent',
  'strand:request:headers',
  'strand:request:trailers',
  'strand:request:error',
  'strand:pool:queued',
  'strand:pool:connectionClosed',
];

let server: TestServer;
beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
});
afterAll(() => server.close());

/** Records every strand event while `run` runs. */
function record(run: () => Promise<void>): Promise<ChannelEvent[]> {
  return recordChannels(NAMES, run);
}

describe('diagnostics channels', () => {
  it('tell the life of a request in order, with one request object throughout', async () => {
    const agent = new HttpAgent();
    const events = await record(async () => {
      const response = await agent.request('POST', `${server.url}/path?q=1`, { 'X-Tag': 'a' }, new BytesProducer('body'));
      await readBody(response);
    });
    expect(events.map(([name]) => name)).toEqual([
      'strand:request:create',
      'strand:client:beforeConnect',
      'strand:client:connected',
      'strand:client:sendHeaders',
      'strand:request:bodySent',
      'strand:request:headers',
      'strand:request:trailers',
    ]);
    const request = events[0]![1]['request'] as { method: string; url: string };
    expect(request).toMatchObject({ method: 'POST', url: `${server.url}/path?q=1` });
    for (const [name, message] of events) if (name.startsWith('strand:request') || name === 'strand:client:sendHeaders') expect(message['request']).toBe(request);
    expect(events[1]![1]['connectParams']).toEqual({ key: server.url, url: `${server.url}/path?q=1` });
    expect(String(events[3]![1]['headers'])).toMatch(/^POST \/path\?q=1 HTTP\/1\.1\r\n[\s\S]*X-Tag: a\r\n/);
    expect(events[5]![1]['response']).toMatchObject({ code: 200 });
    await agent.close();
  });

  it('report a failed connection and the request error, once', async () => {
    const agent = new HttpAgent();
    const events = await record(async () => {
      await agent.request('GET', 'http://127.0.0.1:1/').catch(() => undefined);
    });
    expect(events.map(([name]) => name)).toEqual(['strand:request:create', 'strand:client:beforeConnect', 'strand:client:connectError', 'strand:request:error']);
    expect(events[3]![1]['error']).toBeInstanceOf(ConnectionRefusedError);
  });

  it('report a malformed response as the request error, once', async () => {
    const raw = await startRawServer((socket) => onRequestHead(socket, () => socket.end('HTTP/1.1 2000 Nope\r\n\r\n')));
    try {
      const agent = new HttpAgent();
      const events = await record(async () => {
        await agent.request('GET', raw.url).catch(() => undefined);
      });
      const errors = events.filter(([name]) => name === 'strand:request:error');
      expect(errors).toHaveLength(1);
      expect(errors[0]![1]['error']).toBeInstanceOf(ParseError);
    } finally {
      await raw.close();
    }
  });

  it('report a request queued for a connection, and connections closing', async () => {
    const pool = new HTTPConnectionPool({ maxConnectionsPerHost: 1 });
    const agent = new HttpAgent({ pool });
    const events = await record(async () => {
      const first = agent.request('GET', `${server.url}/a`);
      const second = agent.request('GET', `${server.url}/b`);
      await readBody(await first);
      await readBody(await second);
      await pool.close();
    });
    const names = events.map(([name]) => name);
    expect(names).toContain('strand:pool:queued');
    expect(names[names.length - 1]).toBe('strand:pool:connectionClosed');
  });

  it('build no request object when nobody listens to a request channel, and one when anyone does', () => {
    const headers = new Headers({ a: '1' });
    expect(requestCreated('GET', 'http://x.test/', headers)).toBeNull();
    const listener = (): void => {};
    diagnosticsChannel.subscribe('strand:request:headers', listener);
    try {
      expect(requestCreated('GET', 'http://x.test/', headers)).toEqual({ method: 'GET', url: 'http://x.test/', headers });
    } finally {
      diagnosticsChannel.unsubscribe('strand:request:headers', listener);
    }
  });
});
