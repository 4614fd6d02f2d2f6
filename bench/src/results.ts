// The figures each scenario returns, which the report reads and bench/results/<time>.json keeps.
import type { MachineFacts } from './machine.js';
import type { CpuWindow, ThreadCpu } from './proc.js';
import type { KeyShape } from './redis.js';
import type { RequestCounts } from './rgw-requests.js';
import type { ProfileSummary } from './measure/profile.js';
import type { Upload } from './measure/tally.js';
import type { CagedRun } from './scenarios/many.js';
import type { PeerResults } from './scenarios/peers.js';
import type { RequestCost } from './scenarios/requests.js';
import type { ScaleResult } from './scenarios/scale.js';
import type { SoakResult } from './scenarios/soak.js';

export interface CeilingRun {
  readonly inflight: number;
  readonly lean: boolean;
  readonly bytes: number;
  readonly seconds: number;
  readonly mbps: number;
  readonly cpu: CpuWindow;
}

/** One vcu process, read just before it was stopped. */
export interface ProcFigures {
  readonly name: string;
  readonly pid: number;
  /** CPU seconds until it was ready. */
  readonly startup: number;
  readonly cpu: number;
  readonly threads: ThreadCpu;
  readonly peakRss: number;
  readonly rss: number;
  /** The highest RssAnon seen, sampled every ANON_SAMPLE_MS from the drop to the last metadata.json (the kernel keeps no peak of it). */
  readonly peakAnon: number;
}

export interface VcuRun {
  readonly label: string;
  readonly slug: string;
  readonly workers: number;
  readonly env: Readonly<Record<string, string>>;
  readonly files: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly mbps: number;
  readonly filesPerSecond: number;
  readonly cpu: number;
  readonly cpuPerGiB: number;
  readonly startupCpu: number;
  readonly procs: readonly ProcFigures[];
  /** CPU between the first file dropped and the last metadata.json. */
  readonly window: CpuWindow;
  readonly exits: readonly (number | 'killed')[];
  readonly redis: { memBefore: number; memAfter: number; keysBefore: number; keysAfter: number; shapes: KeyShape[] | undefined };
  readonly chunkMs: readonly number[];
  readonly chunksUploaded: number;
  readonly firstChunkMs: number;
  readonly skipped: Readonly<Record<string, number>>;
  readonly lastUploadMs: number;
  readonly finalizeLagMs: { median: number; max: number };
  readonly problems: Readonly<Record<string, number>>;
  readonly checked: string | undefined;
  readonly uploads: readonly Upload[];
  /** File path → when its metadata.json was written. */
  readonly completions: ReadonlyMap<string, number>;
  /** What the S3 server counted from the first file to the last metadata.json, where it can be asked (rgw-requests.ts). */
  readonly s3Requests?: RequestCounts | undefined;
}

export interface GrowingFigures {
  readonly seal: string;
  readonly writes: number;
  readonly seconds: number;
  readonly bytes: number;
  readonly fullChunks: number;
  readonly uploadedChunks: number;
  readonly medianChunkMs: number;
  readonly maxChunkMs: number;
  readonly metadataMs: number;
  readonly idleBoundMs: number;
  readonly idle: number;
  readonly every: number;
}

export interface GrowingRun extends VcuRun {
  readonly growing: GrowingFigures;
}

export interface ProfileRun extends VcuRun {
  readonly profile: ProfileSummary;
  readonly profileFile: string;
}

export interface Results {
  ceiling?: { rows: CeilingRun[] };
  e2e?: VcuRun[];
  scaling?: Map<string, VcuRun[]>;
  many?: VcuRun[];
  /** Each round's many-files run with the worker in a memory limit (scenarios/many.ts). */
  manyCaged?: CagedRun[];
  growing?: GrowingRun[];
  profile?: ProfileRun;
  peers?: PeerResults;
  /** Each round's request costs (scenarios/requests.ts), run with the many small files. */
  requests?: RequestCost[];
  /** Rounds whose request costs could not be measured, by error. */
  requestFailures?: string[];
  soak?: SoakResult;
  scale?: ScaleResult;
}

export interface Meta {
  readonly date: string;
  readonly machine: MachineFacts;
  readonly s3: string;
  readonly redis: string;
  readonly git: { commit: string; changed: string[] };
  readonly hash: { sha256: number; md5: number };
  readonly loadavg: number[];
  disturbances: string[];
}
