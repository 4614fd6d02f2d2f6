// What every scenario shares: options, the S3 and Redis clients, clock ticks, the cleanups to run
// on Ctrl-C, and what disturbed the run.
import type { S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { Disturbances } from './machine.js';
import type { Options } from './options.js';
import { clkTck } from './proc.js';
import { s3Client } from './s3.js';
import { settings } from './settings.js';
import { log } from './util.js';

export class Bench {
  /** Cleanups of whatever runs now (stop apps, delete keys and objects); a signal runs them. */
  readonly active = new Set<() => Promise<unknown>>();
  readonly disturbances = new Disturbances();
  private counter = 0;

  private constructor(
    readonly options: Options,
    readonly client: S3Client,
    readonly redis: Redis,
    readonly ticks: number,
  ) {}

  static async create(options: Options): Promise<Bench> {
    // connected on first use: a run of private-server scenarios alone never connects
    const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
    redis.on('error', (err: Error) => log(`redis: ${err.message}`));
    return new Bench(options, s3Client(), redis, await clkTck());
  }

  /** A fresh id for one measurement: its S3 prefix, Redis prefix and folder names start with it. */
  nextId(slug: string): string {
    this.counter += 1;
    return `${this.options.tag}-${slug}-${this.counter}`;
  }

  /** Runs `body` with `cleanup` registered for Ctrl-C, then runs `cleanup` in any case. */
  async guarded<T>(cleanup: () => Promise<unknown>, body: () => Promise<T>): Promise<T> {
    this.active.add(cleanup);
    try {
      return await body();
    } finally {
      await cleanup();
      this.active.delete(cleanup);
    }
  }

  async close(): Promise<void> {
    if (this.redis.status === 'wait') this.redis.disconnect(); // never connected: QUIT would connect first
    else await this.redis.quit().catch(() => undefined);
    this.client.destroy();
  }
}
