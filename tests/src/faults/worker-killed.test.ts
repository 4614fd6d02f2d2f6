import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Harness, randomBytes, waitUntil } from '../harness.js';
import { TcpProxy } from '../outage.js';
import { assertByteExact, uploadedChunks, waitForDrainedChunks, waitForRecovery } from '../kill-util.js';

const CHUNK = 4 * 1024 * 1024;
const CHUNKS = 40;
const FILE = 'cams/killed-worker.mp4';

/** A chunk job that was running in the killed worker. */
interface Interrupted {
  readonly id: string;
  readonly chunk: number;
  readonly stream: string;
}

void describe('a worker killed mid-chunk', () => {
  let h: Harness | undefined;
  let proxy: TcpProxy | undefined;
  after(async () => {
    await h?.close();
    await proxy?.close();
  });

  void it('A worker killed with SIGKILL in the middle of a chunk: the chunk is picked up again (stalled-job recovery) by another worker; the result is byte-exact', async () => {
    h = await Harness.create({ chunkSize: CHUNK, concurrency: 4, streamIdleMs: 1000, env: { JOB_LOCK_MS: '3000' } });
    const harness = h;
    // A reaches S3 through a proxy that is held before the kill, so A dies with uploads on the
    // wire however fast S3 and however slow this machine (B talks to S3 directly)
    proxy = await TcpProxy.start(harness.env['S3_ENDPOINT'] ?? '');
    const a = harness.start('worker', proxy.env);
    await a.waitFor('worker ready');
    const watcher = harness.start('watcher');
    await watcher.waitFor('watching');
    // the file appears whole (written under a hidden name, then renamed, like `mv`): every full
    // chunk is enqueued at once, so worker A is busy with several when it finishes its first one
    const data = randomBytes(CHUNKS * CHUNK - 12_345);
    await harness.write('cams/.incoming', data);
    await rename(harness.file('cams/.incoming'), harness.file(FILE));

    await a.waitFor('chunk uploaded', 30_000, (l) => l['path'] === FILE);
    proxy.hold();
    // a request sent whole before the hold is still answered; the uploads A starts after it hang
    await waitUntil(async () => (await midUploads(harness)).length > 0, 30_000, 'A has an upload on the wire');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(await a.stop('SIGKILL'), null, 'worker A died from SIGKILL (no exit code)');

    // what A held when it died: chunk jobs still active, whose locks nobody renews any more
    const interrupted = await activeJobs(harness);
    assert.ok(((await harness.jobCounts())['active'] ?? 0) > 0, 'chunk jobs are active right after the kill');
    assert.ok(interrupted.length > 0, 'worker A held chunk jobs when it was killed');
    // the chunks A had recorded by the time it died (it records nothing more): read now, not from
    // A's log, whose last lines may never have left it
    const recordedByA = await recordedChunks(harness, interrupted[0]?.stream ?? '');
    const midUpload = interrupted.filter((j) => !recordedByA.has(j.chunk));
    assert.ok(midUpload.length > 0, `A was killed with chunks not yet recorded (active: ${JSON.stringify(interrupted)}; recorded: ${[...recordedByA].join(',')})`);

    const b = harness.start('worker');
    await b.waitFor('worker ready');
    const metadata = await assertByteExact(harness, FILE, 50_000);
    assert.equal(metadata.chunks.length, CHUNKS);

    // A's last lines may still have been in the pipe when it died: read them only now
    const byA = new Set(uploadedChunks([a], FILE));

    // B took over every job A was running, through BullMQ's stalled-job recovery, and finished them
    await waitForRecovery([b], interrupted.map((j) => j.id));
    const counts = await waitForDrainedChunks(harness);
    assert.equal(counts['failed'] ?? 0, 0, `no chunk job failed: ${JSON.stringify(counts)}`);

    // every chunk A did not finish was uploaded by B; the only skip allowed is a chunk A recorded
    // in the instant between its upload and its log line
    const byB = new Set(uploadedChunks([b], FILE));
    const skippedByB = new Set(
      b.events('chunk.skipped', (l) => l['path'] === FILE && l['why'] === 'already uploaded with these bytes').map((l) => Number(l['chunk'])),
    );
    const interruptedChunks = new Set(interrupted.map((j) => j.chunk));
    for (let i = 0; i < CHUNKS; i += 1) {
      if (byA.has(i)) continue;
      assert.ok(
        byB.has(i) || (skippedByB.has(i) && interruptedChunks.has(i)),
        `chunk ${i}, not uploaded by A, was uploaded by B (B uploaded ${[...byB].sort((x, y) => x - y).join(',')})`,
      );
    }
    assert.ok(
      midUpload.some((j) => byB.has(j.chunk)),
      `B uploaded a chunk A was in the middle of (${midUpload.map((j) => j.chunk).join(',')})`,
    );
  });
});

/** The chunk jobs active now. */
async function activeJobs(harness: Harness): Promise<Interrupted[]> {
  const queue = new Queue('chunks', { connection: harness.redis, prefix: harness.keyPrefix });
  try {
    return (await queue.getActive()).map((job) => {
      const data = job.data as { index: number; streamId: string };
      return { id: job.id ?? '', chunk: Number(data.index), stream: data.streamId };
    });
  } finally {
    await queue.close();
  }
}

/** The chunks of `stream` recorded as uploaded in Redis. */
async function recordedChunks(harness: Harness, stream: string): Promise<Set<number>> {
  return new Set((await harness.store.chunks(stream)).keys());
}

/** Active chunk jobs whose chunk is not recorded: uploads under way. */
async function midUploads(harness: Harness): Promise<Interrupted[]> {
  const active = await activeJobs(harness);
  const recorded = await recordedChunks(harness, active[0]?.stream ?? '');
  return active.filter((j) => !recorded.has(j.chunk));
}
