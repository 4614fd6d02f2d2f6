import assert from 'node:assert/strict';
import { appendFile, open } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { chunkKey } from '@vcu/storage';
import { Harness, chunkIndicesOk, randomBytes, sleep } from './harness.js';

const CHUNK = 64 * 1024;

describe('files that are still being written', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.create({ chunkSize: CHUNK, streamIdleMs: 1500 });
    await h.startAll();
  });
  after(async () => h.close());

  it('uploads the first chunk while the writer is still appending, and the final metadata matches the final file', async () => {
    const worker = h.apps.find((a) => a.name === 'worker');
    assert.ok(worker);
    const rel = 'recorder/live.mp4';
    const uploadedFirst = (): boolean => worker.find('chunk uploaded', (l) => l['path'] === rel && l['chunk'] === 0).length > 0;
    const steps = [randomBytes(CHUNK / 2 + 1234)];
    await h.write(rel, steps[0] ?? Buffer.alloc(0));
    // a recorder's pace (a write every 500 ms, so the file is never idle for STREAM_IDLE_MS): it
    // goes on until chunk 0 is in S3 and at least 8 writes are done, for up to 60 writes
    while (steps.length < 60 && !(uploadedFirst() && steps.length >= 8)) {
      await sleep(500);
      const step = randomBytes(CHUNK / 2 + 1234);
      await appendFile(h.file(rel), step);
      steps.push(step);
    }
    assert.ok(uploadedFirst(), 'chunk 0 was uploaded while the writer was still appending');
    const final = Buffer.concat(steps);
    const metadata = await h.waitForMetadata(rel, final);
    assert.ok(metadata.chunks.length >= 2);
    assert.ok(chunkIndicesOk(metadata, `${h.id}/`));
    assert.ok((await h.reassemble(metadata)).equals(final), 'S3 holds the final file byte-exact');
    assert.ok(await h.objectExists(chunkKey(`${h.id}/`, metadata.streamId, 0)));
  });

  it('ends byte-exact when the writer rewrites bytes near the start after writing the rest', async () => {
    // what an MP4 muxer does when it closes a file: patch the mdat size at byte ~40
    const body = randomBytes(5 * CHUNK + 999);
    const handle = await open(h.file('muxed.mp4'), 'w');
    for (let offset = 0; offset < body.length; offset += 40_000) {
      await handle.write(body, offset, Math.min(40_000, body.length - offset), offset);
      await sleep(80);
    }
    await h.apps.find((a) => a.name === 'worker')?.waitFor('chunk uploaded', 10_000, (l) => l['path'] === 'muxed.mp4' && l['chunk'] === 0);
    const patch = Buffer.from('PATCHED-HEADER');
    patch.copy(body, 40);
    await handle.write(patch, 0, patch.length, 40);
    await handle.close();

    const metadata = await h.waitForMetadata('muxed.mp4', body);
    assert.ok((await h.reassemble(metadata)).equals(body), 'the rewritten bytes reached S3');
  });

  it('reopens a finished stream when the file grows again, with a higher revision, and reads only what changed', async () => {
    const worker = h.apps.find((a) => a.name === 'worker');
    assert.ok(worker);
    const rel = 'grows-later.mp4';
    const first = randomBytes(2 * CHUNK + 10);
    await h.write(rel, first);
    const m1 = await h.waitForMetadata(rel, first);
    const read = (): number[] => (['chunk.uploaded', 'chunk.skipped'] as const).flatMap((e) => worker.events(e, (l) => l['path'] === rel).map((l) => Number(l['chunk'])));
    const before = read().length;
    const more = randomBytes(CHUNK);
    await appendFile(h.file(rel), more);
    const m2 = await h.waitForMetadata(rel, Buffer.concat([first, more]));
    assert.equal(m2.streamId, m1.streamId, 'growth continues the same stream');
    assert.ok(m2.revision > m1.revision, 'metadata is rewritten with a higher revision');
    assert.ok((await h.reassemble(m2)).equals(Buffer.concat([first, more])));
    // chunks 0 and 1 are as uploaded: their records come back from metadata.json, unread
    assert.deepEqual(
      read().slice(before).filter((index) => index < 2),
      [],
      'the unchanged chunks are not read again',
    );
  });
});

describe('a file rewritten in place after a chunk upload, before finalize', () => {
  let h: Harness | undefined;
  after(async () => h?.close());

  it('ends byte-exact when its modification time was set back (rsync --inplace -t)', async () => {
    // idle for 4 s before finalize: the rewrite below lands well before it
    const harness = await Harness.create({ chunkSize: CHUNK, streamIdleMs: 4000 });
    h = harness;
    const { worker } = await harness.startAll();
    const rel = 'synced.mp4';
    const hourAgo = new Date(Date.now() - 3_600_000);
    const v1 = randomBytes(CHUNK);
    const handle = await open(harness.file(rel), 'w');
    try {
      await handle.write(v1, 0, v1.length, 0);
      await handle.utimes(hourAgo, hourAgo);
      // read an hour after the file's modification time: by mtime alone, those bytes are settled
      await worker.waitFor('chunk uploaded', 10_000, (l) => l['path'] === rel && l['chunk'] === 0);
      const v2 = randomBytes(CHUNK);
      await handle.write(v2, 0, v2.length, 0);
      await handle.utimes(hourAgo, hourAgo);
      assert.equal(worker.events('stream.complete', (l) => l['path'] === rel).length, 0, 'rewritten before finalize');
      const metadata = await harness.waitForMetadata(rel, v2, 30_000);
      assert.ok((await harness.reassemble(metadata)).equals(v2), 'the rewritten bytes reached S3');
    } finally {
      await handle.close();
    }
  });
});
