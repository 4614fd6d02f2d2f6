import assert from 'node:assert/strict';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { StreamMetadata } from '@vcu/domain';
import type { AppProcess } from '@vcu/testkit';
import { assertReassembles } from './faults-util.js';
import { type Harness, randomBytes, sleep } from './harness.js';

/** Sends SIGKILL to every process at the same moment and waits until all of them are gone. */
export async function killTogether(...targets: readonly { stop(signal: 'SIGKILL'): Promise<unknown> }[]): Promise<void> {
  await Promise.all(targets.map((t) => t.stop('SIGKILL')));
}

/** Chunk indices of every 'chunk uploaded' line the apps logged for `relativePath` (repeats kept). */
export function uploadedChunks(apps: readonly AppProcess[], relativePath: string): number[] {
  return apps.flatMap((app) => app.find('chunk uploaded', (l) => l['path'] === relativePath).map((l) => Number(l['chunk'])));
}

/** How often each chunk index appears in `indices`. */
export function countBy(indices: readonly number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const i of indices) counts.set(i, (counts.get(i) ?? 0) + 1);
  return counts;
}

/**
 * Waits for the metadata.json that describes the local file exactly as it is now, then asserts
 * it lists chunks 0..n-1 under the contract's keys and that concatenating those objects gives
 * the local file's bytes.
 */
export async function assertByteExact(h: Harness, relativePath: string, timeoutMs = 45_000): Promise<StreamMetadata> {
  const local = await h.readLocal(relativePath);
  const metadata = await h.waitForMetadata(relativePath, local, timeoutMs);
  await assertReassembles(h, metadata, local, relativePath);
  return metadata;
}

/** A writer that keeps appending random bytes to a file, like a recorder. */
export interface Appender {
  readonly relativePath: string;
  /** Everything written so far. */
  written(): number;
  /** Stops after the append in progress; resolves with every byte written, in order. */
  stop(): Promise<Buffer>;
}

export async function startAppending(h: Harness, relativePath: string, bytesPerStep: number, everyMs: number): Promise<Appender> {
  const file = h.file(relativePath);
  await mkdir(path.dirname(file), { recursive: true });
  const parts: Buffer[] = [];
  let size = 0;
  let stopping = false;
  const first = randomBytes(bytesPerStep);
  await appendFile(file, first);
  parts.push(first);
  size += first.length;
  let failure: Error | undefined;
  const loop = (async () => {
    while (!stopping) {
      await sleep(everyMs);
      if (stopping) break;
      const step = randomBytes(bytesPerStep);
      await appendFile(file, step);
      parts.push(step);
      size += step.length;
    }
  })().catch((err: unknown) => {
    failure = err instanceof Error ? err : new Error(String(err));
  });
  return {
    relativePath,
    written: () => size,
    async stop() {
      stopping = true;
      await loop;
      if (failure !== undefined) throw failure;
      return Buffer.concat(parts);
    },
  };
}

export const STALLED = 'a job whose worker stopped mid-run (killed or frozen) runs again';

/**
 * Waits until one of the workers has logged that it took over each of these chunk jobs through
 * BullMQ's stalled-job recovery; fails naming the jobs nobody recovered.
 */
export async function waitForRecovery(workers: readonly AppProcess[], jobIds: readonly string[], timeoutMs = 30_000): Promise<void> {
  const recovered = (): Set<string> =>
    new Set(workers.flatMap((w) => w.find(STALLED, (l) => l['queue'] === 'chunks').map((l) => String(l['job']))));
  const deadline = Date.now() + timeoutMs;
  let missing = jobIds.filter((id) => !recovered().has(id));
  while (missing.length > 0 && Date.now() < deadline) {
    await sleep(100);
    missing = jobIds.filter((id) => !recovered().has(id));
  }
  assert.deepEqual(missing, [], `chunk jobs interrupted by the kill were run again by a live worker (recovered: ${[...recovered()].join(', ')})`);
}

/** Waits until the chunk queue has nothing waiting, delayed or running; returns its job counts. */
export async function waitForDrainedChunks(h: Harness, timeoutMs = 30_000): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await h.jobCounts();
    const pending = ['active', 'waiting', 'delayed', 'prioritized', 'paused', 'waiting-children'].reduce((n, s) => n + (counts[s] ?? 0), 0);
    if (pending === 0) return counts;
    if (Date.now() > deadline) assert.fail(`chunk jobs still pending after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    await sleep(200);
  }
}
