import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { corkEachTurn } from './coalesce.js';

/** A socket stand-in that records each write the kernel would get: one per _write or _writev. */
function recordingSocket() {
  const syscalls: string[][] = [];
  const socket = new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _encoding, done) {
      syscalls.push([String(chunk)]);
      done();
    },
    writev(chunks, done) {
      syscalls.push(chunks.map(({ chunk }) => String(chunk)));
      done();
    },
  });
  return { socket, syscalls };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

void describe('corkEachTurn', () => {
  void it('sends what is written in one turn of the event loop in one write, in order', async () => {
    const { socket, syscalls } = recordingSocket();
    corkEachTurn(socket);
    socket.write('GET a\r\n');
    await Promise.resolve();
    socket.write(Buffer.from('GET b\r\n'));
    process.nextTick(() => socket.write('GET c\r\n'));
    assert.deepEqual(syscalls, [], 'nothing leaves before the turn ends');
    await nextTurn();
    assert.deepEqual(syscalls, [['GET a\r\n', 'GET b\r\n', 'GET c\r\n']]);
  });

  void it('sends each turn on its own, so no command waits longer than one turn', async () => {
    const { socket, syscalls } = recordingSocket();
    corkEachTurn(socket);
    socket.write('one');
    await nextTurn();
    socket.write('two');
    socket.write('three');
    await nextTurn();
    assert.deepEqual(syscalls, [['one'], ['two', 'three']]);
    assert.equal(socket.writableCorked, 0);
  });

  void it('wraps a socket once, however often it is asked', async () => {
    const { socket, syscalls } = recordingSocket();
    corkEachTurn(socket);
    corkEachTurn(socket);
    socket.write('x');
    assert.equal(socket.writableCorked, 1);
    await nextTurn();
    assert.equal(socket.writableCorked, 0);
    assert.deepEqual(syscalls, [['x']]);
  });

  void it('keeps what write returns and calls its callback', async () => {
    const { socket } = recordingSocket();
    corkEachTurn(socket);
    let called = false;
    assert.equal(
      socket.write('y', () => {
        called = true;
      }),
      true,
    );
    await nextTurn();
    await nextTurn();
    assert.equal(called, true);
  });
});
