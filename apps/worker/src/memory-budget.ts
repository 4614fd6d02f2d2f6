/**
 * The bytes a worker holds for chunks in flight, within one budget (by default
 * WORKER_CONCURRENCY × CHUNK_SIZE, or × a streamed chunk's part buffers). Chunks are admitted
 * while the bytes stay within it, so many small chunks upload at once and big ones stay bounded;
 * a chunk waits, first come first served, until its bytes fit. Buffers are kept and reused by
 * size (powers of two from 64 KiB for chunks read whole; a streamed chunk's parts by their exact
 * size), so a steady stream of chunks makes no garbage: what the budget holds, used or kept for
 * reuse, never passes the budget.
 */
export class MemoryBudget {
  private inUse = 0;
  private kept = 0;
  private readonly free = new Map<number, Buffer[]>();
  private readonly waiting: { readonly bytes: number; readonly wake: () => void }[] = [];

  /**
   * @param budget bytes in flight at most
   * @param largestBuffer the largest buffer worth keeping for reuse (a full chunk read whole, or a part of a streamed one)
   * @param onAdmit told of each admission's bytes (the worker tunes how many jobs it takes)
   */
  constructor(
    readonly budget: number,
    private readonly largestBuffer: number,
    private readonly onAdmit: (bytes: number) => void = () => undefined,
  ) {}

  /** Bytes admitted now. */
  get used(): number {
    return this.inUse;
  }

  /** Runs `work` with a buffer of at least `size` bytes, its size class counted against the budget. */
  async withBuffer<T>(size: number, work: (buffer: Buffer) => Promise<T>): Promise<T> {
    return this.withBuffers(1, sizeClass(size, this.largestBuffer), async ([buffer]) => work(buffer as Buffer));
  }

  /** Runs `work` with `count` buffers of exactly `bytes` each (a streamed chunk's parts), all counted against the budget at once. */
  async withBuffers<T>(count: number, bytes: number, work: (buffers: readonly Buffer[]) => Promise<T>): Promise<T> {
    await this.admit(count * bytes);
    const buffers: Buffer[] = [];
    try {
      while (buffers.length < count) buffers.push(this.take(bytes));
      return await work(buffers);
    } finally {
      this.release(count * bytes, buffers);
    }
  }

  private async admit(requested: number): Promise<void> {
    // a chunk bigger than the whole budget runs alone rather than never
    const bytes = Math.min(requested, this.budget);
    if (this.waiting.length === 0 && this.inUse + bytes <= this.budget) this.inUse += bytes;
    // else release() counts it in when it wakes it
    else await new Promise<void>((wake) => this.waiting.push({ bytes, wake }));
    this.onAdmit(requested);
  }

  /** Gives back an admission and its buffers (kept for reuse while the budget allows), then wakes whoever fits now. */
  private release(requested: number, buffers: readonly Buffer[]): void {
    this.inUse -= Math.min(requested, this.budget);
    buffers.forEach((buffer) => this.keep(buffer));
    // wake whoever fits now, in order: a big chunk at the head is not overtaken by small ones
    for (let next = this.waiting[0]; next !== undefined && this.inUse + next.bytes <= this.budget; next = this.waiting[0]) {
      this.waiting.shift();
      this.inUse += next.bytes;
      next.wake();
    }
  }

  private take(bytes: number): Buffer {
    const reused = this.free.get(bytes)?.pop();
    if (reused !== undefined) {
      this.kept -= bytes;
      return reused;
    }
    // make room: buffers kept for other sizes are let go before the budget would be passed
    for (const [size, list] of this.free) {
      while (this.inUse + this.kept > this.budget && list.pop() !== undefined) this.kept -= size;
    }
    return Buffer.allocUnsafeSlow(bytes);
  }

  private keep(buffer: Buffer): void {
    if (buffer.length > this.largestBuffer || this.inUse + this.kept + buffer.length > this.budget) return;
    const list = this.free.get(buffer.length) ?? [];
    list.push(buffer);
    this.free.set(buffer.length, list);
    this.kept += buffer.length;
  }
}

/** Smallest buffer class: smaller chunks share it (a few KiB of slack at most per chunk in flight). */
const SMALLEST_CLASS = 64 * 1024;

/** The buffer size a chunk of `size` bytes gets: the next power of two from 64 KiB, or `largest` (or the size itself above it). */
export function sizeClass(size: number, largest: number): number {
  if (size >= largest) return Math.max(size, largest);
  let bytes = SMALLEST_CLASS;
  while (bytes < size) bytes *= 2;
  return Math.min(bytes, largest);
}
