import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathsDecodingTo, readEntries } from './entries.js';
import { absoluteIn, readFacts } from './files.js';
import { nameFromBytes, nameToBytes } from './names.js';

const raw = (text: string, ...bytes: number[]): Buffer => Buffer.concat([Buffer.from(text), Buffer.from(bytes)]);

void describe('folders with names that are not UTF-8', () => {
  let root: string;
  /** `d\xff` and `d\xfe` both decode to `d\uFFFD`, as does the valid name `d\uFFFD` itself. */
  const dirs = [raw('d', 0xff), raw('d', 0xfe), Buffer.from('d\uFFFD')];

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'vcu-entries-'));
    for (const dir of dirs) {
      await mkdir(Buffer.concat([Buffer.from(`${root}/`), dir]));
      await writeFile(Buffer.concat([Buffer.from(`${root}/`), dir, raw('/a', 0xe2, 0x82), Buffer.from('.mp4')]), dir);
    }
    await writeFile(path.join(root, 'ok.mp4'), 'ok');
    await symlink(Buffer.concat([Buffer.from(`${root}/`), raw('d', 0xff)]), Buffer.concat([Buffer.from(`${root}/`), raw('link', 0x80)]));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  void it('readEntries names every entry by its bytes, and says what each is without following links', async () => {
    const entries = await readEntries(root, '');
    const byName = new Map(entries.map((e) => [e.name, e.kind]));
    assert.equal(byName.get('d\u0000ff'), 'directory');
    assert.equal(byName.get('d\u0000fe'), 'directory');
    assert.equal(byName.get('d\uFFFD'), 'directory');
    assert.equal(byName.get('link\u000080'), 'symbolic link');
    assert.equal(byName.get('ok.mp4'), 'file');
    const inside = await readEntries(root, 'd\u0000ff');
    assert.deepEqual(inside, [{ name: 'a\u0000e2\u000082.mp4', path: 'd\u0000ff/a\u0000e2\u000082.mp4', kind: 'file' }]);
  });

  void it('absoluteIn gives raw bytes for such a name, and readFacts reads it', async () => {
    const rel = 'd\u0000ff/a\u0000e2\u000082.mp4';
    const absolute = absoluteIn(root, rel);
    assert.ok(Buffer.isBuffer(absolute));
    assert.equal(nameFromBytes(absolute), `${root}/${rel}`);
    assert.equal(typeof absoluteIn(root, 'ok.mp4'), 'string');
    const facts = await readFacts(root, rel);
    assert.ok('size' in facts && facts.size === 2 && facts.path === rel, JSON.stringify(facts));
  });

  void it('pathsDecodingTo finds every raw name a decoded path stands for', async () => {
    const found = await pathsDecodingTo(root, 'd\uFFFD/a\uFFFD.mp4');
    assert.deepEqual(found.sort(), ['d\u0000fe/a\u0000e2\u000082.mp4', 'd\u0000ff/a\u0000e2\u000082.mp4', 'd\uFFFD/a\u0000e2\u000082.mp4'].sort());
    for (const rel of found) assert.ok(Buffer.isBuffer(absoluteIn(root, rel)));
    assert.ok(nameToBytes(found[0] ?? '').length > 0);
  });

  void it('pathsDecodingTo takes text components as they are, and finds nothing where nothing is', async () => {
    assert.deepEqual(await pathsDecodingTo(root, 'ok.mp4'), ['ok.mp4']);
    assert.deepEqual(await pathsDecodingTo(root, 'missing/x\uFFFD.mp4'), []);
    assert.deepEqual(await pathsDecodingTo(root, 'x\uFFFD.mp4'), []);
  });
});
