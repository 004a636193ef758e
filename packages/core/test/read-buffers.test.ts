/**
 * The debug mode of the read buffers: every borrowed read is poisoned once its reader returned,
 * so a byte kept without being copied out shows up as corruption in a test. The suite runs with
 * it on (jest.config.ts), which makes a missed copy anywhere on the read path fail loudly.
 */
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { directReadsOf, directReadSocket } from '../src/net/direct-reads.js';
import { ConnectionReadBuffers, POISON_BYTE, releaseBorrowedRead, setReadPoisoning } from '../src/net/read-buffers.js';

describe('read buffer poisoning', () => {
  it('is on for this test suite', () => {
    expect(process.env['STRAND_DEBUG_POISON_READS']).toBe('1');
    const previous = setReadPoisoning(true);
    expect(previous).toBe(true);
  });

  it('overwrites a borrowed read after its reader returned, so a view kept of it is visibly wrong', async () => {
    const server = net.createServer((socket) => socket.end('hello, borrowed bytes'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const kept: Buffer[] = [];
    const copied: Buffer[] = [];
    const socket = directReadSocket((onread) => net.connect({ host: '127.0.0.1', port, onread }));
    const buffers = new ConnectionReadBuffers();
    (directReadsOf(socket) as NonNullable<ReturnType<typeof directReadsOf>>).attach({
      readWindow: () => null,
      socketRead(chunk, owned) {
        expect(owned).toBe(false);
        buffers.borrow(chunk);
        kept.push(chunk); // the bug: a view of the shared buffer
        copied.push(Buffer.from(chunk)); // the contract: a copy
        buffers.release(chunk);
      },
    });
    await new Promise((resolve) => socket.on('close', resolve));
    server.close();
    expect(Buffer.concat(copied).toString()).toBe('hello, borrowed bytes');
    expect(Buffer.concat(kept).every((b) => b === POISON_BYTE)).toBe(true);
  });

  it('leaves a read alone when poisoning is off', () => {
    const previous = setReadPoisoning(false);
    try {
      const read = Buffer.from('kept as is');
      releaseBorrowedRead(read);
      expect(read.toString()).toBe('kept as is');
    } finally {
      setReadPoisoning(previous);
    }
  });

  it('hands a well-filled spare read on with its buffer and borrows a thin one', () => {
    const buffers = new ConnectionReadBuffers();
    const spare = buffers.spareWindow();
    expect(buffers.owns(spare.subarray(0, spare.length / 2), true)).toBe(true);
    // The spare went with the bytes: the next window is a new buffer.
    const next = buffers.spareWindow();
    expect(next.buffer).not.toBe(spare.buffer);
    expect(buffers.owns(next.subarray(0, 100), true)).toBe(false);
    expect(buffers.spareWindow()).toBe(next);
    expect(buffers.owns(Buffer.alloc(10), false)).toBe(false);
  });
});
