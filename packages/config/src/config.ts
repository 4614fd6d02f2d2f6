import { type HostPort, type Problem, ProblemError } from './parse.js';
import { redactUrl } from './redact.js';
import { type AppName, type LogFormat, type LogLevel, MIN_PART_SIZE, SETTINGS, SETTING_SPECS, type SettingName, type SettingSpec } from './settings.js';

/** Every vcu setting, validated. Built once per process by {@link loadConfig} and frozen. */
export interface Config {
  readonly redis: {
    /**
     * Connection URL; may hold a password (user-info or `?password=`), so show it only through
     * `redactUrl`. With Sentinel or Cluster only its user name, password, TLS and database are used.
     */
    readonly url: string;
    /** Where Redis is: one server (the URL's), a Sentinel group, or a Cluster. */
    readonly topology: RedisTopology;
    /**
     * Every Redis key vcu writes (BullMQ's included) starts with `<keyPrefix>:`; it is
     * `{REDIS_PREFIX}`, a hash tag: see {@link redisKeyPrefix}.
     */
    readonly keyPrefix: string;
  };
  readonly s3: {
    /** Unset means AWS S3 itself. Never holds a user name or password (rejected at load). */
    readonly endpoint: string | undefined;
    readonly region: string;
    readonly bucket: string;
    /** Both set, or both unset (then the AWS SDK's default credential chain is used). */
    readonly accessKeyId: string | undefined;
    readonly secretAccessKey: string | undefined;
    readonly forcePathStyle: boolean;
    /** Prepended as-is to every object key: include the trailing `/` if you want a folder. */
    readonly prefix: string;
    readonly connectTimeoutMs: number;
    readonly requestTimeoutMs: number;
    /**
     * Also send Content-MD5 with each chunk and compare the ETag with it. Off by default: every
     * chunk's SHA-256 is signed into its request (x-amz-content-sha256), which the server checks.
     */
    readonly contentMd5: boolean;
  };
  readonly watch: {
    /** Absolute path of the watched folder ('' for the dashboard and CLI when unset); metadata uses paths relative to it. */
    readonly dir: string;
    readonly patterns: readonly string[];
    /** 0 uses the OS's file events; more polls at that interval (network file systems). */
    readonly pollMs: number;
    /** A listing of WATCH_DIR this often catches files whose OS events were dropped; 0 = never. */
    readonly rescanMs: number;
    /**
     * Seal a file as soon as no process holds it open for writing (Linux /proc), instead of
     * waiting STREAM_IDLE_MS. 'auto' does so where every writer is visible (not in a container).
     */
    readonly sealWhenClosed: 'auto' | 'on' | 'off';
  };
  readonly chunkSize: number;
  /** How a chunk too big for one buffer is uploaded: streamed as a multipart upload from two part buffers. */
  readonly multipart: {
    /** The chunks of a stream whose chunk size is above this are streamed in parts instead of read into memory whole. */
    readonly above: number;
    /** Bytes per part of a streamed chunk; a streamed chunk holds two parts of memory. */
    readonly partSize: number;
  };
  /** Server-side assembly of one playable object per stream at finalize (ASSEMBLE). */
  readonly assemble: {
    readonly enabled: boolean;
    /** Key template: {prefix}, {streamId}, {name} (file name) and {path} (relative path). */
    readonly keyTemplate: string;
  };
  readonly streamIdleMs: number;
  /** How long Redis keeps a finished stream whose file has left WATCH_DIR. */
  readonly forgetAfterMs: number;
  /** Finished chunk jobs kept for Bull Board. */
  readonly keepCompletedJobs: number;
  /** `delete`: a file is removed once uploaded and unchanged for `deleteAfterMs`. */
  readonly afterUpload: { readonly mode: 'keep' | 'delete'; readonly deleteAfterMs: number };
  readonly finalizeEveryMs: number;
  readonly worker: {
    readonly concurrency: number;
    /** How long a worker holds a chunk without renewing its lock before another may take it. */
    readonly lockMs: number;
  };
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
  readonly shutdownTimeoutMs: number;
  /** Port of this process's /healthz and /metrics server; 0 = none. */
  readonly metricsPort: number;
  readonly dashboard: {
    /** Address the dashboard listens on: 0.0.0.0 by default (containers), 127.0.0.1 for `pnpm start`. */
    readonly host: string;
    readonly port: number;
    /** False only when DASHBOARD_AUTH=off was set explicitly. */
    readonly auth: boolean;
    readonly user: string;
    /** Never logged. Empty only when auth is off. */
    readonly password: string;
    readonly readOnly: boolean;
  };
}


/** Where vcu's Redis is. */
export type RedisTopology =
  | { readonly kind: 'single' }
  | { readonly kind: 'sentinel'; readonly sentinels: readonly HostPort[]; readonly name: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly HostPort[] };

