#!/usr/bin/env node
// pnpm bench [-- --only=ceiling,e2e,scaling,many,growing,profile,soak,scale] [--quick] [--repeat=N] [--out=FILE] [--soak-files=N]
//
// Measures vcu against the S3 server in S3_ENDPOINT (default: the Ceph RGW on 127.0.0.1:7480)
// and Redis in REDIS_URL, with the real watcher and worker processes, and writes a report
// (BENCHMARKS.md for a full run). bench/README.md says what each number means.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Bench } from './context.js';
import { type ManySet, bigFiles, linkBig, linkMany, manyFiles } from './data.js';
import { describeS3, gitFacts, hashSpeed, machineFacts } from './machine.js';
import { type Options, USAGE, UsageError, parseOptions } from './options.js';
import { report, soakChart } from './report/index.js';
import { sectionOf, spliceSection } from './report/scale.js';
import type { Meta, Results } from './results.js';
import { checkS3, gcCommand } from './s3.js';
import { ceilingRows } from './scenarios/ceiling.js';
import { endToEnd } from './scenarios/e2e.js';
import { growingRuns } from './scenarios/growing.js';
import { many, manyCaged } from './scenarios/many.js';
import { type PeerResults, findPeers, runPeers } from './scenarios/peers.js';
import { profiled } from './scenarios/profile.js';
import { requestCosts } from './scenarios/requests.js';
import { scale } from './scenarios/scale.js';
import { soak } from './scenarios/soak.js';
import { settings } from './settings.js';
import { ROOT, fmt, log } from './util.js';

/** Scenarios that start their own redis-server and leave REDIS_URL alone. */
const PRIVATE_REDIS: readonly Options['only'][number][] = ['soak', 'scale'];

async function preflight(bench: Bench): Promise<Meta> {
  for (const app of ['watcher', 'worker']) {
    if (!existsSync(path.join(ROOT, 'apps', app, 'dist', 'main.js'))) throw new Error(`apps/${app}/dist/main.js is missing: run pnpm build`);
  }
  // soak and scale run their own redis-server: a run of those alone never touches REDIS_URL
  const sharedRedis = bench.options.only.some((s) => !PRIVATE_REDIS.includes(s));
  if (sharedRedis) await bench.redis.ping();
  await checkS3(bench.client, `${bench.options.tag}-probe`);
  bench.disturbances.check();
  const meta: Meta = {
    date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    machine: machineFacts(),
    s3: await describeS3(bench.client),
    redis: sharedRedis ? `Redis ${/redis_version:(\S+)/.exec(await bench.redis.info('server'))?.[1] ?? '?'}` : 'not used (private redis-servers)',
    git: await gitFacts(),
    hash: hashSpeed(),
    loadavg: os.loadavg(),
    disturbances: [],
  };
  log(`hashing on this CPU: SHA-256 ${fmt(meta.hash.sha256, 0)} MB/s, MD5 ${fmt(meta.hash.md5, 0)} MB/s`);
  return meta;
}

/** Every selected scenario, in the report's order of measurement. */
async function measure(bench: Bench): Promise<Results> {
  const o = bench.options;
  const selected = (s: Options['only'][number]): boolean => o.only.includes(s);
  const results: Results = {};
  const needBig = (['ceiling', 'e2e', 'scaling', 'profile'] as const).some(selected);
  const files = needBig ? await bigFiles(o.bigFiles, o.bigFileSize) : [];
  const peers: PeerResults | undefined = selected('e2e') || selected('many') ? { found: await findPeers(), runs: [], failures: [] } : undefined;
  if (peers) results.peers = peers;
  if (selected('ceiling')) results.ceiling = { rows: await ceilingRows(bench, files) };
  if (selected('e2e') || selected('scaling')) {
    const runs = await endToEnd(bench, files, selected('scaling'));
    if (selected('e2e')) results.e2e = runs.get('defaults');
    if (selected('scaling')) results.scaling = runs;
  }
  if (selected('e2e') && peers) {
    for (let r = 0; r < o.repeat; r += 1) await runPeers(bench, 'big', peers, (dir) => linkBig(files, dir));
  }
  if (selected('many')) {
    const set = await manyFiles(o.manyFiles);
    // vcu and the peers take turns, so that a slow spell of this shared machine hits them alike
    results.many = [];
    for (let r = 0; r < o.repeat; r += 1) {
      const free = await many(bench, set);
      results.many.push(free);
      results.manyCaged = [...(results.manyCaged ?? []), await manyCaged(bench, set, free)];
      if (peers) await runPeers(bench, 'many', peers, (dir) => linkMany(set, dir));
      await measureRequests(bench, set, r, results);
    }
  }
  if (selected('growing')) results.growing = await growingRuns(bench);
  if (selected('profile')) results.profile = await profiled(bench, files);
  if (selected('soak')) results.soak = await soak(bench);
  if (selected('scale')) results.scale = await scale(bench);
  return results;
}

