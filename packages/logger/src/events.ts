/**
 * Every log event vcu writes, in one table: its name (the `event` field of the line), level and
 * message. The message is a fixed sentence; values go in the line's fields, so lines group by
 * event. Tests, the bench and operators' alerts match on `event`, never on message text.
 */
export const EVENTS = {
  // the Redis connection (packages/redis)
  'redis.connected': { level: 'info', message: 'connected to Redis' },
  'redis.unreachable': { level: 'warn', message: 'Redis unreachable; retrying until it answers' },
  'redis.lost': { level: 'warn', message: 'Redis connection lost; retrying until it is back' },
  'redis.restored': { level: 'info', message: 'Redis connection restored' },
  'redis.wrong-password': { level: 'error', message: 'Redis refused the password: the password or ACL user name in REDIS_URL is wrong, or that ACL user is disabled; retrying every few seconds until it is fixed, no restart needed' },
  'redis.no-password': { level: 'error', message: 'Redis requires a password and REDIS_URL has none; retrying every few seconds until it is fixed, no restart needed' },
  'redis.no-permission': { level: 'error', message: 'the Redis ACL user of REDIS_URL lacks a permission vcu needs (every command and key under REDIS_PREFIX); retrying every few seconds until it is fixed, no restart needed' },
  'redis.out-of-memory': { level: 'error', message: 'Redis is out of memory (maxmemory reached): it refuses every write; vcu retries until it accepts them again. Give Redis more memory, or let vcu forget more (FORGET_AFTER_MS, KEEP_COMPLETED_JOBS)' },
  'redis.evicts': { level: 'warn', message: 'Redis may evict keys under memory pressure, which would delete jobs and checkpoints: set maxmemory-policy noeviction' },
  'queue.error': { level: 'warn', message: 'queue error' },

  // every process (packages/runtime, apps/*/main.ts)
  'app.starting': { level: 'info', message: 'starting' },
  'shutdown.started': { level: 'info', message: 'stop requested: finishing in-flight work, then exiting' },
  'shutdown.second-signal': { level: 'warn', message: 'a second stop signal: exiting now' },
  'shutdown.timed-out': { level: 'warn', message: 'shutdown timed out: exiting with work still in flight (it will run again)' },
  'shutdown.step-failed': { level: 'warn', message: 'closing a part failed; going on with the next' },
  'shutdown.done': { level: 'info', message: 'stopped' },
  'health.part-down': { level: 'warn', message: 'health check: a part is down' },
  'metrics.serving': { level: 'info', message: 'serving /healthz and /metrics' },
  'metrics.port-busy': { level: 'warn', message: 'cannot serve /metrics and /healthz on METRICS_PORT; going on without them' },
  'metrics.request-failed': { level: 'warn', message: 'metrics request failed' },

  // streams: one file version each (packages/streams)
  'stream.started': { level: 'info', message: 'stream started' },
  'stream.superseded': { level: 'info', message: "the file is a new version: a new stream starts; the earlier one's objects stay as they are" },
  'stream.reopened': { level: 'info', message: 'file changed after its metadata was written: the stream is reopened for a new revision' },
  'stream.aborted': { level: 'warn', message: 'stream aborted: its file is gone or can no longer be read as it was' },
  'stream.kept': { level: 'info', message: 'file removed after its upload; its stream stays in S3' },
  'chunks.enqueued': { level: 'debug', message: 'chunks enqueued' },
  'chunks.plan-failed': { level: 'warn', message: 'could not plan the next chunks; the next upload or finalize sweep does' },

  // the watched folder (apps/watcher)
  'watcher.ready': { level: 'info', message: 'watching' },
  'file.skipped': { level: 'info', message: 'skipping a file: it is not uploaded' },
  'file.unreadable': { level: 'warn', message: 'cannot read a file; it is tried again by itself' },
  'file.sync-failed': { level: 'warn', message: 'could not record a file in Redis; it is tried again by itself' },
  'directory.unreadable': { level: 'warn', message: 'cannot read a directory: the files in it are not seen' },
  'sealing.off': { level: 'info', message: 'cannot see which processes write to files here; files are finished after STREAM_IDLE_MS instead' },
  'rescan.started': { level: 'warn', message: "Redis has lost vcu's state (restarted empty?): rescanning every file to rebuild it from WATCH_DIR and S3" },
  'redis.server-changed': { level: 'warn', message: 'another Redis server answers now (a failover, or a restart from its files) and may lack the last writes: rescanning every file and checking chunk records in S3 again, as after a data loss' },
  'rescan.finished': { level: 'info', message: 'rescan finished; uploads continue' },

  'watch.error': { level: 'warn', message: 'file watching error' },
  'watch.arrivals-caught': { level: 'info', message: 'files that arrived in a burst had no file event (chokidar misses some while it rereads a busy folder): found a moment later and synced' },
  'watch.new-folder-caught': { level: 'info', message: 'files that arrived in a new folder before it was watched were found and synced' },
  'watch.inode-changed': { level: 'info', message: 'the periodic rescan found files whose change time alone moved (chmod, a link, a rewrite with size and mtime put back): they are read again' },
  'watch.missed': { level: 'warn', message: 'the periodic rescan of WATCH_DIR found files no OS event had reported (the kernel drops events when a burst overflows its queue): synced now' },
  'watch.rescan-failed': { level: 'warn', message: 'the periodic rescan of WATCH_DIR failed; the next one tries again' },

  // the worker (apps/worker)
  'worker.memory-low': { level: 'warn', message: 'memory limit below what this worker needs: it would be killed mid-chunk; raise WORKER_MEMORY (docker compose) or lower WORKER_CONCURRENCY or CHUNK_SIZE' },
  'worker.ready': { level: 'info', message: 'worker ready' },
  'worker.error': { level: 'warn', message: 'worker error' },
  'job.stalled': { level: 'warn', message: 'a job whose worker stopped mid-run (killed or frozen) runs again' },
  'job.failed': { level: 'warn', message: 'a job failed' },
  'bucket.ready': { level: 'info', message: 'bucket ready' },
  'bucket.unusable': { level: 'error', message: 'cannot use the bucket; retrying' },
  's3.down': { level: 'error', message: 'S3 is unreachable: uploads pause and nothing is dropped; they resume when it answers again' },
  's3.up': { level: 'info', message: 'S3 is reachable again: uploads resume' },
  's3.pause-failed': { level: 'warn', message: 'could not pause uploads during the S3 outage' },
  's3.probe-stopped': { level: 'warn', message: 'S3 health probe stopped' },

  // names that are not UTF-8, which chokidar cannot see (apps/watcher/src/raw-names.ts)
  'file.not-utf8': { level: 'info', message: 'file name is not valid UTF-8: found by reading its folder as bytes, and watched by polling' },
  'directory.not-utf8': { level: 'info', message: 'folder name is not valid UTF-8: the files in it are found and watched by polling' },
  'names.poll-failed': { level: 'warn', message: 'could not look at files whose names are not UTF-8; the next poll does' },

  // chunk jobs (apps/worker/src/jobs/upload-chunk.ts)
  'chunk.uploaded': { level: 'info', message: 'chunk uploaded' },
  'chunk.skipped': { level: 'info', message: 'chunk skipped: nothing to upload' },
  'chunk.retrying': { level: 'warn', message: 'chunk upload failed; it will be retried' },
  'chunk.failed': { level: 'error', message: 'chunk failed for good' },
  'chunk.refused': { level: 'error', message: 'chunk job refused: it does not match its stream, so it was not run' },
  'finalize.request-failed': { level: 'warn', message: 'could not ask for a finalize sweep; the scheduled one follows' },

  // finalize (apps/worker/src/finalize)
  'chunks.reenqueued': { level: 'debug', message: 'chunks enqueued for an idle stream' },
  'chunks.changed': { level: 'info', message: 'bytes changed after they were uploaded; uploading those chunks again' },
  'chunks.wrong-in-s3': { level: 'warn', message: 'chunk objects in S3 differ from what was recorded; uploading them again' },
  'stream.stuck': { level: 'error', message: 'a chunk of this stream failed for good: the stream waits until it is retried (Bull Board, or vcu retry-failed)' },
  'stream.assembled': { level: 'info', message: 'assembled one object from the chunks in S3' },
  'stream.complete': { level: 'info', message: 'stream complete: metadata.json written' },
  'stream.already-described': { level: 'info', message: 'stream complete: the metadata.json already in S3 describes this file' },
  'metadata.superseded': { level: 'info', message: 'metadata.json written; the file changed meanwhile, so another revision follows' },
  'finalize.swept': { level: 'debug', message: 'finalize sweep done' },
  'finalize.failed': { level: 'warn', message: 'finalize of a stream failed; the next sweep retries it' },
  'housekeeping.failed': { level: 'warn', message: 'forgetting streams, looking for files that left, or deleting uploaded files failed; the next sweep tries again' },
  'file.deleted': { level: 'info', message: 'file deleted from WATCH_DIR after its upload (AFTER_UPLOAD=delete): metadata.json in S3 describes it' },
  'file.kept': { level: 'warn', message: 'file not deleted after all (AFTER_UPLOAD=delete): it was written to while moved aside, so it is put back (and uploaded again if it changed); why says more' },
  'file.changed-in-place': { level: 'warn', message: 'file not deleted (AFTER_UPLOAD=delete): its bytes are not those in S3, though its size and modification time are the ones uploaded (rewritten in place with its modification time set back?); it is kept, and the watcher\'s next look at it (an event, the periodic rescan, a restart) uploads its bytes as a new revision (touch a file finished by a vcu older than that)' },
  'streams.forgotten': { level: 'info', message: 'forgot finished streams whose file left WATCH_DIR FORGET_AFTER_MS ago (metadata.json in S3 is their record)' },
  'streams.reconciled': { level: 'info', message: 'finished streams whose file is no longer in WATCH_DIR (or is another file now) will be forgotten after FORGET_AFTER_MS' },
  'finalize.scheduler-failed': { level: 'debug', message: 'could not refresh the finalize scheduler; the next refresh tries again' },
  'finalize.worker-restarted': { level: 'warn', message: 'a finalize sweep has been waiting while none runs: this worker stopped taking finalize jobs (its blocking Redis connection hung, seen after a Redis Cluster failover); started a new finalize worker' },
  'finalize.watch-failed': { level: 'debug', message: 'could not read the finalize queue to check that sweeps run; checking again in a few seconds' },

  // the dashboard (apps/dashboard)
  'dashboard.auth-off': { level: 'warn', message: 'DASHBOARD_AUTH=off: the dashboard is served without a password; put it behind another gate' },
  'dashboard.ready': { level: 'info', message: 'dashboard ready' },
  'dashboard.cannot-listen': { level: 'error', message: 'cannot listen on DASHBOARD_HOST and DASHBOARD_PORT' },
  'dashboard.login-failed': { level: 'warn', message: 'dashboard login failed: wrong user name or password' },
  'dashboard.login-throttled': { level: 'warn', message: 'too many failed dashboard logins: this client is refused for a while' },
  'dashboard.forgery-refused': { level: 'warn', message: 'dashboard refused a request that may be forged by another site' },
  'dashboard.request-failed': { level: 'warn', message: 'dashboard request failed' },
  'dashboard.sample-failed': { level: 'warn', message: 'the dashboard could not read the streams for its throughput chart; it tries again at the next sample' },
} as const satisfies Record<string, EventSpec>;

export interface EventSpec {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly message: string;
}

export type EventName = keyof typeof EVENTS;
