import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruMap } from './lru.js';

void describe('LruMap', () => {
  void it('drops the least recently used entry when full', () => {
    const map = new LruMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    assert.equal(map.get('a'), 1, 'a is used: b is now the oldest');
    map.set('c', 3);
    assert.equal(map.size, 2);
    assert.equal(map.get('b'), undefined);
    assert.equal(map.get('a'), 1);
    assert.equal(map.get('c'), 3);
  });

  void it('replaces a value without growing, and deletes', () => {
    const map = new LruMap<string, number>(2);
    map.set('a', 1).set('a', 2);
    assert.equal(map.size, 1);
    assert.equal(map.get('a'), 2);
    assert.equal(map.delete('a'), true);
    assert.equal(map.size, 0);
    assert.throws(() => new LruMap(0), RangeError);
  });
});
