// Sections 1–4: the ceiling, vcu end to end (and the peers on the same big files), CPU and
// memory, scaling.
import { CEILING_LEVELS, CEILING_RANGE } from '../scenarios/ceiling.js';
import type { CeilingRun } from '../results.js';
import { GiB, MiB, fmt, median, mib, pick, quantile, sum } from '../util.js';
import { type Doc, ceilingLevels, range, rssOf } from './doc.js';
import { peerTable } from './peers.js';

function ceilingRow(label: string | number, runs: readonly CeilingRun[]): string {
  const r = pick(runs);
  const g = r.bytes / GiB;
  return `| ${label} | ${fmt(r.mbps)}${range(runs)} | ${fmt(r.seconds, 2)} | ${fmt(r.cpu.bench / g, 2)} | ${fmt(r.cpu.s3 / g, 2)} | ${fmt((100 * r.cpu.machineBusy) / (r.cpu.wall * r.cpu.cores), 0)}% |`;
}

export function ceilingSection(d: Doc): void {
  const c = d.results.ceiling;
  if (c === undefined || c.rows[0] === undefined) return;
  d.p('## 1. Ceiling: plain PutObject', '');
  d.p(
    `The same ${d.options.bigFiles} files' ${CEILING_RANGE / MiB} MiB ranges (${mib(c.rows[0].bytes)} in all), each read from disk into a buffer, its MD5 computed and sent`,
    'with `Content-MD5` in one PutObject (the SDK also hashes the body with SHA-256 to sign it), over a keep-alive agent, N requests in flight;',
    'no queue, no Redis. The best level (its median run) is "the ceiling": what this machine and this S3 server take with the simplest possible',
    'uploader. CPU columns are the seconds used during the run by this uploader and by the S3 server processes on this machine, per GiB.',
    'The last row, "lean", does the S3 work vcu does per chunk and nothing more: one SHA-256 of the body, sent as the signed payload hash',
    '(`x-amz-content-sha256`, which the server verifies) and as user metadata, no MD5. The S3 server and the uploader share 2 cores, so the',
    "uploader's hashing costs throughput: vcu, hashing less than the plain uploader, can pass the ceiling; the lean row is what it cannot pass",
    'without doing less work.',
    '',
  );
  d.p('| in flight | MB/s | seconds | uploader CPU s/GiB | S3 server CPU s/GiB | machine busy |', '|---|---|---|---|---|---|');
  for (const level of ceilingLevels(c.rows)) d.p(ceilingRow(level.inflight, c.rows.filter((r) => r.inflight === level.inflight && !r.lean)));
  const lean = c.rows.filter((r) => r.lean);
  if (lean.length > 0) {
    const inflight = CEILING_LEVELS[CEILING_LEVELS.length - 1] ?? 8;
    d.p(ceilingRow(`${inflight}, lean: one SHA-256 as signed payload hash and metadata, no MD5 (vcu's per-chunk S3 work, no queue)`, lean));
  }
  d.p('', `**Ceiling: ${fmt(d.best)} MB/s.** Hashing on this CPU, one thread, 10 MiB buffers: SHA-256 ${fmt(d.meta.hash.sha256, 0)} MB/s, MD5 ${fmt(d.meta.hash.md5, 0)} MB/s.`, '');
}

