import { describeError, logEvent, onceIn } from '@vcu/logger';
import type { FinalizePayload } from '@vcu/queue';
import { createLimiter } from '@vcu/runtime';
import type { FinalizeContext, FinalizeDeps, StreamOutcome } from './context.js';
import { createDigestCache } from './digests.js';
import { deleteUploaded, forgetGone, retireMissing } from './housekeeping.js';
import { createStreamFinalizer } from './stream.js';

/** Streams one sweep looks at, oldest activity first; the next scheduled sweep takes those after them (nextPage). */
export const SWEEP_LIMIT = 500;
/**
 * Streams one sweep finalizes at once. Finalizing a stream is mostly waiting (Redis, a stat, the
 * metadata PUT; a HEAD per chunk recorded before Redis lost data), so a sweep that took them one
 * by one finished ~50 small files a second; the sweep is still the only one running (the queue's
 * global concurrency is 1). While a worker keeps up to MAX_CHUNK_JOBS small PUTs in flight, each
 * metadata PUT waits behind them: at 16 at once finalize fell behind the uploads (~70 against
 * ~180 small files a second) and caught up only after the last chunk, 5-6 s later (bench, 5,000
 * files). What weighs more is bounded apart: whole-file digests (DIGESTS_PARALLEL) and the
 * heavy part of a stream's finalize (HEAVY_PARALLEL).
 */
const SWEEP_PARALLEL = 64;
/**
 * Streams of a sweep doing their heavy part at once (FinalizeContext.heavy): up to VERIFY_PARALLEL
 * HEADs or an assembly's part copies each, or an MP4 probe reading up to 64 MiB. Kept at what
 * SWEEP_PARALLEL was before it was raised, so a Redis failover (every record needs a HEAD) or
 * ASSEMBLE asks no more of S3's sockets (S3_SPARE_SOCKETS) and of memory than then.
 */
const HEAVY_PARALLEL = 16;
/**
 * Times a `ready` sweep takes the ready set again before it ends. A worker asks for a ready sweep
 * under one job id per 100 ms; a stream whose last chunk is recorded while that very sweep runs
 * asks in vain (BullMQ keeps one job per id) and would wait for the scheduled sweep, up to
 * FINALIZE_EVERY_MS later: the sweep takes it instead. Bounded, so that the scheduled sweep (and
 * its housekeeping) is not held back for long.
 */
const READY_ROUNDS = 20;
/** How long a repeated line about one stream (stuck, failing the same way) stays quiet. */
const REPEAT_QUIET_MS = 10 * 60_000;

/**
 * The finalize sweep, run by the job scheduler (one at a time across all replicas). For every
 * idle stream: make sure every chunk of the file as it is now is uploaded, re-read the file and
 * re-upload ranges whose bytes changed since their upload (MP4 muxers patch early bytes when
 * they close a file), check every chunk object in S3, then write metadata.json (stream.ts).
 * Anything not yet true leaves the stream for the next sweep, so a failed finalize is simply
 * retried.
 */
export function createFinalize(deps: FinalizeDeps) {
  const now = deps.now ?? Date.now;
  const ctx: FinalizeContext = {
    ...deps,
    now,
    log: deps.logger.child({ module: 'finalize' }),
    digests: createDigestCache(deps.watchDir, now),
    firstInAWhile: onceIn(REPEAT_QUIET_MS, now),
    heavy: createLimiter(HEAVY_PARALLEL),
  };
  const settleAll = createSettler(ctx);
  const pages = createIdlePages(deps.store);

  /**
   * One sweep: the scheduler's takes the idle streams (oldest activity first, SWEEP_LIMIT of them,
   * a page further each time while there are more: nextPage); a `ready` sweep only those whose
   * last chunk a worker just recorded, taking them again until none are left. The streams are read in one pipeline and finalized
   * SWEEP_PARALLEL at a time. A stream record a moment old
   * can only make a stream look less finished than it is (it waits for the next sweep): metadata is
   * written only after the file, the chunk records and S3 are checked afresh, and store.complete
   * refuses a stream that changed meanwhile. Each sweep ends with a `finalize.swept` (debug) line:
   * how long it took and how many streams it looked at, which must follow the live streams, never
   * the finished ones Redis keeps (bench: `pnpm bench -- --only=scale`).
   */
  return async function finalize(job?: { readonly data: FinalizePayload }): Promise<Record<StreamOutcome, number>> {
    const counts: Record<StreamOutcome, number> = { complete: 0, pending: 0, changed: 0, aborted: 0, stuck: 0, skipped: 0, failed: 0 };
    if (deps.s3Up?.() === false) return counts;
    const started = performance.now();
    const ready = job?.data.ready === true;
    let looked = 0;
    if (ready) {
      // streams made ready while this sweep runs are taken too (see READY_ROUNDS)
      for (let round = 0; round < READY_ROUNDS; round += 1) {
        const ids = await deps.store.takeReady(now() - deps.streamIdleMs, SWEEP_LIMIT);
        if (ids.length === 0) break;
        looked += await settleAll(ids, counts);
      }
    } else {
      const ids = await pages.next(now() - deps.streamIdleMs);
      looked = await settleAll(ids, counts);
      await pages.swept(ids.length, counts);
    }
    // the scheduled sweep also keeps Redis to what is live, and deletes uploaded files if asked to
    const kept = ready ? { gone: 0, deletable: 0, present: 0 } : await housekeeping(ctx);
    const ms = Math.round((performance.now() - started) * 1000) / 1000;
    logEvent(ctx.log, 'finalize.swept', { sweep: ready ? 'ready' : 'scheduled', ms, streams: looked, ...kept, ...nonZero(counts) });
    return counts;
  };
}

