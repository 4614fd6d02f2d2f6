// Sections 5 and 6: many small files (and the peers on the same files), a growing file.
import type { ProcFigures, VcuRun } from '../results.js';
import type { CagedRun } from '../scenarios/many.js';
import type { PeerName } from '../scenarios/peers.js';
import { fmt, median, mib } from '../util.js';
import { type Doc, range } from './doc.js';
import { peerTable } from './peers.js';

function keyShapes(d: Doc): void {
  const r = d.many;
  if (r?.redis.shapes === undefined) return;
  const n = r.files;
  d.p(`Redis keys left after the ${d.results.many !== undefined && d.results.many.length > 1 ? 'median ' : ''}run, by shape (MEMORY USAGE sampled on up to 50 keys of each):`, '');
  d.p('| key (after the prefix) | type | keys | per stream | bytes each (avg) | bytes per stream |', '|---|---|---|---|---|---|');
  for (const s of r.redis.shapes.slice(0, 12)) d.p(`| \`${s.shape}\` | ${s.type} | ${s.count} | ${fmt(s.count / n, 2)} | ${fmt(s.avgBytes, 0)} | ${fmt(s.bytes / n, 0)} |`);
  d.p('');
  const now = r.redis.shapes.find((x) => x.shape.startsWith('finalize:now-'));
  if (now !== undefined) {
    d.p(
      `\`finalize:now-…\` are "finalize now" requests (a worker adds one when it records a stream's last chunk); ${now.count} of them were still`,
      'queued when the last metadata.json was written: sweeps run one at a time, each finalizing up to 500 idle streams one after another,',
      'so the requests pile up behind the running sweep.',
      '',
    );
  }
}

/**
 * Each peer's files/s ÷ vcu's (the table's "ratio to vcu"), round by round: each round is a vcu
 * run and then the peers' on the same files, so a slow spell of the machine weighs on both sides.
 */
function roundRatios(d: Doc, runs: readonly VcuRun[]): void {
  const peers = d.results.peers;
  if (peers === undefined || runs.length < 2) return;
  const lines: string[] = [];
  for (const name of Object.keys(peers.found) as PeerName[]) {
    if (peers.found[name] === undefined) continue;
    const theirs = peers.runs.filter((p) => p.peer === name && p.data === 'many');
    if (theirs.length !== runs.length) {
      lines.push(`- ${name}: no ratio round by round (it ran ${theirs.length} of ${runs.length} rounds; pairing the rest would match the wrong runs)`);
      continue;
    }
    const ratios = runs.map((r, i) => (theirs[i]?.filesPerSecond ?? NaN) / r.filesPerSecond);
    lines.push(`- ratio to vcu, ${name} ÷ vcu, round by round: ${ratios.map((x) => fmt(x, 2)).join(', ')} (median ${fmt(median(ratios), 2)})`);
  }
  if (lines.length > 0) d.p(...lines, '');
}

export function manySection(d: Doc): void {
  const r = d.many;
  const runs = d.results.many ?? [];
  if (r === undefined) return;
  const n = r.files;
  d.p('## 5. Many small files', '');
  d.p(
    `${n} files of 64 KiB–1 MiB (sizes from a seeded PRNG, ${fmt(r.bytes / 1e9, 2)} GB in all), made once in a staging folder on the same filesystem`,
    `and hard-linked into the watched folder all at once. Time from the first link to the ${n}th metadata.json. Redis memory per stream is`,
    '`INFO memory` used_memory after the last metadata.json minus before the drop, ÷ files (everything vcu and BullMQ keep: streams, chunk',
    'records, paths, completed jobs); keys per stream likewise from `SCAN MATCH <prefix>:*`. Peak RSS is `VmHWM`, with the peak',
    'anonymous memory (`RssAnon`, read every 100 ms: heap and buffers, without the node binary\'s file-backed pages) after the slash.',
    ...(runs.length > 1 ? [`vcu ran ${runs.length} times, each run followed by the peers' on the same files; the row is the median run (by files/s), with the range.`] : []),
    '',
  );
  d.p('| files/s | MB/s | seconds | all chunks uploaded after | Redis memory per stream | Redis keys per stream | watcher peak RSS / anonymous | worker peak RSS / anonymous | CPU s per 1,000 files |', '|---|---|---|---|---|---|---|---|---|');
  const watcher = r.procs.find((x) => x.name === 'watcher');
  const worker = r.procs.find((x) => x.name === 'worker');
  d.p(
    `| ${fmt(r.filesPerSecond)}${range(runs, (x) => x.filesPerSecond)} | ${fmt(r.mbps)} | ${fmt(r.seconds, 1)} | ${fmt(r.lastUploadMs / 1000, 1)} s | ${fmt((r.redis.memAfter - r.redis.memBefore) / n / 1024, 2)} KiB | ${fmt((r.redis.keysAfter - r.redis.keysBefore) / n, 2)} | ${mib(watcher?.peakRss)} / ${mib(watcher?.peakAnon)} | ${mib(worker?.peakRss)} / ${mib(worker?.peakAnon)} | ${fmt((r.cpu / n) * 1000, 1)} |`,
    '',
  );
  peerTable(d, 'many', { ...r, label: runs.length > 1 ? 'the median run above' : 'the run above' });
  roundRatios(d, runs);
  cagedTable(d);
  keyShapes(d);
}

