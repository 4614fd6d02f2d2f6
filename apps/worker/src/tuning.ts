/**
 * The worker's tuning numbers, each named and explained once. Settings a deployment changes are
 * in packages/config; these are what vcu was measured and tested with.
 */

/**
 * Chunk jobs a worker takes at once at most, when its chunks are small (many small files): the
 * memory budget decides how many of them fit; WORKER_CONCURRENCY is the least (concurrency.ts).
 */
export const MAX_CHUNK_JOBS = 64;

/** S3 sockets per upload in flight, plus spares for finalize's HEADs and metadata PUTs. */
export const S3_SOCKETS_PER_UPLOAD = 2;
export const S3_SPARE_SOCKETS = 8;

/** How often a worker that saw S3 go away asks again whether it answers. */
export const S3_PROBE_EVERY_MS = 2000;

/**
 * A worker that records a stream's last chunk asks for a "ready" finalize sweep under one job id
 * per this window: a thousand small files finishing together ask for a handful of sweeps.
 */
export const READY_SWEEP_WINDOW_MS = 100;

/** BullMQ looks for jobs whose worker stopped (killed, frozen) this often at most (JOB_LOCK_MS if shorter). */
export const STALLED_CHECK_MAX_MS = 30_000;

/**
 * How often a job may be found stalled before BullMQ fails it. A chunk is lost only by moving to
 * the failed set, so a killed worker's chunk goes back to the queue many times rather than fail.
 */
export const MAX_STALLED_COUNT = 1000;

/**
 * The finalize scheduler and its global concurrency of 1 live in Redis: refreshed this often (and
 * after every reconnect) so they come back if Redis lost its data.
 */
export const SCHEDULER_REFRESH_MS = 30_000;

/**
 * The finalize watchdog (workers.ts) reads the finalize queue this often; a sweep waiting this
 * long while none runs means this worker stopped taking finalize jobs, and it starts a new one.
 * Well above FINALIZE_EVERY_MS's few seconds and BullMQ's longest blocking wait (10 s).
 */
export const FINALIZE_WATCH_EVERY_MS = 5000;
export const FINALIZE_STUCK_AFTER_MS = 20_000;
