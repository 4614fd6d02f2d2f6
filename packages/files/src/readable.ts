import { type BigIntStats, type Stats, closeSync, fstatSync, read, readSync } from 'node:fs';

/**
 * A file vcu opened to read: positioned reads, its fstat, close. Node's FileHandle is one (every
 * call a trip through libuv's thread pool); {@link LocalFile} is the other.
 */
export interface ReadableFile {
  readonly fd: number;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(options: { bigint: true }): Promise<BigIntStats>;
  stat(options?: { bigint?: false }): Promise<Stats>;
  close(): Promise<void>;
}

/**
 * Reads up to this many bytes on the calling thread; longer reads still go through the pool, so
 * a big read from a cold disk does not hold the event loop for long. (A local filesystem on a
 * network block volume that stalls, EBS, iSCSI or RBD, holds it while it stalls: README.)
 * Lower limits were measured: 256 KiB a read and 1 MiB a turn cost the worker ~12% more CPU on
 * its main thread with the bench's small files.
 */
export const SYNC_READ_MAX = 1024 * 1024;

/**
 * What one turn of the event loop may read on the calling thread, in all: a caller reading piece
 * after piece (a digest, a probe walking a fragmented MP4) gets answers at once, and would
 * otherwise never let the loop turn. Past it, reads go through the pool until the turn ends.
 */
const TURN_BYTES = 4 * SYNC_READ_MAX;
const TURN_READS = 64;
const turn = { bytes: 0, reads: 0, ending: false };

function endTurn(): void {
  turn.bytes = 0;
  turn.reads = 0;
  turn.ending = false;
}

/** Whether a read of `length` bytes may be done on this thread now; if so, counts it. */
function mayReadHere(length: number): boolean {
  if (length > SYNC_READ_MAX || turn.bytes + length > TURN_BYTES || turn.reads >= TURN_READS) return false;
  turn.bytes += length;
  turn.reads += 1;
  if (!turn.ending) {
    turn.ending = true;
    setImmediate(endTurn);
  }
  return true;
}

/** `work`'s result, or its exception, as a settled promise (an executor that throws rejects). */
function settled<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(work()));
}

/**
 * An open file on a local filesystem (see onLocalDisk), read on the calling thread. There, open,
 * fstat, a read from the page cache and close each return at once, and each trip through libuv's
 * pool cost more than the call itself: a CPU profile of the many-small-files bench put the
 * worker's FileHandle open, read, fstat and close at ~0.9 ms of its main thread per file, close
 * alone at 0.3 ms. Reads longer than {@link SYNC_READ_MAX}, and reads past a turn's share
 * ({@link TURN_BYTES}, {@link TURN_READS}), go through the pool as before.
 */
export class LocalFile implements ReadableFile {
  private closed = false;
  /** Reads in libuv's pool not yet answered: close waits for them, so none lands on a reused descriptor. */
  private readonly inPool = new Set<Promise<unknown>>();

  constructor(readonly fd: number) {}

  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    if (mayReadHere(length)) return settled(() => ({ bytesRead: readSync(this.descriptor(), buffer, offset, length, position) }));
    const reading = new Promise<{ bytesRead: number }>((resolve, reject) => {
      read(this.descriptor(), buffer, offset, length, position, (err, bytesRead) => (err === null ? resolve({ bytesRead }) : reject(err)));
    });
    const answered: Promise<unknown> = reading.then(
      () => this.inPool.delete(answered),
      () => this.inPool.delete(answered),
    );
    this.inPool.add(answered);
    return reading;
  }

  stat(options: { bigint: true }): Promise<BigIntStats>;
  stat(options?: { bigint?: false }): Promise<Stats>;
  stat(options?: { bigint?: boolean }): Promise<BigIntStats | Stats> {
    return settled(() => (options?.bigint === true ? fstatSync(this.descriptor(), { bigint: true }) : fstatSync(this.descriptor())));
  }

  /**
   * The descriptor while the file is open. Once closed its number may be another file's, so a
   * call fails with EBADF, as FileHandle's do.
   */
  private descriptor(): number {
    if (this.closed) throw Object.assign(new Error('EBADF: file already closed'), { code: 'EBADF' });
    return this.fd;
  }

  /**
   * Closes the file once, after the reads still in the pool have their answer (as FileHandle's
   * close); later calls do nothing. Calls made meanwhile fail with EBADF.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.inPool);
    closeSync(this.fd);
  }
}
