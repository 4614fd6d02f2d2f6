import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { StreamMetadata } from '@vcu/domain';
import { assertReassembles } from '../faults-util.js';
import { Harness, randomBytes, waitUntil } from '../harness.js';

const CHUNK = 64 * 1024;

/** Raw bytes of a name: text parts as UTF-8, number arrays as they are. */
const bytesOf = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

/** The path of raw name bytes inside the harness's WATCH_DIR, as the file system takes it. */
const rawPath = (h: Harness, name: Buffer): Buffer => Buffer.concat([Buffer.from(`${h.dir}/`), name]);

/** Waits for the metadata.json of this file's bytes, and asserts that it is the only one of its path and that it names the file exactly. */
async function assertUploaded(h: Harness, name: Buffer, data: Buffer): Promise<StreamMetadata> {
  const shown = name.toString('utf8');
  const metadata = await h.waitForMetadata(shown, data);
  await assertReassembles(h, metadata, data, shown);
  assert.equal((await h.allMetadata()).filter((m) => m.source.path === shown).length, 1, `one metadata.json for ${JSON.stringify(shown)}`);
  const lossless = metadata.source.pathBytes === undefined ? Buffer.from(metadata.source.path) : Buffer.from(metadata.source.pathBytes, 'base64');
  assert.ok(lossless.equals(name), `metadata.json names ${JSON.stringify(shown)} exactly: ${JSON.stringify(metadata.source)}`);
  return metadata;
}

/** `vcu status` shows each stream on one line ending in its escaped name, and no raw control character. */
async function assertStatusEscaped(h: Harness, streams: readonly (readonly [string, string])[]): Promise<void> {
  const status = await h.cli('status');
  assert.equal(status.code, 0, status.stderr);
  assert.ok(!status.stdout.includes('\u001b') && !status.stdout.includes('\r'), 'no raw ESC reaches the terminal');
  const lines = status.stdout.trimEnd().split('\n');
  assert.equal(lines.length, streams.length + 2, `a header, one line per stream, the totals:\n${status.stdout}`);
  for (const [id, shown] of streams) assert.ok(lines.find((l) => l.includes(id))?.endsWith(` ${shown}`), status.stdout);
}

/** `vcu restore` rebuilds the file byte-exact by stream id and by its path as typed; `vcu verify` finds the local file. */
async function assertRestores(h: Harness, metadata: StreamMetadata, data: Buffer, shown: string): Promise<void> {
  const out = path.join(os.tmpdir(), `vcu-names-${h.id}.mp4`);
  try {
    for (const arg of [metadata.streamId, metadata.source.path]) {
      const restored = await h.cli('restore', arg, out);
      assert.equal(restored.code, 0, `${arg}: ${restored.stdout}${restored.stderr}`);
      assert.ok(restored.stdout.startsWith(`OK restored ${shown} `), restored.stdout);
      assert.ok((await readFile(out)).equals(data), `restored from ${arg} byte-exact`);
    }
  } finally {
    await rm(out, { force: true });
  }
  const verified = await h.cli('verify', metadata.streamId);
  assert.equal(verified.code, 0, verified.stdout);
  assert.match(verified.stdout, /local file: matches$/m, 'the local file is found by its bytes');
}

/**
 * Rows 9 and 10 of the security review: file names that are not UTF-8 (chokidar never reports
 * them) and names holding control characters. Each is uploaded byte-exact, logged, shown escaped
 * by `vcu status` and restored by `vcu restore`.
 */
