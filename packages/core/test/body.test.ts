import { mkdtempSync, promises as fsPromises, rmSync, truncateSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';

import { BytesProducer, FileBodyProducer, UNKNOWN_LENGTH, isBodyProducer, type BodyConsumer, type BodyProducer } from '../src/message/producers.js';
import { InvalidArgumentError, RequestGenerationFailedError } from '../src/errors.js';

/** A consumer that records every chunk (copied) and can react to each write. */
class Collector implements BodyConsumer {
  readonly chunks: Buffer[] = [];
  onWrite: ((count: number) => void) | null = null;

  write(chunk: Uint8Array): void {
    this.chunks.push(Buffer.from(chunk));
    this.onWrite?.(this.chunks.length);
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** A consumer that pauses `producer` on its first write. */
function pausingOnFirstWrite(producer: BodyProducer): Collector {
  const c = new Collector();
  c.onWrite = (count) => {
    if (count === 1) producer.pauseProducing();
  };
  return c;
}

/** Lets pending I/O callbacks, timers and promise jobs run (used before asserting that nothing happened). */
async function letIoRun(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setTimeout(resolve, 25));
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

describe('BytesProducer', () => {
  it('writes exactly its bytes in one write and writes them again on replay', async () => {
    const data = Buffer.from('hello, world');
    const p = new BytesProducer(data);
    expect(p.length).toBe(12);
    expect(p.replayable).toBe(true);
    for (let run = 0; run < 2; run++) {
      const c = new Collector();
      await p.startProducing(c);
      expect(c.chunks).toHaveLength(1);
      expect(c.bytes().equals(data)).toBe(true);
    }
  });

  it('encodes a string as UTF-8 and reports its byte length', async () => {
    const p = new BytesProducer('h\u00e9llo \u20ac');
    expect(p.length).toBe(Buffer.byteLength('h\u00e9llo \u20ac', 'utf8'));
    const c = new Collector();
    await p.startProducing(c);
    expect(c.bytes().toString('utf8')).toBe('h\u00e9llo \u20ac');
  });

  it('writes a small body synchronously, before startProducing returns', () => {
    const p = new BytesProducer('abc');
    const c = new Collector();
    const run = p.startProducing(c);
    expect(c.bytes().toString()).toBe('abc');
    return run;
  });

  it('writes an empty body as no write at all', async () => {
    const c = new Collector();
    await new BytesProducer(new Uint8Array(0)).startProducing(c);
    expect(c.chunks).toHaveLength(0);
  });

  it('slices a large body into 64 KiB writes and writes nothing while paused', async () => {
    const data = pattern(200 * 1024);
    const p = new BytesProducer(data);
    const c = pausingOnFirstWrite(p);
    const run = p.startProducing(c);
    await letIoRun();
    expect(c.chunks).toHaveLength(1);
    expect(c.chunks[0]?.byteLength).toBe(64 * 1024);
    p.resumeProducing();
    await run;
    expect(c.chunks.map((b) => b.byteLength)).toEqual([65536, 65536, 65536, 8192]);
    expect(c.bytes().equals(data)).toBe(true);
  });

  it('stopProducing while paused settles the run without writing more', async () => {
    const p = new BytesProducer(pattern(300 * 1024));
    const c = pausingOnFirstWrite(p);
    const run = p.startProducing(c);
    await letIoRun();
    p.stopProducing();
    await run;
    expect(c.chunks).toHaveLength(1);
  });

  it('rejects with what the consumer threw', async () => {
    const boom = new Error('request already failed');
    const p = new BytesProducer('abc');
    await expect(p.startProducing({ write: () => { throw boom; } })).rejects.toBe(boom);
  });

  it('rejects a bad argument', () => {
    expect(() => new BytesProducer(42 as unknown as string)).toThrow(InvalidArgumentError);
  });
});

describe('FileBodyProducer from a path', () => {
  let dir: string;
  let openSpy: jest.SpiedFunction<typeof fsPromises.open>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'strand-body-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    openSpy = jest.spyOn(fsPromises, 'open');
  });

  afterEach(() => {
    openSpy.mockRestore();
  });

  /** The FileHandles the producer opened, in order. */
  async function openedHandles(): Promise<FileHandle[]> {
    return Promise.all(openSpy.mock.results.map((r) => r.value as Promise<FileHandle>));
  }

  function tempFile(name: string, content: Buffer): string {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  }

  it('writes exactly the file in chunkSize pieces, replays it and closes the file after each run', async () => {
    const content = pattern(10_000);
    const path = tempFile('exact.bin', content);
    const p = new FileBodyProducer(path, { chunkSize: 4096 });
    expect(p.length).toBe(10_000);
    expect(p.replayable).toBe(true);
    for (let run = 0; run < 2; run++) {
      const c = new Collector();
      await p.startProducing(c);
      expect(c.chunks.map((b) => b.byteLength)).toEqual([4096, 4096, 1808]);
      expect(c.bytes().equals(content)).toBe(true);
    }
    const handles = await openedHandles();
    expect(handles).toHaveLength(2);
    for (const h of handles) expect(h.fd).toBe(-1);
  });

  it('never reuses a written chunk for a later read', async () => {
    const path = tempFile('fresh.bin', pattern(3000));
    const seen: Uint8Array[] = [];
    const copies: Buffer[] = [];
    const consumer: BodyConsumer = {
      write: (chunk) => {
        seen.push(chunk);
        copies.push(Buffer.from(chunk));
      },
    };
    await new FileBodyProducer(path, { chunkSize: 1000 }).startProducing(consumer);
    expect(seen).toHaveLength(3);
    seen.forEach((chunk, i) => expect(Buffer.from(chunk).equals(copies[i] as Buffer)).toBe(true));
    expect(Buffer.concat(seen).equals(pattern(3000))).toBe(true);
  });

  it('reads and writes nothing while paused, and continues on resume', async () => {
    const content = pattern(5000);
    const path = tempFile('pause.bin', content);
    const p = new FileBodyProducer(path, { chunkSize: 1000 });
    const c = new Collector();
    const run = p.startProducing(c);
    await new Promise<void>((resolve) => {
      c.onWrite = (count) => {
        if (count === 1) {
          p.pauseProducing();
          resolve();
        }
      };
    });
    const [handle] = await openedHandles();
    const readSpy = jest.spyOn(handle as FileHandle, 'read');
    await letIoRun();
    expect(c.chunks).toHaveLength(1);
    expect(readSpy).not.toHaveBeenCalled();
    p.resumeProducing();
    await run;
    expect(c.bytes().equals(content)).toBe(true);
    expect(readSpy).toHaveBeenCalledTimes(4);
  });

  it('stopProducing closes the file and settles the run', async () => {
    const path = tempFile('stop.bin', pattern(5000));
    const p = new FileBodyProducer(path, { chunkSize: 1000 });
    const c = new Collector();
    const firstWrite = new Promise<void>((resolve) => {
      c.onWrite = () => {
        p.pauseProducing();
        resolve();
      };
    });
    const run = p.startProducing(c);
    await firstWrite;
    p.stopProducing();
    await run;
    expect(c.chunks).toHaveLength(1);
    const [handle] = await openedHandles();
    expect(handle?.fd).toBe(-1);
  });

  it('closes the file when the consumer throws, and rejects with that error', async () => {
    const path = tempFile('throw.bin', pattern(3000));
    const boom = new Error('connection gone');
    const p = new FileBodyProducer(path, { chunkSize: 1000 });
    await expect(p.startProducing({ write: () => { throw boom; } })).rejects.toBe(boom);
    const [handle] = await openedHandles();
    expect(handle?.fd).toBe(-1);
  });

  it('fails the run with RequestGenerationFailedError when the file shrank after construction', async () => {
    const path = tempFile('shrink.bin', pattern(3000));
    const p = new FileBodyProducer(path, { chunkSize: 1000 });
    truncateSync(path, 1500);
    const c = new Collector();
    await expect(p.startProducing(c)).rejects.toBeInstanceOf(RequestGenerationFailedError);
    expect(c.bytes().byteLength).toBe(1500);
    const [handle] = await openedHandles();
    expect(handle?.fd).toBe(-1);
  });

  it('sends an empty file as no write at all', async () => {
    const path = tempFile('empty.bin', Buffer.alloc(0));
    const p = new FileBodyProducer(path);
    expect(p.length).toBe(0);
    const c = new Collector();
    await p.startProducing(c);
    expect(c.chunks).toHaveLength(0);
  });

  it('rejects a missing file in the constructor with an InvalidArgumentError naming the path', () => {
    const missing = join(dir, 'no-such-file.bin');
    expect(() => new FileBodyProducer(missing)).toThrow(InvalidArgumentError);
    expect(() => new FileBodyProducer(missing)).toThrow(missing);
  });

  it('rejects a directory, an empty path and a length that disagrees with the file', () => {
    const path = tempFile('len.bin', pattern(10));
    expect(() => new FileBodyProducer(dir)).toThrow(/not a regular file/);
    expect(() => new FileBodyProducer('')).toThrow(InvalidArgumentError);
    expect(() => new FileBodyProducer(path, { length: 11 })).toThrow(InvalidArgumentError);
    expect(new FileBodyProducer(path, { length: 10 }).length).toBe(10);
  });

  it.each([[-1], [1.5], [Number.NaN], [2 ** 53], ['3']])('rejects the length option %p', (length) => {
    expect(() => new FileBodyProducer(Readable.from([]), { length: length as number })).toThrow(/options\.length must be a non-negative safe integer/);
  });

  it.each([[0], [-4], [0.5]])('rejects the chunkSize option %p', (chunkSize) => {
    expect(() => new FileBodyProducer(Readable.from([]), { chunkSize })).toThrow(/options\.chunkSize must be a positive safe integer/);
  });
});

describe('FileBodyProducer from a Readable', () => {
  it('has an unknown length unless told, writes the whole stream and is one-shot', async () => {
    const p = new FileBodyProducer(Readable.from([Buffer.from('ab'), 'c\u00e9']));
    expect(p.length).toBe(UNKNOWN_LENGTH);
    expect(p.replayable).toBe(false);
    const c = new Collector();
    await p.startProducing(c);
    expect(c.bytes().toString('utf8')).toBe('abc\u00e9');
    const second = p.startProducing(new Collector());
    await expect(second).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(second).rejects.toThrow(/cannot be replayed/);
  });

  it('takes its length from the options', () => {
    expect(new FileBodyProducer(Readable.from([]), { length: 7 }).length).toBe(7);
  });

  it('pauses the stream while paused and writes nothing until resumed', async () => {
    const stream = new PassThrough();
    const p = new FileBodyProducer(stream);
    const c = pausingOnFirstWrite(p);
    const run = p.startProducing(c);
    stream.write('one');
    await letIoRun();
    expect(c.chunks).toHaveLength(1);
    expect(stream.isPaused()).toBe(true);
    stream.write('two');
    stream.write('three');
    await letIoRun();
    expect(c.chunks).toHaveLength(1);
    p.resumeProducing();
    stream.end('four');
    await run;
    expect(c.bytes().toString()).toBe('onetwothreefour');
  });

  it('rejects with the stream error as is', async () => {
    const stream = new PassThrough();
    const p = new FileBodyProducer(stream);
    const run = p.startProducing(new Collector());
    const cause = new Error('disk on fire');
    stream.destroy(cause);
    await expect(run).rejects.toBe(cause);
  });

  it('stopProducing destroys the stream and settles the run', async () => {
    const stream = new PassThrough();
    const p = new FileBodyProducer(stream);
    const c = new Collector();
    const run = p.startProducing(c);
    stream.write('x');
    await letIoRun();
    p.stopProducing();
    await run;
    expect(stream.destroyed).toBe(true);
    expect(c.bytes().toString()).toBe('x');
  });

  it('destroys the stream when the consumer throws, and rejects with that error', async () => {
    const stream = new PassThrough();
    const boom = new Error('request failed');
    const p = new FileBodyProducer(stream);
    const run = p.startProducing({ write: () => { throw boom; } });
    stream.write('x');
    await expect(run).rejects.toBe(boom);
    expect(stream.destroyed).toBe(true);
  });

  it('rejects object-mode chunks that are not bytes or strings', async () => {
    const p = new FileBodyProducer(Readable.from([{ not: 'bytes' }]));
    await expect(p.startProducing(new Collector())).rejects.toThrow(/only Uint8Array and string chunks/);
  });
});

describe('FileBodyProducer from an async iterable', () => {
  it('has an unknown length, encodes strings as UTF-8 and is one-shot', async () => {
    async function* gen(): AsyncGenerator<Uint8Array | string> {
      yield 'h\u00e9';
      yield new Uint8Array([0x21]);
    }
    const p = new FileBodyProducer(gen());
    expect(p.length).toBe(UNKNOWN_LENGTH);
    expect(p.replayable).toBe(false);
    const c = new Collector();
    await p.startProducing(c);
    expect(c.bytes().toString('utf8')).toBe('h\u00e9!');
    await expect(p.startProducing(new Collector())).rejects.toThrow(/cannot be replayed/);
  });

  it('stops pulling from the iterator while paused', async () => {
    let pulled = 0;
    async function* gen(): AsyncGenerator<string> {
      for (const s of ['a', 'b', 'c']) {
        pulled++;
        yield s;
      }
    }
    const p = new FileBodyProducer(gen());
    const c = pausingOnFirstWrite(p);
    const run = p.startProducing(c);
    await letIoRun();
    expect(pulled).toBe(1);
    expect(c.chunks).toHaveLength(1);
    p.resumeProducing();
    await run;
    expect(pulled).toBe(3);
    expect(c.bytes().toString()).toBe('abc');
  });

  it('stopProducing calls return() on the iterator and settles the run', async () => {
    let cleanedUp = false;
    async function* gen(): AsyncGenerator<string> {
      try {
        for (;;) yield 'x';
      } finally {
        cleanedUp = true;
      }
    }
    const p = new FileBodyProducer(gen());
    const c = pausingOnFirstWrite(p);
    const run = p.startProducing(c);
    await letIoRun();
    p.stopProducing();
    await run;
    await letIoRun();
    expect(cleanedUp).toBe(true);
    expect(c.chunks).toHaveLength(1);
  });

  it('settles a stopped run even when the iterator never answers', async () => {
    const returnCalls: unknown[] = [];
    const never: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<string>>(() => undefined),
        return: (value?: unknown) => {
          returnCalls.push(value);
          return Promise.resolve({ done: true as const, value: undefined });
        },
      }),
    };
    const p = new FileBodyProducer(never);
    const run = p.startProducing(new Collector());
    await letIoRun();
    p.stopProducing();
    await run;
    expect(returnCalls).toHaveLength(1);
  });

  it('rejects with the error the iterator threw', async () => {
    const cause = new Error('source failed');
    async function* gen(): AsyncGenerator<string> {
      yield 'a';
      throw cause;
    }
    await expect(new FileBodyProducer(gen()).startProducing(new Collector())).rejects.toBe(cause);
  });

  it('rejects a source that is neither a path, a stream nor an async iterable', () => {
    expect(() => new FileBodyProducer(42 as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => new FileBodyProducer([Buffer.from('x')] as unknown as string)).toThrow(InvalidArgumentError);
  });
});

describe('isBodyProducer', () => {
  it('recognises producers by shape', () => {
    expect(isBodyProducer(new BytesProducer('x'))).toBe(true);
    expect(isBodyProducer(new FileBodyProducer(Readable.from([])))).toBe(true);
    const custom: BodyProducer = {
      length: UNKNOWN_LENGTH,
      replayable: false,
      startProducing: () => Promise.resolve(),
      pauseProducing: () => undefined,
      resumeProducing: () => undefined,
      stopProducing: () => undefined,
    };
    expect(isBodyProducer(custom)).toBe(true);
    expect(isBodyProducer({ ...custom, length: '3' })).toBe(false);
    expect(isBodyProducer(null)).toBe(false);
    expect(isBodyProducer('body')).toBe(false);
    expect(isBodyProducer(Buffer.from('x'))).toBe(false);
  });

  it('UNKNOWN_LENGTH is the registered symbol strand.UNKNOWN_LENGTH', () => {
    expect(UNKNOWN_LENGTH).toBe(Symbol.for('strand.UNKNOWN_LENGTH'));
  });
});
