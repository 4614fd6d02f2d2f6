import assert from 'node:assert/strict';
import { link, mkdtemp, open, rename, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canSeeWriters } from '@vcu/files';
import { Harness, chunkIndicesOk, randomBytes, sha256, sleep } from './harness.js';

const CHUNK = 64 * 1024;

describe('complete files dropped into the watched folder', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.create({ chunkSize: CHUNK });
    await h.startAll();
  });
  after(async () => h.close());

  const cases: [string, number][] = [
    ['one-byte.mp4', 1],
    ['exactly-one-chunk.mp4', CHUNK],
    ['one-chunk-plus-one.mp4', CHUNK + 1],
    ['three-and-a-half.mp4', CHUNK * 3.5],
    ['nested/deeper/still/clip.mp4', 2 * CHUNK + 17],
    ['with spaces/my clip 01.mp4', CHUNK + 100],
    ['ünïcödé/カメラ 映像.mp4', 3 * CHUNK - 1],
    ['CAMERA/CLIP0001.MP4', 5000],
  ];

  it('uploads each one byte-exact, with metadata.json listing chunks 0..n-1', async () => {
    const files = new Map(cases.map(([name, size]) => [name, randomBytes(size)]));
    for (const [name, data] of files) await h.write(name, data);

    for (const [name, data] of files) {
      const metadata = await h.waitForMetadata(name, data);
      assert.equal(metadata.schemaVersion, 1);
      assert.equal(metadata.source.size, data.length);
      assert.equal(metadata.chunkSize, CHUNK);
      assert.equal(metadata.chunks.length, Math.ceil(data.length / CHUNK), name);
      assert.ok(chunkIndicesOk(metadata, `${h.id}/`), `chunk indices and keys of ${name}`);
      for (const chunk of metadata.chunks) {
        assert.equal(chunk.sha256, sha256(data.subarray(chunk.offset, chunk.offset + chunk.size)));
      }
      assert.match(metadata.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.match(metadata.completedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.match(metadata.source.modifiedAt, /Z$/);
      const rebuilt = await h.reassemble(metadata);
      assert.equal(rebuilt.length, data.length, name);
      assert.ok(rebuilt.equals(data), `${name} is byte-exact in S3`);
    }
  });

  it('uploads nothing for a file that does not match WATCH_PATTERNS, and skips an empty file once with a reason', async () => {
    const watcher = h.apps.find((a) => a.name === 'watcher');
    assert.ok(watcher);
    await h.write('notes.txt', Buffer.from('not a video'));
    await h.write('empty.mp4', Buffer.alloc(0));
    await h.write('marker.mp4', randomBytes(10));
    // marker.mp4 arrives after the others: once it is done, the others have had their chance
    await h.waitForMetadata('marker.mp4', await h.readLocal('marker.mp4'));
    await watcher.waitForEvent('file.skipped', 10_000, (l) => l['path'] === 'empty.mp4' && l['reason'] === 'empty file');
    await sleep(1500);

    const paths = (await h.allMetadata()).map((m) => m.source.path);
    assert.ok(!paths.includes('notes.txt'));
    assert.ok(!paths.includes('empty.mp4'));
    assert.equal(watcher.events('file.skipped', (l) => l['path'] === 'empty.mp4').length, 1, 'the empty file is reported once, not in a loop');
    assert.equal(watcher.find(/notes\.txt/).length, 0);
    for (const app of h.apps) assert.equal(app.find(/.*/, (l) => l.level === 'error').length, 0, `${app.name} logged no error`);
  });

  it('says in metadata whether the content is a recognised MP4', async () => {
    const mp4Like = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), randomBytes(5000)]);
    const text = Buffer.from('this is plain text, not a movie at all');
    await h.write('real-ish.mp4', mp4Like);
    await h.write('text.mp4', text);
    const a = await h.waitForMetadata('real-ish.mp4', mp4Like);
    const b = await h.waitForMetadata('text.mp4', text);
    assert.deepEqual(a.container, { recognisedMp4: true, firstBox: 'ftyp' });
    assert.equal(b.container.recognisedMp4, false);
    assert.ok((await h.reassemble(b)).equals(text));
  });
});

const WRITERS_HIDDEN = canSeeWriters() ? false : "this process cannot read every process's descriptors (not root, or its own PID namespace): the seal is off";

describe('files moved, linked or copied in whole, their times kept (sealed, one look each)', { skip: WRITERS_HIDDEN }, () => {
  let h: Harness;
  let staging: string;
  // whole seconds: utimes takes seconds as a float, which would round milliseconds
  const longAgo = new Date(Math.floor(Date.now() / 1000 - 3600) * 1000);
  before(async () => {
    // only the seal can finish them in time: STREAM_IDLE_MS is longer than the test waits
    h = await Harness.create({ chunkSize: CHUNK, streamIdleMs: 300_000, env: { SEAL_WHEN_CLOSED: 'on' } });
    staging = await mkdtemp(path.join(path.dirname(h.dir), `vcu-staging-${h.id}-`));
    await h.startAll();
  });
  after(async () => {
    await h.close();
    await rm(staging, { recursive: true, force: true });
  });

  /** A file made in the staging folder (same filesystem), its times an hour old. */
  async function staged(name: string, data: Buffer): Promise<string> {
    const file = path.join(staging, name);
    await writeFile(file, data);
    await utimes(file, longAgo, longAgo);
    return file;
  }

  it('uploads each byte-exact as soon as no process holds it open, and not before', async () => {
    const small = randomBytes(5000);
    const linked = randomBytes(CHUNK - 1);
    const big = randomBytes(CHUNK * 3.5);
    const held = randomBytes(7000);
    const heldOpen = await open(await staged('held.mp4', held), 'r+');
    try {
      await rename(await staged('small.mp4', small), h.file('small.mp4'));
      await link(await staged('linked.mp4', linked), h.file('linked.mp4'));
      await rename(await staged('big.mp4', big), h.file('big.mp4'));
      await rename(path.join(staging, 'held.mp4'), h.file('held.mp4'));
      for (const [name, data] of [['small.mp4', small], ['linked.mp4', linked], ['big.mp4', big]] as const) {
        const metadata = await h.waitForMetadata(name, data);
        assert.equal(metadata.source.modifiedAt, longAgo.toISOString(), `${name}: its kept modification time`);
        assert.ok((await h.reassemble(metadata)).equals(data), `${name} is byte-exact in S3`);
      }
      await sleep(2000);
      assert.ok(!(await h.allMetadata()).some((m) => m.source.path === 'held.mp4'), 'a file open for writing is not finished, however old its times');
      // the writer appends its last bytes and closes the file
      await heldOpen.write(Buffer.from('tail'), 0, 4, held.length);
    } finally {
      await heldOpen.close();
    }
    const whole = Buffer.concat([held, Buffer.from('tail')]);
    assert.ok((await h.reassemble(await h.waitForMetadata('held.mp4', whole))).equals(whole), 'held.mp4, finished once closed');
    const watcher = h.apps.find((a) => a.name === 'watcher');
    for (const name of ['small.mp4', 'linked.mp4', 'big.mp4', 'held.mp4']) {
      assert.equal(watcher?.events('stream.started', (l) => l['path'] === name).length, 1, `${name}: one stream`);
    }
  });
});
