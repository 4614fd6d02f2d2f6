import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Mp4Facts } from '@vcu/mp4';
import { ffprobeDuration, hasCommand, makeTestMp4 } from '@vcu/mp4/testing';
import { getObjectBytes } from '@vcu/storage';
import { BUCKET, Harness } from './harness.js';

const MiB = 1024 * 1024;
const SECONDS = 4;

void describe('real recordings made by ffmpeg, assembled in S3', async () => {
  const ready = (await hasCommand('ffmpeg')) && (await hasCommand('ffprobe'));
  let h: Harness;
  before(async () => {
    h = await Harness.create({ chunkSize: 5 * MiB, streamIdleMs: 1500, env: { ASSEMBLE: 'true' } });
    await h.startAll();
  });
  after(async () => h.close());

  const kinds = [
    // written into the watched folder in real time, as a recorder would; moov lands at the end
    { name: 'live/regular.mp4', kind: 'regular', realtime: true, fragmented: false, moovBeforeMdat: false },
    { name: 'live/fragmented.mp4', kind: 'fragmented', realtime: true, fragmented: true, moovBeforeMdat: true },
    // +faststart rewrites the whole file in place when ffmpeg closes it
    { name: 'faststart.mp4', kind: 'faststart', realtime: false, fragmented: false, moovBeforeMdat: true },
  ] as const;

  for (const k of kinds) {
    void it(`${k.kind}: byte-exact chunks and assembled object, playable, with the right MP4 facts`, { timeout: 120_000 }, async (t) => {
      if (!ready) return t.skip('ffmpeg/ffprobe not installed (apt-get install ffmpeg)');
      if (!h.realS3) return t.skip('assembly needs a real S3 server (S3_ENDPOINT)');
      await mkdir(path.dirname(h.file(k.name)), { recursive: true });
      await makeTestMp4(h.file(k.name), k.kind, SECONDS, { realtime: k.realtime, size: '1280x720', videoBitrate: '24M', keyframeInterval: 25 });
      const data = await h.readLocal(k.name);
      assert.ok(data.length > 10 * MiB, `a multi-chunk recording (${data.length} bytes)`);

      const metadata = await h.waitForMetadata(k.name, data, 90_000);
      assert.ok((await h.reassemble(metadata)).equals(data), 'the chunks are the file');
      const assembledKey = metadata.assembled?.key ?? '';
      const assembled = await getObjectBytes({ client: h.s3, bucket: BUCKET }, assembledKey);
      assert.ok(assembled?.equals(data), 'the assembled object is the file, byte for byte');

      const copy = path.join(os.tmpdir(), `vcu-${h.id}-${path.basename(k.name)}`);
      await writeFile(copy, assembled ?? Buffer.alloc(0));
      try {
        const duration = await ffprobeDuration(copy);
        assert.ok(Math.abs(duration - SECONDS) < 0.25, `ffprobe reads ${duration} s from the assembled object`);
      } finally {
        await rm(copy, { force: true });
      }

      const mp4 = metadata.mp4 as Mp4Facts | null;
      assert.ok(mp4, `mp4 facts: ${String(metadata.mp4Reason)}`);
      assert.equal(mp4.fragmented, k.fragmented);
      assert.equal(mp4.moovBeforeMdat, k.moovBeforeMdat);
      assert.ok(Math.abs(mp4.durationSeconds - SECONDS) < 0.25);
      const video = mp4.tracks.find((track) => track.kind === 'video');
      assert.match(video?.codec ?? '', /^avc1\./);
      assert.equal(video?.width, 1280);
      assert.equal(video?.height, 720);
      assert.equal(video?.frameRate, 25);
      const audio = mp4.tracks.find((track) => track.kind === 'audio');
      assert.match(audio?.codec ?? '', /^mp4a\./);
    });
  }

  void it('says why content under a matching name is not an MP4', async (t) => {
    if (!h.realS3) return t.skip('this suite assembles (ASSEMBLE=true), which needs a real S3 server (S3_ENDPOINT)');
    const text = Buffer.from('not a movie at all\n'.repeat(1000));
    await h.write('notes-not-video.mp4', text);
    const metadata = await h.waitForMetadata('notes-not-video.mp4', text);
    assert.equal(metadata.mp4, null);
    assert.match(metadata.mp4Reason ?? '', /not an MP4/);
    assert.equal(metadata.assembled?.size ?? text.length, text.length);
  });
});