/**
 * The start of every Redis key of REDIS_PREFIX: the prefix in braces, a Redis Cluster hash tag. A
 * cluster places a key by the part between its first `{` and the next `}` only, so every vcu key,
 * BullMQ's included, lives in the same slot and every Lua script and MULTI of vcu and BullMQ may
 * touch any of them together. One layout everywhere: a single Redis gets the same keys.
 */
export function redisKeyPrefix(prefix: string): string {
  return `{${prefix}}`;
}

/** Thrown by {@link loadConfig}; its message lists every invalid variable, one a line. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(
      `Invalid configuration:\n${problems
        .map((p) => `  ${p.name}=${JSON.stringify(p.value)}: expected ${p.allowed}`)
        .join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** A variable's value, or undefined when it is unset, empty or blank: every app treats those alike. */
export function givenValue(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw;
}

/** Each setting as read: its parsed value, or undefined when unset or wrong (then a problem is recorded). */
type Values = { readonly [K in SettingName]: ReturnType<(typeof SETTING_SPECS)[K]['parse']> | undefined };

/** A wrong value as shown in an error: a secret never, a URL without its password. */
function shownValue(spec: SettingSpec<unknown>, value: string): string {
  if (spec.secret === true) return '***';
  return spec.url === undefined ? value : redactUrl(value, { hideUser: spec.url === 'user-info' });
}

/** One variable: its value (or default), parsed; a wrong one is added to `problems`. */
function readOne(spec: SettingSpec<unknown> & { readonly name: string }, env: Env, app: AppName, problems: Problem[]): unknown {
  if (spec.readBy !== undefined && !spec.readBy.includes(app)) return undefined;
  const value = givenValue(env, spec.name) ?? spec.defaultFor?.(app, env) ?? spec.default;
  if (value === undefined) return undefined;
  try {
    return spec.parse(value);
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    problems.push({ name: spec.name, value: shownValue(spec, value), allowed: error.allowed });
    return undefined;
  }
}

function readAll(env: Env, app: AppName, problems: Problem[]): Values {
  const values: Record<string, unknown> = {};
  for (const spec of SETTINGS) values[spec.name] = readOne(spec, env, app, problems);
  return values as Values;
}

/** The rules that tie settings together, and what each process requires. */
function checkTogether(v: Values, env: Env, app: AppName, problems: Problem[]): void {
  const fail = (name: string, value: string, allowed: string): void => void problems.push({ name, value, allowed });
  if ((v.S3_ACCESS_KEY === undefined) !== (v.S3_SECRET_KEY === undefined)) {
    fail(v.S3_ACCESS_KEY === undefined ? 'S3_ACCESS_KEY' : 'S3_SECRET_KEY', '', 'a value: S3_ACCESS_KEY and S3_SECRET_KEY are set together or both left unset');
  }
  if ((app === 'watcher' || app === 'worker') && givenValue(env, 'WATCH_DIR') === undefined) {
    fail('WATCH_DIR', '', 'the path of the folder to watch (required)');
  }
  if (v.ASSEMBLE === true && v.CHUNK_SIZE !== undefined && v.CHUNK_SIZE < MIN_PART_SIZE) {
    fail('CHUNK_SIZE', String(env['CHUNK_SIZE'] ?? v.CHUNK_SIZE), 'at least 5 MiB (5242880) when ASSEMBLE=true: S3 joins parts of 5 MiB or more only');
  }
  checkRedisTopology(v, env, fail);
  if (app === 'dashboard' && v.DASHBOARD_AUTH === true && v.DASHBOARD_PASSWORD === '') {
    fail('DASHBOARD_PASSWORD', '', 'a password: Bull Board can retry and delete jobs, so it is never served without one unless DASHBOARD_AUTH=off is set explicitly');
  }
}

/** Sentinel or Cluster, not both; a Sentinel group needs its name; a Cluster has database 0 only. */
function checkRedisTopology(v: Values, env: Env, fail: (name: string, value: string, allowed: string) => void): void {
  const sentinels = v.REDIS_SENTINELS !== undefined;
  if (sentinels && v.REDIS_CLUSTER_NODES !== undefined) {
    fail('REDIS_CLUSTER_NODES', env['REDIS_CLUSTER_NODES'] ?? '', 'to be unset when REDIS_SENTINELS is set: Redis is either a Sentinel group or a Cluster');
  }
  if (sentinels && v.REDIS_SENTINEL_NAME === undefined) {
    fail('REDIS_SENTINEL_NAME', '', 'the name of the primary the sentinels monitor (required with REDIS_SENTINELS), e.g. mymaster');
  }
  if (!sentinels && v.REDIS_SENTINEL_NAME !== undefined) {
    fail('REDIS_SENTINELS', '', 'the sentinels, host:port,… (REDIS_SENTINEL_NAME is set, so Sentinel is meant)');
  }
  if (v.REDIS_CLUSTER_NODES !== undefined && v.REDIS_URL !== undefined && !['', '/', '/0'].includes(new URL(v.REDIS_URL).pathname)) {
    fail('REDIS_URL', redactUrl(v.REDIS_URL), 'no database number, or 0, with REDIS_CLUSTER_NODES: a Redis Cluster has database 0 only');
  }
}