/** One round of request costs (scenarios/requests.ts); a failure is reported, not fatal, like a peer's. */
async function measureRequests(bench: Bench, set: ManySet, round: number, results: Results): Promise<void> {
  try {
    results.requests = [...(results.requests ?? []), ...(await requestCosts(bench, set, bench.options.quick ? 500 : 2000, round))];
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log(`requests: round ${round + 1} failed: ${error}`);
    results.requestFailures = [...(results.requestFailures ?? []), error];
  }
}

/** The report (and the soak's chart) where the options say; the raw figures in bench/results/<time>.json. */
async function write(bench: Bench, meta: Meta, results: Results): Promise<string> {
  const o = bench.options;
  const text = report(meta, results, o);
  await mkdir(path.dirname(o.out), { recursive: true });
  writeFileSync(o.out, text);
  const written = [path.relative(ROOT, o.out)];
  const section = o.spliceScale ? sectionOf(text) : undefined;
  if (section !== undefined) {
    // the scale section alone goes into BENCHMARKS.md, in place of its earlier self
    const reference = path.join(ROOT, 'BENCHMARKS.md');
    writeFileSync(reference, spliceSection(existsSync(reference) ? readFileSync(reference, 'utf8') : '', section));
    written.push(`${path.relative(ROOT, reference)} (its scale section)`);
  }
  if (results.soak) {
    await mkdir(path.dirname(o.soakSvg), { recursive: true });
    writeFileSync(o.soakSvg, soakChart(results.soak));
    written.push(path.relative(ROOT, o.soakSvg));
  }
  const raw = path.join(ROOT, 'bench', 'results', `${o.stamp}.json`);
  await mkdir(path.dirname(raw), { recursive: true });
  const drop = new Set(['chunkMs', 'uploads', 'completions']);
  writeFileSync(raw, JSON.stringify({ meta, argv: o.argv, results }, (k, v: unknown): unknown => (v instanceof Map ? (Object.fromEntries(v) as unknown) : drop.has(k) ? undefined : v), 2));
  log(`wrote ${[...written, path.relative(ROOT, raw)].join(', ')}`);
  return text;
}

/** Ctrl-C (or SIGTERM) stops the apps and deletes the current run's keys and objects; a second one exits at once. */
function onSignals(bench: Bench): void {
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      log(`${signal}: stopping the apps and deleting this run's keys and objects (again to exit at once)`);
      void Promise.allSettled([...bench.active].map((c) => c())).finally(() => process.exit(130));
    });
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options === undefined) {
    console.error(`${USAGE}\nSee bench/README.md.`);
    return;
  }
  log(`scenarios: ${options.only.join(', ')}${options.quick ? ' (quick)' : ''}; ${options.repeat} repeat(s); S3 ${settings.endpoint} bucket ${settings.bucket}; data ${settings.data}`);
  const gc = gcCommand();
  if (gc !== undefined) log(`after each scenario: ${gc}`);
  const bench = await Bench.create(options);
  onSignals(bench);
  try {
    const meta = await preflight(bench);
    const results = await measure(bench);
    meta.disturbances = [...bench.disturbances.seen];
    process.stdout.write(await write(bench, meta, results));
  } finally {
    await bench.close();
  }
}

try {
  await main();
} catch (err) {
  if (err instanceof UsageError) {
    console.error(err.message);
    process.exitCode = 2;
  } else {
    log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  }
}
