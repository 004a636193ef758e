import { buildCli, runCli } from './support/cli.js';
import { type HttpProxy, type SocksServer, startHttpProxy, startSocksServer } from './support/proxies.js';
import { type TestServer, startServer } from './support/servers.js';

// The strand command finds its proxy as curl does: -x (http, https or SOCKS), else the
// environment's http_proxy / HTTPS_PROXY / ALL_PROXY / NO_PROXY; -x "" means none.
let cli: string;
let origin: TestServer;
let proxy: HttpProxy;
let socks: SocksServer;

beforeAll(async () => {
  cli = buildCli();
  origin = await startServer((_req, res) => res.end('direct from the origin'));
  proxy = await startHttpProxy();
  socks = await startSocksServer();
});

afterAll(async () => {
  await Promise.all([origin.close(), proxy.close(), socks.close()]);
});

const NO_PROXY_ENV = { http_proxy: '', HTTP_PROXY: '', https_proxy: '', HTTPS_PROXY: '', all_proxy: '', ALL_PROXY: '', no_proxy: '', NO_PROXY: '' };

describe('strand and proxies', () => {
  it('sends through the proxy that http_proxy names when -x is not given', async () => {
    const before = proxy.seen.length;
    const run = await runCli(cli, [`${origin.url}/via-env`], { env: { ...NO_PROXY_ENV, http_proxy: proxy.url } });
    expect(run.code).toBe(0);
    expect(run.stdout.toString()).toBe(`via proxy: GET ${origin.url}/via-env`);
    expect(proxy.seen.length).toBe(before + 1);
  });

  it('goes direct for a host NO_PROXY lists, and with -x "" whatever the environment says', async () => {
    const before = proxy.seen.length;
    const listed = await runCli(cli, [`${origin.url}/listed`], { env: { ...NO_PROXY_ENV, ALL_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } });
    expect(listed.stdout.toString()).toBe('direct from the origin');
    const off = await runCli(cli, ['-x', '', `${origin.url}/off`], { env: { ...NO_PROXY_ENV, ALL_PROXY: proxy.url } });
    expect(off.stdout.toString()).toBe('direct from the origin');
    expect(proxy.seen.length).toBe(before);
  });

  it('tunnels through a SOCKS5 proxy given with -x socks5h://, the proxy resolving the name', async () => {
    const before = socks.connects.length;
    const run = await runCli(cli, ['-x', socks.url('socks5h'), `http://localhost:${origin.port}/socks`], { env: NO_PROXY_ENV });
    expect(run.stderr).toBe('');
    expect(run.stdout.toString()).toBe('direct from the origin');
    expect(socks.connects.slice(before)).toEqual([expect.objectContaining({ version: 5, addressType: 'domain', host: 'localhost', port: origin.port })]);
  });

  it('says which proxy refused when the one in the environment is not running, and exits 7 as curl does', async () => {
    const run = await runCli(cli, [`${origin.url}/stale`], { env: { ...NO_PROXY_ENV, ALL_PROXY: 'socks5h://127.0.0.1:9' } });
    expect(run.code).toBe(7);
    expect(run.stderr).toContain('the proxy socks5h://127.0.0.1:9 refused the connection');
  });
});
