// The report's head: where and how it was measured, and the summary table.
import { settings } from '../settings.js';
import { fmt, mib, pick } from '../util.js';
import { PEER_LABELS, type PeerData, type PeerName } from '../scenarios/peers.js';
import { type Doc, range } from './doc.js';
import { cagedRounds } from './files.js';
import { medianPeer } from './peers.js';

export function header(d: Doc): void {
  const { meta, options } = d;
  const m = meta.machine;
  const command = `pnpm bench${options.argv.length > 0 ? ` -- ${options.argv.join(' ')}` : ''}`;
  d.p('# vcu benchmarks', '');
  d.p(`Measured ${meta.date} with \`${command}\`${options.quick ? ' (quick: smaller sizes, for a fast check; not the reference figures)' : ''}.`, '');
  d.p('| | |', '|---|---|');
  d.p(`| machine | ${m.cpu}, ${m.cores} cores, ${fmt(m.ramGiB, 0)} GiB RAM, ${m.kernel} |`);
  d.p(`| Node | ${m.node} |`);
  d.p(`| S3 server | ${meta.s3} |`);
  d.p(`| Redis | ${meta.redis.startsWith('not used') ? meta.redis : `${meta.redis} at ${settings.redisUrl} (shared)`} |`);
  d.p(`| vcu | commit ${meta.git.commit}${meta.git.changed.length > 0 ? `, with uncommitted changes in ${meta.git.changed.join(', ')}` : ''} |`);
  d.p(`| repeats | ${options.repeat} per vcu configuration, ceiling level and peer, and of the many small files (vcu and the peers taking turns); tables give the median run and the range of MB/s (files/s for many files) |`);
  d.p(`| data | random bytes generated once under ${settings.data} and hard-linked into the watched folder, so the files are in the page cache |`);
  if (meta.disturbances.length > 0) d.p(`| note | **seen during the run, so figures may be disturbed: ${meta.disturbances.join('; ')}** |`);
  d.p('');
  d.p(
    'Every scenario starts the real watcher and worker processes (`node <NODE_FLAGS> apps/<name>/dist/main.js`, `LOG_FORMAT=json`, `METRICS_PORT=0`) with a',
    'fresh `REDIS_PREFIX`, `S3_PREFIX` and `WATCH_DIR`, waits for their `worker.ready` and `watcher.ready` log events, and ends with SIGTERM;',
    'settings not named are the defaults. The bench reads the apps\' log events (the `event` field), never their messages. MB/s is 10⁶',
    'bytes per second. bench/README.md explains each figure.',
    '',
  );
}

function peerSummary(d: Doc): void {
  const peers = d.results.peers;
  if (peers === undefined) return;
  for (const name of Object.keys(peers.found) as PeerName[]) {
    if (peers.found[name] === undefined) {
      d.p(`| ${PEER_LABELS[name]} | not installed (not on the PATH): no rows |`);
      continue;
    }
    const big = medianPeer(peers.runs, name, 'big');
    const small = medianPeer(peers.runs, name, 'many');
    const parts = [
      big && d.e2e ? `big files ${fmt(big.mbps)} MB/s = ${fmt(big.mbps / d.e2e.mbps, 2)} of vcu` : undefined,
      small && d.many ? `many small files ${fmt(small.filesPerSecond)} files/s = ${fmt(small.filesPerSecond / d.many.filesPerSecond, 2)} of vcu` : undefined,
    ].filter((x) => x !== undefined);
    const failedOn = new Set(peers.failures.filter((f) => f.peer === name).map((f) => f.data));
    if (failedOn.size > 0) parts.push(failedSaying(failedOn));
    if (parts.length > 0) d.p(`| ${PEER_LABELS[name]}, same data and server | ${parts.join('; ')} |`);
  }
}

