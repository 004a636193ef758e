import { CancelledError, StrandError, TimeoutError } from '../src/errors.js';
import { ManualClock } from '../src/time/clock.js';
import { Deadline } from '../src/time/deadline.js';

describe('Deadline', () => {
  it('aborts its signal with a total TimeoutError when its clock passes the deadline, and not before', () => {
    const clock = new ManualClock();
    const deadline = new Deadline(1000, null, 'http://deadline.test/', clock);
    clock.advance(999);
    expect(deadline.signal?.aborted).toBe(false);
    expect(deadline.expired).toBe(false);
    clock.advance(1);
    expect(deadline.signal?.aborted).toBe(true);
    expect(deadline.expired).toBe(true);
    const reason: unknown = deadline.signal?.reason;
    expect(reason).toBeInstanceOf(TimeoutError);
    expect((reason as TimeoutError).phase).toBe('total');
    expect((reason as TimeoutError).code).toBe('STRAND_TOTAL_TIMEOUT');
  });

  it('turns the cancellation its abort caused into a TimeoutError that says whether the call was sent', () => {
    const clock = new ManualClock();
    const deadline = new Deadline(50, null, 'http://deadline.test/', clock);
    deadline.markSent();
    clock.advance(50);
    const cancelled = new CancelledError('request cancelled');
    const translated = deadline.translate(cancelled) as TimeoutError;
    expect(translated).toBeInstanceOf(TimeoutError);
    expect(translated.sent).toBe(true);
    expect(translated.timeout).toBe(50);
    expect(translated.cause).toBe(cancelled);
  });

  it('leaves every error as it is before the deadline passed, and other errors after it', () => {
    const clock = new ManualClock();
    const deadline = new Deadline(50, null, 'http://deadline.test/', clock);
    const cancelled = new CancelledError('the caller aborted');
    expect(deadline.translate(cancelled)).toBe(cancelled);
    clock.advance(50);
    const other = new StrandError('STRAND_OTHER', 'something else failed');
    expect(deadline.translate(other)).toBe(other);
  });

  it("passes the caller's abort on, with the caller's reason", () => {
    const clock = new ManualClock();
    const user = new AbortController();
    const deadline = new Deadline(1000, user.signal, 'http://deadline.test/', clock);
    user.abort(new Error('stop'));
    expect(deadline.signal?.aborted).toBe(true);
    expect((deadline.signal?.reason as Error).message).toBe('stop');
    expect(deadline.expired).toBe(false);
  });

  it('never fires once cleared', () => {
    const clock = new ManualClock();
    const user = new AbortController();
    const deadline = new Deadline(10, user.signal, 'http://deadline.test/', clock);
    expect(clock.pending).toBe(1);
    deadline.clear();
    expect(clock.pending).toBe(0);
    clock.advance(100);
    expect(deadline.signal?.aborted).toBe(false);
    user.abort();
    expect(deadline.signal?.aborted).toBe(false);
    deadline.clear();
  });

  it("without a total starts no timer and hands out the caller's own signal", () => {
    const clock = new ManualClock();
    const user = new AbortController();
    expect(new Deadline(undefined, user.signal, 'http://deadline.test/', clock).signal).toBe(user.signal);
    expect(new Deadline(Infinity, null, 'http://deadline.test/', clock).signal).toBeUndefined();
    expect(clock.pending).toBe(0);
  });
});
