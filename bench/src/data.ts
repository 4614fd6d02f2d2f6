// Test data, generated once under VCU_BENCH_DATA and reused by every run: big files of random
// bytes with their SHA-256, and many small files whose sizes come from a seeded PRNG.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { settings } from './settings.js';
import { MiB, fmt, log, sum } from './util.js';

export interface BigFile {
  readonly file: string;
  readonly size: number;
  readonly sha256: string;
}

async function generate(file: string, size: number, shaFile: string): Promise<void> {
  log(`generating ${file}`);
  const tmp = `${file}.gen-${process.pid}`;
  const handle = await open(tmp, 'w');
  const hash = createHash('sha256');
  try {
    for (let w = 0; w < size; w += 16 * MiB) {
      const block = randomBytes(Math.min(16 * MiB, size - w));
      hash.update(block);
      await handle.write(block);
    }
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  await writeFile(shaFile, hash.digest('hex'));
}

/** `count` files of `size` random bytes; their SHA-256 beside them. */
export async function bigFiles(count: number, size: number): Promise<BigFile[]> {
  await mkdir(settings.data, { recursive: true });
  const files: BigFile[] = [];
  for (let i = 0; i < count; i += 1) {
    const file = path.join(settings.data, `big-${size / MiB}MiB-${i}.mp4`);
    const shaFile = `${file}.sha256`;
    if (!existsSync(file) || statSync(file).size !== size) {
      await generate(file, size, shaFile);
    } else if (!existsSync(shaFile) || statSync(shaFile).mtimeMs < statSync(file).mtimeMs) {
      log(`hashing ${file}`);
      await writeFile(shaFile, createHash('sha256').update(await readFile(file)).digest('hex'));
    }
    files.push({ file, size, sha256: readFileSync(shaFile, 'utf8').trim() });
  }
  return files;
}

/** The names the big files get in a watched (or staging) folder: f0.mp4, f1.mp4, … */
export const bigName = (i: number): string => `f${i}.mp4`;

/** Hard-links the big files into `dir` (no copy is timed); returns their names there. */
export async function linkBig(files: readonly BigFile[], dir: string): Promise<string[]> {
  const names = files.map((_, i) => bigName(i));
  await Promise.all(files.map((f, i) => link(f.file, path.join(dir, bigName(i)))));
  return names;
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ManySet {
  readonly dir: string;
  readonly names: readonly string[];
  readonly sizes: readonly number[];
  readonly total: number;
}

const MANY_SEED = 20261125;

/** `count` files of 64 KiB–1 MiB (seeded sizes) in a staging folder under the data folder, made once. */
export async function manyFiles(count: number): Promise<ManySet> {
  const rand = prng(MANY_SEED);
  const sizes = Array.from({ length: count }, () => 64 * 1024 + Math.floor(rand() * (MiB - 64 * 1024 + 1)));
  const dir = path.join(settings.data, `many-${count}-seed${MANY_SEED}`);
  const names = sizes.map((_, i) => `s${String(i).padStart(5, '0')}.mp4`);
  const total = sum(sizes);
  const marker = path.join(dir, '.complete');
  if (!existsSync(marker) || readFileSync(marker, 'utf8').trim() !== String(total)) {
    log(`generating ${count} files of 64 KiB–1 MiB (${fmt(total / 1e9, 2)} GB) in ${dir}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const pool = randomBytes(64 * MiB);
    for (let i = 0; i < count; i += 1) {
      const start = (i * 7919 * 4096) % (pool.length - MiB);
      const body = Buffer.from(pool.subarray(start, start + (sizes[i] ?? 0)));
      body.write(`vcu bench file ${i}\n`, 0);
      await writeFile(path.join(dir, names[i] ?? ''), body);
    }
    await writeFile(marker, String(total));
  }
  return { dir, names, sizes, total };
}

/** Hard-links every file of the set into `dir`, all started together; returns their names. */
export async function linkMany(set: ManySet, dir: string): Promise<string[]> {
  await Promise.all(set.names.map((n) => link(path.join(set.dir, n), path.join(dir, n))));
  return [...set.names];
}
