import { statSync } from 'node:fs';
import path from 'node:path';
import {
  ProblemError,
  parseBoolean,
  parseBucket,
  parseChoice,
  parseEndpoint,
  parseHostPorts,
  parseInteger,
  parseListenAddress,
  parseRedisUrl,
  parseSize,
} from './parse.js';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

/** S3 caps a single PutObject at 5 GiB; a chunk is one object. */
export const MAX_CHUNK_SIZE = 5 * 1024 ** 3;
/** S3's smallest multipart part (all but the last): the smallest chunk assembly can join. */
export const MIN_PART_SIZE = 5 * 1024 ** 2;

/** Which process loads the config: it decides what is required and some defaults. */
export type AppName = 'watcher' | 'worker' | 'dashboard' | 'cli';

type Env = Readonly<Record<string, string | undefined>>;

/** One environment variable: how it is read, its default and what the README says of it. */
export interface SettingSpec<T> {
  /** Turns a value (the default included) into the setting, or throws a ProblemError naming what is allowed. */
  readonly parse: (raw: string) => T;
  /** The value used when the variable is unset or empty; undefined: none (the setting stays unset). */
  readonly default: string | undefined;
  /** A default that depends on the process or on another variable; `default` is then what the README shows. */
  readonly defaultFor?: (app: AppName, env: Env) => string | undefined;
  /** The README's default column, when it is not `default` in backticks (markdown). */
  readonly shown?: string;
  /** The README's meaning column (markdown). */
  readonly doc: string;
  /** Never shown: a wrong value is reported as `***`. */
  readonly secret?: boolean;
  /** A URL, shown only redacted: without its password, or without any user-info. */
  readonly url?: 'password' | 'user-info';
  /**
   * The apps that read it, when not every app does: the others ignore its value, unchecked (the
   * dashboard's container has no WATCH_DIR folder, though Compose gives every app the same settings).
   */
  readonly readBy?: readonly AppName[];
}

const setting = <T>(spec: SettingSpec<T>): SettingSpec<T> => spec;
const trimmed = (raw: string): string => raw.trim();
const integer = (min: number, max: number) => (raw: string) => parseInteger(raw, min, max);

function matching(pattern: RegExp, allowed: string) {
  return (raw: string): string => {
    if (!pattern.test(raw.trim())) throw new ProblemError(allowed);
    return raw.trim();
  };
}

function parseWatchDir(raw: string): string {
  const dir = path.resolve(raw.trim());
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new ProblemError('an existing directory (it does not exist or cannot be read)');
  }
  if (!isDir) throw new ProblemError('a directory (this path is not one)');
  return dir;
}

function parsePatterns(raw: string): readonly string[] {
  const list = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (list.length === 0 || list.some((p) => p.startsWith('/') || p.split('/').includes('..'))) {
    throw new ProblemError('comma-separated globs relative to WATCH_DIR, e.g. **/*.mp4,**/*.mov');
  }
  return list;
}

function parseS3Prefix(raw: string): string {
  if (raw.startsWith('/') || raw.length > 512) throw new ProblemError('a key prefix not starting with / and at most 512 characters, e.g. videos/');
  return raw;
}

function parseAssembleKey(raw: string): string {
  const unknown = [...raw.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]).filter((n) => !['prefix', 'streamId', 'name', 'path'].includes(n ?? ''));
  if (unknown.length > 0 || !raw.includes('{streamId}') || raw.startsWith('/')) {
    throw new ProblemError('a key template using {prefix}, {streamId}, {name} and {path}, containing {streamId} (keys of different files must differ), e.g. {prefix}{streamId}/{name}');
  }
  return raw;
}

const METRICS_PORT_DEFAULT: Record<AppName, string> = { watcher: '9101', worker: '9102', dashboard: '0', cli: '0' };

/**
 * Every vcu setting, in one table: how each variable is read, its default and its documentation.
 * loadConfig reads from it; the README's settings table is generated from it (`pnpm docs`).
 */
