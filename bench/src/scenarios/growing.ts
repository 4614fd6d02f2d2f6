// A growing file: a writer appends 1 MiB every 100 ms to one file it keeps open, then closes it.
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Bench } from '../context.js';
import { runVcu } from '../measure/vcu-run.js';
import type { GrowingFigures, GrowingRun, VcuRun } from '../results.js';
import { MiB, maxOf, median, sleep } from '../util.js';

interface Write {
  readonly end: number;
  readonly at: number;
}

const NAME = 'live.mp4';

async function write(dir: string, count: number, writes: Write[]): Promise<string[]> {
  const pool = randomBytes(8 * MiB);
  const handle = await open(path.join(dir, NAME), 'w');
  try {
    const started = Date.now();
    let written = 0;
    for (let i = 0; i < count; i += 1) {
      const wait = started + i * 100 - Date.now();
      if (wait > 0) await sleep(wait);
      const piece = pool.subarray((i % 7) * MiB, (i % 7) * MiB + MiB);
      await handle.write(piece, 0, piece.length, written);
      written += piece.length;
      writes.push({ end: written, at: Date.now() });
    }
  } finally {
    await handle.close();
  }
  return [NAME];
}

function figures(r: VcuRun, env: Readonly<Record<string, string>>, writes: readonly Write[]): GrowingFigures {
  const chunkSize = Number(env['CHUNK_SIZE'] ?? 10 * MiB);
  const firstUpload = new Map<number, number>();
  for (const u of r.uploads) if (u.path === NAME && u.bytes === chunkSize && !firstUpload.has(u.chunk)) firstUpload.set(u.chunk, u.at);
  const delays = [...firstUpload].map(([index, at]) => at - (writes.find((w) => w.end >= (index + 1) * chunkSize)?.at ?? NaN));
  const first = writes[0];
  const last = writes.at(-1);
  if (first === undefined || last === undefined) throw new Error('the growing file got no writes');
  const idle = Number(env['STREAM_IDLE_MS'] ?? 5000);
  const every = Number(env['FINALIZE_EVERY_MS'] ?? 1000);
  return {
    seal: env['SEAL_WHEN_CLOSED'] ?? 'auto (default)',
    writes: writes.length,
    seconds: (last.at - first.at) / 1000,
    bytes: last.end,
    fullChunks: Math.floor(last.end / chunkSize),
    uploadedChunks: delays.length,
    medianChunkMs: median(delays),
    maxChunkMs: maxOf(delays),
    metadataMs: (r.completions.get(NAME) ?? NaN) - last.at,
    idleBoundMs: idle + every,
    idle,
    every,
  };
}

export async function growing(bench: Bench, env: Readonly<Record<string, string>>, label: string, slug: string): Promise<GrowingRun> {
  const writes: Write[] = [];
  const r = await runVcu(bench, { slug, label, env, drop: (dir) => write(dir, bench.options.growWrites, writes) });
  return { ...r, growing: figures(r, env, writes) };
}

/** With the default SEAL_WHEN_CLOSED, and with it off. */
export async function growingRuns(bench: Bench): Promise<GrowingRun[]> {
  return [await growing(bench, {}, 'growing file (defaults)', 'grow'), await growing(bench, { SEAL_WHEN_CLOSED: 'off' }, 'growing file, SEAL_WHEN_CLOSED=off', 'growoff')];
}
