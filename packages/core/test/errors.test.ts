import { CancelledError, ConnectionRefusedError, ConnectError, RequestNotSentError, StrandError, redactUrl } from '../src/errors.js';

describe('errors', () => {
  it('removes credentials from the URL in the message and the url field', () => {
    const err = new ConnectionRefusedError('connection refused', { url: 'http://alice:s3cret@example.test:8080/p?q=1' });
    expect(err.message).toBe('connection refused (http://example.test:8080/p?q=1)');
    expect(err.url).toBe('http://example.test:8080/p?q=1');
    expect(err.message).not.toContain('s3cret');
  });

  it('keeps a stable code and a class hierarchy that says where the exchange failed', () => {
    const cause = new Error('ECONNREFUSED');
    const err = new ConnectionRefusedError('refused', { cause });
    expect(err.code).toBe('STRAND_CONNECTION_REFUSED');
    expect(err.name).toBe('ConnectionRefusedError');
    expect(err.cause).toBe(cause);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toBeInstanceOf(RequestNotSentError);
    expect(err).toBeInstanceOf(StrandError);
  });

  it('redacts credentials from strings that are not valid URLs', () => {
    expect(redactUrl('http://bob:pw@[bad/x')).toBe('http://[bad/x');
    expect(redactUrl(new URL('https://u@h.test/'))).toBe('https://h.test/');
  });
});

describe('CancelledError', () => {
  it('says when the signal that cancelled the request timed out', async () => {
    const signal = AbortSignal.timeout(1);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    const error = new CancelledError('request cancelled', { url: 'http://x.test/', cause: signal.reason });
    expect(error.message).toContain('request cancelled: its signal timed out (AbortSignal.timeout)');
    expect(error.code).toBe('STRAND_CANCELLED');
  });

  it('says nothing more for a signal aborted by hand', () => {
    const controller = new AbortController();
    controller.abort();
    expect(new CancelledError('request cancelled', { cause: controller.signal.reason }).message).not.toContain('timed out');
  });
});
