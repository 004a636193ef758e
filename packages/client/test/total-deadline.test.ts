import { HTTPConnectionPool, ManualClock, TimeoutError } from '@strand/core';
import { HTTPClient } from '../src/index.js';
import { type TestServer, startServer } from './support/servers.js';

// The `total` timeout of a client call runs on the clock of the pool the call goes through, as
// every core timer does, so a ManualClock drives it and no test waits for real time.
let server: TestServer;
const stalled: Array<() => void> = [];
let onStall: (() => void) | null = null;

beforeAll(async () => {
  server = await startServer((req, res) => {
    if (req.url === '/stall') {
      stalled.push(() => res.end('late'));
      onStall?.();
    }
    else res.end('ok');
  });
});

afterAll(async () => {
  for (const release of stalled) release();
  await server.close();
});

describe("a client call's total timeout", () => {
  it("fires when the pool's clock passes it while the call waits for a slot, and says nothing was sent", async () => {
    const clock = new ManualClock();
    const pool = new HTTPConnectionPool({ clock });
    const client = new HTTPClient({ pool, maxConcurrentRequests: 1 });
    try {
      const arrived = new Promise<void>((resolve) => (onStall = resolve));
      const holder = client.get(`${server.url}/stall`);
      await arrived;
      const waiting = client.get(`${server.url}/queued`, { timeout: 1000 });
      const outcome = waiting.then(
        () => null,
        (error: unknown) => error,
      );
      expect(client.queued).toBe(1);
      clock.advance(999);
      expect(client.queued).toBe(1);
      clock.advance(1);
      const error = await outcome;
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as TimeoutError).phase).toBe('total');
      expect((error as TimeoutError).sent).toBe(false);
      expect(server.requests.map((r) => r.url)).not.toContain('/queued');
      (stalled.shift() as () => void)();
      expect(await (await holder).text()).toBe('late');
    } finally {
      await client.destroy();
      await pool.destroy();
    }
  });

  it('does not fire for a call that ended before it, however far the clock moves', async () => {
    const clock = new ManualClock();
    const pool = new HTTPConnectionPool({ clock });
    const client = new HTTPClient({ pool });
    try {
      const response = await client.get(`${server.url}/quick`, { timeout: 1000 });
      clock.advance(10_000);
      expect(await response.text()).toBe('ok');
    } finally {
      await client.close();
      await pool.close();
    }
  });
});