/** Each round's run with the worker in a memory limit, the same round's files/s without one, their ratio, and the worker's figures in the limit. */
export function cagedRounds(d: Doc): { caged: CagedRun; free: number | undefined; ratio: number | undefined; worker: ProcFigures | undefined }[] {
  const runs = d.results.many ?? [];
  return (d.results.manyCaged ?? []).map((caged, i) => {
    const free = runs[i]?.filesPerSecond;
    const ratio = caged.run === undefined || free === undefined ? undefined : caged.run.filesPerSecond / free;
    return { caged, free, ratio, worker: caged.run?.procs.find((x) => x.name === 'worker') };
  });
}

/** Each round's run with the worker in a memory limit, next to the same round's run without one. */
function cagedTable(d: Doc): void {
  const rounds = cagedRounds(d);
  const first = rounds[0]?.caged;
  if (first === undefined) return;
  if (!rounds.some((r) => r.caged.made)) {
    d.p(`**The worker in a memory limit** was not run: ${first.failure ?? 'unknown'}.`, '');
    return;
  }
  d.p(
    `**The worker in a memory limit.** Each round also ran the worker inside a memory cgroup of ${mib(first.limit)}${first.limit === first.need ? ', what the README tells a deployment to give a worker with the defaults (memoryNeed in @vcu/storage)' : ` (BENCH_WORKER_LIMIT; the README's figure with the defaults is ${mib(first.need)})`},`,
    "started from its own copy of node that nothing had read, so that the binary's pages counted against the limit as they do in a container.",
    'At its limit the kernel drops pages from the worker, and reads those of the binary back from disk when they are used again: major page',
    "faults (`pgmajfault`) count those reads, and a worker without room for the code it runs crawls. Peak RSS / anonymous is the worker's, as above.",
    '',
  );
  d.p('| round | files/s without a limit | files/s in the limit | ratio | worker peak RSS / anonymous | major page faults | OOM kills |', '|---|---|---|---|---|---|---|');
  rounds.forEach(({ caged: c, free, ratio, worker }, i) => {
    const files = c.run !== undefined ? fmt(c.run.filesPerSecond) : `${c.made ? 'failed' : 'not run'}: ${c.failure ?? 'unknown'}`;
    d.p(`| ${i + 1} | ${fmt(free)} | ${files} | ${fmt(ratio, 2)} | ${mib(worker?.peakRss)} / ${mib(worker?.peakAnon)} | ${fmt(c.cage?.majorFaults, 0)} | ${c.cage?.oomKills ?? 'n/a'} |`);
  });
  d.p('');
}

export function growingSection(d: Doc): void {
  const runs = d.results.growing;
  const first = runs?.[0];
  if (runs === undefined || first === undefined) return;
  d.p('## 6. A growing file', '');
  d.p(
    `A writer opens \`live.mp4\` in the watched folder and appends 1 MiB every 100 ms (${first.growing.writes} writes, ~${fmt(first.growing.seconds, 0)} s), then closes it.`,
    'For each full 10 MiB chunk: the time from the write that completed it to its `chunk.uploaded` log event. Then the time from the',
    'last write to the metadata.json. With SEAL_WHEN_CLOSED (auto: on when the watcher runs in the host PID namespace, as here) the watcher',
    'sees that no process holds the file open for writing and finishes it at once; without it the file must first be idle for',
    'STREAM_IDLE_MS and then wait for a finalize sweep (every FINALIZE_EVERY_MS), so the bound is STREAM_IDLE_MS + FINALIZE_EVERY_MS.',
    '',
  );
  d.p('| SEAL_WHEN_CLOSED | full chunks | written → uploaded, median | max | last write → metadata.json | STREAM_IDLE_MS + FINALIZE_EVERY_MS |', '|---|---|---|---|---|---|');
  for (const r of runs) {
    const g = r.growing;
    d.p(`| ${g.seal} | ${g.uploadedChunks}/${g.fullChunks} | ${fmt(g.medianChunkMs, 0)} ms | ${fmt(g.maxChunkMs, 0)} ms | ${fmt(g.metadataMs, 0)} ms | ${g.idle} + ${g.every} = ${g.idleBoundMs} ms |`);
  }
  d.p('');
}
