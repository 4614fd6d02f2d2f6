import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Log } from 'mp4box';
import { ffprobeDuration, hasCommand, makeTestMp4, type TestMp4Kind } from './ffmpeg.js';
import { probeMp4, type Mp4Facts, type Mp4Probe, type Mp4Track } from './probe.js';

const ffmpegMissing = !(await hasCommand('ffmpeg')) || !(await hasCommand('ffprobe'));
const skip = ffmpegMissing ? 'ffmpeg/ffprobe not on PATH: install ffmpeg (apt-get install -y ffmpeg) to run the @vcu/mp4 suite' : false;

const tmp = await mkdtemp(path.join(os.tmpdir(), 'vcu-mp4-test-'));
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const file = (name: string): string => path.join(tmp, name);

function facts(probe: Mp4Probe): Mp4Facts {
  assert.ok(probe.mp4, `expected MP4 facts, got reason: ${probe.reason}`);
  return probe.mp4;
}

function track(mp4: Mp4Facts, kind: Mp4Track['kind']): Mp4Track {
  const found = mp4.tracks.find((t) => t.kind === kind);
  assert.ok(found, `no ${kind} track in ${JSON.stringify(mp4.tracks)}`);
  return found;
}

function assertNotMp4(probe: Mp4Probe, reason: RegExp): void {
  assert.equal(probe.mp4, null, `expected no MP4 facts, got ${JSON.stringify(probe.mp4)}`);
  assert.equal(typeof probe.reason, 'string');
  assert.match(probe.reason ?? '', reason);
}

void describe('probeMp4 on files made by ffmpeg', { skip }, () => {
  const layouts: { kind: TestMp4Kind; fragmented: boolean; moovBeforeMdat: boolean }[] = [
    { kind: 'regular', fragmented: false, moovBeforeMdat: false },
    { kind: 'faststart', fragmented: false, moovBeforeMdat: true },
    { kind: 'fragmented', fragmented: true, moovBeforeMdat: true },
  ];

  before(async () => {
    await Promise.all(layouts.map(({ kind }) => makeTestMp4(file(`${kind}.mp4`), kind, 3)));
  });

  for (const { kind, fragmented, moovBeforeMdat } of layouts) {
    void it(`reads the facts of a ${kind} MP4`, async () => {
      const mp4 = facts(await probeMp4(file(`${kind}.mp4`)));

      assert.match(mp4.brands.major, /^(isom|iso\d|mp4\d|avc1|dash)$/);
      assert.equal(typeof mp4.brands.minorVersion, 'number');
      assert.ok(mp4.brands.compatible.length > 0, 'compatible brands should not be empty');
      assert.ok(Math.abs(mp4.durationSeconds - 3) <= 0.1, `duration ${mp4.durationSeconds} should be about 3 s`);
      assert.equal(mp4.fragmented, fragmented);
      assert.equal(mp4.moovBeforeMdat, moovBeforeMdat);
      assert.equal(mp4.tracks.length, 2);

      const video = track(mp4, 'video');
      assert.match(video.codec, /^avc1\./);
      assert.equal(video.width, 320);
      assert.equal(video.height, 240);
      assert.equal(video.frameRate, 25);
      assert.ok(Math.abs((video.durationSeconds ?? 0) - 3) <= 0.1, `video duration ${video.durationSeconds}`);
      assert.equal(video.sampleRate, undefined);

      const audio = track(mp4, 'audio');
      assert.match(audio.codec, /^mp4a\./);
      assert.equal(audio.sampleRate, 48000);
      assert.equal(audio.channels, 2);
      assert.equal(audio.width, undefined);
      assert.equal(audio.frameRate, undefined);
      assert.ok(Math.abs((audio.durationSeconds ?? 0) - 3) <= 0.1, `audio duration ${audio.durationSeconds}`);

      // Agrees with ffprobe, the independent reading.
      const probed = await ffprobeDuration(file(`${kind}.mp4`));
      assert.ok(Math.abs(mp4.durationSeconds - probed) <= 0.1, `probeMp4 says ${mp4.durationSeconds} s, ffprobe ${probed} s`);
    });
  }

  void it('gives the facts as plain JSON-safe data', async () => {
    const mp4 = facts(await probeMp4(file('regular.mp4')));
    assert.deepEqual(JSON.parse(JSON.stringify(mp4)), mp4);
  });

  void it('says a regular MP4 cut in half (no moov yet) is not an MP4', async () => {
    const whole = await readFile(file('regular.mp4'));
    await writeFile(file('half.mp4'), whole.subarray(0, Math.floor(whole.length / 2)));
    assertNotMp4(await probeMp4(file('half.mp4')), /no moov box found: not an MP4 or not finished/);
  });

  void it('says a regular MP4 cut inside its moov is truncated', async () => {
    const whole = await readFile(file('regular.mp4'));
    await writeFile(file('cut-moov.mp4'), whole.subarray(0, whole.length - 100));
    assertNotMp4(await probeMp4(file('cut-moov.mp4')), /moov box is incomplete/);
  });

  for (const kind of ['faststart', 'fragmented'] as const) {
    void it(`says a ${kind} MP4 cut in half is truncated, although its moov is whole`, async () => {
      const whole = await readFile(file(`${kind}.mp4`));
      await writeFile(file(`half-${kind}.mp4`), whole.subarray(0, Math.floor(whole.length / 2)));
      assertNotMp4(await probeMp4(file(`half-${kind}.mp4`)), /truncated/);
    });
  }

  void it('probes a ~20 MiB MP4 without reading its mdat (moov at the end, then at the start)', async () => {
    const big = file('big.mp4');
    await makeTestMp4(big, 'regular', 4, { videoBitrate: '40M', size: '640x480' });
    const bigFaststart = file('big-faststart.mp4');
    await makeTestMp4(bigFaststart, 'faststart', 4, { videoBitrate: '40M', size: '640x480' });
    for (const [f, moovBeforeMdat] of [
      [big, false],
      [bigFaststart, true],
    ] as const) {
      const size = (await stat(f)).size;
      assert.ok(size > 15 * 1024 * 1024, `${f} should be big, is ${size} bytes`);
      const mp4 = facts(await probeMp4(f, { maxBytesRead: 2 * 1024 * 1024 }));
      assert.equal(mp4.moovBeforeMdat, moovBeforeMdat);
      assert.ok(Math.abs(mp4.durationSeconds - 4) <= 0.1, `duration ${mp4.durationSeconds}`);
      assert.equal(track(mp4, 'video').width, 640);
    }
  });

  void it('gives up with a reason when the byte budget is too small for the moov', async () => {
    assertNotMp4(await probeMp4(file('faststart.mp4'), { maxBytesRead: 100 }), /moov box not read completely.*maxBytesRead/);
    assertNotMp4(await probeMp4(file('regular.mp4'), { maxBytesRead: 20 }), /no moov box found yet.*maxBytesRead/);
  });

  void it('reads a fragmented MP4 with many fragments, jumping over each mdat', async () => {
    const many = file('many-fragments.mp4');
    // frag_keyframe: a fragment (moof + mdat) per keyframe, here one a second.
    // 12 fragments of about 1 MiB of media each; 256 KiB of reading is enough for the boxes.
    await makeTestMp4(many, 'fragmented', 12, { keyframeInterval: 25, videoBitrate: '8M' });
    assert.ok((await stat(many)).size > 8 * 1024 * 1024);
    const mp4 = facts(await probeMp4(many, { maxBytesRead: 256 * 1024 }));
    assert.equal(mp4.fragmented, true);
    assert.ok(Math.abs(mp4.durationSeconds - 12) <= 0.1, `duration ${mp4.durationSeconds}`);
    assert.equal(track(mp4, 'video').frameRate, 25);
  });
});

