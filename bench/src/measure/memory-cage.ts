// A memory cgroup the bench runs one worker in, as a container with a memory limit would, to
// check what the README says a worker needs (memoryNeed in @vcu/storage): the pages of the node
// binary count against the limit too, and a worker short of room for them crawls.
import { copyFile, mkdir, open, readFile, readdir, rm, rmdir, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { log, run, sleep } from '../util.js';

/** cgroup v1's memory controller (hosts where it is mounted and root may make groups in it). */
const V1 = '/sys/fs/cgroup/memory';
/** The names the bench gives its groups and node copies end so (bench.nextId('cage')). */
const OURS = /-cage-\d+$/;
/** statfs type of tmpfs: its pages cannot be dropped, so a node copy there would be charged to no one. */
const TMPFS_MAGIC = 0x01021994;

/** What the cgroup saw while the worker ran in it. */
export interface CageFigures {
  readonly limit: number;
  /** The most memory charged to it at once (memory.max_usage_in_bytes): the process's memory and the page cache it brought in. */
  readonly peak: number;
  /** How often a charge hit the limit and the kernel had to reclaim first (memory.failcnt). */
  readonly limitHits: number;
  /** Pages the worker had to read back from disk (memory.stat pgmajfault): the cost of a limit that is too tight. */
  readonly majorFaults: number;
  /** Processes the kernel's OOM killer killed in it (memory.oom_control `oom_kill`; undefined on kernels that do not count them). */
  readonly oomKills: number | undefined;
}

export class MemoryCage {
  private constructor(
    private readonly dir: string,
    private readonly nodeCopy: string,
    readonly limit: number,
  ) {}

  /**
   * A cgroup `name` with a memory limit of `limit` bytes, and a copy of this node binary in
   * `dataDir` that nothing has read yet, so that its pages are charged to the cgroup as the
   * worker maps them (a container's node is its own). A string says why there can be none.
   */
  static async make(name: string, limit: number, dataDir: string): Promise<MemoryCage | string> {
    await removeLeftovers(dataDir);
    if ((await statfs(dataDir)).type === TMPFS_MAGIC) return `${dataDir} (VCU_BENCH_DATA) is on tmpfs, whose pages the kernel cannot drop: put it on a disk`;
    const dir = path.join(V1, name);
    try {
      await mkdir(dir);
    } catch (err) {
      return `no memory cgroup could be made (${(err as Error).message}): it needs root and cgroup v1's memory controller at ${V1}`;
    }
    const cage = new MemoryCage(dir, path.join(dataDir, `node-${name}`), limit);
    const why = await cage.prepare().catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
    if (why === undefined) return cage;
    await cage.remove();
    return why;
  }

  private async prepare(): Promise<string | undefined> {
    await writeFile(path.join(this.dir, 'memory.limit_in_bytes'), String(this.limit));
    await copyFile(process.execPath, this.nodeCopy);
    const file = await open(this.nodeCopy, 'r');
    try {
      await file.sync();
    } finally {
      await file.close();
    }
    // the copy's pages are in the page cache, charged to the bench: drop them (POSIX_FADV_DONTNEED)
    const dropped = await run('dd', [`if=${this.nodeCopy}`, 'iflag=nocache', 'count=0', 'status=none']);
    return dropped.ok ? undefined : `could not drop the node copy from the page cache (dd iflag=nocache): ${dropped.stderr.trim()}`;
  }

  /** The command line up to node (AppOptions.node): a shell that joins the cgroup, then the copy of node. */
  get node(): string[] {
    return ['sh', '-c', 'echo $$ > "$1" && shift && exec "$@"', 'sh', path.join(this.dir, 'cgroup.procs'), this.nodeCopy];
  }

  /** What the cgroup counted; undefined (and logged) if it cannot be read. */
  async figures(): Promise<CageFigures | undefined> {
    const read = async (file: string): Promise<string> => readFile(path.join(this.dir, file), 'utf8');
    try {
      const oom = /^oom_kill (\d+)$/m.exec(await read('memory.oom_control'))?.[1];
      return {
        limit: this.limit,
        peak: Number(await read('memory.max_usage_in_bytes')),
        limitHits: Number(await read('memory.failcnt')),
        majorFaults: Number(/^pgmajfault (\d+)$/m.exec(await read('memory.stat'))?.[1] ?? NaN),
        oomKills: oom === undefined ? undefined : Number(oom),
      };
    } catch (err) {
      log(`worker in a memory limit: could not read ${this.dir}: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** Removes the node copy, and the cgroup once no process is left in it (Ctrl-C stops the worker alongside); logs what it cannot. */
  async remove(): Promise<void> {
    await rm(this.nodeCopy, { force: true });
    for (const until = Date.now() + 60_000; ; await sleep(200)) {
      try {
        await rmdir(this.dir);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        if (code !== 'EBUSY' || Date.now() > until) {
          log(`worker in a memory limit: could not remove ${this.dir}: ${(err as Error).message}`);
          return;
        }
      }
    }
  }
}

/** Groups and node copies a bench that was killed left behind (a group with a process still in it stays). */
async function removeLeftovers(dataDir: string): Promise<void> {
  const names = async (dir: string): Promise<string[]> => (await readdir(dir).catch(() => [])).filter((n) => OURS.test(n));
  for (const group of await names(V1)) await rmdir(path.join(V1, group)).catch(() => undefined);
  for (const copy of (await names(dataDir)).filter((n) => n.startsWith('node-'))) await rm(path.join(dataDir, copy), { force: true });
}
