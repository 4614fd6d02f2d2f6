import { createHash } from 'node:crypto';

/** What the filesystem says about one version of a file (from a bigint `stat`). */
export interface FileFacts {
  /** Relative to WATCH_DIR, `/`-separated. */
  readonly path: string;
  /**
   * The device number, kept for messages: it is not part of a file's identity (see sameFile), as
   * each host that mounts a shared folder (NFS, SMB) numbers it differently.
   */
  readonly dev: string;
  readonly ino: string;
  /** 0 where the filesystem keeps no birth time; the inode alone then tells versions apart. */
  readonly birthtimeNs: string;
  readonly size: number;
  readonly mtimeNs: string;
  /**
   * The inode's change time: moved to now by every write, and also by a modification time set
   * back (`touch -d`, `rsync -t`), which mtime alone would hide. Absent in facts not read from the
   * file system (tests, seeded state).
   */
  readonly ctimeNs?: string;
}

/** The file's modification time in whole milliseconds (what metadata.json's source.modifiedAt says). */
export function mtimeMsOf(facts: Pick<FileFacts, 'mtimeNs'>): number {
  return Number(BigInt(facts.mtimeNs) / 1_000_000n);
}

/** When the file last changed, in whole milliseconds: its change time, or its modification time where that is later or the only one known. */
export function changedMsOf(facts: Pick<FileFacts, 'mtimeNs' | 'ctimeNs'>): number {
  const mtime = BigInt(facts.mtimeNs);
  const ctime = facts.ctimeNs === undefined ? mtime : BigInt(facts.ctimeNs);
  return Number((ctime > mtime ? ctime : mtime) / 1_000_000n);
}

/** What the stream store knew of the path's current stream. */
export interface KnownVersion {
  /** '' for a stream recorded before vcu kept the device. */
  readonly dev: string;
  readonly ino: string;
  readonly birthtimeNs: string;
  readonly generation: number;
  readonly size: number;
  readonly status: 'active' | 'complete' | 'aborted';
  /** Why it was retired; 'truncated': its file was emptied, and the next bytes are a new version. */
  readonly reason?: string | undefined;
}

export type VersionDecision =
  | { readonly kind: 'same' }
  /** No stream yet for this path (new file, or Redis lost its state). */
  | { readonly kind: 'new'; readonly generation: number }
  /** Another file now has this name (new inode or birth time). */
  | { readonly kind: 'replaced'; readonly generation: number }
  /** Same file, but shorter than already seen: the old bytes are gone. */
  | { readonly kind: 'truncated'; readonly generation: number }
  /** The earlier stream of this same file was aborted (it could not be read); start afresh. */
  | { readonly kind: 'restarted'; readonly generation: number };

/**
 * Whether `file` is the very file `known` was recorded from: the same inode and birth time.
 * Another file at the same path is another version. The device number is not compared: a folder
 * shared over NFS or SMB has another one on each host that mounts it, and the watcher and the
 * workers may run on different hosts (the inode and birth time come from the file server when the
 * share is mounted alike everywhere: NFSv4, SMB with serverino; NFSv3 has no birth time: '0').
 */
export function sameFile(known: Pick<KnownVersion, 'ino' | 'birthtimeNs'>, file: Pick<FileFacts, 'ino' | 'birthtimeNs'>): boolean {
  return known.ino === file.ino && known.birthtimeNs === file.birthtimeNs;
}

/**
 * The version rules. Growth, before or after finalize, continues the stream; replacement or
 * truncation starts a new one, and the old stream's objects are left alone.
 */
export function decideVersion(known: KnownVersion | undefined, file: FileFacts): VersionDecision {
  if (known === undefined) return { kind: 'new', generation: 0 };
  if (!sameFile(known, file)) return { kind: 'replaced', generation: 0 };
  if (known.status === 'aborted') return { kind: 'restarted', generation: known.generation + 1 };
  if (file.size < known.size || known.reason === 'truncated') return { kind: 'truncated', generation: known.generation + 1 };
  return { kind: 'same' };
}

/**
 * A stream id is a pure function of the file version: the same after a watcher restart or the
 * loss of Redis, and different for a renamed, replaced or truncated file. 24 hex digits (96 bits).
 */
export function streamIdFor(file: Pick<FileFacts, 'path' | 'ino' | 'birthtimeNs'>, generation: number): string {
  return createHash('sha256')
    .update(`vcu-stream\n${file.path}\n${file.ino}\n${file.birthtimeNs}\n${generation}`)
    .digest('hex')
    .slice(0, 24);
}
