// Peer uploaders on the same data and the same S3 server, when they are on the PATH: rclone copy
// with 16 transfers and aws s3 cp --recursive with its defaults (10 requests in flight). Their
// objects are counted, then deleted like vcu's.
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Bench } from '../context.js';
import { type CpuWindow, cpuDelta, cpuSnapshot, serverCpu } from '../proc.js';
import { type RequestCounts, requestsBetween, rgwRequests } from '../rgw-requests.js';
import { deletePrefix, listPrefix, runGc } from '../s3.js';
import { settings } from '../settings.js';
import { type CommandResult, fmt, log, mbps, run, sum } from '../util.js';

export type PeerName = 'rclone' | 'aws';
export type PeerData = 'big' | 'many';

export interface PeerRun {
  readonly peer: PeerName;
  readonly data: PeerData;
  readonly files: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly mbps: number;
  readonly filesPerSecond: number;
  /** CPU during the copy; the peer's own is in `other` (the machine less S3 server, Redis and the bench). */
  readonly cpu: CpuWindow;
  /** What the S3 server counted during the copy, where it can be asked (rgw-requests.ts). */
  readonly s3Requests?: RequestCounts | undefined;
}

export interface PeerFailure {
  readonly peer: PeerName;
  readonly data: PeerData;
  readonly error: string;
}

export interface PeerResults {
  /** Each peer's version line, or undefined when it is not on the PATH. */
  readonly found: Record<PeerName, string | undefined>;
  readonly runs: PeerRun[];
  /** A peer that failed is reported, not fatal: the rest of the run goes on. */
  readonly failures: PeerFailure[];
}

interface Peer {
  readonly name: PeerName;
  readonly version: readonly string[];
  /** The command line copying folder `src` to `prefix` in the bucket. */
  args(src: string, prefix: string): string[];
  /** Its S3 settings as environment variables (keys never on the command line); `tmp` for a config file. */
  env(tmp: string): Promise<Record<string, string>>;
}

export const PEER_LABELS: Record<PeerName, string> = {
  rclone: 'rclone copy, 16 transfers',
  aws: 'aws s3 cp --recursive, defaults (10 requests in flight)',
};

const PEERS: readonly Peer[] = [
  {
    name: 'rclone',
    version: ['version'],
    args: (src, prefix) => ['copy', src, `:s3:${settings.bucket}/${prefix}`, '--transfers', '16'],
    env: (tmp) =>
      Promise.resolve({
      RCLONE_CONFIG: path.join(tmp, 'rclone.conf'),
      RCLONE_S3_PROVIDER: [...serverCpu(100).values()].some((s) => s.comm === 'radosgw') ? 'Ceph' : 'Other',
      RCLONE_S3_ENDPOINT: settings.endpoint,
      RCLONE_S3_REGION: settings.region,
      RCLONE_S3_ACCESS_KEY_ID: settings.accessKey,
      RCLONE_S3_SECRET_ACCESS_KEY: settings.secretKey,
      RCLONE_S3_FORCE_PATH_STYLE: settings.forcePathStyle === 'false' ? 'false' : 'true',
      RCLONE_S3_ENV_AUTH: 'false',
      }),
  },
  {
    name: 'aws',
    version: ['--version'],
    args: (src, prefix) => ['s3', 'cp', '--recursive', '--only-show-errors', '--endpoint-url', settings.endpoint, src, `s3://${settings.bucket}/${prefix}`],
    env: async (tmp) => {
      const config = path.join(tmp, 'aws-config');
      const style = settings.forcePathStyle === 'false' ? 'auto' : 'path';
      await writeFile(config, `[default]\ns3 =\n    addressing_style = ${style}\n`);
      return {
        AWS_CONFIG_FILE: config,
        AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, 'aws-credentials'),
        AWS_ACCESS_KEY_ID: settings.accessKey,
        AWS_SECRET_ACCESS_KEY: settings.secretKey,
        AWS_DEFAULT_REGION: settings.region,
      };
    },
  },
];

/** The file `command` would run from the PATH, or undefined. */
function onPath(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir === '') continue;
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return path.join(dir, command);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** This environment without anyone's own AWS or rclone settings, which would change what the peer does. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('RCLONE_')));
}