void describe('probeMp4 on content that is not an MP4', () => {
  void it('random bytes, without mp4box printing its errors or keeping our handler', async () => {
    const logError = Object.getOwnPropertyDescriptor(Log, 'error')?.value as unknown;
    await writeFile(file('random.mp4'), randomBytes(256 * 1024));
    assertNotMp4(await probeMp4(file('random.mp4')), /not an MP4/);
    assert.equal(Object.getOwnPropertyDescriptor(Log, 'error')?.value, logError);
  });

  void it('text', async () => {
    await writeFile(file('text.mp4'), 'hello, this is not a video at all\n'.repeat(100));
    assertNotMp4(await probeMp4(file('text.mp4')), /not an MP4/);
  });

  void it('an empty file', async () => {
    await writeFile(file('empty.mp4'), '');
    assertNotMp4(await probeMp4(file('empty.mp4')), /empty file/);
  });

  void it('a lone box header too small to be a box', async () => {
    await writeFile(file('tiny.mp4'), Buffer.from([0, 0, 0, 4, 0x61, 0x62, 0x63, 0x64]));
    assertNotMp4(await probeMp4(file('tiny.mp4')), /not an MP4/);
  });

  void it('a file of zeros (as a preallocated, never written file)', async () => {
    await writeFile(file('zeros.mp4'), '');
    await truncate(file('zeros.mp4'), 1024 * 1024);
    assertNotMp4(await probeMp4(file('zeros.mp4')), /not an MP4/);
  });

  void it('throws the fs error when the file does not exist', async () => {
    await assert.rejects(probeMp4(file('missing.mp4')), { code: 'ENOENT' });
  });
});