void describe('file names: every name is uploaded, and printed safely', () => {
  let cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups = [];
  });

  void it('a name that is not UTF-8 and one with ESC and a newline: uploaded, logged, shown escaped, restored; an append makes a new revision; deleting it retires its stream', async () => {
    const h = await Harness.create({ chunkSize: CHUNK, streamIdleMs: 500 });
    cleanups.push(() => h.close());
    const { watcher, worker } = await h.startAll();
    const bad = bytesOf('bad', [0xff, 0xfe], '.mp4');
    const badName = 'bad\u0000ff\u0000fe.mp4'; // how logs, Redis and jobs name it (README: names that are not UTF-8)
    const esc = bytesOf('esc\u001b[31m\nred.mp4');
    const badData = randomBytes(3 * CHUNK + 11);
    const escData = randomBytes(2 * CHUNK + 5);
    await writeFile(rawPath(h, bad), badData);
    await writeFile(rawPath(h, esc), escData);

    await watcher.waitForEvent('file.not-utf8', 20_000, (l) => l['path'] === badName);
    const badMeta = await assertUploaded(h, bad, badData);
    const escMeta = await assertUploaded(h, esc, escData);
    assert.equal(badMeta.source.path, 'bad\uFFFD\uFFFD.mp4', 'source.path is readable text');
    assert.equal(escMeta.source.pathBytes, undefined, 'a UTF-8 name needs no pathBytes');
    for (const [name, meta] of [[badName, badMeta], [esc.toString(), escMeta]] as const) {
      const started = await watcher.waitForEvent('stream.started', 5000, (l) => l['stream'] === meta.streamId);
      assert.equal(started['path'], name, 'the watcher logs the name, losslessly, in a JSON line');
      await worker.waitForEvent('stream.complete', 5000, (l) => l['stream'] === meta.streamId && l['path'] === name);
    }

    await assertStatusEscaped(h, [
      [badMeta.streamId, 'bad\\xff\\xfe.mp4'],
      [escMeta.streamId, 'esc\\x1b[31m\\nred.mp4'],
    ]);
    await assertRestores(h, badMeta, badData, 'bad\\xff\\xfe.mp4');
    await assertRestores(h, escMeta, escData, 'esc\\x1b[31m\\nred.mp4');

    // chokidar says nothing of this file: the watcher's own poll sees the append and the deletion
    const more = randomBytes(CHUNK + 3);
    await appendFile(rawPath(h, bad), more);
    const grown = await h.waitForMetadata('bad\uFFFD\uFFFD.mp4', Buffer.concat([badData, more]));
    assert.equal(grown.streamId, badMeta.streamId, 'growth continues the stream');
    assert.equal(grown.revision, badMeta.revision + 1, 'a new revision');
    await assertReassembles(h, grown, Buffer.concat([badData, more]), 'grown');

    // metadata.json is written just before Redis marks the stream complete: deleted before that,
    // the file would abort its new revision instead of leaving a finished stream
    await worker.waitForEvent('stream.complete', 30_000, (l) => l['stream'] === badMeta.streamId && l['revision'] === grown.revision);
    await unlink(rawPath(h, bad));
    // retired by whoever sees it first: the watcher's poll (stream.kept) or the workers' sweep,
    // which looks for finished streams whose file is gone (streams.reconciled)
    await waitUntil(async () => (await h.redis.get(`${h.keyPrefix}:path:${badName}`)) === null, 20_000, 'the path no longer points at the stream');
    // the line follows the change in Redis, through a pipe: waited for, not looked for at once
    const kept = (app: typeof watcher): boolean => app.events('stream.kept', (l) => l['stream'] === badMeta.streamId).length > 0;
    await waitUntil(() => kept(watcher) || kept(worker) || worker.events('streams.reconciled').length > 0, 10_000, 'the retirement is logged');
  });

  void it('a folder whose name is not UTF-8, there before the watcher and filled after, while polling: every file in it is uploaded', async () => {
    const h = await Harness.create({ chunkSize: CHUNK, streamIdleMs: 500, env: { WATCH_POLL_MS: '200' } });
    cleanups.push(() => h.close());
    const folder = bytesOf('cam', [0x80]);
    const first = bytesOf('cam', [0x80], '/a.mp4');
    const firstData = randomBytes(2 * CHUNK + 1);
    await mkdir(rawPath(h, folder));
    await writeFile(rawPath(h, first), firstData);
    const { watcher } = await h.startAll();
    await watcher.waitForEvent('directory.not-utf8', 20_000, (l) => l['path'] === 'cam\u000080');
    await assertUploaded(h, first, firstData);

    // a file that is not UTF-8 inside it, and another at the top, both after the start
    const inside = bytesOf('cam', [0x80], '/b', [0xc0, 0xaf], '.mp4');
    const top = bytesOf('top', [0xed, 0xa0, 0x80], '.mp4');
    const insideData = randomBytes(CHUNK + 7);
    const topData = randomBytes(CHUNK - 1);
    await writeFile(rawPath(h, inside), insideData);
    await writeFile(rawPath(h, top), topData);
    await assertUploaded(h, inside, insideData);
    await assertUploaded(h, top, topData);
  });
});
