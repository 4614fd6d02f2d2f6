// One measurement of the real apps: workers and a watcher on a fresh REDIS_PREFIX, S3_PREFIX and
// WATCH_DIR; files dropped in; wait for a metadata.json of each (the `stream.complete` event);
// read /proc and Redis; stop the apps; check S3; delete every key and object of the run.
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AppProcess } from '@vcu/testkit';
import type { Bench } from '../context.js';
import { type CpuSnapshot, cpuDelta, cpuSnapshot, procStats, serverCpu } from '../proc.js';
import { redisKeyPrefix } from '@vcu/config';
import { redisKeyShapes, redisUsedMemory, scanRedis } from '../redis.js';
import type { ProcFigures, VcuRun } from '../results.js';
import { requestsBetween, rgwRequests } from '../rgw-requests.js';
import { type S3Object, deletePrefix, listPrefix, runGc } from '../s3.js';
import { s3Env, settings } from '../settings.js';
import { GiB, fmt, log, maxOf, mbps, median, mib, minOf, sleep, sum } from '../util.js';
import { type NodeLaunch, startApps, stopApp } from './apps.js';
import { EventTally } from './tally.js';

export interface VcuSpec {
  readonly slug: string;
  readonly label: string;
  readonly workers?: number;
  readonly env?: Readonly<Record<string, string>>;
  /** Puts the files into the watched folder; resolves with their names once all are there. */
  readonly drop: (dir: string) => Promise<string[]>;
  readonly timeoutMs?: number;
  /** Group the Redis keys left by shape (MEMORY USAGE sampled). */
  readonly redisShapes?: boolean;
  /** Checks the metadata.json objects; resolves with what was checked, for the report. */
  readonly verify?: (metas: readonly S3Object[]) => Promise<string>;
  /** How the workers' node is started (options, or a command line up to node: see memory-cage.ts). */
  readonly worker?: NodeLaunch;
}

/** Where one run lives. */
interface RunPlace {
  readonly dir: string;
  readonly redisPrefix: string;
  readonly s3Prefix: string;
}

/** The apps' settings for a run: defaults but for S3, Redis, the folder, JSON logs and no metrics port. */
export function appEnv(place: RunPlace, redisUrl: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    ...s3Env(),
    REDIS_URL: redisUrl,
    REDIS_PREFIX: place.redisPrefix,
    S3_PREFIX: place.s3Prefix,
    WATCH_DIR: place.dir,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    METRICS_PORT: '0',
    ...extra,
  };
}

export const pidsOf = (apps: readonly AppProcess[]): number[] => apps.flatMap((a) => (a.pid === undefined ? [] : [a.pid]));
const radosgwPids = (ticks: number): string =>
  [...serverCpu(ticks)]
    .filter(([, x]) => x.comm === 'radosgw')
    .map(([pid]) => pid)
    .join();

export async function runVcu(bench: Bench, spec: VcuSpec): Promise<VcuRun> {
  const id = bench.nextId(spec.slug);
  const place = { dir: path.join(settings.data, `watch-${id}`), redisPrefix: `vcubench-${id}`, s3Prefix: `${id}/` };
  await mkdir(place.dir, { recursive: true });
  const apps: AppProcess[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled(apps.map((a) => stopApp(a, 5000)));
    await scanRedis(bench.redis, redisKeyPrefix(place.redisPrefix), true);
    await deletePrefix(bench.client, place.s3Prefix);
    await rm(place.dir, { recursive: true, force: true });
  };
  const workers = spec.workers ?? 1;
  log(`${spec.label}: starting ${workers} worker${workers > 1 ? 's' : ''} and the watcher`);
  try {
    return await bench.guarded(cleanup, () => measure(bench, spec, place, apps));
  } finally {
    await runGc();
  }
}