export const SETTING_SPECS = {
  REDIS_URL: setting({ parse: parseRedisUrl, default: 'redis://127.0.0.1:6379', url: 'password',
    doc: 'Redis holding the queue and the checkpoints (`redis://` or `rediss://`), with a password as `redis://user:password@host:6379` (a `%` in it as `%25`) or `?password=…`, and a database number as the path (`/0`); the password is never logged or shown.' }),
  REDIS_SENTINELS: setting({ parse: (raw) => parseHostPorts(raw, 'sentinel-1:26379,sentinel-2:26379,sentinel-3:26379'), default: undefined, shown: '(unset)',
    doc: 'Redis with Sentinel: the sentinels, `host:port,host:port,…`; vcu asks them for the primary of `REDIS_SENTINEL_NAME` and follows it through a failover without restarting. The user name, password, TLS (`rediss://`) and database number come from `REDIS_URL`, whose host and port are then not used. Not with `REDIS_CLUSTER_NODES`. See [Redis in production](#redis-in-production).' }),
  REDIS_SENTINEL_NAME: setting({ parse: matching(/^[A-Za-z0-9_.-]{1,128}$/, 'the name of the primary the sentinels monitor (letters, digits, dots, dashes, underscores), e.g. mymaster'), default: undefined, shown: '(required with `REDIS_SENTINELS`)',
    doc: 'The name of the primary the sentinels monitor (`sentinel monitor <name> …`).' }),
  REDIS_CLUSTER_NODES: setting({ parse: (raw) => parseHostPorts(raw, 'redis-1:6379,redis-2:6379,redis-3:6379'), default: undefined, shown: '(unset)',
    doc: 'Redis Cluster: some of its nodes, `host:port,…` (vcu learns the rest from them). The user name, password and TLS (`rediss://`) come from `REDIS_URL`, whose host and port are then not used; its database must be 0. Not with `REDIS_SENTINELS`.' }),
  REDIS_PREFIX: setting({ parse: matching(/^[A-Za-z0-9_.-]{1,64}$/, '1 to 64 letters, digits, dots, dashes or underscores'), default: 'vcu',
    doc: 'Every Redis key vcu writes starts with `{<REDIS_PREFIX>}:` (`{vcu}:` by default): the braces are a Redis Cluster hash tag that keeps all of vcu\'s keys in one slot. Processes that share work must share it.' }),
  S3_ENDPOINT: setting({ parse: parseEndpoint, default: undefined, shown: '(AWS S3)', url: 'user-info',
    doc: 'S3-compatible endpoint URL, e.g. `http://minio:9000`. `pnpm start` without it starts the embedded server. A user name or password in it (`http://key:secret@host`) is refused at start: the AWS SDK would silently ignore them; keys go in `S3_ACCESS_KEY` / `S3_SECRET_KEY`. So is a query or fragment (`?…`, `#…`).' }),
  S3_REGION: setting({ parse: matching(/^[a-z0-9-]{1,64}$/, 'a region name such as us-east-1'), default: 'us-east-1', doc: 'Region used to sign requests.' }),
  S3_BUCKET: setting({ parse: parseBucket, default: 'vcu', doc: 'Bucket for chunks and metadata; created at start if missing. A general-purpose bucket: an S3 Express directory bucket (`…--x-s3`), which signs otherwise, is refused at start.' }),
  S3_ACCESS_KEY: setting({ parse: trimmed, default: undefined, shown: '(AWS chain)',
    doc: 'Access key id; set with `S3_SECRET_KEY`, or leave both unset for the AWS default credential chain.' }),
  S3_SECRET_KEY: setting({ parse: trimmed, default: undefined, shown: '(AWS chain)', secret: true, doc: 'Secret key; never logged.' }),
  S3_FORCE_PATH_STYLE: setting({ parse: parseBoolean, default: 'false', defaultFor: (_app, env) => ((env['S3_ENDPOINT'] ?? '').trim() === '' ? 'false' : 'true'),
    shown: '`true` with `S3_ENDPOINT`, else `false`', doc: 'Path-style URLs (MinIO, Ceph); virtual-host style when false.' }),
  S3_PREFIX: setting({ parse: parseS3Prefix, default: '', shown: '(empty)', doc: 'Prepended to every object key as-is; include the slash, e.g. `videos/`.' }),
  S3_CONNECT_TIMEOUT_MS: setting({ parse: integer(100, 600_000), default: '5000', doc: 'Give up connecting to S3 after this long (the job retries).' }),
  S3_REQUEST_TIMEOUT_MS: setting({ parse: integer(1000, 3_600_000), default: '120000', doc: 'Give up on an S3 request with no response after this long.' }),
  S3_CONTENT_MD5: setting({ parse: parseBoolean, default: 'false',
    doc: '`true` also sends Content-MD5 with each chunk and checks the ETag, for a server that does not verify the signed SHA-256 of a request body (AWS, MinIO and Ceph do); costs ~1.4 CPU s per GiB.' }),
  WATCH_DIR: setting({ parse: parseWatchDir, default: undefined, readBy: ['watcher', 'worker', 'cli'], shown: '(required; `./input` for `pnpm start`)', doc: 'Folder to watch. Workers must see it at the same path.' }),
  WATCH_PATTERNS: setting({ parse: parsePatterns, default: '**/*.mp4',
    doc: 'Comma-separated globs relative to `WATCH_DIR`, matched case-insensitively. Hidden (`.x`) and temporary files (`*.part`, `*.tmp`, `*~`…) never match; symbolic links are never followed.' }),
  WATCH_POLL_MS: setting({ parse: integer(0, 600_000), default: '0', doc: 'Poll files at this interval instead of using OS events (NFS, SMB, some Docker Desktop mounts); `0` = events.' }),
  WATCH_RESCAN_MS: setting({ parse: integer(0, 86_400_000), default: '60000',
    doc: 'The watcher lists `WATCH_DIR` this often and syncs any file an OS event did not report: the kernel drops events when a burst overflows its queue (inotify `max_queued_events`, 16,384 by default), e.g. thousands of files copied in at once. `0` = never.' }),
  SEAL_WHEN_CLOSED: setting({ parse: (raw) => parseChoice(raw, ['auto', 'on', 'off'] as const), default: 'auto',
    doc: "On Linux, a file that no process holds open for writing is finished at once (tail chunk, then metadata) instead of after `STREAM_IDLE_MS`, once it has not been written for a second: by its last file event, or, for a file moved, linked or copied in with its times kept, by its modification time when that is at least 3 s older than the event (such a file is finished within a quarter of a second). `auto` does this only where the watcher can see every process: not inside a container (the recorder's processes are invisible there), and only as root or with CAP_SYS_PTRACE (to read other users' open files); `on` / `off` force it." }),
  CHUNK_SIZE: setting({ parse: (raw) => parseSize(raw, 1, MAX_CHUNK_SIZE), default: '10MiB', doc: 'Bytes per chunk object, 1 B to 5 GiB: `10485760`, `10MiB`, `8MB`, `512k`.' }),
  MULTIPART_ABOVE: setting({ parse: (raw) => parseSize(raw, MIN_PART_SIZE, MAX_CHUNK_SIZE), default: '64MiB',
    doc: 'With a `CHUNK_SIZE` above this (5 MiB to 5 GiB), every chunk is streamed to S3 as a multipart upload of `MULTIPART_PART_SIZE` parts instead of being read into memory whole: each part is read into one of two part buffers while the one before is sent from the other; its SHA-256 is computed in a first pass over its bytes and checked again before its last part is sent, and a failed upload is aborted (no parts left behind; if S3 cannot be reached to abort it, the next attempt at the chunk does).' }),
  MULTIPART_PART_SIZE: setting({ parse: (raw) => parseSize(raw, MIN_PART_SIZE, 512 * 1024 ** 2), default: '8MiB',
    doc: 'Part size of a streamed chunk (5 MiB to 512 MiB). A streamed chunk holds two part buffers, reused from chunk to chunk, so a worker needs `WORKER_CONCURRENCY × 2 × MULTIPART_PART_SIZE` above its idle ~110 MiB when `CHUNK_SIZE` is above `MULTIPART_ABOVE`.' }),
  ASSEMBLE: setting({ parse: parseBoolean, default: 'false',
    doc: '`true`: at finalize, also join the chunks into one playable object per file inside S3 (multipart UploadPartCopy: no bytes are sent again). Needs `CHUNK_SIZE` ≥ 5 MiB.' }),
  ASSEMBLE_KEY: setting({ parse: parseAssembleKey, default: '{prefix}{streamId}/{name}',
    doc: 'Key of the assembled object; `{prefix}` is `S3_PREFIX`, `{name}` the file name, `{path}` its path under `WATCH_DIR`; must contain `{streamId}`.' }),
  STREAM_IDLE_MS: setting({ parse: integer(10, 86_400_000), default: '5000', doc: 'A file unchanged this long is idle: its last chunk is uploaded and it can be finalized.' }),
  FINALIZE_EVERY_MS: setting({ parse: integer(100, 86_400_000), default: '1000', doc: 'How often the finalize sweep looks for idle streams.' }),
  WORKER_CONCURRENCY: setting({ parse: integer(1, 256), default: '4', doc: 'Chunks each worker process uploads at once (1–256); its memory is about this × `CHUNK_SIZE` (× 2 × `MULTIPART_PART_SIZE` when chunks are streamed).' }),
  JOB_LOCK_MS: setting({ parse: integer(1000, 600_000), default: '30000',
    doc: 'A worker renews its hold on a chunk every half of this; if it dies, another worker takes the chunk over after about this long. Finalize also checks, this often, that every chunk job of a stream still uploading exists, and re-adds one lost or removed by hand.' }),
  FORGET_AFTER_MS: setting({ parse: integer(0, 30 * 86_400_000), default: '3600000',
    doc: "A finished stream whose file has left `WATCH_DIR` (deleted, moved away, replaced) is forgotten by Redis this long after: its `metadata.json` in S3 is its record. A stream whose file is still there (emptied too) keeps a small record (a few hundred bytes) to notice an append, a replacement or a truncation." }),
  KEEP_COMPLETED_JOBS: setting({ parse: integer(0, 10_000_000), default: '1000',
    doc: 'Finished chunk jobs kept in Redis for Bull Board to show (the most recent ones). Failed jobs are kept until they are retried or removed, up to 100,000.' }),
  AFTER_UPLOAD: setting({ parse: (raw) => parseChoice(raw, ['keep', 'delete'] as const), default: 'keep',
    doc: "`delete` removes a file from `WATCH_DIR` once its `metadata.json` is written and it has not changed for `DELETE_AFTER_MS` (same size, mtime, inode and birth time, and no process has it open for writing where that can be seen); every deletion is logged with the stream and its metadata key. The workers need the folder writable then (a worker that cannot write it refuses to start; with compose set `INPUT_READ_ONLY=false`). A file that changes meanwhile is never deleted: it is uploaded as a new revision (a file whose change time moved after its upload is read again first, and kept, logged as `file.changed-in-place`, when its bytes are not those in S3: rewritten in place with its mtime set back)." }),
  DELETE_AFTER_MS: setting({ parse: integer(1000, 30 * 86_400_000), default: '60000', doc: 'With `AFTER_UPLOAD=delete`: how long a finished file must stay unchanged before it is deleted.' }),
  LOG_LEVEL: setting({ parse: (raw) => parseChoice(raw, LOG_LEVELS), default: 'info', doc: '`error`, `warn`, `info` or `debug`.' }),
  LOG_FORMAT: setting({ parse: (raw) => parseChoice(raw, LOG_FORMATS), default: 'json', doc: '`json` (one object a line) or `pretty`; `pnpm start` uses `pretty`.' }),
  SHUTDOWN_TIMEOUT_MS: setting({ parse: integer(0, 3_600_000), default: '30000', doc: 'On SIGTERM, stop taking work and wait this long for in-flight chunks before exiting anyway.' }),
  METRICS_PORT: setting({ parse: integer(0, 65_535), default: '0', defaultFor: (app) => METRICS_PORT_DEFAULT[app], shown: '`9101` watcher, `9102` worker',
    doc: "Port of a watcher's or worker's own `/healthz` and `/metrics`; `0` turns it off. A port in use is logged, not fatal." }),
  DASHBOARD_HOST: setting({ parse: parseListenAddress, default: '0.0.0.0', shown: '`0.0.0.0` (`pnpm start`: `127.0.0.1`)',
    doc: 'Address the dashboard listens on: `0.0.0.0` every IPv4 interface (containers), `127.0.0.1` this machine only, `::` IPv6 and IPv4.' }),
  DASHBOARD_PORT: setting({ parse: integer(1, 65_535), default: '3000', doc: 'Port of the dashboard.' }),
  DASHBOARD_USER: setting({ parse: trimmed, default: 'admin', doc: 'User name for the dashboard (HTTP basic authentication).' }),
  DASHBOARD_PASSWORD: setting({ parse: (raw) => raw, default: '', shown: '(required)', secret: true,
    doc: 'Password for the dashboard; the dashboard refuses to start without one. Never logged. `pnpm start` makes one up for the run and prints it.' }),
  DASHBOARD_AUTH: setting({ parse: (raw) => parseChoice(raw, ['on', 'off'] as const) === 'on', default: 'on',
    doc: '`off` serves the dashboard without a password — only behind another gate (it says so at start).' }),
  DASHBOARD_READ_ONLY: setting({ parse: parseBoolean, default: 'false', doc: "`true` hides Bull Board's retry, promote and remove actions." }),
};

export type SettingName = keyof typeof SETTING_SPECS;

/** The settings as a list, in the table's order (the README's too): each with its name. */
export const SETTINGS: readonly (SettingSpec<unknown> & { readonly name: SettingName })[] = Object.entries(SETTING_SPECS).map(([name, spec]) => ({
  ...(spec as SettingSpec<unknown>),
  name: name as SettingName,
}));
