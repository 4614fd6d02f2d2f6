import assert from 'node:assert/strict';
import { appendFile, open, rename, stat, truncate } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { StreamMetadata } from '@vcu/domain';
import type { AppProcess } from '@vcu/testkit';
import { Harness, randomBytes, waitUntil } from '../harness.js';
import { assertReassembles, metadataObject } from '../faults-util.js';

const CHUNK = 64 * 1024;

/** What the earlier version left in S3, checked again once the later version is done. */
async function earlierVersion(h: Harness, rel: string, v1: Buffer): Promise<{ m1: StreamMetadata; object: Buffer }> {
  const m1 = await h.waitForMetadata(rel, v1, 30_000);
  await assertReassembles(h, m1, v1, `${rel} v1`);
  const object = await metadataObject(h, m1.streamId);
  assert.ok(object !== undefined, `${rel}: v1's metadata.json is in S3`);
  return { m1, object };
}

async function assertUntouched(h: Harness, rel: string, v1: Buffer, m1: StreamMetadata, object: Buffer, m2: StreamMetadata): Promise<void> {
  assert.notEqual(m2.streamId, m1.streamId, `${rel}: the new version has its own stream`);
  const v1Keys = new Set(m1.chunks.map((c) => c.key));
  assert.ok(
    m2.chunks.every((c) => !v1Keys.has(c.key)),
    `${rel}: no chunk object of the new version reuses a key of the earlier one`,
  );
  const objectNow = await metadataObject(h, m1.streamId);
  assert.ok(objectNow?.equals(object), `${rel}: v1's metadata.json is unchanged`);
  await assertReassembles(h, m1, v1, `${rel} v1 after v2`);
  const streams = (await h.allMetadata()).filter((m) => m.source.path === rel).map((m) => m.streamId);
  assert.deepEqual(streams.sort(), [m1.streamId, m2.streamId].sort(), `${rel}: exactly one metadata.json per version`);
}

void describe('A file truncated and rewritten, and a file replaced by another (new inode) under the same name: each version gets its own stream; the objects of the earlier version stay as they were', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.create({ chunkSize: CHUNK });
    await h.startAll();
  });
  after(async () => h.close());
  const watcher = (): AppProcess => {
    const app = h.apps.find((a) => a.name === 'watcher');
    assert.ok(app !== undefined);
    return app;
  };

  for (const [label, v2Size] of [
    ['shorter', 2 * CHUNK + 333],
    ['longer', 8 * CHUNK + 4321],
  ] as const) {
    void it(`truncated to 0 and rewritten ${label} in the same inode: a new stream, and v1 still reassembles exactly`, async () => {
      const rel = `truncate-${label}.mp4`;
      const v1 = randomBytes(5.5 * CHUNK);
      await h.write(rel, v1);
      const { m1, object } = await earlierVersion(h, rel, v1);
      const inode = (await stat(h.file(rel))).ino;

      const handle = await open(h.file(rel), 'r+');
      const v2 = randomBytes(v2Size);
      try {
        await handle.truncate(0);
        // the watcher sees the file empty (a truncation) before it is written again
        await watcher().waitForEvent('stream.superseded', 20_000, (l) => l['path'] === rel && l['change'] === 'truncated');
        await handle.write(v2, 0, v2.length, 0);
      } finally {
        await handle.close();
      }
      assert.equal((await stat(h.file(rel))).ino, inode, 'same inode: truncated and rewritten in place');
      assert.ok((await h.readLocal(rel)).equals(v2));

      const m2 = await h.waitForMetadata(rel, v2, 30_000);
      await assertReassembles(h, m2, v2, `${rel} v2`);
      assert.equal(m2.revision, 1, `${rel}: v2 is the first revision of its own stream`);
      await assertUntouched(h, rel, v1, m1, object, m2);
    });
  }

  void it('replaced by another file renamed over it (new inode): a new stream, and v1 still reassembles exactly', async () => {
    const rel = 'a.mp4';
    const v1 = randomBytes(5.5 * CHUNK);
    await h.write(rel, v1);
    const { m1, object } = await earlierVersion(h, rel, v1);
    const inode = (await stat(h.file(rel))).ino;

    const v2 = randomBytes(4 * CHUNK + 55);
    await h.write('.a.mp4.tmp', v2);
    await rename(h.file('.a.mp4.tmp'), h.file(rel));
    assert.notEqual((await stat(h.file(rel))).ino, inode, 'a new inode under the same name');

    const m2 = await h.waitForMetadata(rel, v2, 30_000);
    await assertReassembles(h, m2, v2, `${rel} v2`);
    await assertUntouched(h, rel, v1, m1, object, m2);
    assert.equal((await h.allMetadata()).filter((m) => m.source.path === '.a.mp4.tmp').length, 0, 'the hidden temp file was never uploaded');
  });
});