async function measure(bench: Bench, spec: VcuSpec, place: RunPlace, apps: AppProcess[]): Promise<VcuRun> {
  const tally = new EventTally();
  await startApps(appEnv(place, settings.redisUrl, spec.env), tally, { workers: spec.workers ?? 1, worker: spec.worker, started: apps });
  bench.disturbances.check(pidsOf(apps));
  const s3Pids = radosgwPids(bench.ticks);
  const memBefore = await redisUsedMemory(bench.redis);
  const keysBefore = (await scanRedis(bench.redis, redisKeyPrefix(place.redisPrefix))).length;
  const ready = cpuSnapshot(bench.ticks, pidsOf(apps));

  const anon = new AnonPeaks(pidsOf(apps), bench.ticks);
  const requestsBefore = await rgwRequests();
  const t0 = Date.now();
  const names = await spec.drop(place.dir);
  const bytes = sum(await Promise.all(names.map(async (n) => (await stat(path.join(place.dir, n))).size)));
  await waitForFiles(spec, names, tally, apps, t0).finally(() => anon.stop());
  const s3Requests = requestsBetween(requestsBefore, await rgwRequests());
  if (radosgwPids(bench.ticks) !== s3Pids) bench.disturbances.add(`radosgw restarted during "${spec.label}"`);
  const window = cpuDelta(ready, cpuSnapshot(bench.ticks, pidsOf(apps)));
  const memAfter = await redisUsedMemory(bench.redis);
  const keys = await scanRedis(bench.redis, redisKeyPrefix(place.redisPrefix));
  const shapes = spec.redisShapes === true ? await redisKeyShapes(bench.redis, redisKeyPrefix(place.redisPrefix), keys) : undefined;

  // just before stopping: CPU since start and peak RSS of every process
  const procs = procFigures(apps, ready, bench.ticks, anon);
  const exits = await Promise.all(apps.map((a) => stopApp(a)));
  for (const a of apps) tally.takeRaw(a);
  const checked = await checkObjects(bench, spec, place.s3Prefix, names, bytes);
  const run = summarize(spec, { names, bytes, t0, tally, procs, window, exits, checked });
  const result = { ...run, s3Requests, redis: { memBefore, memAfter, keysBefore, keysAfter: keys.length, shapes } };
  log(
    `${spec.label}: ${fmt(result.mbps)} MB/s, ${fmt(result.filesPerSecond)} files/s, ${fmt(result.seconds, 2)} s, ${fmt(result.cpuPerGiB, 2)} CPU s/GiB, ` +
      `peak RSS ${procs.map((p) => `${p.name} ${mib(p.peakRss)} (anonymous ${mib(p.peakAnon)})`).join(', ')}${exits.some((c) => c !== 0) ? `, exit codes ${exits.join(',')}` : ''}`,
  );
  return result;
}

