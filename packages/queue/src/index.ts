export {
  FINALIZE_SCHEDULER_ID,
  type FinalizePayload,
  type JobMap,
  type JobName,
  QUEUE_OF,
  type QueueName,
  type UploadChunkPayload,
} from './jobs.js';
export { type RetryPolicy, backoffStrategy, jobOptions } from './policy.js';
export { type Queues, createQueues, enqueueChunks, ensureChunkJob } from './queues.js';