/** "**failed** on big files (section 2 says how)", naming only the data a peer failed on. */
function failedSaying(data: ReadonlySet<PeerData>): string {
  const where = [data.has('big') ? ['big files', 2] : undefined, data.has('many') ? ['many small files', 5] : undefined].filter((x) => x !== undefined);
  const sections = where.map(([, n]) => n).join(' and ');
  return `**failed** on ${where.map(([what]) => what).join(' and ')} (section${where.length > 1 ? 's' : ''} ${sections} say${where.length > 1 ? '' : 's'} how)`;
}

export function summary(d: Doc): void {
  const { results, best, lean, e2e: e } = d;
  d.p('## Summary', '', '| figure | value |', '|---|---|');
  if (best !== undefined) d.p(`| ceiling (plain PutObject, best of 1/2/4/8 in flight, median run) | ${fmt(best)} MB/s |`);
  if (lean !== undefined) d.p(`| lean uploader (vcu's own S3 work per chunk, 8 in flight, no queue) | ${fmt(lean)} MB/s |`);
  if (e) {
    d.p(`| vcu end to end, defaults (${e.files} × ${mib(e.bytes / e.files)}) | ${fmt(e.mbps)} MB/s = ${d.ratio(e.mbps)} of the ceiling${lean !== undefined ? `, ${fmt(e.mbps / lean, 2)} of the lean uploader` : ''} |`);
    d.p(`| CPU per GiB (watcher + worker, user+sys) | ${fmt(e.cpuPerGiB, 2)} s |`);
  }
  if (results.scaling) {
    const bestScale = [...results.scaling.values()].map((runs) => pick(runs)).sort((a, b) => b.mbps - a.mbps)[0];
    if (bestScale) d.p(`| best vcu configuration measured | ${bestScale.label}: ${fmt(bestScale.mbps)} MB/s = ${d.ratio(bestScale.mbps)} of the ceiling |`);
  }
  const many = d.many;
  if (many) d.p(`| many small files (median run) | ${fmt(many.filesPerSecond)} files/s${range(results.many ?? [], (r) => r.filesPerSecond)}; ${fmt((many.redis.memAfter - many.redis.memBefore) / many.files / 1024, 2)} KiB of Redis per stream |`);
  cagedSummary(d);
  peerSummary(d);
  if (results.growing?.[0]) {
    const g = results.growing[0].growing;
    d.p(`| growing file: chunk written → uploaded | median ${fmt(g.medianChunkMs, 0)} ms, max ${fmt(g.maxChunkMs, 0)} ms |`);
    for (const r of results.growing) d.p(`| growing file: last write → metadata.json (SEAL_WHEN_CLOSED ${r.growing.seal}) | ${fmt(r.growing.metadataMs, 0)} ms |`);
  }
  const s = results.soak;
  if (s) {
    const rss = s.rss.map((r) => `${r.name} ${r.growth >= 0 ? '+' : ''}${fmt(100 * r.growth, 0)}%`).join(', ');
    d.p(`| soak (${s.files} files) | Redis ${s.redis.pass ? 'within' : '**over**'} its target; RSS first → last quarter: ${rss}${s.rss.every((r) => r.pass) ? '' : ' (**over 10%**)'} |`);
  }
  d.p('');
}

/** The worker in a memory limit (section 5): its speed against the same round's run without one, and its peak RSS in it. */
function cagedSummary(d: Doc): void {
  const rounds = cagedRounds(d);
  const made = rounds.filter((r) => r.caged.made);
  const first = made[0]?.caged;
  if (first === undefined) return;
  const paired = rounds.filter((r) => r.ratio !== undefined);
  const failed = made.length - paired.length;
  const figures = paired.length === 0 ? '' : `; files/s ÷ the same round's without a limit ${paired.map((x) => fmt(x.ratio, 2)).join(', ')}; worker peak RSS ${paired.map((x) => mib(x.worker?.peakRss)).join(', ')}`;
  d.p(`| many small files, the worker in a ${mib(first.limit)} memory limit | ${paired.length} of ${rounds.length} rounds completed${failed > 0 ? ' (**some failed**: section 5)' : ''}${figures} |`);
}