/** Which peers are installed, with their version. */
export async function findPeers(): Promise<PeerResults['found']> {
  const found: Record<PeerName, string | undefined> = { rclone: undefined, aws: undefined };
  for (const peer of PEERS) {
    if (onPath(peer.name) === undefined) continue;
    const r = await run(peer.name, peer.version, 30_000);
    found[peer.name] = (`${r.stdout}\n${r.stderr}`.trim().split('\n')[0] ?? peer.name).split(' ').slice(0, 2).join(' ');
  }
  return found;
}

/**
 * Every installed peer copies the folder `fill` makes (hard links of the bench's data, the names
 * vcu gets) to a fresh prefix; S3 must then hold `files` objects of `bytes` in all.
 */
export async function runPeers(bench: Bench, data: PeerData, results: PeerResults, fill: (dir: string) => Promise<string[]>): Promise<void> {
  for (const peer of PEERS) {
    if (results.found[peer.name] === undefined) continue;
    try {
      results.runs.push(await runPeer(bench, peer, data, fill));
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      log(`${PEER_LABELS[peer.name]} failed (the run goes on): ${error}`);
      results.failures.push({ peer: peer.name, data, error: error.split('\n')[0]?.slice(0, 300) ?? error });
    }
  }
}

async function runPeer(bench: Bench, peer: Peer, data: PeerData, fill: (dir: string) => Promise<string[]>): Promise<PeerRun> {
  const id = bench.nextId(`${peer.name}-${data}`);
  const prefix = `${id}/`;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'vcu-bench-peer-'));
  const src = path.join(settings.data, `peer-${id}`);
  const cleanup = async (): Promise<void> => {
    await deletePrefix(bench.client, prefix);
    await rm(src, { recursive: true, force: true });
    await rm(tmp, { recursive: true, force: true });
  };
  try {
    return await bench.guarded(cleanup, async () => {
      await mkdir(src, { recursive: true });
      const names = await fill(src);
      return copy(bench, peer, data, { src, prefix, tmp, names });
    });
  } finally {
    await runGc();
  }
}

async function copy(bench: Bench, peer: Peer, data: PeerData, at: { src: string; prefix: string; tmp: string; names: readonly string[] }): Promise<PeerRun> {
  const env = { ...cleanEnv(), ...(await peer.env(at.tmp)) };
  log(`${PEER_LABELS[peer.name]}: ${at.names.length} files`);
  bench.disturbances.check();
  const requestsBefore = await rgwRequests();
  const before = cpuSnapshot(bench.ticks, []);
  const started = performance.now();
  const r = await run(peer.name, peer.args(at.src, at.prefix), 60 * 60_000, env);
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuDelta(before, cpuSnapshot(bench.ticks, []));
  const s3Requests = requestsBetween(requestsBefore, await rgwRequests());
  if (!r.ok) throw new Error(`${peer.name} failed: ${failureText(r, peer.name)}`);
  const objects = await listPrefix(bench.client, at.prefix);
  const bytes = sum(objects.map((o) => o.size));
  if (objects.length !== at.names.length) throw new Error(`${peer.name}: ${objects.length} objects in S3, expected ${at.names.length}`);
  const result = { peer: peer.name, data, files: objects.length, bytes, seconds, mbps: mbps(bytes, seconds), filesPerSecond: objects.length / seconds, cpu, s3Requests };
  log(`${PEER_LABELS[peer.name]}: ${fmt(result.mbps)} MB/s, ${fmt(result.filesPerSecond)} files/s, ${fmt(seconds, 2)} s`);
  return result;
}

/** What a failed peer said, or how it ended when it said nothing (a broken install can exit 1 silently). */
function failureText(r: CommandResult, name: string): string {
  const said = (r.stderr || r.stdout).trim();
  if (said !== '') return said.slice(0, 2000);
  if (typeof r.err?.signal === 'string') return `killed by ${r.err.signal}, no output`;
  return `exit code ${String(r.err?.code)}, no output (is the ${name} on the PATH a working install?)`;
}
