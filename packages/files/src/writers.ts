import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { setImmediate } from 'node:timers/promises';
import path from 'node:path';
import { nameFromBytes } from '@vcu/files';

/** Processes whose descriptors are read between two turns of the event loop. */
const PIDS_PER_TURN = 16;

/**
 * Which files under `dir` some process holds open for writing, from /proc (Linux), each in vcu's
 * string form of a name (@vcu/files names.ts): a name that is not UTF-8 is compared by its bytes,
 * not by the decoded text that opens nothing. `dir` must be a real path (no symbolic links in
 * it): /proc gives the targets of descriptors that way. Returns
 * undefined when that cannot be known: not Linux, or some process's descriptors are hidden from
 * us (another user's, without root), so a writer could be missed.
 *
 * /proc is read with synchronous calls, a few processes at a time with a turn of the event loop
 * between them: its files live in memory, so each call takes microseconds, while the same walk
 * through the thread pool (one round trip per descriptor, thousands per walk) took 30–500 ms of a
 * busy machine and held the pool the watcher's own file reads wait on.
 */
export async function filesOpenForWriting(dir: string): Promise<Set<string> | undefined> {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  const open = new Set<string>();
  const prefix = Buffer.from(dir + path.sep);
  for (let i = 0; i < pids.length; i += 1) {
    if (i > 0 && i % PIDS_PER_TURN === 0) await setImmediate();
    if (!writersOf(pids[i] ?? '', prefix, open)) return undefined;
  }
  return open;
}

/** Whether a file is open for writing; false when that cannot be seen. */
export type WritersLook = (absolute: string) => Promise<boolean>;

/**
 * Answers "does some process hold this file open for writing?" for a batch of files looked at
 * together: /proc is walked once per folder, and the batch's files in that folder share the walk
 * (a walk reads every process's descriptors; one per file made a sweep over thousands of small
 * finished files cost one walk per file). So an answer is as old as the batch's first look at
 * its folder: use a new look for each batch. False when that cannot be seen (see
 * filesOpenForWriting).
 */
export function writersLook(walk: (dir: string) => Promise<Set<string> | undefined> = filesOpenForWriting): WritersLook {
  const walks = new Map<string, Promise<{ dir: string; open: Set<string> | undefined }>>();
  return async (absolute) => {
    const folder = path.dirname(absolute);
    let look = walks.get(folder);
    if (look === undefined) {
      // /proc names files by their real path: the folder may be reached through a symbolic link
      look = realpath(folder).then(async (dir) => ({ dir, open: await walk(dir) }));
      walks.set(folder, look);
    }
    const { dir, open } = await look;
    return open?.has(path.join(dir, path.basename(absolute))) ?? false;
  };
}

/** Adds the files under `prefix` that process `pid` holds open for writing; false when its descriptors are hidden from us. */
function writersOf(pid: string, prefix: Buffer, open: Set<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    // gone: it exited meanwhile; any other error: its descriptors are hidden from us
    return code === 'ENOENT' || code === 'ESRCH';
  }
  for (const fd of fds) {
    let target: Buffer;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'buffer' });
    } catch {
      continue;
    }
    if (!target.subarray(0, prefix.length).equals(prefix)) continue;
    try {
      const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      const flags = Number.parseInt(/^flags:\s+([0-7]+)/m.exec(info)?.[1] ?? '0', 8);
      // O_WRONLY = 1, O_RDWR = 2
      if ((flags & 3) !== 0) open.add(nameFromBytes(target));
    } catch {
      continue;
    }
  }
  return true;
}

/** The inode of the kernel's initial PID namespace (PROC_PID_INIT_INO): a constant of Linux. */
const INIT_PID_NAMESPACE = 'pid:[4026531836]';

/**
 * Whether this process can see every writer of the watched folder: only in the host's own PID
 * namespace (in a container, with its own, the recorder's processes are not listed in this
 * /proc), and only with the right to read other users' descriptors (root, or CAP_SYS_PTRACE):
 * /proc/1/fd stands for them all.
 */
export function canSeeWriters(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    if (readlinkSync('/proc/self/ns/pid') !== INIT_PID_NAMESPACE) return false;
    readdirSync('/proc/1/fd');
    return true;
  } catch {
    return false;
  }
}
