import { statSync } from 'node:fs';
import path from 'node:path';
import {
  type Problem,
  ProblemError,
  parseBoolean,
  parseBucket,
  parseChoice,
  parseEndpoint,
  parseInteger,
  parseListenAddress,
  parseSize,
  parseUrl,
} from './parse.js';
import { redactUrl } from './redact.js';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

/** S3 caps a single PutObject at 5 GiB; a chunk is one object. */
export const MAX_CHUNK_SIZE = 5 * 1024 ** 3;
/** S3's smallest multipart part (all but the last): the smallest chunk assembly can join. */
export const MIN_PART_SIZE = 5 * 1024 ** 2;

/** Every vcu setting, validated. Built once per process by {@link loadConfig} and frozen. */
export interface Config {
  readonly redis: {
    /** Connection URL; may hold a password (user-info or `?password=`), so show it only through `redactUrl`. */
    readonly url: string;
    /** Every Redis key vcu writes (BullMQ's included) starts with `<prefix>:`. */
    readonly prefix: string;
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
    /**
     * Seal a file as soon as no process holds it open for writing (Linux /proc), instead of
     * waiting STREAM_IDLE_MS. 'auto' does so where every writer is visible (not in a container).
     */
    readonly sealWhenClosed: 'auto' | 'on' | 'off';
  };
  readonly chunkSize: number;
  /** How a chunk too big for one buffer is uploaded: streamed as a multipart upload (lib-storage). */
  readonly multipart: {
    /** The chunks of a stream whose chunk size is above this are streamed in parts instead of read into memory whole. */
    readonly above: number;
    /** Bytes per part of a streamed chunk; a streamed chunk needs about 6 parts of memory. */
    readonly partSize: number;
  };
  /** Server-side assembly of one playable object per stream at finalize (ASSEMBLE). */
  readonly assemble: {
    readonly enabled: boolean;
    /** Key template: {prefix}, {streamId}, {name} (file name) and {path} (relative path). */
    readonly keyTemplate: string;
  };
  readonly streamIdleMs: number;
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

/** Which process loads the config: it decides what is required and some defaults. */
export type AppName = 'watcher' | 'worker' | 'dashboard' | 'cli';

const METRICS_PORT_DEFAULT: Record<AppName, string> = { watcher: '9101', worker: '9102', dashboard: '0', cli: '0' };

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

interface Setting {
  readonly name: string;
  readonly default: string;
  readonly doc: string;
  /** Never shown: a wrong value is reported as `***`. */
  readonly secret?: boolean;
  /** A URL, shown only through `redactUrl`: without its password, or without any user-info. */
  readonly url?: 'password' | 'user-info';
}

/** The documentation of every variable, in one place (the README's table mirrors it). */
export const SETTINGS: readonly Setting[] = [
  { name: 'REDIS_URL', default: 'redis://127.0.0.1:6379', doc: 'Redis holding the queue and the checkpoints (redis:// or rediss://); its password is never logged.', url: 'password' },
  { name: 'REDIS_PREFIX', default: 'vcu', doc: 'Prefix of every Redis key vcu writes; processes that share work must share it.' },
  { name: 'S3_ENDPOINT', default: '(AWS S3)', doc: 'S3-compatible endpoint URL, e.g. http://minio:9000; no user name or password in it.', url: 'user-info' },
  { name: 'S3_REGION', default: 'us-east-1', doc: 'Region used to sign requests.' },
  { name: 'S3_BUCKET', default: 'vcu', doc: 'Bucket for chunks and metadata; created at start if missing.' },
  { name: 'S3_ACCESS_KEY', default: '(SDK chain)', doc: 'Access key id; set with S3_SECRET_KEY, or leave both unset for the AWS default chain.' },
  { name: 'S3_SECRET_KEY', default: '(SDK chain)', doc: 'Secret key; never logged.', secret: true },
  { name: 'S3_FORCE_PATH_STYLE', default: 'true with S3_ENDPOINT', doc: 'Path-style URLs (MinIO, Ceph); virtual-host style when false.' },
  { name: 'S3_PREFIX', default: '(empty)', doc: 'Prepended to every object key, e.g. videos/.' },
  { name: 'S3_CONNECT_TIMEOUT_MS', default: '5000', doc: 'Give up connecting to S3 after this long (the job retries).' },
  { name: 'S3_REQUEST_TIMEOUT_MS', default: '120000', doc: 'Give up on an S3 request with no response after this long.' },
  { name: 'S3_CONTENT_MD5', default: 'false', doc: 'true also sends Content-MD5 with each chunk and checks the ETag, for a server that does not verify the signed SHA-256 of a request body (AWS, MinIO and Ceph do); costs ~1.4 CPU s per GiB.' },
  { name: 'WATCH_DIR', default: '(required)', doc: 'Folder to watch; workers must see it at the same path.' },
  { name: 'WATCH_PATTERNS', default: '**/*.mp4', doc: 'Comma-separated globs relative to WATCH_DIR, matched case-insensitively.' },
  { name: 'WATCH_POLL_MS', default: '0', doc: 'Poll files at this interval instead of using OS events (NFS, SMB); 0 = events.' },
  { name: 'SEAL_WHEN_CLOSED', default: 'auto', doc: 'on: a file no process has open for writing is finished at once, not after STREAM_IDLE_MS (Linux); auto: on where every writer is visible (host PID namespace, root).' },
  { name: 'CHUNK_SIZE', default: '10MiB', doc: 'Bytes per chunk object (1 B to 5 GiB); bytes or with a unit.' },
  { name: 'MULTIPART_ABOVE', default: '64MiB', doc: 'With a CHUNK_SIZE above this, chunks are streamed to S3 as multipart uploads (parts of MULTIPART_PART_SIZE) instead of being read into memory whole.' },
  { name: 'MULTIPART_PART_SIZE', default: '8MiB', doc: 'Part size of a streamed chunk (5 MiB to 512 MiB); a streamed chunk needs about 6 parts of memory.' },
  { name: 'ASSEMBLE', default: 'false', doc: 'true also joins the chunks into one object per file in S3 (UploadPartCopy); needs CHUNK_SIZE of 5 MiB or more.' },
  { name: 'ASSEMBLE_KEY', default: '{prefix}{streamId}/{name}', doc: 'Key of the assembled object: {prefix}, {streamId}, {name} (file name), {path} (relative path).' },
  { name: 'STREAM_IDLE_MS', default: '5000', doc: 'A file unchanged this long is idle: its tail chunk is uploaded and it can be finalized.' },
  { name: 'FINALIZE_EVERY_MS', default: '1000', doc: 'How often the finalize sweep looks for idle streams.' },
  { name: 'WORKER_CONCURRENCY', default: '4', doc: 'Chunks each worker process uploads at once; memory is about this × CHUNK_SIZE.' },
  { name: 'JOB_LOCK_MS', default: '30000', doc: 'A chunk whose worker died is taken over by another after about this long; finalize also checks the jobs of a stream that made no progress this long.' },
  { name: 'LOG_LEVEL', default: 'info', doc: `One of ${LOG_LEVELS.join(', ')}.` },
  { name: 'LOG_FORMAT', default: 'json', doc: `One of ${LOG_FORMATS.join(', ')} (pnpm start uses pretty).` },
  { name: 'SHUTDOWN_TIMEOUT_MS', default: '30000', doc: 'On SIGTERM, wait this long for in-flight chunks before forcing exit.' },
  { name: 'METRICS_PORT', default: '9101 watcher, 9102 worker', doc: 'Port of the /healthz and /metrics server of a watcher or worker; 0 = none.' },
  { name: 'DASHBOARD_HOST', default: '0.0.0.0 (pnpm start: 127.0.0.1)', doc: 'Address the dashboard listens on: 0.0.0.0 every IPv4 interface, 127.0.0.1 this machine only, :: IPv6 too.' },
  { name: 'DASHBOARD_PORT', default: '3000', doc: 'Port of the dashboard (Bull Board, streams, /healthz, /metrics).' },
  { name: 'DASHBOARD_USER', default: 'admin', doc: 'User name for the dashboard (HTTP basic authentication).' },
  { name: 'DASHBOARD_PASSWORD', default: '(required)', doc: 'Password for the dashboard; never logged.', secret: true },
  { name: 'DASHBOARD_AUTH', default: 'on', doc: 'off serves the dashboard without a password (only behind another gate).' },
  { name: 'DASHBOARD_READ_ONLY', default: 'false', doc: 'true hides retry, remove and other actions in Bull Board.' },
];

/**
 * Reads and validates every setting from `env`. Collects every problem before throwing one
 * {@link ConfigError}, so a single failed start names every wrong variable. Secrets are never echoed.
 */
export function loadConfig(env: Env = process.env, { app = 'worker' }: { app?: AppName } = {}): Config {
  const problems: Problem[] = [];
  const secrets = new Set(SETTINGS.filter((s) => s.secret === true).map((s) => s.name));
  const urls = new Map(SETTINGS.flatMap((s) => (s.url === undefined ? [] : [[s.name, s.url] as const])));

  function read<T>(name: string, fallback: string | undefined, parse: (raw: string) => T): T | undefined {
    const raw = env[name];
    const value = raw === undefined || raw.trim() === '' ? fallback : raw;
    if (value === undefined) return undefined;
    try {
      return parse(value);
    } catch (error) {
      if (!(error instanceof ProblemError)) throw error;
      const url = urls.get(name);
      const shown = secrets.has(name) ? '***' : url !== undefined ? redactUrl(value, { hideUser: url === 'user-info' }) : value;
      problems.push({ name, value: shown, allowed: error.allowed });
      return undefined;
    }
  }
  function fail(name: string, value: string, allowed: string): void {
    problems.push({ name, value, allowed });
  }

  const redisUrl = read('REDIS_URL', 'redis://127.0.0.1:6379', (raw) => parseUrl(raw, ['redis:', 'rediss:']).toString());
  const redisPrefix = read('REDIS_PREFIX', 'vcu', (raw) => {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(raw.trim())) throw new ProblemError('1 to 64 letters, digits, dots, dashes or underscores');
    return raw.trim();
  });

