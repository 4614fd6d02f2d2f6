export {
  FINALIZE_SCHEDULER_ID,
  type FinalizePayload,
  type JobMap,
  type JobName,
  QUEUE_OF,
  type QueueName,
  type UploadChunkPayload,
  chunkJobId,
} from './jobs.js';
export { CAPPED_BACKOFF, RETRY_POLICY, type RetryPolicy, backoffStrategy, jobOptions, retryDelayMs } from './policy.js';
export { type Queues, createQueues, enqueueChunks, ensureChunkJob } from './queues.js';
