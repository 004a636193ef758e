import { HttpAgent, HTTPConnectionPool, InvalidArgumentError, StandardEndpointFactory } from '../src/index.js';

describe('options objects refuse keys they do not know', () => {
  it.each([
    ['StandardEndpointFactory', () => new StandardEndpointFactory({ tls: { ca: 'x' } } as never), /StandardEndpointFactory: unknown option "tls"/],
    ['HttpAgent', () => new HttpAgent({ timeout: 5 } as never), /HttpAgent: unknown option "timeout"/],
    ['HTTPConnectionPool', () => new HTTPConnectionPool({ maxSockets: 5 } as never), /HTTPConnectionPool: unknown option "maxSockets"/],
  ])('%s names the unknown option and lists the known ones', (_name, make, message) => {
    expect(make).toThrow(InvalidArgumentError);
    expect(make).toThrow(message);
    expect(make).toThrow(/the options are /);
  });
});
