import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMatcher, isHiddenOrTemporary } from './filter.js';

/** WATCH_PATTERNS' default. */
const DEFAULT_PATTERNS = ['**/*.mp4'];

void describe('createMatcher with the default pattern', () => {
  const matches = createMatcher(DEFAULT_PATTERNS);

  for (const file of ['a.mp4', 'x/y/z.mp4', 'CLIP.MP4', 'Clip0001.Mp4', 'DCIM/100GOPRO/GX010001.MP4', 'my video.mp4', 'sub dir/ünï code.mp4', '视频/片段 1.mp4']) {
    void it(`matches ${JSON.stringify(file)}`, () => {
      assert.equal(matches(file), true);
    });
  }

  for (const file of [
    'a.txt',
    'a.mp4.txt',
    'a.mov',
    'mp4',
    '.hidden.mp4',
    'dir/.hidden.mp4',
    'dir/.hidden/a.mp4',
    '.git/a.mp4',
    'a.mp4.part',
    'a.mp4~',
    'a.mp4.tmp',
    'a.mp4.crdownload',
  ]) {
    void it(`does not match ${JSON.stringify(file)}`, () => {
      assert.equal(matches(file), false);
    });
  }
});

void describe('createMatcher never matches hidden or temporary files, whatever the pattern', () => {
  void it('with a catch-all pattern', () => {
    const matches = createMatcher(['**/*']);
    assert.equal(matches('a.mp4'), true);
    assert.equal(matches('notes.txt'), true);
    for (const file of ['a.mp4.part', 'a.mp4~', 'a.mp4.tmp', 'A.MP4.TMP', 'a.swp', '#a.mp4#', 'dir/.hidden/a.mp4', '.hidden.mp4']) {
      assert.equal(matches(file), false, file);
    }
  });

  void it('with patterns that name the hidden or temporary file explicitly', () => {
    assert.equal(createMatcher(['.hidden/*.mp4'])('.hidden/a.mp4'), false);
    assert.equal(createMatcher(['**/.*.mp4'])('dir/.a.mp4'), false);
    assert.equal(createMatcher(['**/*.part'])('a.mp4.part'), false);
    assert.equal(createMatcher(['**/*.mp4~'])('a.mp4~'), false);
  });
});

void describe('createMatcher with several patterns', () => {
  const matches = createMatcher(['**/*.mp4', '**/*.mov', 'cam1/*.mkv']);

  void it('matches a path matching any of them', () => {
    assert.equal(matches('a.mp4'), true);
    assert.equal(matches('b/c.mov'), true);
    assert.equal(matches('B/C.MOV'), true);
    assert.equal(matches('cam1/d.mkv'), true);
  });

  void it('matches no path matching none of them', () => {
    assert.equal(matches('a.avi'), false);
    assert.equal(matches('cam2/d.mkv'), false);
    assert.equal(matches('cam1/sub/d.mkv'), false);
  });

  void it('is anchored to WATCH_DIR for patterns without **', () => {
    const only = createMatcher(['cam1/*.mp4']);
    assert.equal(only('cam1/a.mp4'), true);
    assert.equal(only('a.mp4'), false);
    assert.equal(only('x/cam1/a.mp4'), false);
  });
});

void describe('isHiddenOrTemporary', () => {
  for (const file of [
    '.hidden.mp4',
    'dir/.hidden/a.mp4',
    '.a/b/c.mp4',
    'a.mp4~',
    'a.mp4.tmp',
    'a.mp4.TEMP',
    'a.mp4.part',
    'a.mp4.partial',
    'a.mp4.crdownload',
    'a.mp4.download',
    'a.mp4.swp',
    '.a.mp4.swx',
    '#a.mp4#',
    'dir/#a.mp4#',
  ]) {
    void it(`is true for ${JSON.stringify(file)}`, () => {
      assert.equal(isHiddenOrTemporary(file), true);
    });
  }

  for (const file of ['a.mp4', 'x/y/z.mp4', 'tmp.mp4', 'part/a.mp4', 'a.part.mp4', 'dir.with.dots/a.mp4', 'a#.mp4', 'sub dir/ünï code.mp4']) {
    void it(`is false for ${JSON.stringify(file)}`, () => {
      assert.equal(isHiddenOrTemporary(file), false);
    });
  }
});
