/**
 * Chunk-sized buffers, reused from one upload to the next. A worker holds at most
 * WORKER_CONCURRENCY chunks at once, so it needs that many buffers and never more: memory stays
 * at concurrency × CHUNK_SIZE, and the garbage collector does not sweep a fresh 10 MiB buffer
 * per chunk (a tenth of the worker's busy time before they were reused). Buffers are made on
 * first use, up to `limit`.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((buffer: Buffer) => void)[] = [];
  private made = 0;

  constructor(
    readonly size: number,
    readonly limit: number,
  ) {}

  /** A buffer of `size` bytes, waiting for one to be released when `limit` are in use. */
  async acquire(): Promise<Buffer> {
    const buffer = this.free.pop();
    if (buffer !== undefined) return buffer;
    if (this.made < this.limit) {
      this.made += 1;
      return Buffer.allocUnsafeSlow(this.size);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Gives a buffer back; the caller must not touch it afterwards. */
  release(buffer: Buffer): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(buffer);
    else this.free.push(buffer);
  }

  /**
   * Runs `work` with a buffer of at least `size` bytes and releases it however `work` ends. A
   * chunk larger than the pool's buffers (a stream planned with a larger CHUNK_SIZE before the
   * setting changed) gets a buffer of its own.
   */
  async with<T>(size: number, work: (buffer: Buffer) => Promise<T>): Promise<T> {
    if (size > this.size) return work(Buffer.allocUnsafe(size));
    const buffer = await this.acquire();
    try {
      return await work(buffer);
    } finally {
      this.release(buffer);
    }
  }
}
