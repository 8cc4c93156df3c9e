/** BufferPool: buffers large enough, reused after release, never handed out twice, idle bytes capped. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool } from '../../src/util/buffer-pool.js';

test('a released buffer serves the next frame that fits; one in use is never handed out again', () => {
  const pool = new BufferPool(1 << 20, 1024);
  const a = pool.get(1500);
  assert.equal(a.length, 2048, 'rounded up to the granule');
  const b = pool.get(1500);
  assert.notEqual(a.buffer, b.buffer, 'a buffer in use is not given out again');
  pool.release(a);
  assert.equal(pool.idleBufferBytes, 2048);
  const big = pool.get(4000);
  assert.notEqual(big.buffer, a.buffer, 'too small for 4000 bytes');
  const again = pool.get(2000);
  assert.equal(again.buffer, a.buffer, 'reused');
  assert.equal(pool.idleBufferBytes, 0);
  assert.notEqual(pool.get(100).buffer, a.buffer, 'taken out of the pool when reused');
});

test("idle buffers are capped at maxBytes; none is a slice of Node's shared pool", () => {
  const pool = new BufferPool(3000, 1024);
  const bufs = [pool.get(1024), pool.get(1024), pool.get(1024)];
  for (const b of bufs) {
    assert.equal(b.byteOffset, 0);
    assert.equal(b.buffer.byteLength, b.length);
  }
  for (const b of bufs) pool.release(b);
  assert.equal(pool.idleBufferBytes, 2048, 'the third would pass 3000 bytes and is dropped');
});
