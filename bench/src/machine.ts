// Facts about where the bench runs: the machine, the S3 server, the commit, the CPU's hashing
// speed, and other vcu work running at the same time (which would disturb the figures).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { ListBucketsCommand, type S3Client } from '@aws-sdk/client-s3';
import { clkTck, serverCpu } from './proc.js';
import { s3IsLocal, settings } from './settings.js';
import { GiB, MiB, ROOT, log, mbps, run } from './util.js';

export interface MachineFacts {
  readonly cpu: string;
  readonly cores: number;
  readonly ramGiB: number;
  readonly kernel: string;
  readonly node: string;
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    ramGiB: os.totalmem() / GiB,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

async function localS3Software(): Promise<string | undefined> {
  const comms = new Set([...serverCpu(await clkTck()).values()].map((s) => s.comm));
  if (comms.has('radosgw')) {
    const v = await run('radosgw', ['--version']);
    const m = /ceph version (\S+).*\((\w+)\)/.exec(v.stdout);
    const software = `Ceph RADOS Gateway ${m ? `${m[1]} (${m[2]})` : ''}`.trim();
    return existsSync('/tmp/rgw/ceph.conf') ? `${software}, one OSD (BlueStore on a file)` : software;
  }
  return comms.has('minio') ? 'MinIO' : undefined;
}

/** A one-line description of the S3 server: its software when it runs on this machine. */
export async function describeS3(client: S3Client): Promise<string> {
  const local = s3IsLocal();
  let software = local ? await localS3Software() : undefined;
  if (software === undefined) {
    try {
      const r = await client.send(new ListBucketsCommand({}));
      software = r.$metadata.httpStatusCode === 200 ? 'S3-compatible server' : 'S3';
    } catch {
      software = 'S3';
    }
  }
  return `${software} at ${settings.endpoint}${local ? ' (same machine)' : ''}`;
}

export async function gitFacts(): Promise<{ commit: string; changed: string[] }> {
  const head = await run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = await run('git', ['-C', ROOT, 'status', '--porcelain', '--', 'apps', 'packages']);
  const changed = dirty.stdout
    .split('\n')
    .map((l) => l.slice(3).trim())
    .filter((l) => l !== '');
  return { commit: head.stdout.trim() || 'unknown', changed };
}

/** Single-thread SHA-256 and MD5 speed of this CPU on 10 MiB buffers, as vcu hashes each chunk. */
export function hashSpeed(): { sha256: number; md5: number } {
  const buffer = randomBytes(10 * MiB);
  const speed = (algorithm: string): number => {
    createHash(algorithm).update(buffer).digest();
    const started = performance.now();
    let bytes = 0;
    while (performance.now() - started < 1000) {
      createHash(algorithm).update(buffer).digest();
      bytes += buffer.length;
    }
    return mbps(bytes, (performance.now() - started) / 1000);
  };
  return { sha256: speed('sha256'), md5: speed('md5') };
}

/** Our own process and its ancestors (pnpm, the shell), which do not count as other load. */
function ancestry(): Set<number> {
  const mine = new Set<number>();
  for (let pid = process.pid; pid > 1; ) {
    mine.add(pid);
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return mine;
}

const VCU_WORK = /(bench\/(?:run\.mjs|dist\/main\.js)|apps\/\w+\/dist\/main\.js|scripts\/test\.mjs|node --test\S*|start-rgw\.sh|stop-rgw\.sh)/;

/**
 * vcu apps, test suites and benchmarks running on this machine that this run did not start,
 * remembered for the report's note.
 */
export class Disturbances {
  readonly seen = new Set<string>();

  add(what: string): void {
    this.seen.add(what);
  }

  /** Says so in the progress log (and later in the report) when other vcu work runs now. */
  check(ownPids: readonly number[] = []): void {
    const skip = ancestry();
    for (const pid of ownPids) skip.add(pid);
    const found: string[] = [];
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p) || skip.has(Number(p))) continue;
      let cmd: string;
      try {
        cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        continue;
      }
      const m = VCU_WORK.exec(cmd);
      if (m?.[1] !== undefined) found.push(`${m[1]} (pid ${p})`);
    }
    for (const f of found) this.seen.add(f.replace(/ \(pid \d+\)/, ''));
    if (found.length > 0) log(`WARNING: other vcu processes are running (${found.join(', ')}): figures will be disturbed`);
  }
}
