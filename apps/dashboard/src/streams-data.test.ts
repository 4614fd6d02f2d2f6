import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StreamStore } from '@vcu/state';
import { type ListedStream, listStreams, parseCursor } from './streams-data.js';

/** A store that lists these streams (as the real one does: newest first, by creation only). */
function storeOf(streams: Pick<ListedStream, 'id' | 'createdAt'>[]): StreamStore {
  const list = () => Promise.resolve([...streams].sort((a, b) => b.createdAt - a.createdAt) as ListedStream[]);
  return { list } as unknown as StreamStore;
}

void describe('listStreams', () => {
  // three streams created at the same millisecond: ordered by id, so no page skips or repeats one
  const streams = [
    { id: 'a1', createdAt: 5 },
    { id: 'b2', createdAt: 9 },
    { id: 'c3', createdAt: 7 },
    { id: 'c1', createdAt: 7 },
    { id: 'c2', createdAt: 7 },
    { id: 'd4', createdAt: 1 },
  ];

  void it('pages newest first, exactly, to the last page', async () => {
    const store = storeOf(streams);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listStreams(store, { limit: 2, cursor });
      seen.push(...page.streams.map((s) => s.id));
      cursor = page.next;
      pages += 1;
    } while (cursor !== undefined);
    assert.deepEqual(seen, ['b2', 'c1', 'c2', 'c3', 'a1', 'd4']);
    assert.equal(pages, 3, 'no empty page at the end');
  });

  void it('goes on after a cursor whose stream is gone (forgotten), and refuses text that is no cursor', async () => {
    const page = await listStreams(storeOf(streams), { limit: 10, cursor: '8.zz' });
    assert.deepEqual(
      page.streams.map((s) => s.id),
      ['c1', 'c2', 'c3', 'a1', 'd4'],
    );
    assert.equal(parseCursor('7.c1<script>'), undefined);
    await assert.rejects(listStreams(storeOf(streams), { limit: 1, cursor: 'nope' }), RangeError);
  });
});
