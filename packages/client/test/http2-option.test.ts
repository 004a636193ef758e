/**
 * The client's `http2` option: the default agent speaks HTTP/2 (core's Http2Agent), with the
 * client's own layers (JSON, cookies, redirects) on top unchanged, and HTTP/1.1 on the pool for
 * what does not go over HTTP/2.
 */
import type * as http2 from 'node:http2';
import { InvalidArgumentError } from '@strand/core';
import { HTTPClient } from '@strand/client';
import { type H2TestServer, answer, startH2cServer } from '../../core/test/support/h2-servers';
import { type TestServer, startServer } from './support/servers';

let h2: H2TestServer;
let h1: TestServer;

beforeAll(async () => {
  h2 = await startH2cServer((stream, headers) => {
    switch (headers[':path']) {
      case '/login':
        stream.respond({ ':status': 302, location: '/me', 'set-cookie': 'session=abc; Path=/' });
        stream.end();
        return;
      case '/me':
        answer(stream, JSON.stringify({ cookie: headers.cookie ?? null }), { 'content-type': 'application/json' });
        return;
      default:
        answer(stream, 'h2 ok');
    }
  });
  h1 = await startServer((req, res) => res.end(`h1 ${req.httpVersion}`));
});

afterAll(async () => {
  await h2.close();
  await h1.close();
});

describe("the http2 option", () => {
  it("'h2c' sends requests over HTTP/2, with redirects, cookies and JSON from the client's layers", async () => {
    const client = new HTTPClient({ http2: 'h2c' });
    try {
      const response = await client.get(`${h2.origin}/login`);
      expect(response.version).toEqual([2, 0]);
      expect(response.code).toBe(200);
      expect(await response.json()).toEqual({ cookie: 'session=abc' });
      expect(h2.sessions).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('true leaves http: URLs on HTTP/1.1 (no cleartext HTTP/2 without h2c)', async () => {
    const client = new HTTPClient({ http2: true });
    try {
      const response = await client.get(`${h1.url}/`);
      expect(response.version).toEqual([1, 1]);
      expect(await response.text()).toBe('h1 1.1');
    } finally {
      await client.close();
    }
  });

  it('close() closes the client’s HTTP/2 sessions', async () => {
    const client = new HTTPClient({ http2: 'h2c' });
    const before = h2.sessions.length;
    expect(await (await client.get(`${h2.origin}/`)).text()).toBe('h2 ok');
    const session = h2.sessions[before] as http2.ServerHttp2Session;
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    await client.close();
    await closed;
  });

  it('rejects a bad value and the option together with agent, naming the option', () => {
    expect(() => new HTTPClient({ http2: 'yes' as unknown as boolean })).toThrow(InvalidArgumentError);
    expect(() => new HTTPClient({ http2: 'yes' as unknown as boolean })).toThrow(/http2 must be true, false or 'h2c'/);
    expect(() => new HTTPClient({ http2: true, agent: { request: () => Promise.reject(new Error('unused')) } })).toThrow(/http2 configures the default agent/);
  });
});
