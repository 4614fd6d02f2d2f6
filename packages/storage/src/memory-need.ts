import { streamedChunkMemory } from './multipart.js';

/** The settings a worker's memory follows (a part of @vcu/config's Config). */
export interface UploadMemorySettings {
  readonly chunkSize: number;
  readonly multipart: { readonly above: number; readonly partSize: number };
  readonly worker: { readonly concurrency: number };
}

/**
 * A worker's memory besides its chunk buffers: Node, the AWS SDK, BullMQ, and the pages of the node
 * binary it keeps running, which count against a container's limit. Measured by the bench (a worker
 * in a memory cgroup, 5,000 small files, defaults, one run per limit): in 140 MiB (the old figure,
 * 100 MiB + the budget) the worker crawled, the kernel dropping the pages of node's code it runs
 * and reading them back from disk; in 150 MiB it ran at 0.94 of its speed without a limit, in
 * 160-200 MiB at 1.00-1.04. 140 MiB + the budget (180 MiB) leaves room for what a cgroup v2
 * container also counts (socket buffers) and for the heap's variation; BENCHMARKS.md runs it.
 */
const BASE_MEMORY = 140 * 1024 ** 2;

/**
 * The bytes a worker's chunks in flight may hold (its memory budget): WORKER_CONCURRENCY chunk
 * buffers or, for chunks streamed in parts (CHUNK_SIZE above MULTIPART_ABOVE), their parts.
 * Smaller chunks (many small files) share it: more of them are in flight at once.
 */
export function chunkBudget(config: UploadMemorySettings): number {
  const perChunk = config.chunkSize > config.multipart.above ? streamedChunkMemory(config.multipart.partSize) : config.chunkSize;
  return config.worker.concurrency * perChunk;
}

/** What a worker needs: the base plus its chunk budget (README, settings; the bench runs a worker in a memory limit of it). */
export function memoryNeed(config: UploadMemorySettings): number {
  return BASE_MEMORY + chunkBudget(config);
}
