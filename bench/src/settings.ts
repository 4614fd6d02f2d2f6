// What the bench talks to: the same variables the apps read, with the local Ceph RGW as default.

export interface Settings {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly forcePathStyle: string;
  readonly bucket: string;
  readonly redisUrl: string;
  /** Where test data is generated once and reused (VCU_BENCH_DATA). */
  readonly data: string;
  /** The memory limit of the worker's many-files run in a cgroup (BENCH_WORKER_LIMIT, e.g. `180MiB`, read by that run); default what the README gives a worker. */
  readonly workerLimit: string | undefined;
}

const env = (name: string): string | undefined => {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
};

export const settings: Settings = {
  endpoint: env('S3_ENDPOINT') ?? 'http://127.0.0.1:7480',
  region: env('S3_REGION') ?? 'us-east-1',
  accessKey: process.env['S3_ACCESS_KEY'] ?? 'rgwadmin',
  secretKey: process.env['S3_SECRET_KEY'] ?? 'rgwadminsecret',
  forcePathStyle: process.env['S3_FORCE_PATH_STYLE'] ?? 'true',
  bucket: env('S3_BUCKET') ?? 'vcu-bench',
  redisUrl: env('REDIS_URL') ?? 'redis://127.0.0.1:6379',
  data: env('VCU_BENCH_DATA') ?? '/tmp/vcu-bench-data',
  workerLimit: env('BENCH_WORKER_LIMIT'),
};

/** The S3 settings of the apps, as environment variables. */
export function s3Env(): Record<string, string> {
  return {
    S3_ENDPOINT: settings.endpoint,
    S3_REGION: settings.region,
    S3_ACCESS_KEY: settings.accessKey,
    S3_SECRET_KEY: settings.secretKey,
    S3_FORCE_PATH_STYLE: settings.forcePathStyle,
    S3_BUCKET: settings.bucket,
  };
}

/** True when S3 is a server on this machine (its CPU then shares the cores with vcu). */
export function s3IsLocal(): boolean {
  return ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(new URL(settings.endpoint).hostname);
}