export function endToEndSection(d: Doc): void {
  const e = d.e2e;
  const runs = d.results.e2e;
  if (e === undefined || runs === undefined) return;
  d.p('## 2. vcu end to end (defaults)', '');
  d.p(
    `${e.files} files of ${mib(e.bytes / e.files)} (${mib(e.bytes)}) hard-linked into the empty watched folder once the watcher and one worker are ready. Time`,
    'from the first link to the last `stream.complete` log event (metadata.json written; its timestamp) of those files; at the end the',
    `bench checks S3: ${e.checked ?? 'every metadata.json and chunk is there'}. Defaults: CHUNK_SIZE 10 MiB, WORKER_CONCURRENCY 4,`,
    'STREAM_IDLE_MS 5000, FINALIZE_EVERY_MS 1000, SEAL_WHEN_CLOSED auto.',
    ...(runs.length > d.options.repeat ? [`The defaults ran ${runs.length} times (twice a round of section 4's configurations: first and halfway); the row is their median run.`] : []),
    '',
  );
  d.p(
    '| MB/s | ratio to ceiling | seconds | first chunk uploaded after | chunk upload (read, hash, PUT, record) median / p90 | chunks uploaded / read again and skipped | last chunk → metadata.json, median / max |',
    '|---|---|---|---|---|---|---|',
  );
  d.p(
    `| ${fmt(e.mbps)}${range(runs)} | ${d.ratio(e.mbps)} | ${fmt(e.seconds, 2)} | ${fmt(e.firstChunkMs, 0)} ms | ${fmt(median(e.chunkMs), 0)} / ${fmt(quantile(e.chunkMs, 0.9), 0)} ms | ${e.chunksUploaded} / ${sum(Object.values(e.skipped))} | ${fmt(e.finalizeLagMs.median, 0)} / ${fmt(e.finalizeLagMs.max, 0)} ms |`,
    '',
  );
  peerTable(d, 'big', { ...e, label: 'defaults (median run above)' });
}

export function cpuSection(d: Doc): void {
  const e = d.e2e;
  if (e === undefined) return;
  d.p('## 3. CPU and memory (the end-to-end run above)', '');
  d.p(
    'User+system CPU seconds of each process from `/proc/<pid>/stat` (utime+stime ÷ `getconf CLK_TCK`) read just before it is stopped, so',
    'start-up is included (the "of which start-up" column is the CPU used until `worker.ready` / `watcher.ready`); per GiB of file data moved.',
    'Peak RSS is `VmHWM` from `/proc/<pid>/status` at the same moment; peak anonymous is the highest `RssAnon` (the process\'s own',
    'memory: heap and buffers, without the file-backed pages of the node binary and its libraries), read every 100 ms. A memory limit covers both',
    '(section 5 runs the worker in one).',
    '',
  );
  d.p('| process | CPU s | of which start-up | CPU s per GiB | peak RSS | peak anonymous |', '|---|---|---|---|---|---|');
  const g = e.bytes / GiB;
  for (const x of e.procs) d.p(`| ${x.name} (pid ${x.pid}) | ${fmt(x.cpu, 2)} | ${fmt(x.startup, 2)} | ${fmt(x.cpu / g, 2)} | ${mib(x.peakRss)} | ${mib(x.peakAnon)} |`);
  d.p(`| **all** | ${fmt(e.cpu, 2)} | ${fmt(e.startupCpu, 2)} | **${fmt(e.cpuPerGiB, 2)}** | | |`, '');
}

export function scalingSection(d: Doc): void {
  const scaling = d.results.scaling;
  if (scaling === undefined) return;
  d.p('## 4. Scaling', '');
  d.p(
    `The same ${d.options.bigFiles} files as in 2., end to end, with 1, 2 and 4 worker processes at the default concurrency, and with one worker at`,
    'WORKER_CONCURRENCY 1–16, and with one worker whose CHUNK_SIZE (256 MiB) is above MULTIPART_ABOVE, so each file is one chunk streamed as a',
    'multipart upload of 8 MiB parts from two part buffers. CPU s per GiB is every vcu process (user+sys) until just before stopping.',
    '',
  );
  d.p('| setup | MB/s | ratio to ceiling | seconds | chunk upload median / p90 | CPU s per GiB | peak RSS |', '|---|---|---|---|---|---|---|');
  for (const runs of scaling.values()) {
    const r = pick(runs);
    d.p(`| ${r.label} | ${fmt(r.mbps)}${range(runs)} | ${d.ratio(r.mbps)} | ${fmt(r.seconds, 2)} | ${fmt(median(r.chunkMs), 0)} / ${fmt(quantile(r.chunkMs, 0.9), 0)} ms | ${fmt(r.cpuPerGiB, 2)} | ${rssOf(r)} |`);
  }
  d.p('');
}