/** Finalizes streams by id: read in one pipeline, SWEEP_PARALLEL at a time; returns how many. */
function createSettler(ctx: FinalizeContext) {
  const finalizeStream = createStreamFinalizer(ctx);

  /** One stream, its failure counted and said (once a while per stream and error), never thrown. */
  async function settle(id: string, stream: Parameters<typeof finalizeStream>[0], counts: Record<StreamOutcome, number>): Promise<void> {
    try {
      counts[await finalizeStream(stream)] += 1;
    } catch (err) {
      counts.failed += 1;
      ctx.onFailure?.(err);
      if (ctx.firstInAWhile(`failed:${id}:${describeError(err)}`)) logEvent(ctx.log, 'finalize.failed', { stream: id, path: stream?.path, err });
    }
  }

  return async function settleAll(ids: readonly string[], counts: Record<StreamOutcome, number>): Promise<number> {
    const streams = await ctx.store.getMany(ids);
    const limit = createLimiter(SWEEP_PARALLEL);
    await Promise.all(ids.map((id, i) => limit(() => settle(id, streams[i], counts))));
    return ids.length;
  };
}

/**
 * Forgets streams gone long enough, retires a batch of kept streams whose file left, and deletes
 * uploaded files if asked to; returns how many streams each looked at.
 */
async function housekeeping(ctx: FinalizeContext): Promise<{ gone: number; deletable: number; present: number }> {
  const looked = { gone: 0, deletable: 0, present: 0 };
  try {
    looked.gone = await forgetGone(ctx);
    looked.present = await retireMissing(ctx);
    looked.deletable = await deleteUploaded(ctx);
  } catch (err) {
    ctx.onFailure?.(err);
    if (ctx.firstInAWhile(`housekeeping:${describeError(err)}`)) logEvent(ctx.log, 'housekeeping.failed', { err });
  }
  return looked;
}

/** The scheduled sweep's pages of idle streams, oldest first (see nextPage; the place is kept in Redis). */
function createIdlePages(store: FinalizeDeps['store']) {
  /** How many idle streams this sweep passed over. */
  let skipped = 0;
  return {
    /** A page from where the last sweep left off, or from the oldest when none is left there. */
    async next(before: number): Promise<string[]> {
      skipped = await store.sweepSkip();
      const ids = await store.idle(before, SWEEP_LIMIT, skipped);
      if (ids.length > 0 || skipped === 0) return ids;
      skipped = 0;
      return store.idle(before, SWEEP_LIMIT);
    },
    async swept(taken: number, counts: Readonly<Record<StreamOutcome, number>>): Promise<void> {
      await store.setSweepSkip(nextPage(skipped, taken, counts));
    },
  };
}

/**
 * How many idle streams the next scheduled sweep passes over. After a full page, those of it that
 * are still idle: streams that cannot finish yet (a chunk job failed for good, uploads still
 * waiting) stay the oldest, and with SWEEP_LIMIT of them a sweep that always began at the oldest
 * never reached a newer stream only it would finalize (a recording whose last chunk went up
 * before it was idle). The finished, aborted and changed ones left the set. After a short page,
 * every idle stream was seen: from the oldest again. A place a little off (a stream that left
 * the set meanwhile) only moves a stream to the next pass.
 */
export function nextPage(skip: number, taken: number, counts: Readonly<Record<StreamOutcome, number>>): number {
  if (taken < SWEEP_LIMIT) return 0;
  return skip + taken - counts.complete - counts.aborted - counts.changed;
}

/** The outcomes that happened, for a log line. */
function nonZero(counts: Record<StreamOutcome, number>): Partial<Record<StreamOutcome, number>> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}
