/**
 * ResponseParser and CONNECT (RFC 9110 §9.3.6): a 2xx answer to CONNECT ends at its head — the
 * connection is a tunnel from then on — and any Content-Length or Transfer-Encoding in it is
 * ignored. A non-2xx answer is an ordinary response with an ordinary body.
 */
import { type ResponseHead, type ResponseParserHandler, ResponseParser } from '../src/http1/parser.js';

type Event = ['head', ResponseHead] | ['body', string] | ['complete'];

class Recorder implements ResponseParserHandler {
  events: Event[] = [];
  onInformational(): void {}
  onHead(head: ResponseHead): void {
    this.events.push(['head', head]);
  }
  onBody(chunk: Buffer): void {
    this.events.push(['body', chunk.toString('latin1')]);
  }
  onTrailers(): void {}
  onComplete(): void {
    this.events.push(['complete']);
  }
}

/** Feeds `input` in pieces of `chunkSize` until the message completes; returns what was consumed. */
function parse(method: string, input: string, chunkSize = input.length): { events: Event[]; consumed: number } {
  const recorder = new Recorder();
  const parser = new ResponseParser(recorder);
  parser.reset(method);
  const bytes = Buffer.from(input, 'latin1');
  let consumed = 0;
  for (let offset = 0; offset < bytes.length; offset += chunkSize) {
    const piece = bytes.subarray(offset, Math.min(offset + chunkSize, bytes.length));
    const n = parser.execute(piece);
    consumed += n;
    if (n < piece.length || recorder.events.some((e) => e[0] === 'complete')) break;
  }
  return { events: recorder.events, consumed };
}

const TUNNEL_BYTES = '\x16\x03\x01\x00\x05hello';

describe('ResponseParser after a CONNECT request', () => {
  const established = 'HTTP/1.1 200 Connection established\r\nProxy-Agent: test\r\n\r\n';

  it.each([1, 3, 7, 1000])('completes a 200 at the end of its head and leaves the tunnel bytes unconsumed (chunks of %i)', (chunkSize) => {
    const { events, consumed } = parse('CONNECT', established + TUNNEL_BYTES, chunkSize);
    expect(events.map((e) => e[0])).toEqual(['head', 'complete']);
    const head = events[0]?.[1] as ResponseHead;
    expect(head.code).toBe(200);
    expect(head.framing).toBe('none');
    expect(consumed).toBe(established.length);
  });

  it('ignores Content-Length and Transfer-Encoding in a 2xx answer to CONNECT', () => {
    for (const framing of ['Content-Length: 10\r\n', 'Transfer-Encoding: chunked\r\n', 'Content-Length: 3\r\nTransfer-Encoding: chunked\r\n']) {
      const head = `HTTP/1.1 200 OK\r\n${framing}\r\n`;
      const { events, consumed } = parse('CONNECT', head + TUNNEL_BYTES);
      expect(events.map((e) => e[0])).toEqual(['head', 'complete']);
      expect((events[0]?.[1] as ResponseHead).framing).toBe('none');
      expect(consumed).toBe(head.length);
    }
  });

  it('reads the body of a 407 answer to CONNECT as an ordinary response', () => {
    const response = 'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="p"\r\nContent-Length: 6\r\n\r\ndenied';
    const { events } = parse('CONNECT', response, 5);
    expect(events[0]?.[0]).toBe('head');
    expect((events[0]?.[1] as ResponseHead).framing).toBe('length');
    expect(events.filter((e) => e[0] === 'body').map((e) => e[1]).join('')).toBe('denied');
    expect(events.at(-1)).toEqual(['complete']);
  });

  it('reads a 3xx answer to CONNECT with its body too (only 2xx opens a tunnel)', () => {
    const { events } = parse('CONNECT', 'HTTP/1.1 302 Found\r\nContent-Length: 2\r\n\r\nno');
    expect((events[0]?.[1] as ResponseHead).framing).toBe('length');
    expect(events.filter((e) => e[0] === 'body').map((e) => e[1])).toEqual(['no']);
  });

  it('treats the same 200 head as a close-delimited body for any other method', () => {
    const { events, consumed } = parse('GET', established + TUNNEL_BYTES);
    expect((events[0]?.[1] as ResponseHead).framing).toBe('close');
    expect(events.filter((e) => e[0] === 'body').map((e) => e[1]).join('')).toBe(TUNNEL_BYTES);
    expect(consumed).toBe(established.length + TUNNEL_BYTES.length);
  });

  it('forgets CONNECT on reset: the next request on the parser frames its response normally', () => {
    const recorder = new Recorder();
    const parser = new ResponseParser(recorder);
    parser.reset('CONNECT');
    parser.execute(Buffer.from(established, 'latin1'));
    parser.reset('GET');
    parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'latin1'));
    const heads = recorder.events.filter((e) => e[0] === 'head').map((e) => (e[1] as ResponseHead).framing);
    expect(heads).toEqual(['none', 'length']);
    expect(recorder.events.filter((e) => e[0] === 'body').map((e) => e[1])).toEqual(['ok']);
  });
});
