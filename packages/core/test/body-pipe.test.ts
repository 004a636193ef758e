import { type BodyProtocol, type BodySink, type BodySource, type BodyTransport, BodyPipe } from '../src/message/body-pipe.js';
import { type BodyEndReason, CancelledError, ResponseDone, ResponseFailedError, type StrandError } from '../src/errors.js';

class RecordingSource implements BodySource {
  readonly calls: string[] = [];
  stopReason: StrandError | null = null;
  sink: BodySink | null = null;
  bind(sink: BodySink): void {
    this.sink = sink;
  }
  pauseBody(): void {
    this.calls.push('pause');
  }
  resumeBody(): void {
    this.calls.push('resume');
  }
  stopBody(reason: StrandError): void {
    this.calls.push('stop');
    this.stopReason = reason;
  }
}

class RecordingProtocol implements BodyProtocol {
  transport!: BodyTransport;
  readonly chunks: string[] = [];
  reasons: BodyEndReason[] = [];
  onData: ((chunk: Buffer) => void) | null = null;
  makeConnection(transport: BodyTransport): void {
    this.transport = transport;
  }
  dataReceived(chunk: Buffer): void {
    this.chunks.push(chunk.toString());
    this.onData?.(chunk);
  }
  connectionLost(reason: BodyEndReason): void {
    this.reasons.push(reason);
  }
}

