import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import { afterEach, describe, it } from 'node:test';
import type { AppProcess } from '@vcu/testkit';
import { Harness, chunkIndicesOk, randomBytes } from './harness.js';

const CHUNK = 64 * 1024;

describe('several processes', () => {
  let h: Harness;
  afterEach(async () => h.close());

  it('two worker processes share the chunks of one big file; the result is byte-exact', async () => {
    h = await Harness.create({ chunkSize: CHUNK, concurrency: 2 });
    const a = h.start('worker');
    const b = h.start('worker');
    await Promise.all([a.waitFor('worker ready'), b.waitFor('worker ready')]);
    const watcher = h.start('watcher');
    await watcher.waitFor('watching');

    const data = randomBytes(120 * CHUNK + 4321);
    await h.write('big.mp4', data);
    const metadata = await h.waitForMetadata('big.mp4', data, 120_000);
    assert.ok((await h.reassemble(metadata)).equals(data));
    const byA = a.find('chunk uploaded').length;
    const byB = b.find('chunk uploaded').length;
    assert.ok(byA > 0 && byB > 0, `both workers uploaded chunks (${byA} and ${byB})`);
    assert.ok(byA + byB >= metadata.chunks.length);
  });

  it('a watcher restarted halfway through a file does not upload finished chunks again', async () => {
    h = await Harness.create({ chunkSize: CHUNK });
    const worker = h.start('worker');
    await worker.waitFor('worker ready');
    let watcher = h.start('watcher');
    await watcher.waitFor('watching');

    const firstHalf = randomBytes(10 * CHUNK);
    await h.write('half.mp4', firstHalf);
    // wait until all ten full chunks are in S3, then stop the watcher mid-file
    await worker.waitFor('chunk uploaded', 30_000, (l) => l['path'] === 'half.mp4' && l['committed'] === 10);
    assert.equal(await watcher.stop('SIGTERM'), 0, 'the watcher exits cleanly on SIGTERM');

    const secondHalf = randomBytes(7 * CHUNK + 5);
    await appendFile(h.file('half.mp4'), secondHalf);
    watcher = h.start('watcher');
    await watcher.waitFor('watching');

    const data = Buffer.concat([firstHalf, secondHalf]);
    const metadata = await h.waitForMetadata('half.mp4', data);
    assert.ok((await h.reassemble(metadata)).equals(data));
    assert.ok(chunkIndicesOk(metadata, `${h.id}/`), 'indices 0..n-1 with no gaps');
    assert.equal(metadata.chunks.length, 18);
    for (let i = 0; i < 18; i += 1) assertUploadedOnce(worker, 'half.mp4', i);
  });
});

/** Chunk `index` of `file` was uploaded exactly once; on failure, every line about the chunk is in the message. */
function assertUploadedOnce(worker: AppProcess, file: string, index: number): void {
  const about = (event: 'chunk.uploaded' | 'chunk.retrying' | 'chunk.skipped') => worker.events(event, (l) => l['path'] === file && l['chunk'] === index);
  const lines = (['chunk.uploaded', 'chunk.retrying', 'chunk.skipped'] as const).flatMap(about);
  assert.equal(about('chunk.uploaded').length, 1, `chunk ${index} uploaded exactly once; its lines: ${JSON.stringify(lines)}`);
}
