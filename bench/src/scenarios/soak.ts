// The soak: files written, uploaded and rotated out for a long while (SoakWriter), against a
// private redis-server, while Redis used_memory, each app's RSS and files/s are sampled every
// second (Sampler); then the targets: Redis back near its baseline, no RSS growth.
import type { AppProcess } from '@vcu/testkit';
import type { Bench } from '../context.js';
import { startApps, stopApp } from '../measure/apps.js';
import { type PrivatePlace, onPrivatePlace } from '../measure/private-place.js';
import { type Sample, Sampler } from '../measure/sampler.js';
import { EventTally } from '../measure/tally.js';
import { appEnv, pidsOf } from '../measure/vcu-run.js';
import { redisUsedMemory } from '../redis.js';
import { runGc } from '../s3.js';
import { MiB, fmt, log, sleep } from '../util.js';
import { type SoakFigures, soakFigures } from './soak-figures.js';
import { SoakWriter } from './soak-writer.js';

/**
 * The apps' settings for the soak: 1 MiB chunks (so recordings have several), and what keeps
 * Redis bounded: finished streams whose file left WATCH_DIR forgotten after 10 s, and few
 * completed jobs kept. Apps that do not know a setting ignore it.
 */
export const SOAK_ENV = { CHUNK_SIZE: String(MiB), FORGET_AFTER_MS: '10000', KEEP_COMPLETED_JOBS: '100' } as const;
/** After the last file: wait FORGET_AFTER_MS and this much more before the final reading. */
const TAIL_MARGIN_MS = 15_000;
const GC_EVERY_MS = 4 * 60_000;

export interface SoakResult extends SoakFigures {
  readonly files: number;
  readonly recordings: number;
  readonly bytes: number;
  readonly rate: number;
  readonly keep: number;
  readonly env: Readonly<Record<string, string>>;
  readonly samples: readonly Sample[];
  readonly exits: readonly (number | 'killed')[];
  readonly problems: Readonly<Record<string, number>>;
}

type SoakPlace = PrivatePlace;

export async function soak(bench: Bench): Promise<SoakResult> {
  const id = bench.nextId('soak');
  try {
    return await onPrivatePlace(bench, { id, redisPrefix: `vcubench-${id}` }, (place, apps) => soakRun(bench, place, apps));
  } finally {
    await runGc();
  }
}

/** Why the soak must stop now: an app exited or a chunk failed for good. */
function failure(apps: readonly AppProcess[], tally: EventTally): () => Error | undefined {
  return () => {
    const dead = apps.find((a) => !a.running);
    if (dead !== undefined) return new Error(`soak: the ${dead.name} exited:\n${dead.tail()}`);
    return tally.failedForGood > 0 ? new Error(`soak: ${tally.failedForGood} chunk(s) failed for good`) : undefined;
  };
}

async function soakRun(bench: Bench, place: SoakPlace, apps: AppProcess[]): Promise<SoakResult> {
  const { quick, soakFiles } = bench.options;
  const plan = { files: soakFiles, rate: quick ? 10 : 28, keep: quick ? 100 : 300, dir: place.dir, s3Prefix: place.s3Prefix };
  log(`soak: ${plan.files} files at ${plan.rate}/s, at most ${plan.keep} kept (about ${fmt(plan.files / plan.rate / 60, 1)} min), Redis ${place.server.url}`);
  const tally = new EventTally({ keepUploads: false });
  await startApps(appEnv(place, place.server.url, SOAK_ENV), tally, { started: apps });
  bench.disturbances.check(pidsOf(apps));
  const baseline = await redisUsedMemory(place.redis);
  const writer = new SoakWriter(plan, tally, bench.client);
  const counts = (): { written: number; completed: number; present: number } => ({ written: writer.written, completed: tally.completions.size, present: writer.present.size });
  const sampler = new Sampler(place.redis, apps, bench.ticks, counts);
  const t0 = Date.now();
  sampler.start(t0);
  const chores = soakChores(counts, plan.files);
  let loadSeconds: number;
  try {
    const failed = failure(apps, tally);
    await writer.run(failed);
    await waitForAll(writer, tally, failed);
    loadSeconds = (Date.now() - t0) / 1000;
    await writer.drain();
    log(`soak: every file uploaded after ${fmt(loadSeconds, 0)} s; waiting ${(Number(SOAK_ENV.FORGET_AFTER_MS) + TAIL_MARGIN_MS) / 1000} s for the last rotated files to be forgotten`);
    await sleep(Number(SOAK_ENV.FORGET_AFTER_MS) + TAIL_MARGIN_MS);
    await sampler.sample(t0);
  } finally {
    sampler.stop();
    clearInterval(chores);
  }
  const exits = await Promise.all(apps.map((a) => stopApp(a)));
  for (const a of apps) tally.takeRaw(a);
  const figures = soakFigures(sampler.samples, { baseline, loadSeconds, present: writer.present.size });
  return { ...plan, ...figures, recordings: writer.recordings, bytes: writer.bytes, env: SOAK_ENV, samples: sampler.samples, exits, problems: Object.fromEntries(tally.problems) };
}

/** Progress every 10 s, and the S3 server's garbage collector every few minutes (the rotated objects). */
function soakChores(counts: () => { written: number; completed: number; present: number }, files: number): NodeJS.Timeout {
  let lastGc = Date.now();
  let gcRunning = false;
  return setInterval(() => {
    const c = counts();
    log(`soak: ${c.written}/${files} written, ${c.completed} uploaded, ${c.present} present`);
    if (!gcRunning && Date.now() - lastGc > GC_EVERY_MS) {
      gcRunning = true;
      void runGc().finally(() => {
        gcRunning = false;
        lastGc = Date.now();
      });
    }
  }, 10_000);
}

/** Waits until every written file has its metadata.json; fails when nothing moves for 3 minutes. */
async function waitForAll(writer: SoakWriter, tally: EventTally, failed: () => Error | undefined): Promise<void> {
  let progress = { at: Date.now(), count: -1 };
  while (tally.completions.size < writer.written) {
    const err = failed();
    if (err !== undefined) throw err;
    if (tally.completions.size !== progress.count) progress = { at: Date.now(), count: tally.completions.size };
    if (Date.now() - progress.at > 180_000) throw new Error(`soak: ${tally.completions.size}/${writer.written} files complete and none for 180 s`);
    await sleep(100);
  }
}
