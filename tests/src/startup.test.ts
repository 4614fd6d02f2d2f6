import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppProcess } from '@vcu/testkit';

void describe('a wrong setting stops the process at start, naming the variable', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'vcu-startup-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const cases: [string, Record<string, string>, RegExp][] = [
    ['CHUNK_SIZE=abc', { CHUNK_SIZE: 'abc' }, /CHUNK_SIZE="abc": expected a whole number of bytes/],
    ['CHUNK_SIZE=0', { CHUNK_SIZE: '0' }, /CHUNK_SIZE="0"/],
    ['CHUNK_SIZE=-1', { CHUNK_SIZE: '-1' }, /CHUNK_SIZE="-1"/],
    ['a malformed REDIS_URL', { REDIS_URL: 'localhost:6379' }, /REDIS_URL="localhost:6379": expected a URL starting with redis:\/\//],
    ['a malformed S3_ENDPOINT', { S3_ENDPOINT: 'minio:9000' }, /S3_ENDPOINT="minio:9000": expected a URL starting with http:\/\//],
    ['LOG_FORMAT=xml', { LOG_FORMAT: 'xml' }, /LOG_FORMAT="xml": expected one of json, pretty/],
    ['a missing WATCH_DIR', { WATCH_DIR: '/nonexistent/vcu' }, /WATCH_DIR="\/nonexistent\/vcu": expected an existing directory/],
  ];
  for (const app of ['watcher', 'worker'] as const) {
    for (const [label, env, expected] of cases) {
      void it(`${app}: ${label}`, async () => {
        const proc = new AppProcess(app, { WATCH_DIR: dir, ...env });
        const code = await proc.exited;
        assert.equal(code, 2);
        assert.match(proc.raw.join('\n'), expected);
      });
    }
  }

  void it('a WATCH_DIR that is a file is refused', async () => {
    const file = path.join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const proc = new AppProcess('worker', { WATCH_DIR: file });
    assert.equal(await proc.exited, 2);
    assert.match(proc.raw.join('\n'), /WATCH_DIR=".*not-a-dir": expected a directory/);
  });
});
