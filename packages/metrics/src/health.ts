import type { Cluster, Redis } from 'ioredis';
import { redactText } from '@vcu/config';
import { type EventSink, describeError, logEvent, onceIn } from '@vcu/logger';

/** `not checked`: this process does not use that part (the watcher never talks to S3). */
export type PartState = 'up' | 'down' | 'not checked';
export type Part = 'redis' | 's3' | 'files';

export interface HealthReport {
  readonly ok: boolean;
  readonly redis: PartState;
  readonly s3: PartState;
  /**
   * Whether the process's file system calls return (a stat of WATCH_DIR): all of libuv's threads
   * stuck in the kernel (a hung network mount) stop every upload while Redis and S3 look fine.
   */
  readonly files: PartState;
  /**
   * Why each part that is down is down, secrets redacted. It names internal hosts and addresses:
   * for logs and for callers who proved who they are, never for an anonymous probe.
   */
  readonly reasons: Readonly<Partial<Record<Part, string>>>;
}

export interface HealthCheck {
  check(): Promise<HealthReport>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Whether a probe answered, and if not, why (its error, with any URL in it redacted). */
interface Probed {
  readonly state: PartState;
  readonly reason?: string;
}

async function probe(run: () => Promise<unknown>, timeoutMs: number, what: string): Promise<Probed> {
  try {
    await withTimeout(run(), timeoutMs, what);
    return { state: 'up' };
  } catch (err) {
    return { state: 'down', reason: redactText(describeError(err)) };
  }
}

/**
 * Is Redis answering (PING), is the bucket reachable (`probeS3`, e.g. a HEAD of the bucket), and
 * do file system calls return (`probeFiles`, e.g. a stat of WATCH_DIR)? Each part that is not says
 * why, in `reasons`. Results are reused for `cacheMs`, so frequent probes and scrapes cost one
 * check. The probes are passed in, so a process without S3 (the watcher) never loads the SDK.
 */
export function createHealthCheck({
  redis,
  probeRedisWrite,
  probeS3,
  probeFiles,
  timeoutMs = 3000,
  cacheMs = 2000,
}: {
  redis: Pick<Redis | Cluster, 'status' | 'ping'>;
  /** A small write (Redis out of memory answers PING but refuses writes). */
  probeRedisWrite?: () => Promise<unknown>;
  probeS3?: () => Promise<unknown>;
  probeFiles?: () => Promise<unknown>;
  timeoutMs?: number;
  cacheMs?: number;
}): HealthCheck {
  let cached: { at: number; report: Promise<HealthReport> } | undefined;

  async function run(): Promise<HealthReport> {
    const notConnected: Probed = { state: 'down', reason: `not connected (${redis.status})` };
    const notChecked: Probed = { state: 'not checked' };
    const [redisProbe, s3Probe, filesProbe] = await Promise.all([
      redis.status !== 'ready' ? notConnected : probe(async () => Promise.all([redis.ping(), probeRedisWrite?.()]), timeoutMs, 'Redis'),
      probeS3 === undefined ? notChecked : probe(probeS3, timeoutMs, 'S3'),
      probeFiles === undefined ? notChecked : probe(probeFiles, timeoutMs, 'the file system (threads stuck in the kernel?)'),
    ]);
    const reasons: Partial<Record<Part, string>> = {};
    if (redisProbe.reason !== undefined) reasons.redis = redisProbe.reason;
    if (s3Probe.reason !== undefined) reasons.s3 = s3Probe.reason;
    if (filesProbe.reason !== undefined) reasons.files = filesProbe.reason;
    const ok = redisProbe.state === 'up' && s3Probe.state !== 'down' && filesProbe.state !== 'down';
    return { ok, redis: redisProbe.state, s3: s3Probe.state, files: filesProbe.state, reasons };
  }

  return {
    check() {
      const now = Date.now();
      if (cached === undefined || now - cached.at > cacheMs) cached = { at: now, report: run() };
      return cached.report;
    },
  };
}

/**
 * Logs why a part is down when a health answer says so, since the answer itself does not: once a
 * minute for each part and reason, however often probes ask.
 */
export function healthLogger(logger: EventSink): (report: HealthReport) => void {
  const first = onceIn(60_000);
  return (report) => {
    for (const [part, reason] of Object.entries(report.reasons)) {
      if (first(`${part}\n${reason}`)) logEvent(logger, 'health.part-down', { part, reason });
    }
  };
}