function topologyOf(v: Values): RedisTopology {
  if (v.REDIS_SENTINELS !== undefined) return { kind: 'sentinel', sentinels: v.REDIS_SENTINELS, name: must(v.REDIS_SENTINEL_NAME) };
  if (v.REDIS_CLUSTER_NODES !== undefined) return { kind: 'cluster', nodes: v.REDIS_CLUSTER_NODES };
  return { kind: 'single' };
}

/** The Config of values that were all read without a problem. */
function build(v: Values): Config {
  return {
    redis: { url: must(v.REDIS_URL), topology: topologyOf(v), keyPrefix: redisKeyPrefix(must(v.REDIS_PREFIX)) },
    s3: {
      endpoint: v.S3_ENDPOINT,
      region: must(v.S3_REGION),
      bucket: must(v.S3_BUCKET),
      accessKeyId: v.S3_ACCESS_KEY,
      secretAccessKey: v.S3_SECRET_KEY,
      forcePathStyle: must(v.S3_FORCE_PATH_STYLE),
      prefix: must(v.S3_PREFIX),
      connectTimeoutMs: must(v.S3_CONNECT_TIMEOUT_MS),
      requestTimeoutMs: must(v.S3_REQUEST_TIMEOUT_MS),
      contentMd5: must(v.S3_CONTENT_MD5),
    },
    watch: { dir: v.WATCH_DIR ?? '', patterns: must(v.WATCH_PATTERNS), pollMs: must(v.WATCH_POLL_MS), rescanMs: must(v.WATCH_RESCAN_MS), sealWhenClosed: must(v.SEAL_WHEN_CLOSED) },
    chunkSize: must(v.CHUNK_SIZE),
    multipart: { above: must(v.MULTIPART_ABOVE), partSize: must(v.MULTIPART_PART_SIZE) },
    assemble: { enabled: must(v.ASSEMBLE), keyTemplate: must(v.ASSEMBLE_KEY) },
    streamIdleMs: must(v.STREAM_IDLE_MS),
    forgetAfterMs: must(v.FORGET_AFTER_MS),
    keepCompletedJobs: must(v.KEEP_COMPLETED_JOBS),
    afterUpload: { mode: must(v.AFTER_UPLOAD), deleteAfterMs: must(v.DELETE_AFTER_MS) },
    finalizeEveryMs: must(v.FINALIZE_EVERY_MS),
    worker: { concurrency: must(v.WORKER_CONCURRENCY), lockMs: must(v.JOB_LOCK_MS) },
    log: { level: must(v.LOG_LEVEL), format: must(v.LOG_FORMAT) },
    shutdownTimeoutMs: must(v.SHUTDOWN_TIMEOUT_MS),
    metricsPort: must(v.METRICS_PORT),
    dashboard: {
      host: must(v.DASHBOARD_HOST),
      port: must(v.DASHBOARD_PORT),
      auth: must(v.DASHBOARD_AUTH),
      user: must(v.DASHBOARD_USER),
      password: v.DASHBOARD_PASSWORD ?? '',
      readOnly: must(v.DASHBOARD_READ_ONLY),
    },
  };
}

/**
 * Reads and validates every setting from `env` (SETTING_SPECS in settings.ts). Collects every
 * problem before throwing one {@link ConfigError}, so a single failed start names every wrong
 * variable. Secrets are never echoed.
 */
export function loadConfig(env: Env = process.env, { app = 'worker' }: { app?: AppName } = {}): Config {
  const problems: Problem[] = [];
  const values = readAll(env, app, problems);
  checkTogether(values, env, app, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(build(values));
}

/** Values reach here only when no problem was recorded, so each one is set. */
function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('internal: a validated setting is missing');
  return value;
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child as object);
  }
  return Object.freeze(value);
}

/**
 * For a process's `main`: the config, or exit code 2 with every problem on stderr. A wrong
 * setting stops the process at start instead of failing later on some job.
 */
export function loadConfigOrExit(app: AppName, env: Env = process.env): Config {
  try {
    return loadConfig(env, { app });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`vcu ${app}: ${err.message}\n`);
    process.exit(2);
  }
}
