import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { type FinalizePayload, type JobMap, QUEUE_OF, type UploadChunkPayload, chunkJobId } from './jobs.js';
import { jobOptions } from './policy.js';

export interface Queues {
  readonly chunks: Queue<UploadChunkPayload, unknown, 'upload-chunk'>;
  readonly finalize: Queue<FinalizePayload, unknown, 'finalize'>;
  close(): Promise<void>;
}

export interface QueueDeps {
  readonly connection: Redis | Cluster;
  readonly prefix: string;
  /** Called with every error a queue emits; a queue is never left unobserved. */
  readonly onError: (err: Error, queue: string) => void;
  /** Finished chunk jobs kept (KEEP_COMPLETED_JOBS); the policy's default when unset. */
  readonly keepCompletedJobs?: number;
}

/**
 * Entries kept in each queue's event stream (BullMQ's default, 10,000, holds ~1.5 MB per queue;
 * vcu reads none of them, and Bull Board shows jobs, not events).
 */
const EVENTS_KEPT = 500;

/** Both vcu queues on one shared connection. */
export function createQueues({ connection, prefix, onError, keepCompletedJobs }: QueueDeps): Queues {
  const chunks = new Queue<UploadChunkPayload, unknown, 'upload-chunk'>(QUEUE_OF['upload-chunk'], {
    connection,
    prefix,
    streams: { events: { maxLen: EVENTS_KEPT } },
    defaultJobOptions: jobOptions('upload-chunk', keepCompletedJobs),
  });
  const finalize = new Queue<FinalizePayload, unknown, 'finalize'>(QUEUE_OF.finalize, {
    connection,
    prefix,
    streams: { events: { maxLen: EVENTS_KEPT } },
    defaultJobOptions: jobOptions('finalize'),
  });
  chunks.on('error', (err) => onError(err, chunks.name));
  finalize.on('error', (err) => onError(err, finalize.name));
  return {
    chunks,
    finalize,
    async close() {
      await Promise.all([chunks.close(), finalize.close()]);
    },
  };
}

/**
 * Adds chunk jobs under their deterministic ids (a job id BullMQ still knows is not added twice).
 * `sha256` marks re-uploads of bytes that changed after an earlier upload. Resolves once Redis
 * has them; the jobs of all calls made in one turn of the event loop go in one addBulk (see
 * addInTurn).
 */
export async function enqueueChunks(
  queue: Queues['chunks'],
  chunks: readonly (JobMap['upload-chunk'] & { readonly sha256?: string })[],
): Promise<void> {
  if (chunks.length === 0) return;
  await addInTurn(
    queue,
    chunks.map(({ sha256, ...data }) => ({
      name: 'upload-chunk' as const,
      data,
      opts: { jobId: chunkJobId(data.streamId, data.index, data.size, sha256) },
    })),
  );
}

type ChunkJob = Parameters<Queues['chunks']['addBulk']>[0][number];

/** Jobs one addBulk carries at most: a turn's jobs beyond them go in further calls. */
const BULK_MAX = 500;

/** One caller's jobs, and its promise to settle. */
interface Adding {
  readonly jobs: readonly ChunkJob[];
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** The callers that added jobs to a queue in this turn, in order. */
const turns = new WeakMap<Queues['chunks'], Adding[]>();

/**
 * Adds `jobs` with the other jobs added to `queue` in this turn of the event loop, in one addBulk
 * (BULK_MAX jobs a call) when the turn ends. Why: BullMQ builds an ioredis pipeline per addBulk,
 * copying every script it defines into it (~14 KB), and the watcher called it once per file: with
 * 5,000 files arriving at once that was a sixth of what it allocated. The jobs and their order are
 * the same. When the turn's calls fail, each caller's jobs are sent again on their own, so that
 * one caller's failure (a job BullMQ refuses) is not another's; jobs that did go in are no-ops
 * when added again, by their ids.
 */
function addInTurn(queue: Queues['chunks'], jobs: readonly ChunkJob[]): Promise<void> {
  return new Promise<void>((resolve, reject) => callersOf(queue).push({ jobs, resolve, reject }));
}

/** The callers of this turn for `queue`; the first of a turn has the turn sent when it ends. */
function callersOf(queue: Queues['chunks']): Adding[] {
  const known = turns.get(queue);
  if (known !== undefined) return known;
  const callers: Adding[] = [];
  turns.set(queue, callers);
  setImmediate(() => {
    turns.delete(queue);
    void sendTurn(queue, callers);
  });
  return callers;
}

/** Sends a turn's jobs together; if that fails, each caller's on their own. Settles every caller, and never rejects. */
async function sendTurn(queue: Queues['chunks'], callers: readonly Adding[]): Promise<void> {
  try {
    await addInBulks(queue, callers.flatMap((caller) => caller.jobs));
    callers.forEach((caller) => caller.resolve());
  } catch (err) {
    if (callers.length === 1) return callers[0]?.reject(err);
    await Promise.all(callers.map(async (caller) => sendOwn(queue, caller)));
  }
}

/** Sends one caller's jobs on their own, and settles it. */
async function sendOwn(queue: Queues['chunks'], caller: Adding): Promise<void> {
  try {
    await addInBulks(queue, caller.jobs);
    caller.resolve();
  } catch (err) {
    caller.reject(err);
  }
}

/** Adds the jobs in order, BULK_MAX to an addBulk. */
async function addInBulks(queue: Queues['chunks'], jobs: readonly ChunkJob[]): Promise<void> {
  for (let from = 0; from < jobs.length; from += BULK_MAX) await queue.addBulk(jobs.slice(from, from + BULK_MAX));
}

/**
 * Makes sure one upload of this chunk is waiting or running: 'pending' when its job is already
 * queued or active; 'failed' when it failed for good (it stays failed until an operator retries
 * it: adding it again would only fail again); otherwise a completed job under the same id is
 * removed (its upload no longer matches what finalize found) and the job is added again.
 */
export async function ensureChunkJob(
  queue: Queues['chunks'],
  data: JobMap['upload-chunk'],
  sha256?: string,
): Promise<'pending' | 'added' | 'failed'> {
  const jobId = chunkJobId(data.streamId, data.index, data.size, sha256);
  const job = await queue.getJob(jobId);
  if (job !== undefined && job.finishedOn === undefined) return 'pending';
  if (job !== undefined && (await job.isFailed())) return 'failed';
  if (job !== undefined) await job.remove();
  await queue.add('upload-chunk', data, { jobId });
  return 'added';
}
