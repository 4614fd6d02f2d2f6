import { type Config, formatBytes } from '@vcu/config';

/**
 * The buffer a worker's budget is sized by, and the size of the slabs it cuts buffers from
 * (memory-budget.ts): a chunk read whole, or, when chunks are streamed (CHUNK_SIZE above
 * MULTIPART_ABOVE), a part. (A bigger buffer, a part of an older stream's or a chunk of an older
 * stream cut smaller but still bigger than a part, is allocated afresh for its chunk.)
 */
export function slabSize(config: Pick<Config, 'chunkSize' | 'multipart'>): number {
  return config.chunkSize > config.multipart.above ? config.multipart.partSize : config.chunkSize;
}

/**
 * The fields of the warning to log when the process's memory limit (a container's, as `process.constrainedMemory()`
 * reports it; 0 or more than the machine's memory when there is none) is below what the worker
 * needs: the kernel would kill it mid-chunk, over and over. Undefined when the limit is enough.
 */
export function memoryLimitWarning(
  limit: number,
  need: number,
): { limit: string; need: string } | undefined {
  if (!(limit > 0) || limit >= need) return undefined;
  return { limit: formatBytes(limit), need: formatBytes(need) };
}