  const endpoint = read('S3_ENDPOINT', undefined, parseEndpoint);
  const region = read('S3_REGION', 'us-east-1', (raw) => {
    if (!/^[a-z0-9-]{1,64}$/.test(raw.trim())) throw new ProblemError('a region name such as us-east-1');
    return raw.trim();
  });
  const bucket = read('S3_BUCKET', 'vcu', parseBucket);
  const accessKeyId = read('S3_ACCESS_KEY', undefined, (raw) => raw.trim());
  const secretAccessKey = read('S3_SECRET_KEY', undefined, (raw) => raw.trim());
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined ? 'S3_ACCESS_KEY' : 'S3_SECRET_KEY';
    fail(missing, '', 'a value: S3_ACCESS_KEY and S3_SECRET_KEY are set together or both left unset');
  }
  const forcePathStyle = read('S3_FORCE_PATH_STYLE', endpoint === undefined ? 'false' : 'true', parseBoolean);
  const s3Prefix = read('S3_PREFIX', '', (raw) => {
    if (raw.startsWith('/') || raw.length > 512) throw new ProblemError('a key prefix not starting with / and at most 512 characters, e.g. videos/');
    return raw;
  });
  const connectTimeoutMs = read('S3_CONNECT_TIMEOUT_MS', '5000', (raw) => parseInteger(raw, 100, 600_000));
  const requestTimeoutMs = read('S3_REQUEST_TIMEOUT_MS', '120000', (raw) => parseInteger(raw, 1000, 3_600_000));
  const contentMd5 = read('S3_CONTENT_MD5', 'false', parseBoolean);

  const watchDir = read('WATCH_DIR', undefined, (raw) => {
    const dir = path.resolve(raw.trim());
    let isDir: boolean;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      throw new ProblemError('an existing directory (it does not exist or cannot be read)');
    }
    if (!isDir) throw new ProblemError('a directory (this path is not one)');
    return dir;
  });
  const needsWatchDir = app === 'watcher' || app === 'worker';
  if (needsWatchDir && (env['WATCH_DIR'] === undefined || env['WATCH_DIR'].trim() === '')) {
    fail('WATCH_DIR', '', 'the path of the folder to watch (required)');
  }
  const patterns = read('WATCH_PATTERNS', '**/*.mp4', (raw) => {
    const list = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
    if (list.length === 0 || list.some((p) => p.startsWith('/') || p.split('/').includes('..'))) {
      throw new ProblemError('comma-separated globs relative to WATCH_DIR, e.g. **/*.mp4,**/*.mov');
    }
    return list;
  });
  const pollMs = read('WATCH_POLL_MS', '0', (raw) => parseInteger(raw, 0, 600_000));
  const sealWhenClosed = read('SEAL_WHEN_CLOSED', 'auto', (raw) => parseChoice(raw, ['auto', 'on', 'off'] as const));

  const chunkSize = read('CHUNK_SIZE', '10MiB', (raw) => parseSize(raw, 1, MAX_CHUNK_SIZE));
  const multipartAbove = read('MULTIPART_ABOVE', '64MiB', (raw) => parseSize(raw, MIN_PART_SIZE, MAX_CHUNK_SIZE));
  const partSize = read('MULTIPART_PART_SIZE', '8MiB', (raw) => parseSize(raw, MIN_PART_SIZE, 512 * 1024 ** 2));
  const assemble = read('ASSEMBLE', 'false', parseBoolean);
  if (assemble === true && chunkSize !== undefined && chunkSize < MIN_PART_SIZE) {
    fail('CHUNK_SIZE', String(env['CHUNK_SIZE'] ?? chunkSize), 'at least 5 MiB (5242880) when ASSEMBLE=true: S3 joins parts of 5 MiB or more only');
  }
  const assembleKey = read('ASSEMBLE_KEY', '{prefix}{streamId}/{name}', (raw) => {
    const unknown = [...raw.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]).filter((n) => !['prefix', 'streamId', 'name', 'path'].includes(n ?? ''));
    if (unknown.length > 0 || !raw.includes('{streamId}') || raw.startsWith('/')) {
      throw new ProblemError('a key template using {prefix}, {streamId}, {name} and {path}, containing {streamId} (keys of different files must differ), e.g. {prefix}{streamId}/{name}');
    }
    return raw;
  });
  const streamIdleMs = read('STREAM_IDLE_MS', '5000', (raw) => parseInteger(raw, 10, 86_400_000));
  const finalizeEveryMs = read('FINALIZE_EVERY_MS', '1000', (raw) => parseInteger(raw, 100, 86_400_000));
  const concurrency = read('WORKER_CONCURRENCY', '4', (raw) => parseInteger(raw, 1, 256));
  const lockMs = read('JOB_LOCK_MS', '30000', (raw) => parseInteger(raw, 1000, 600_000));
  const level = read('LOG_LEVEL', 'info', (raw) => parseChoice(raw, LOG_LEVELS));
  const format = read('LOG_FORMAT', 'json', (raw) => parseChoice(raw, LOG_FORMATS));
  const shutdownTimeoutMs = read('SHUTDOWN_TIMEOUT_MS', '30000', (raw) => parseInteger(raw, 0, 3_600_000));

  const metricsPort = read('METRICS_PORT', METRICS_PORT_DEFAULT[app], (raw) => parseInteger(raw, 0, 65_535));
  const dashboardHost = read('DASHBOARD_HOST', '0.0.0.0', parseListenAddress);
  const dashboardPort = read('DASHBOARD_PORT', '3000', (raw) => parseInteger(raw, 1, 65_535));
  const dashboardAuth = read('DASHBOARD_AUTH', 'on', (raw) => parseChoice(raw, ['on', 'off'] as const) === 'on');
  const dashboardUser = read('DASHBOARD_USER', 'admin', (raw) => raw.trim());
  const dashboardPassword = env['DASHBOARD_PASSWORD'] ?? '';
  if (app === 'dashboard' && dashboardAuth === true && dashboardPassword === '') {
    fail('DASHBOARD_PASSWORD', '', 'a password: Bull Board can retry and delete jobs, so it is never served without one unless DASHBOARD_AUTH=off is set explicitly');
  }
  const dashboardReadOnly = read('DASHBOARD_READ_ONLY', 'false', parseBoolean);

  if (problems.length > 0) throw new ConfigError(problems);

  return deepFreeze({
    redis: { url: must(redisUrl), prefix: must(redisPrefix) },
    s3: {
      endpoint,
      region: must(region),
      bucket: must(bucket),
      accessKeyId,
      secretAccessKey,
      forcePathStyle: must(forcePathStyle),
      prefix: must(s3Prefix),
      connectTimeoutMs: must(connectTimeoutMs),
      requestTimeoutMs: must(requestTimeoutMs),
      contentMd5: must(contentMd5),
    },
    watch: { dir: watchDir ?? '', patterns: must(patterns), pollMs: must(pollMs), sealWhenClosed: must(sealWhenClosed) },
    chunkSize: must(chunkSize),
    multipart: { above: must(multipartAbove), partSize: must(partSize) },
    assemble: { enabled: must(assemble), keyTemplate: must(assembleKey) },
    streamIdleMs: must(streamIdleMs),
    finalizeEveryMs: must(finalizeEveryMs),
    worker: { concurrency: must(concurrency), lockMs: must(lockMs) },
    log: { level: must(level), format: must(format) },
    shutdownTimeoutMs: must(shutdownTimeoutMs),
    metricsPort: must(metricsPort),
    dashboard: {
      host: must(dashboardHost),
      port: must(dashboardPort),
      auth: must(dashboardAuth),
      user: must(dashboardUser),
      password: dashboardPassword,
      readOnly: must(dashboardReadOnly),
    },
  });
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