describe('BodyPipe', () => {
  it('hands itself to its source as the sink, once, when made', () => {
    const source = new RecordingSource();
    const pipe = new BodyPipe(source);
    expect(source.sink).toBe(pipe);
    expect(source.calls).toEqual([]);
  });

  it('queues chunks that arrive before a consumer and pauses the source', () => {
    const source = new RecordingSource();
    const pipe = new BodyPipe(source);
    pipe.push(Buffer.from('a'));
    pipe.push(Buffer.from('b'));
    expect(source.calls).toEqual(['pause', 'pause']);
    const protocol = new RecordingProtocol();
    pipe.attach(protocol);
    expect(protocol.chunks).toEqual(['a', 'b']);
    expect(source.calls.at(-1)).toBe('resume');
  });

  it('delivers the end only after every queued chunk', () => {
    const pipe = new BodyPipe(new RecordingSource());
    pipe.push(Buffer.from('x'));
    pipe.end(new ResponseDone());
    const protocol = new RecordingProtocol();
    pipe.attach(protocol);
    expect(protocol.chunks).toEqual(['x']);
    expect(protocol.reasons).toHaveLength(1);
    expect(protocol.reasons[0]).toBeInstanceOf(ResponseDone);
    expect(pipe.done).toBe(true);
  });

  it('holds chunks while the consumer is paused and hands them over on resume, in order', () => {
    const source = new RecordingSource();
    const pipe = new BodyPipe(source);
    const protocol = new RecordingProtocol();
    pipe.attach(protocol);
    protocol.transport.pauseProducing();
    pipe.push(Buffer.from('1'));
    pipe.push(Buffer.from('2'));
    pipe.end(new ResponseDone());
    expect(protocol.chunks).toEqual([]);
    expect(protocol.reasons).toEqual([]);
    protocol.transport.resumeProducing();
    expect(protocol.chunks).toEqual(['1', '2']);
    expect(protocol.reasons[0]).toBeInstanceOf(ResponseDone);
  });

  it('stops delivering within a burst when the consumer pauses from dataReceived', () => {
    const pipe = new BodyPipe(new RecordingSource());
    pipe.push(Buffer.from('1'));
    pipe.push(Buffer.from('2'));
    const protocol = new RecordingProtocol();
    protocol.onData = () => protocol.transport.pauseProducing();
    pipe.attach(protocol);
    expect(protocol.chunks).toEqual(['1']);
    protocol.onData = null;
    protocol.transport.resumeProducing();
    expect(protocol.chunks).toEqual(['1', '2']);
  });

  it('tells a paused consumer about an error at once instead of leaving it waiting', () => {
    const pipe = new BodyPipe(new RecordingSource());
    const protocol = new RecordingProtocol();
    pipe.attach(protocol);
    protocol.transport.pauseProducing();
    pipe.push(Buffer.from('partial'));
    const failure = new ResponseFailedError('lost');
    pipe.end(failure);
    expect(protocol.reasons).toEqual([failure]);
  });

  it('stopProducing abandons the body, stops the source and ends with CancelledError', () => {
    const source = new RecordingSource();
    const pipe = new BodyPipe(source);
    const protocol = new RecordingProtocol();
    pipe.attach(protocol);
    protocol.transport.stopProducing();
    expect(source.calls).toContain('stop');
    expect(source.stopReason).toBeInstanceOf(CancelledError);
    expect(protocol.reasons).toHaveLength(1);
    expect(protocol.reasons[0]).toBeInstanceOf(CancelledError);
    pipe.push(Buffer.from('late'));
    pipe.end(new ResponseDone());
    expect(protocol.chunks).toEqual([]);
    expect(protocol.reasons).toHaveLength(1);
  });

  it('turns a consumer that throws into a stopped body with the error as cause', () => {
    const source = new RecordingSource();
    const pipe = new BodyPipe(source);
    const protocol = new RecordingProtocol();
    const bug = new Error('consumer bug');
    protocol.onData = () => {
      throw bug;
    };
    pipe.attach(protocol);
    pipe.push(Buffer.from('x'));
    expect(source.calls).toContain('stop');
    expect(protocol.reasons).toHaveLength(1);
    expect(protocol.reasons[0]).toMatchObject({ code: 'STRAND_BODY_CONSUMER_FAILED', cause: bug });
  });

  it('never touches the source after the body ended', () => {
    const source = new RecordingSource();
    const pipe = new BodyPipe(source);
    pipe.end(new ResponseDone());
    const protocol = new RecordingProtocol();
    pipe.attach(protocol);
    protocol.transport.pauseProducing();
    protocol.transport.resumeProducing();
    protocol.transport.stopProducing();
    expect(source.calls).toEqual([]);
  });

  it('keeps a consumer paused that pauses in makeConnection, and delivers on its resume', () => {
    const source = new RecordingSource();
    const pipe = new BodyPipe(source);
    pipe.push(Buffer.from('queued'));
    const protocol = new RecordingProtocol();
    protocol.makeConnection = (transport) => {
      protocol.transport = transport;
      transport.pauseProducing();
    };
    pipe.attach(protocol);
    pipe.push(Buffer.from('later'));
    expect(protocol.chunks).toEqual([]);
    expect(source.calls.at(-1)).toBe('pause');
    protocol.transport.resumeProducing();
    expect(protocol.chunks).toEqual(['queued', 'later']);
  });

  it('refuses a second consumer', () => {
    const pipe = new BodyPipe(new RecordingSource());
    pipe.attach(new RecordingProtocol());
    expect(() => pipe.attach(new RecordingProtocol())).toThrow(expect.objectContaining({ code: 'STRAND_BODY_ALREADY_CONSUMED' }));
  });

  it("offers the consumer's own buffer to the source only while it is flowing with nothing queued", () => {
    const pipe = new BodyPipe(new RecordingSource());
    const own = Buffer.alloc(8);
    const protocol = Object.assign(new RecordingProtocol(), { receiveBuffer: (): Buffer => own });
    expect(pipe.receiveBuffer()).toBeNull(); // no consumer yet
    pipe.push(Buffer.from('q'));
    pipe.attach(protocol);
    expect(pipe.receiveBuffer()).toBe(own);
    protocol.transport.pauseProducing();
    expect(pipe.receiveBuffer()).toBeNull(); // paused
    pipe.push(Buffer.from('r'));
    protocol.transport.resumeProducing();
    expect(pipe.receiveBuffer()).toBe(own);
    protocol.transport.pauseProducing();
    pipe.push(Buffer.from('s'));
    protocol.transport.resumeProducing();
    pipe.end(new ResponseDone());
    expect(pipe.receiveBuffer()).toBeNull(); // ended
    expect(protocol.chunks).toEqual(['q', 'r', 's']);
  });

  it('offers no buffer to the source when the consumer has none of its own', () => {
    const pipe = new BodyPipe(new RecordingSource());
    pipe.attach(new RecordingProtocol());
    expect(pipe.receiveBuffer()).toBeNull();
  });
});
