import * as net from 'node:net';
import { ConnectionRefusedError, HttpAgent, ParseError, ResponseFailedError, ResponseNeverReceivedError, readBody } from '@strand/core';
import { RequestSequence, StubServer, strandMatchers } from '@strand/testing';

expect.extend(strandMatchers);

describe('a stub server shared by a file (beforeAll / afterAll)', () => {
  let server: StubServer;
  const agent = new HttpAgent();

  beforeAll(async () => {
    server = await StubServer.start([
      { method: 'GET', path: '/health', reply: 'ok' },
      { method: 'POST', path: '/echo', reply: (req) => ({ status: 201, json: req.json() }) },
      { path: '/reset', reply: { body: 'x'.repeat(1000), fault: { type: 'reset', afterBodyBytes: 10 } } },
      { path: '/close', reply: { body: 'x', fault: 'close' } },
      { path: '/garbage', reply: { fault: 'garbage' } },
      { path: '/drip', reply: { body: 'dripping', fault: 'drip' } },
      { path: '/truncate', reply: { body: 'x'.repeat(100), fault: { type: 'truncate', bodyBytes: 5 } } },
    ]);
  });

  afterAll(async () => {
    await agent.pool.closeCachedConnections();
    await server.stop();
  });

  test('it listens on 127.0.0.1 and a free port', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.urlFor('health')).toBe(`${server.url}/health`);
  });

  test('routes answer over a real socket and requests are recorded', async () => {
    const echoed = await fetch(server.urlFor('/echo'), { method: 'POST', body: JSON.stringify({ a: 1 }), headers: { 'content-type': 'application/json' } });
    expect(echoed.status).toBe(201);
    expect(await echoed.json()).toEqual({ a: 1 });
    expect(server).toHaveReceivedRequest({ method: 'POST', path: '/echo', json: { a: 1 }, host: `127.0.0.1:${server.port}` });
    expect(server.lastRequest?.url.href).toBe(`${server.url}/echo`);
  });

  test('a reset mid-body fails the body (over TCP the kernel may report it as a reset or an early end)', async () => {
    const response = await agent.request('GET', server.urlFor('/reset'));
    await expect(readBody(response)).rejects.toBeInstanceOf(ResponseFailedError);
  });

  test('a close before the head is "response never received"', async () => {
    await expect(agent.request('GET', server.urlFor('/close'))).rejects.toBeInstanceOf(ResponseNeverReceivedError);
  });

  test('garbage is a parse error', async () => {
    await expect(agent.request('GET', server.urlFor('/garbage'))).rejects.toBeInstanceOf(ParseError);
  });

  test('a truncated body is a partial response', async () => {
    const response = await agent.request('GET', server.urlFor('/truncate'));
    await expect(readBody(response)).rejects.toBeInstanceOf(ResponseFailedError);
  });

  test('a dripped response arrives whole', async () => {
    const response = await agent.request('GET', server.urlFor('/drip'));
    expect((await readBody(response)).toString()).toBe('dripping');
  });

  test('after all those faults the agent still works', async () => {
    const response = await agent.request('GET', server.urlFor('/health'));
    expect((await readBody(response)).toString()).toBe('ok');
    expect(() => server.assertNoPending()).not.toThrow();
  });
});

describe('starting and stopping', () => {
  test('stop() closes idle keep-alive connections too, and releases the port', async () => {
    const server = await StubServer.start(() => 'hi');
    const agent = new HttpAgent();
    const response = await agent.request('GET', server.url);
    expect((await readBody(response)).toString()).toBe('hi');
    await server.flush();
    expect(Object.values(agent.pool.stats())[0]?.idle).toBe(1);
    await server.stop();
    await server.stop(); // twice is fine
    await new Promise((resolve) => setImmediate(resolve));
    expect(Object.values(agent.pool.stats())).toEqual([]);
    await expect(agent.request('GET', server.url)).rejects.toBeInstanceOf(ConnectionRefusedError);
  });

  test('a sequence can drive a stub server, with its failures reported', async () => {
    const sequence = new RequestSequence([[{ method: 'GET', path: '/one' }, 'first']]);
    const server = await StubServer.start(sequence);
    try {
      const wrong = await fetch(server.urlFor('/two'));
      expect(wrong.status).toBe(599);
      await wrong.text();
      expect(() => sequence.assertAllConsumed()).toThrow(/unexpected request #1: GET http:\/\/127\.0\.0\.1:\d+\/two/);
      expect(() => server.assertNoPending()).toThrow(/unexpected request/);
    } finally {
      await server.stop();
    }
  });

  test('it can listen on ::1', async () => {
    const server = await StubServer.start(() => 'six', { host: '::1' });
    try {
      expect(server.url).toBe(`http://[::1]:${server.port}`);
      const agent = new HttpAgent();
      expect((await readBody(await agent.request('GET', server.url))).toString()).toBe('six');
      await agent.pool.closeCachedConnections();
    } finally {
      await server.stop();
    }
  });

  test('only loopback addresses are allowed', async () => {
    await expect(StubServer.start(() => 200, { host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(/host must be 127.0.0.1 or ::1/);
  });

  test('a raw client sees Node answer a malformed request with 400', async () => {
    const server = await StubServer.start(() => 200);
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(server.port, '127.0.0.1', () => socket.write('NOT A REQUEST\r\n\r\n'));
        let data = '';
        socket.on('data', (chunk) => (data += chunk.toString()));
        socket.on('close', () => resolve(data));
        socket.on('error', reject);
      });
      expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request/);
      expect(server.requests).toHaveLength(0);
    } finally {
      await server.stop();
    }
  });
});
