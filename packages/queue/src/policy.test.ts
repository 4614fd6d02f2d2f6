import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chunkJobId } from './jobs.js';
import { CAPPED_BACKOFF, RETRY_POLICY, backoffStrategy, jobOptions, retryDelayMs } from './policy.js';

const policy = RETRY_POLICY['upload-chunk'];
const middle = (): number => 0.5;
const lowest = (): number => 0;
const highest = (): number => 1;

void describe('retryDelayMs for upload-chunk', () => {
  void it('starts at baseDelayMs and doubles per attempt without jitter', () => {
    assert.equal(retryDelayMs('upload-chunk', 1, middle), policy.baseDelayMs);
    assert.equal(retryDelayMs('upload-chunk', 2, middle), policy.baseDelayMs * 2);
    assert.equal(retryDelayMs('upload-chunk', 3, middle), policy.baseDelayMs * 4);
    assert.equal(retryDelayMs('upload-chunk', 4, middle), policy.baseDelayMs * 8);
  });

  void it('treats attempt 0 like attempt 1', () => {
    assert.equal(retryDelayMs('upload-chunk', 0, middle), policy.baseDelayMs);
  });

  void it('grows, never shrinks, then stays at maxDelayMs', () => {
    let previous = 0;
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 40; attempt += 1) {
      const delay = retryDelayMs('upload-chunk', attempt, middle);
      assert.ok(delay >= previous, `attempt ${attempt}: ${delay} >= ${previous}`);
      assert.ok(delay <= policy.maxDelayMs);
      delays.push(delay);
      previous = delay;
    }
    assert.ok((delays[0] ?? Infinity) < policy.maxDelayMs, 'it does grow');
    assert.equal(delays.at(-1), policy.maxDelayMs);
  });

  void it('is capped at maxDelayMs * 1.25 even for very late attempts', () => {
    const cap = policy.maxDelayMs * 1.25;
    for (const attempt of [20, 31, 32, 100, 1024, 10_000, policy.attempts, Number.MAX_SAFE_INTEGER]) {
      for (const random of [lowest, middle, highest]) {
        const delay = retryDelayMs('upload-chunk', attempt, random);
        assert.ok(Number.isFinite(delay), `attempt ${attempt}: finite`);
        assert.ok(delay <= cap, `attempt ${attempt}: ${delay} <= ${cap}`);
        assert.ok(delay >= policy.maxDelayMs * 0.75, `attempt ${attempt}: ${delay} >= ${policy.maxDelayMs * 0.75}`);
      }
    }
    assert.equal(retryDelayMs('upload-chunk', 10_000, highest), cap);
    assert.equal(retryDelayMs('upload-chunk', 10_000, lowest), policy.maxDelayMs * 0.75);
  });

  void it('jitters within ±25 %', () => {
    for (let attempt = 1; attempt <= 12; attempt += 1) {
      const base = retryDelayMs('upload-chunk', attempt, middle);
      assert.equal(retryDelayMs('upload-chunk', attempt, lowest), Math.round(base * 0.75), `attempt ${attempt} low`);
      assert.equal(retryDelayMs('upload-chunk', attempt, highest), Math.round(base * 1.25), `attempt ${attempt} high`);
      for (const r of [0.1, 0.33, 0.9, 0.999]) {
        const delay = retryDelayMs('upload-chunk', attempt, () => r);
        assert.ok(Number.isInteger(delay));
        assert.ok(delay >= Math.floor(base * 0.75) && delay <= Math.ceil(base * 1.25), `attempt ${attempt}, random ${r}: ${delay}`);
      }
    }
  });

  void it('backoffStrategy uses the same bounded delays with real randomness', () => {
    const strategy = backoffStrategy('upload-chunk');
    for (let i = 0; i < 200; i += 1) {
      const delay = strategy(10_000);
      assert.ok(delay >= policy.maxDelayMs * 0.75 && delay <= policy.maxDelayMs * 1.25, String(delay));
    }
  });

  void it('jobOptions uses the capped backoff and the policy attempts', () => {
    const options = jobOptions('upload-chunk');
    assert.equal(options.attempts, policy.attempts);
    assert.deepEqual(options.backoff, { type: CAPPED_BACKOFF });
  });
});

void describe('chunkJobId', () => {
  const streamId = '0123456789abcdef01234567';
  const shaA = 'a'.repeat(64);
  const shaB = `${'a'.repeat(15)}b${'a'.repeat(48)}`;

  void it('is deterministic', () => {
    assert.equal(chunkJobId(streamId, 3, 10_485_760), chunkJobId(streamId, 3, 10_485_760));
    assert.equal(chunkJobId(streamId, 3, 10_485_760, shaA), chunkJobId(streamId, 3, 10_485_760, shaA));
  });

  void it('contains no colon, which BullMQ forbids in custom job ids', () => {
    for (const id of [chunkJobId(streamId, 0, 1), chunkJobId(streamId, 12345, 10_485_760, shaA)]) {
      assert.ok(!id.includes(':'), id);
      assert.ok(id.startsWith(streamId), id);
    }
  });

  void it('differs by stream, index, size and sha', () => {
    const ids = [
      chunkJobId(streamId, 1, 10),
      chunkJobId('fedcba9876543210fedcba98', 1, 10),
      chunkJobId(streamId, 2, 10),
      chunkJobId(streamId, 1, 11),
      chunkJobId(streamId, 1, 10, shaA),
      chunkJobId(streamId, 1, 10, shaB),
    ];
    assert.equal(new Set(ids).size, ids.length, ids.join('\n'));
  });

  void it('does not confuse index and size', () => {
    assert.notEqual(chunkJobId(streamId, 1, 23), chunkJobId(streamId, 12, 3));
  });
});
