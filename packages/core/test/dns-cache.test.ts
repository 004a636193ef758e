import type * as dns from 'node:dns';
import type * as net from 'node:net';
import { HTTPConnectionPool, HttpAgent, ManualClock, StandardEndpointFactory, cachingLookup, readBody } from '../src/index.js';
import { type TestServer, startHttpServer } from './support/servers.js';

/** A resolver that answers from a table and counts its calls; `hold` keeps answers back until released. */
function fakeResolver(table: Record<string, dns.LookupAddress[]>) {
  const calls: string[] = [];
  let held: Array<() => void> | null = null;
  const lookup = ((hostname: string, _options: unknown, callback: (e: NodeJS.ErrnoException | null, a: dns.LookupAddress[]) => void) => {
    calls.push(hostname);
    const reply = (): void => {
      const addresses = table[hostname];
      if (addresses === undefined) {
        const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        error.code = 'ENOTFOUND';
        callback(error, []);
      } else callback(null, addresses);
    };
    if (held !== null) held.push(reply);
    else setImmediate(reply);
  }) as unknown as net.LookupFunction;
  return {
    lookup,
    calls,
    hold: () => (held = []),
    release: () => {
      const replies = held ?? [];
      held = null;
      for (const reply of replies) reply();
    },
  };
}

function ask(lookup: net.LookupFunction, hostname: string, options: dns.LookupOptions): Promise<{ error: NodeJS.ErrnoException | null; address: unknown; family: unknown }> {
  return new Promise((resolve) => lookup(hostname, options as never, ((error: NodeJS.ErrnoException | null, address: unknown, family: unknown) => resolve({ error, address, family })) as never));
}

const TABLE = { 'a.test': [{ address: '10.0.0.1', family: 4 }, { address: 'fd00::1', family: 6 }] };

describe('cachingLookup', () => {
  it('asks the resolver once per name within the TTL, then again after it', async () => {
    const clock = new ManualClock();
    const resolver = fakeResolver(TABLE);
    const lookup = cachingLookup({ lookup: resolver.lookup, ttl: 1000, clock });
    expect((await ask(lookup, 'a.test', {})).address).toBe('10.0.0.1');
    clock.advance(999);
    expect((await ask(lookup, 'a.test', {})).address).toBe('10.0.0.1');
    expect(resolver.calls).toEqual(['a.test']);
    clock.advance(1);
    await ask(lookup, 'a.test', {});
    expect(resolver.calls).toEqual(['a.test', 'a.test']);
  });

  it('answers all addresses or one family, as the caller asks', async () => {
    const lookup = cachingLookup({ lookup: fakeResolver(TABLE).lookup });
    expect((await ask(lookup, 'a.test', { all: true })).address).toEqual(TABLE['a.test']);
    expect(await ask(lookup, 'a.test', { family: 6 })).toMatchObject({ address: 'fd00::1', family: 6 });
    expect((await ask(lookup, 'a.test', { family: 6, all: true })).address).toEqual([{ address: 'fd00::1', family: 6 }]);
  });

  it('shares one resolver call between concurrent lookups, and does not cache failures', async () => {
    const resolver = fakeResolver(TABLE);
    const lookup = cachingLookup({ lookup: resolver.lookup });
    resolver.hold();
    const both = Promise.all([ask(lookup, 'a.test', {}), ask(lookup, 'a.test', { all: true })]);
    resolver.release();
    expect((await both).map((r) => r.error)).toEqual([null, null]);
    expect(resolver.calls).toEqual(['a.test']);
    expect((await ask(lookup, 'nowhere.test', {})).error).toMatchObject({ code: 'ENOTFOUND' });
    expect((await ask(lookup, 'nowhere.test', {})).error).toMatchObject({ code: 'ENOTFOUND' });
    expect(resolver.calls).toEqual(['a.test', 'nowhere.test', 'nowhere.test']);
  });

  it('keeps at most maxEntries names, dropping the least recently used', async () => {
    const table = { 'a.test': [{ address: '10.0.0.1', family: 4 }], 'b.test': [{ address: '10.0.0.2', family: 4 }], 'c.test': [{ address: '10.0.0.3', family: 4 }] };
    const resolver = fakeResolver(table);
    const lookup = cachingLookup({ lookup: resolver.lookup, maxEntries: 2 });
    await ask(lookup, 'a.test', {});
    await ask(lookup, 'b.test', {});
    await ask(lookup, 'a.test', {}); // a is now the most recent
    await ask(lookup, 'c.test', {}); // b goes
    await ask(lookup, 'a.test', {});
    await ask(lookup, 'b.test', {});
    expect(resolver.calls).toEqual(['a.test', 'b.test', 'c.test', 'b.test']);
  });

  it('refuses a bad ttl or maxEntries', () => {
    expect(() => cachingLookup({ ttl: -1 })).toThrow('cachingLookup: ttl must be a non-negative number');
    expect(() => cachingLookup({ maxEntries: 0 })).toThrow('cachingLookup: maxEntries must be a positive integer');
  });

  describe('as the endpoints\' lookup', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startHttpServer((_req, res) => res.end('ok'));
    });
    afterAll(() => server.close());

    it('resolves a host once for several new connections', async () => {
      const resolver = fakeResolver({ 'strand.test': [{ address: '127.0.0.1', family: 4 }] });
      const agent = new HttpAgent({
        pool: new HTTPConnectionPool({ persistent: false }),
        endpointFactory: new StandardEndpointFactory({ lookup: cachingLookup({ lookup: resolver.lookup }) }),
      });
      for (let i = 0; i < 3; i++) expect((await readBody(await agent.request('GET', `http://strand.test:${server.port}/`))).toString()).toBe('ok');
      expect(resolver.calls).toEqual(['strand.test']);
    });
  });
});
