import { formatBytes } from '@vcu/config';

/** A worker's memory before its chunk buffers (Node, the AWS SDK, BullMQ): about 100 MiB (BENCHMARKS.md). */
export const BASE_MEMORY = 100 * 1024 ** 2;

/** What a worker needs: the base plus one chunk buffer per upload in flight (README, "More workers"). */
export function memoryNeed(concurrency: number, chunkSize: number): number {
  return BASE_MEMORY + concurrency * chunkSize;
}

/**
 * The warning to log when the process's memory limit (a container's, as `process.constrainedMemory()`
 * reports it; 0 or more than the machine's memory when there is none) is below what the worker
 * needs: the kernel would kill it mid-chunk, over and over. Undefined when the limit is enough.
 */
export function memoryLimitWarning(
  limit: number,
  need: number,
): { message: string; meta: { limit: string; need: string } } | undefined {
  if (!(limit > 0) || limit >= need) return undefined;
  return {
    message:
      'memory limit below what this worker needs (100 MiB + WORKER_CONCURRENCY × CHUNK_SIZE): it would be killed mid-chunk; raise WORKER_MEMORY (docker compose) or lower WORKER_CONCURRENCY or CHUNK_SIZE',
    meta: { limit: formatBytes(limit), need: formatBytes(need) },
  };
}