/** Waits for a metadata.json of every file; fails fast when an app dies, a chunk fails for good, or nothing moves for 3 minutes. */
async function waitForFiles(spec: VcuSpec, names: readonly string[], tally: EventTally, apps: readonly AppProcess[], t0: number): Promise<void> {
  const timeoutMs = spec.timeoutMs ?? 15 * 60_000;
  const tails = (): string => apps.map((a) => `--- ${a.name}\n${a.tail()}`).join('\n');
  let lastReport = Date.now();
  let progress = { at: Date.now(), count: -1 };
  while (tally.completions.size < names.length || !names.every((n) => tally.completions.has(n))) {
    const count = tally.chunksUploaded + tally.completions.size;
    if (count !== progress.count) progress = { at: Date.now(), count };
    if (Date.now() - progress.at > 180_000) throw new Error(`${spec.label}: no chunk uploaded and no file completed for 180 s (is S3 full or down?):\n${tails()}`);
    const dead = apps.find((a) => !a.running);
    if (dead !== undefined) throw new Error(`${spec.label}: the ${dead.name} exited during the run:\n${dead.tail()}`);
    if (tally.failedForGood > 0) throw new Error(`${spec.label}: ${tally.failedForGood} chunk(s) failed for good:\n${tails()}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`${spec.label}: only ${tally.completions.size}/${names.length} files complete after ${timeoutMs / 1000} s:\n${tails()}`);
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      log(`${spec.label}: ${tally.completions.size}/${names.length} files complete, ${tally.chunksUploaded} chunks uploaded, ${fmt((Date.now() - t0) / 1000, 0)} s`);
    }
    await sleep(25);
  }
}

/** How often the apps' anonymous memory is read during a run. */
const ANON_SAMPLE_MS = 100;

/** The highest RssAnon of each process, read every ANON_SAMPLE_MS until stopped. */
class AnonPeaks {
  private readonly peaks = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(pids: readonly number[], ticks: number) {
    const sample = (): void => {
      for (const pid of pids) {
        const anon = procStats(pid, ticks, false)?.anon;
        if (anon !== undefined) this.peaks.set(pid, Math.max(anon, this.peaks.get(pid) ?? 0));
      }
    };
    sample();
    // unref'd: a run that fails before stop() leaves no timer holding the bench open
    this.timer = setInterval(sample, ANON_SAMPLE_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The peak of `pid` with a last reading taken now; NaN when it was never read. */
  of(pid: number, now: number | undefined): number {
    const peak = Math.max(this.peaks.get(pid) ?? 0, now ?? 0);
    return peak > 0 ? peak : NaN;
  }
}

function procFigures(apps: readonly AppProcess[], ready: CpuSnapshot, ticks: number, anon: AnonPeaks): ProcFigures[] {
  return apps.map((a) => {
    const pid = a.pid ?? -1;
    const s = procStats(pid, ticks);
    return {
      name: a.name,
      pid,
      startup: ready.apps.get(pid)?.cpu ?? NaN,
      cpu: s?.cpu ?? NaN,
      threads: s?.threads ?? { main: NaN, threads: NaN },
      peakRss: s?.peakRss ?? NaN,
      peakAnon: anon.of(pid, s?.anon),
      rss: s?.rss ?? NaN,
    };
  });
}

/** S3 holds a metadata.json per file and chunk objects with exactly the files' bytes; then the scenario's own check. */
async function checkObjects(bench: Bench, spec: VcuSpec, prefix: string, names: readonly string[], bytes: number): Promise<string | undefined> {
  const objects = await listPrefix(bench.client, prefix);
  const metas = objects.filter((o) => o.key.endsWith('/metadata.json'));
  const chunkBytes = sum(objects.filter((o) => /\/chunk_\d+\.bin$/.test(o.key)).map((o) => o.size));
  if (metas.length !== names.length) throw new Error(`${spec.label}: ${metas.length} metadata.json objects in S3, expected ${names.length}`);
  if (chunkBytes !== bytes) throw new Error(`${spec.label}: the chunk objects hold ${chunkBytes} bytes, the files ${bytes}`);
  return spec.verify ? spec.verify(metas) : undefined;
}

interface Observed {
  readonly names: readonly string[];
  readonly bytes: number;
  readonly t0: number;
  readonly tally: EventTally;
  readonly procs: readonly ProcFigures[];
  readonly window: VcuRun['window'];
  readonly exits: VcuRun['exits'];
  readonly checked: string | undefined;
}

function summarize(spec: VcuSpec, o: Observed): Omit<VcuRun, 'redis'> {
  const { names, tally, t0 } = o;
  const completedAt = (n: string): number => tally.completions.get(n)?.at ?? NaN;
  const seconds = (maxOf(names.map(completedAt)) - t0) / 1000;
  const cpu = sum(o.procs.map((p) => (Number.isFinite(p.cpu) ? p.cpu : 0)));
  const finalizeLag = names.map((n) => completedAt(n) - (tally.perPath.get(n)?.last ?? NaN));
  return {
    label: spec.label,
    slug: spec.slug,
    workers: spec.workers ?? 1,
    env: spec.env ?? {},
    files: names.length,
    bytes: o.bytes,
    seconds,
    mbps: mbps(o.bytes, seconds),
    filesPerSecond: names.length / seconds,
    cpu,
    cpuPerGiB: cpu / (o.bytes / GiB),
    startupCpu: sum(o.procs.map((p) => p.startup)),
    procs: o.procs,
    window: o.window,
    exits: o.exits,
    chunkMs: tally.uploads.map((u) => u.ms),
    chunksUploaded: tally.chunksUploaded,
    firstChunkMs: minOf(names.map((n) => (tally.perPath.get(n)?.first ?? NaN) - t0)),
    skipped: { ...tally.skipped },
    lastUploadMs: maxOf(tally.uploads.map((u) => u.at)) - t0,
    finalizeLagMs: { median: median(finalizeLag), max: maxOf(finalizeLag) },
    problems: Object.fromEntries(tally.problems),
    checked: o.checked,
    uploads: tally.uploads,
    completions: new Map(names.map((n) => [n, completedAt(n)])),
  };
}
