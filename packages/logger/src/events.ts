/**
 * Every log event vcu writes, in one table: its name (the `event` field of the line), level and
 * message. The message is a fixed sentence; values go in the line's fields, so lines group by
 * event. Tests, the bench and operators' alerts match on `event`, never on message text.
 */
export const EVENTS = {
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
  'rescan.finished': { level: 'info', message: 'rescan finished; uploads continue' },

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
  'finalize.failed': { level: 'warn', message: 'finalize of a stream failed; the next sweep retries it' },
} as const satisfies Record<string, EventSpec>;

export interface EventSpec {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly message: string;
}

export type EventName = keyof typeof EVENTS;
