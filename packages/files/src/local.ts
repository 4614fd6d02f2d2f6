import { statfs } from 'node:fs/promises';

/**
 * Linux statfs types of filesystems on this machine's own disks or in its memory: a metadata call
 * there (lstat, fstat, access) is answered from the kernel's caches or a local disk. Anything else
 * (NFS, SMB, FUSE, 9p, CephFS, a type not listed) may stop answering along with its server.
 */
const LOCAL_TYPES: ReadonlySet<number> = new Set([
  0xef53, // ext2, ext3, ext4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs (a container's own layers)
]);

/** How long a folder's answer is kept: a share mounted on a watched folder later is noticed within this. */
const KEEP_MS = 60_000;
/** Folders remembered at most; past this the answers start over. */
const FOLDERS = 4096;

const answers = new Map<string, { readonly at: number; readonly local: Promise<boolean> }>();

/** The folder an absolute `file` is in (for a name that is not UTF-8, its bytes up to the last `/`); undefined for a relative path. */
function folderOf(file: string | Buffer): string | Buffer | undefined {
  if ((typeof file === 'string' ? file.charCodeAt(0) : file[0]) !== 0x2f) return undefined;
  const slash = typeof file === 'string' ? file.lastIndexOf('/') : file.lastIndexOf(0x2f);
  if (slash <= 0) return '/';
  return typeof file === 'string' ? file.slice(0, slash) : file.subarray(0, slash);
}

/**
 * Whether the folder holding `file` is on a local filesystem, so that metadata calls on its files
 * may run on the calling thread. Through libuv's thread pool each such call costs ~5× the CPU of
 * the call itself (two thread handovers for a few µs of work): with thousands of new files, the
 * watcher's lstat and access were a fifth of its CPU (pnpm bench --only=many, --cpu-prof). On a
 * network share they stay in the pool: a call that hangs with its server then holds a pool thread,
 * not the event loop, so /healthz still answers (files: down) and SIGTERM still ends the process.
 * Asked of the kernel once per folder (statfs, in the pool) and kept for {@link KEEP_MS}; false
 * when it cannot say, for a relative path (its folder depends on the working directory), and off Linux.
 */
export function onLocalDisk(file: string | Buffer, now: number = Date.now()): Promise<boolean> {
  const folder = folderOf(file);
  if (process.platform !== 'linux' || folder === undefined) return Promise.resolve(false);
  // a folder whose name is not UTF-8 is keyed apart: its bytes read as latin1 may spell a UTF-8 name
  const key = typeof folder === 'string' ? `s:${folder}` : `b:${folder.toString('latin1')}`;
  const known = answers.get(key);
  if (known !== undefined && now - known.at < KEEP_MS) return known.local;
  if (answers.size >= FOLDERS) answers.clear();
  const local = statfs(folder).then(
    (s) => LOCAL_TYPES.has(Number(s.type)),
    () => false,
  );
  answers.set(key, { at: now, local });
  return local;
}
