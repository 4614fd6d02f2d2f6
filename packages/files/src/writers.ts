import { readdirSync, readlinkSync } from 'node:fs';
import { readFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { nameFromBytes } from '@vcu/files';

/**
 * Which files under `dir` some process holds open for writing, from /proc (Linux), each in vcu's
 * string form of a name (@vcu/files names.ts): a name that is not UTF-8 is compared by its bytes,
 * not by the decoded text that opens nothing. `dir` must be a real path (no symbolic links in
 * it): /proc gives the targets of descriptors that way. Returns
 * undefined when that cannot be known: not Linux, or some process's descriptors are hidden from
 * us (another user's, without root), so a writer could be missed.
 */
export async function filesOpenForWriting(dir: string): Promise<Set<string> | undefined> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  const open = new Set<string>();
  const prefix = Buffer.from(dir + path.sep);
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT' || code === 'ESRCH') continue; // exited meanwhile
      return undefined;
    }
    for (const fd of fds) {
      let target: Buffer;
      try {
        target = await readlink(`/proc/${pid}/fd/${fd}`, { encoding: 'buffer' });
      } catch {
        continue;
      }
      if (!target.subarray(0, prefix.length).equals(prefix)) continue;
      try {
        const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
        const flags = Number.parseInt(/^flags:\s+([0-7]+)/m.exec(info)?.[1] ?? '0', 8);
        // O_WRONLY = 1, O_RDWR = 2
        if ((flags & 3) !== 0) open.add(nameFromBytes(target));
      } catch {
        continue;
      }
    }
  }
  return open;
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
