import { HTTPConnectionPool } from '@strand/core';
import { HTTPClient, type Progress } from '../../src/index';
import { type NginxServer, nginxAvailable, startNginx } from '../../../core/test/support/nginx';

const available = nginxAvailable();
const describeNginx = available ? describe : describe.skip;

const MiB = 1024 * 1024;

describeNginx('interop: the client’s automatic Expect: 100-continue against nginx', () => {
  let nginx: NginxServer;
  let pool: HTTPConnectionPool;
  let client: HTTPClient;

  beforeAll(async () => {
    nginx = await startNginx(
      (port) => `
    listen 127.0.0.1:${port};
    location = /upload { client_max_body_size 1m; return 200 "stored\\n"; }
    `,
    );
  });
  beforeEach(() => {
    pool = new HTTPConnectionPool();
    client = new HTTPClient({ pool });
  });
  afterEach(async () => {
    await pool.destroy();
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  const url = (): string => `http://127.0.0.1:${nginx.port}/upload`;

  it('sends none of an 8 MiB upload that nginx refuses with 413 before its 100 Continue', async () => {
    const progress: Progress[] = [];
    const response = await client.put(url(), { data: Buffer.alloc(8 * MiB), onUploadProgress: (p) => progress.push(p) });
    expect(response.code).toBe(413);
    expect(response.request.headers.get('expect')).toBe('100-continue');
    // The body producer never started: no upload progress at all, not even the first event at 0.
    expect(progress).toEqual([]);
  });

  it('sends an upload nginx takes after its 100 Continue', async () => {
    const progress: Progress[] = [];
    const response = await client.put(url(), { data: Buffer.alloc(512 * 1024), expectContinue: 0, onUploadProgress: (p) => progress.push(p) });
    expect(response.code).toBe(200);
    expect(await response.text()).toBe('stored\n');
    expect(response.request.headers.get('expect')).toBe('100-continue');
    expect(progress.at(-1)).toMatchObject({ transferred: 512 * 1024, percent: 1 });
  });
});
