import * as core from '@strand/core';
import * as client from '../src/index.js';
import { startServer, type TestServer } from './support/servers.js';

// A program that installs only @strand/client must be able to name the errors a call rejects with
// (and the stores of its cache option): they are core's classes, re-exported, one identity.
const REEXPORTED = [
  'StrandError',
  'TimeoutError',
  'ConnectionRefusedError',
  'CancelledError',
  'ClosedError',
  'InvalidArgumentError',
  'TooManyRedirectsError',
  'MemoryCacheStore',
  'FileCacheStore',
] as const;

describe('@strand/client re-exports what its callers catch and configure from core', () => {
  it.each(REEXPORTED)('exports %s as core’s own class', (name) => {
    expect((client as Record<string, unknown>)[name]).toBe((core as Record<string, unknown>)[name]);
  });

  it('lets a refused connection be caught with the client’s ConnectionRefusedError and read by its code', async () => {
    const server: TestServer = await startServer((_req, res) => res.end());
    const url = server.url;
    await server.close();
    const error: unknown = await client.get(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(client.ConnectionRefusedError);
    expect(error).toBeInstanceOf(client.StrandError);
    expect((error as client.StrandError).code).toBe('STRAND_CONNECTION_REFUSED');
  });
});
