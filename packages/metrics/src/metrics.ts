import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queues } from '@vcu/queue';
import type { StreamStore } from '@vcu/state';
import type { HealthCheck } from './health.js';

/** Every metric vcu exports; names start with `vcu_`. Apps update the ones that concern them. */
export interface Metrics {
  readonly registry: Registry;
  readonly chunksUploaded: Counter;
  readonly chunksFailed: Counter<'final'>;
  readonly bytesUploaded: Counter;
  readonly chunkUploadSeconds: Histogram;
  readonly streamsCompleted: Counter;
}

export interface MetricsSources {
  /** Queue depth per state, read from Redis when scraped. */
  readonly queues?: Pick<Queues, 'chunks' | 'finalize'>;
  readonly store?: StreamStore;
  readonly streamIdleMs?: number;
  readonly health?: HealthCheck;
  readonly app: string;
}

/** The counters and the histogram this process updates itself. */
function ownMetrics(registry: Registry): Omit<Metrics, 'registry'> {
  const registers = [registry];
  return {
    chunksUploaded: new Counter({ name: 'vcu_chunks_uploaded_total', help: 'Chunks uploaded to S3 by this process.', registers }),
    chunksFailed: new Counter({
      name: 'vcu_chunks_failed_total',
      help: 'Chunk upload attempts that failed; final="true" when the job will not be retried.',
      labelNames: ['final'],
      registers,
    }),
    bytesUploaded: new Counter({ name: 'vcu_bytes_uploaded_total', help: 'Chunk bytes uploaded to S3 by this process.', registers }),
    chunkUploadSeconds: new Histogram({
      name: 'vcu_chunk_upload_duration_seconds',
      help: 'Time to read, hash and upload one chunk.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    streamsCompleted: new Counter({ name: 'vcu_streams_completed_total', help: 'metadata.json documents written by this process.', registers }),
  };
}

/** Queue depth per state, read from Redis when scraped. */
function queueGauge(registry: Registry, queues: NonNullable<MetricsSources['queues']>): void {
  new Gauge({
    name: 'vcu_queue_jobs',
    help: 'Jobs in each vcu queue by state.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const queue of [queues.chunks, queues.finalize]) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed', 'paused');
        for (const [state, count] of Object.entries(counts)) this.set({ queue: queue.name, state }, count);
      }
    },
  });
}

/** Active streams and finalize lag, read from the stream store when scraped. */
function streamGauges(registry: Registry, store: NonNullable<MetricsSources['store']>, streamIdleMs: number): void {
  new Gauge({
    name: 'vcu_active_streams',
    help: 'Streams whose metadata.json does not yet describe the whole file.',
    registers: [registry],
    async collect() {
      this.set(await store.activeCount());
    },
  });
  new Gauge({
    name: 'vcu_finalize_lag_seconds',
    help: 'How long the oldest idle stream has waited for finalize beyond STREAM_IDLE_MS (0 when none waits).',
    registers: [registry],
    async collect() {
      const oldest = await store.oldestActivity();
      this.set(Math.max(0, oldest === undefined ? 0 : (Date.now() - streamIdleMs - oldest) / 1000));
    },
  });
}

const UP_HELP = {
  redis: '1 when Redis answered the last health check, else 0.',
  s3: '1 when S3 answered the last health check, else 0 (not reported by a process that does not use S3).',
  files: "1 when the process's file system calls returned in the last health check, else 0 (watcher and worker).",
} as const;

/** vcu_redis_up, vcu_s3_up, vcu_files_up from the health check; a part the process does not check is not reported. */
function upGauges(registry: Registry, health: HealthCheck): void {
  for (const part of ['redis', 's3', 'files'] as const) {
    new Gauge({
      name: `vcu_${part}_up`,
      help: UP_HELP[part],
      registers: [registry],
      async collect() {
        const report = await health.check();
        this.reset();
        if (report[part] !== 'not checked') this.set(report[part] === 'up' ? 1 : 0);
      },
    });
  }
}

/**
 * One registry per process, with Node's default metrics (memory, CPU, event loop lag) and vcu's
 * own. Gauges that describe shared state (queue depth, active streams, finalize lag, Redis and
 * S3 up) are read when scraped, so every app's /metrics tells the same story.
 */
export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ app: sources.app });
  collectDefaultMetrics({ register: registry, prefix: 'vcu_' });
  if (sources.queues !== undefined) queueGauge(registry, sources.queues);
  if (sources.store !== undefined) streamGauges(registry, sources.store, sources.streamIdleMs ?? 0);
  if (sources.health !== undefined) upGauges(registry, sources.health);
  return { registry, ...ownMetrics(registry) };
}
