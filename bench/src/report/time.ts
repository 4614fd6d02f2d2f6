// Where the time goes: CPU by process during a run, the hashing floor, the worker's CPU profile.
import type { VcuRun } from '../results.js';
import { GiB, fmt } from '../util.js';
import type { Doc } from './doc.js';

/** CPU by process between the first link and the last metadata.json of run `r`. */
export function whereTime(d: Doc, r: VcuRun, title: string, per: number, unit: string): void {
  const w = r.window;
  d.p(`## ${title}`, '');
  d.p(
    `CPU seconds used between the first link and the last metadata.json (${fmt(w.wall, 2)} s of wall time × ${w.cores} cores = ${fmt(w.wall * w.cores, 1)} core-seconds),`,
    'by process, from /proc. "worker: event loop" is its main thread (JavaScript: the S3 SDK, BullMQ and Redis, and SHA-256,',
    'which Node computes on the calling thread); "other threads" are libuv\'s pool (file reads) and V8\'s garbage collector and compiler.',
    '',
  );
  d.p(`| who | CPU s | share of the machine | ${unit} |`, '|---|---|---|---|');
  const total = w.wall * w.cores;
  const several = r.procs.filter((x) => x.name === 'worker').length > 1;
  const row = (who: string, s: number): void => d.p(`| ${who} | ${fmt(s, 2)} | ${fmt((100 * s) / total, 0)}% | ${fmt(s / per, 2)} |`);
  for (const x of r.procs) {
    const cpu = w.perApp.get(x.pid);
    if (cpu === undefined) continue;
    if (x.name === 'worker') {
      row(`worker${several ? ` ${x.pid}` : ''}: event loop (main thread)`, cpu.threads.main);
      row(`worker${several ? ` ${x.pid}` : ''}: other threads (libuv pool, V8 GC)`, cpu.threads.threads);
    } else {
      row(x.name, cpu.cpu);
    }
  }
  for (const [comm, s] of Object.entries(w.byComm).sort((a, b) => b[1] - a[1])) row(comm, s);
  row('the bench itself (reading log events)', w.bench);
  row('everything else', w.other);
  row('**machine busy**', w.machineBusy);
  const mainWorker = r.procs.find((x) => x.name === 'worker');
  const mainBusy = mainWorker ? (w.perApp.get(mainWorker.pid)?.threads.main ?? NaN) / w.wall : NaN;
  d.p('', `The worker's event loop was busy ${fmt(100 * mainBusy, 0)}% of the wall time; the machine ${fmt((100 * w.machineBusy) / total, 0)}%.`);
}

export function hashingFloor(d: Doc): void {
  const hashFloor = (2 * 1073.741824) / d.meta.hash.sha256;
  d.p(
    'vcu hashes every byte with SHA-256 twice: once when it uploads a chunk (the hash is signed into the request and kept as the',
    "object's metadata) and once more when finalize digests the whole file. At this CPU's speed that alone is",
    `${fmt(hashFloor, 2)} CPU s per GiB, all of it on the worker's event loop (S3_CONTENT_MD5=true would add MD5: ${fmt(1073.741824 / d.meta.hash.md5, 2)} s more).`,
    '',
  );
}

export function profileSection(d: Doc): void {
  const r = d.results.profile;
  if (r === undefined) return;
  const prof = r.profile;
  const g = r.bytes / GiB;
  d.p("## Where the time goes: the worker's main thread (CPU profile)", '');
  d.p(
    `One more end-to-end run with defaults (${fmt(r.mbps)} MB/s; the profiler slows it a little, so it is not a measurement of its own) with the`,
    `worker under V8's sampling profiler (\`node --cpu-prof\`; the profile is kept in ${r.profileFile}). Self time of the main thread,`,
    `grouped; it was idle ${fmt(prof.idleMs / 1000, 2)} s of ${fmt(prof.totalMs / 1000, 2)} s. The profiler samples wall-clock time, so a row also counts`,
    'moments the thread waited for a core (the S3 server shares the machine): read the shares, not the milliseconds, as CPU. Shares leave',
    'out start-up (loading modules). "native: writev" is writing request bodies to sockets.',
    '',
  );
  d.p('| where | ms | share of busy time | ms per GiB |', '|---|---|---|---|');
  const startup = prof.rows.find((x) => x.group.startsWith('loading modules'))?.ms ?? 0;
  const busy = prof.busyMs - startup;
  for (const row of prof.rows) {
    if (row.group.startsWith('loading modules')) continue;
    d.p(`| ${row.group} | ${fmt(row.ms, 0)} | ${fmt((100 * row.ms) / busy, 1)}% | ${fmt(row.ms / g, 0)} |`);
  }
  const hashing = prof.rows.filter((x) => x.group.startsWith('hashing')).reduce((a, x) => a + x.ms, 0);
  d.p(`| **busy, start-up left out** | ${fmt(busy, 0)} | 100% | ${fmt(busy / g, 0)} |`, `| loading modules (start-up) | ${fmt(startup, 0)} | | |`, '');
  d.p(`Hashing is ${fmt((100 * hashing) / busy, 0)}% of the worker's busy main-thread time (${fmt(hashing / g, 0)} ms per GiB).`, '');
}
