// Readings from /proc: CPU seconds of processes and their threads, RSS, and the whole machine.
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { run } from './util.js';

let clockTicks: number | undefined;
/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`). */
export async function clkTck(): Promise<number> {
  if (clockTicks === undefined) {
    const r = await run('getconf', ['CLK_TCK']);
    clockTicks = Number(r.stdout.trim()) || 100;
  }
  return clockTicks;
}

/** utime + stime (seconds) from a /proc/<pid>[/task/<tid>]/stat text, and the comm in it. */
export function parseStat(text: string, ticks: number): { comm: string; cpu: number; ppid: number } {
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime field 14, stime field 15
  return { comm, ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / ticks };
}

/**
 * The event loop (the main thread: JavaScript, and hashing, which Node's crypto runs on the calling
 * thread) against every other thread (libuv's pool doing file reads, V8's GC and compiler threads).
 */
export interface ThreadCpu {
  main: number;
  threads: number;
}

export interface ProcStats {
  /** CPU seconds (user+sys) since the process started. */
  readonly cpu: number;
  readonly threads: ThreadCpu;
  /** VmHWM and VmRSS, bytes. */
  readonly peakRss: number;
  readonly rss: number;
  /**
   * RssAnon, bytes: the resident memory that is the process's own (heap, buffers). RSS also counts
   * file-backed pages, ~35-55 MiB of them the node binary's and its libraries' code. A memory limit
   * covers both: the kernel drops such pages at the limit, but the code still running is read back.
   */
  readonly anon: number;
}

function threadCpu(pid: number, ticks: number): ThreadCpu {
  const threads = { main: 0, threads: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const t = parseStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'), ticks);
      if (Number(tid) === pid) threads.main += t.cpu;
      else threads.threads += t.cpu;
    } catch {
      // thread ended meanwhile
    }
  }
  return threads;
}

/** CPU seconds of a live process by thread group, and its peak and current RSS; undefined once it is gone. */
export function procStats(pid: number, ticks: number, withThreads = true): ProcStats | undefined {
  try {
    const { cpu } = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), ticks);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    const threads = withThreads ? threadCpu(pid, ticks) : { main: cpu, threads: 0 };
    return { cpu, threads, peakRss: kb('VmHWM'), rss: kb('VmRSS'), anon: kb('RssAnon') };
  } catch {
    return undefined;
  }
}

/** Processes of the S3 server and of Redis that run on this machine, by name. */
const SERVER_COMMS: Readonly<Record<string, 's3' | 'redis'>> = {
  radosgw: 's3',
  'ceph-osd': 's3',
  'ceph-mon': 's3',
  'ceph-mgr': 's3',
  minio: 's3',
  'redis-server': 'redis',
};

export interface ServerProc {
  readonly comm: string;
  readonly role: 's3' | 'redis';
  readonly cpu: number;
}

/** Every process's stat on this machine: pid → comm, ppid, CPU seconds. */
export function allProcesses(ticks: number): Map<number, { comm: string; cpu: number; ppid: number }> {
  const found = new Map<number, { comm: string; cpu: number; ppid: number }>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      found.set(Number(pid), parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), ticks));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** CPU seconds so far of the S3 server's and Redis's processes on this machine, by pid. */
export function serverCpu(ticks: number): Map<number, ServerProc> {
  const found = new Map<number, ServerProc>();
  for (const [pid, s] of allProcesses(ticks)) {
    const role = SERVER_COMMS[s.comm];
    if (role !== undefined) found.set(pid, { comm: s.comm, role, cpu: s.cpu });
  }
  return found;
}

/** Machine-wide CPU from /proc/stat: busy, iowait and total seconds (of all cores). */
export function machineCpu(ticks: number): { busy: number; iowait: number; total: number } {
  const first = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = first;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: (total - idle - iowait) / ticks, iowait: iowait / ticks, total: total / ticks };
}

/** Every CPU counter the bench compares across a measurement. */
export interface CpuSnapshot {
  readonly at: number;
  readonly machine: ReturnType<typeof machineCpu>;
  readonly servers: Map<number, ServerProc>;
  readonly bench: NodeJS.CpuUsage;
  readonly apps: Map<number, ProcStats | undefined>;
}

export function cpuSnapshot(ticks: number, pids: readonly number[]): CpuSnapshot {
  return {
    at: Date.now(),
    machine: machineCpu(ticks),
    servers: serverCpu(ticks),
    bench: process.cpuUsage(),
    apps: new Map(pids.map((pid) => [pid, procStats(pid, ticks)])),
  };
}

/** What happened between two snapshots: CPU seconds by who used them. */
export interface CpuWindow {
  readonly wall: number;
  readonly cores: number;
  readonly machineBusy: number;
  readonly iowait: number;
  readonly apps: number;
  readonly perApp: Map<number, { cpu: number; threads: ThreadCpu }>;
  readonly s3: number;
  readonly redis: number;
  readonly byComm: Record<string, number>;
  readonly bench: number;
  readonly other: number;
}

function appsDelta(before: CpuSnapshot, after: CpuSnapshot): { apps: number; perApp: CpuWindow['perApp'] } {
  let apps = 0;
  const perApp = new Map<number, { cpu: number; threads: ThreadCpu }>();
  for (const [pid, s] of after.apps) {
    const b = before.apps.get(pid);
    if (s === undefined || b === undefined) continue;
    apps += s.cpu - b.cpu;
    perApp.set(pid, { cpu: s.cpu - b.cpu, threads: { main: s.threads.main - b.threads.main, threads: s.threads.threads - b.threads.threads } });
  }
  return { apps, perApp };
}

export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): CpuWindow {
  const server = { s3: 0, redis: 0 };
  const byComm: Record<string, number> = {};
  for (const [pid, s] of after.servers) {
    const d = s.cpu - (before.servers.get(pid)?.cpu ?? 0);
    server[s.role] += d;
    byComm[s.comm] = (byComm[s.comm] ?? 0) + d;
  }
  const { apps, perApp } = appsDelta(before, after);
  const bench = (after.bench.user + after.bench.system - before.bench.user - before.bench.system) / 1e6;
  const machineBusy = after.machine.busy - before.machine.busy;
  return {
    wall: (after.at - before.at) / 1000,
    cores: os.cpus().length,
    machineBusy,
    iowait: after.machine.iowait - before.machine.iowait,
    apps,
    perApp,
    s3: server.s3,
    redis: server.redis,
    byComm,
    bench,
    other: Math.max(0, machineBusy - apps - server.s3 - server.redis - bench),
  };
}
