import { HTTPConnectionPool, HttpAgent, InvalidArgumentError } from '@strand/core';
import { HTTPClient, get } from '../src/index.js';

// An unknown option says what to use instead: the name other clients (fetch, got, ky, axios,
// requests) give it, or the closest option when it looks like a typo. Nothing is sent.
describe('an unknown option', () => {
  it.each([
    ['body', /unknown request option "body": give the body as data .* or json/],
    ['searchParams', /unknown request option "searchParams": use params/],
    ['method', /the method is the first argument of request\(method, url\)/],
    ['throwHttpErrors', /use throwForStatus/],
    ['header', /unknown request option "header"; did you mean "headers"\?/],
    ['timout', /did you mean "timeout"\?/],
  ])('%s is refused with a hint', async (key, message) => {
    const error: unknown = await get('http://127.0.0.1:9/', { [key]: 1 } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(message);
  });

  it('of HTTPClient points a got or axios user to baseUrl', () => {
    expect(() => new HTTPClient({ prefixUrl: 'http://x/' } as never)).toThrow(/unknown HTTPClient option "prefixUrl": use baseUrl/);
    expect(() => new HTTPClient({ maxConcurrentRequest: 2 } as never)).toThrow(/did you mean "maxConcurrentRequests"\?/);
  });

  it('without a close name gets no guess', async () => {
    const error: unknown = await get('http://127.0.0.1:9/', { zzzzzz: 1 } as never).catch((e: unknown) => e);
    expect((error as Error).message).toBe('unknown request option "zzzzzz"');
  });

  it('of a core class is refused with the closest name and the list', () => {
    expect(() => new HTTPConnectionPool({ maxConnectionPerHost: 2 } as never)).toThrow(/unknown option "maxConnectionPerHost"; the options are .* \(did you mean "maxConnectionsPerHost"\?\)$/);
    expect(() => new HttpAgent({ zzzzzz: 1 } as never)).toThrow(InvalidArgumentError);
  });
});
