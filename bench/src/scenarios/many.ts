// Many small files hard-linked into the watched folder at once; once more with the worker in a
// memory cgroup of what the README says it needs.
import { loadConfig, parseSize } from '@vcu/config';
import { memoryNeed } from '@vcu/storage';
import type { Bench } from '../context.js';
import { linkMany, type ManySet } from '../data.js';
import { type CageFigures, MemoryCage } from '../measure/memory-cage.js';
import { runVcu } from '../measure/vcu-run.js';
import type { VcuRun } from '../results.js';
import { settings } from '../settings.js';
import { GiB, MiB, log, mib } from '../util.js';

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
  /** What the cgroup saw; undefined when none could be made (the run was not made) or it could not be read. */
  readonly cage?: CageFigures;
  /** Whether a cgroup was made and the worker started in it. */
  readonly made: boolean;
  readonly failure?: string;
}

/**
 * The same files, the worker inside a memory limit of what the README tells a deployment to give
 * it with the defaults (memoryNeed), or BENCH_WORKER_LIMIT, its node binary's pages counted
 * against the limit as a container's are (memory-cage.ts). Never throws: what fails is reported.
 */
export async function manyCaged(bench: Bench, set: ManySet, free: VcuRun): Promise<CagedRun> {
  const need = memoryNeed(loadConfig({ WATCH_DIR: settings.data }, { app: 'worker' }));
  let limit: number;
  try {
    limit = settings.workerLimit === undefined ? need : parseSize(settings.workerLimit, 16 * MiB, 64 * GiB);
  } catch (err) {
    return notMade(need, need, `BENCH_WORKER_LIMIT="${settings.workerLimit ?? ''}": ${messageOf(err)}`);
  }
  const cage = await MemoryCage.make(bench.nextId('cage'), limit, settings.data);
  if (typeof cage === 'string') return notMade(limit, need, cage);
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
        return { limit, need, run, cage: await cage.figures(), made: true };
      } catch (err) {
        const failure = (messageOf(err).split('\n')[0] ?? '').replace(/:$/, '');
        log(`worker in a memory limit: failed: ${failure}`);
        return { limit, need, failure, cage: await cage.figures(), made: true };
      }
    },
  );
}

function notMade(limit: number, need: number, why: string): CagedRun {
  log(`worker in a memory limit: not run: ${why}`);
  return { limit, need, failure: why, made: false };
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
