import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferPool } from './buffers.js';

void describe('BufferPool', () => {
  void it('hands back a released buffer instead of making a new one', async () => {
    const pool = new BufferPool(1024, 2);
    const a = await pool.acquire();
    assert.equal(a.length, 1024);
    pool.release(a);
    assert.equal(await pool.acquire(), a);
  });

  void it('makes no more than its limit; the next caller waits for a release', async () => {
    const pool = new BufferPool(16, 2);
    const a = await pool.acquire();
    const b = await pool.acquire();
    assert.notEqual(a, b);
    let third: Buffer | undefined;
    const waiting = pool.acquire().then((buffer) => (third = buffer));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(third, undefined, 'a third buffer is not made while two are in use');
    pool.release(b);
    await waiting;
    assert.equal(third, b);
  });

  void it('with() releases the buffer when the work throws', async () => {
    const pool = new BufferPool(16, 1);
    let used: Buffer | undefined;
    await assert.rejects(
      pool.with(pool.size, (buffer) => {
        used = buffer;
        return Promise.reject(new Error('upload failed'));
      }),
      /upload failed/,
    );
    assert.equal(await pool.with(pool.size, (buffer) => Promise.resolve(buffer)), used);
  });
});
