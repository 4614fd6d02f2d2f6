// Many small files hard-linked into the watched folder at once; once more with the worker in a
// memory cgroup of what the README says it needs.
import { loadConfig } from '@vcu/config';
import { memoryNeed } from '@vcu/storage';
import type { Bench } from '../context.js';
import { linkMany, type ManySet } from '../data.js';
import { type CageFigures, MemoryCage } from '../measure/memory-cage.js';
import { runVcu } from '../measure/vcu-run.js';
import type { VcuRun } from '../results.js';
import { settings } from '../settings.js';
import { log, mib } from '../util.js';

export function many(bench: Bench, set: ManySet): Promise<VcuRun> {
  return runVcu(bench, {
    slug: 'many',
    label: `${set.names.length} small files`,
    redisShapes: true,
    drop: (dir) => linkMany(set, dir),
  });
}

/** A many-files run with the worker in a memory cgroup; a run that fails (or cannot be made) says why. */
export interface CagedRun {
  readonly limit: number;
  /** What the README says a worker needs with the defaults (memoryNeed). */
  readonly need: number;
  readonly run?: VcuRun;
  readonly cage?: CageFigures;
  readonly failure?: string;
}

/**
 * The same files, the worker inside a memory limit of what the README tells a deployment to give
 * it with the defaults (memoryNeed), or BENCH_WORKER_LIMIT, its node binary's pages counted
 * against the limit as a container's are (memory-cage.ts).
 */
export async function manyCaged(bench: Bench, set: ManySet, free: VcuRun): Promise<CagedRun> {
  const need = memoryNeed(loadConfig({ WATCH_DIR: settings.data }, { app: 'worker' }));
  const limit = settings.workerLimit ?? need;
  const cage = await MemoryCage.make(bench.nextId('cage'), limit, settings.data);
  if (typeof cage === 'string') {
    log(`worker in a memory limit: skipped: ${cage}`);
    return { limit, need, failure: cage };
  }
  return bench.guarded(
    () => cage.remove(),
    async () => {
      try {
        const run = await runVcu(bench, {
          slug: 'many-caged',
          label: `${set.names.length} small files, the worker in a ${mib(limit)} memory limit`,
          drop: (dir) => linkMany(set, dir),
          worker: { node: cage.node },
          // a worker short of memory crawls rather than stops: four times the run without a limit is failure enough
          timeoutMs: Math.max(120_000, 4 * free.seconds * 1000),
        });
        return { limit, need, run, cage: await cage.figures() };
      } catch (err) {
        const failure = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
        log(`worker in a memory limit: failed: ${failure}`);
        return { limit, need, failure, cage: await cage.figures() };
      }
    },
  );
}