void describe('A file emptied and written again, twice, each time empty for longer than FORGET_AFTER_MS', () => {
  let h: Harness | undefined;
  after(async () => h?.close());

  void it('each version gets its own stream, and the objects of every earlier one stay as they were', async () => {
    const harness = await Harness.create({ chunkSize: CHUNK, env: { FORGET_AFTER_MS: '1000' } });
    h = harness;
    const { watcher, worker } = await harness.startAll();
    const rel = 'emptied.mp4';
    const v1 = randomBytes(3.5 * CHUNK);
    await harness.write(rel, v1);
    const { m1, object } = await earlierVersion(harness, rel, v1);

    /** Empties the file, waits until a scheduled sweep has found its stream due to be forgotten, then writes `data`. */
    const emptyThenWrite = async (data: Buffer, previous: string): Promise<StreamMetadata> => {
      const swept = worker.events('finalize.swept').length;
      await truncate(harness.file(rel), 0);
      await watcher.waitForEvent('stream.superseded', 20_000, (l) => l['previousStream'] === previous && l['change'] === 'truncated');
      // its file "left" FORGET_AFTER_MS ago: a later sweep looks at the stream to forget it
      await waitUntil(() => worker.events('finalize.swept').slice(swept).some((l) => l['sweep'] === 'scheduled' && Number(l['gone']) >= 1), 20_000, 'a sweep looks at the emptied stream');
      assert.ok((await harness.store.get(previous)) !== undefined, 'the stream of the emptied file is kept while the file is there');
      await appendFile(harness.file(rel), data);
      const m = await harness.waitForMetadata(rel, data, 30_000);
      await assertReassembles(harness, m, data, rel);
      return m;
    };

    const v2 = randomBytes(2 * CHUNK + 77);
    const m2 = await emptyThenWrite(v2, m1.streamId);
    await assertUntouched(harness, rel, v1, m1, object, m2);
    // v1's record has done its work once v2 holds the path: it is forgotten like any other
    await waitUntil(async () => (await harness.store.get(m1.streamId)) === undefined, 20_000, "v1's stream is forgotten once v2 holds the path");

    // emptied again: v3 must not take v1's id, which Redis no longer holds
    const v2Object = await metadataObject(harness, m2.streamId);
    const v3 = randomBytes(4 * CHUNK + 5);
    const m3 = await emptyThenWrite(v3, m2.streamId);
    assert.equal(new Set([m1.streamId, m2.streamId, m3.streamId]).size, 3, 'three versions, three streams');
    assert.ok((await metadataObject(harness, m1.streamId))?.equals(object), "v1's metadata.json is unchanged");
    assert.ok((await metadataObject(harness, m2.streamId))?.equals(v2Object ?? Buffer.alloc(0)), "v2's metadata.json is unchanged");
    await assertReassembles(harness, m1, v1, `${rel} v1 after v3`);
    await assertReassembles(harness, m2, v2, `${rel} v2 after v3`);
  });
});
