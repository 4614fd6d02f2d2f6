/**
 * The bytes a worker holds for chunks in flight, within one budget (by default
 * WORKER_CONCURRENCY × CHUNK_SIZE, or × a streamed chunk's part buffers). Chunks are admitted
 * while their buffers fit, so many small chunks upload at once and big ones stay bounded; a chunk
 * waits, first come first served, until its bytes fit.
 *
 * The buffers are cut from a few slabs (each as big as the buffer the budget was sized by: a
 * whole chunk, or a streamed chunk's part; allocated when first needed and kept) in 64 KiB units,
 * so a chunk holds its size rounded up to 64 KiB. Why: buffers kept by power-of-two size class
 * left up to half the budget unused, and with the bench's mixed small files 29% of chunks found
 * no kept buffer of their class and allocated one (1 GB for 5,000 files). That churn made V8 run
 * a full mark-compact every ~0.5 s (external memory); it cost the worker ~0.5 CPU s per 1,000
 * small files off its main thread. What the slabs and any buffer
 * allocated outside them hold never passes the budget (each slab rounded up to whole units: at
 * most 64 KiB more a slab), except for a chunk bigger than the whole budget, which runs alone.
 */
export class MemoryBudget {
  private readonly unit: number;
  private readonly slabBytes: number;
  /** The budget, rounded up to whole units per slab (at most one unit more per slab than asked for). */
  private readonly limit: number;
  private readonly slabs: Slab[] = [];
  /** Bytes of buffers too big for a slab, allocated for their chunk and let go after it. */
  private outside = 0;
  private readonly waiting: { readonly sizes: readonly number[]; readonly wake: (pieces: Piece[]) => void }[] = [];

  /**
   * @param budget bytes the buffers may hold at most
   * @param slabSize the buffer the budget was sized by (a chunk read whole, or a part of a streamed one): a slab holds one, or several smaller ones
   * @param onAdmit told of each admission's bytes as held (the worker tunes how many jobs it takes)
   */
  constructor(
    readonly budget: number,
    slabSize: number,
    private readonly onAdmit: (bytes: number) => void = () => undefined,
  ) {
    const sized = Math.max(1, Math.min(slabSize, budget));
    this.unit = Math.min(UNIT, sized);
    this.slabBytes = roundUp(sized, this.unit);
    this.limit = Math.max(budget, Math.floor(budget / sized) * this.slabBytes);
  }

  /** Bytes admitted now (buffers in use, each as its slab counts it). */
  get used(): number {
    return this.slabs.reduce((sum, slab) => sum + slab.usedUnits * this.unit, this.outside);
  }

  /** Bytes the slabs and the buffers outside them hold now, in use or not. */
  get held(): number {
    return this.slabs.length * this.slabBytes + this.outside;
  }

  /** Runs `work` with a buffer of exactly `size` bytes. */
  async withBuffer<T>(size: number, work: (buffer: Buffer) => Promise<T>): Promise<T> {
    return this.withBuffers(1, size, async ([buffer]) => work(buffer as Buffer));
  }

  /** Runs `work` with `count` buffers of exactly `bytes` each (a streamed chunk's parts), all admitted at once. */
  async withBuffers<T>(count: number, bytes: number, work: (buffers: readonly Buffer[]) => Promise<T>): Promise<T> {
    const pieces = await this.admit(Array.from({ length: count }, () => bytes));
    try {
      return await work(pieces.map((piece) => piece.buffer));
    } finally {
      this.release(pieces);
    }
  }

  private async admit(sizes: readonly number[]): Promise<Piece[]> {
    const placed = this.waiting.length === 0 ? this.place(sizes) : undefined;
    const pieces = placed ?? (await new Promise<Piece[]>((wake) => this.waiting.push({ sizes, wake })));
    this.onAdmit(sizes.reduce((sum, size) => sum + (size <= this.slabBytes ? this.unitsOf(size) * this.unit : size), 0));
    return pieces;
  }

  /** Gives the pieces back, then wakes whoever fits now, in order: a big chunk at the head is not overtaken by small ones. */
  private release(pieces: readonly Piece[]): void {
    this.giveBack(pieces);
    for (let next = this.waiting[0]; next !== undefined; next = this.waiting[0]) {
      const placed = this.place(next.sizes);
      if (placed === undefined) return;
      this.waiting.shift();
      next.wake(placed);
    }
  }

  private giveBack(pieces: readonly Piece[]): void {
    for (const piece of pieces) {
      if (piece.slab === undefined) this.outside -= piece.buffer.length;
      else piece.slab.give(piece.start, piece.units);
    }
  }

  /** Buffers of these sizes if they fit now, or undefined (nothing taken). With nothing in use, they always fit. */
  private place(sizes: readonly number[]): Piece[] | undefined {
    const idle = this.used === 0;
    const pieces: Piece[] = [];
    for (const size of sizes) {
      const piece = size <= this.slabBytes ? this.fromSlab(size) : this.allocate(size, false);
      if (piece === undefined) {
        this.giveBack(pieces);
        return idle ? this.alone(sizes) : undefined;
      }
      pieces.push(piece);
    }
    return pieces;
  }

  /** A piece of the first slab with room, or of a new slab while the budget has room for one. */
  private fromSlab(size: number): Piece | undefined {
    const units = this.unitsOf(size);
    for (const slab of this.slabs) {
      const start = slab.take(units);
      if (start !== undefined) return this.cut(slab, start, size);
    }
    if (this.held + this.slabBytes > this.limit) return undefined;
    const slab = new Slab(this.slabBytes, this.unit);
    this.slabs.push(slab);
    return this.cut(slab, slab.take(units) ?? 0, size);
  }

  private cut(slab: Slab, start: number, size: number): Piece {
    const from = start * this.unit;
    return { buffer: slab.memory.subarray(from, from + size), slab, start, units: this.unitsOf(size) };
  }

  /** Units a buffer of `size` bytes takes (one for an empty one). */
  private unitsOf(size: number): number {
    return Math.max(1, Math.ceil(size / this.unit));
  }

  /** A buffer of its own, when it fits in the budget (empty slabs are let go to make room for it), or `anyway`. */
  private allocate(size: number, anyway: boolean): Piece | undefined {
    if (this.held + size > this.limit) this.dropEmptySlabs();
    if (this.held + size > this.limit && !anyway) return undefined;
    this.outside += size;
    return { buffer: Buffer.allocUnsafeSlow(size), slab: undefined, start: 0, units: 0 };
  }

  /** Buffers for a request that cannot fit even with nothing else in use (bigger than the budget): it runs alone, on buffers of its own. */
  private alone(sizes: readonly number[]): Piece[] {
    this.dropEmptySlabs();
    return sizes.map((size) => this.allocate(size, true) as Piece);
  }

  private dropEmptySlabs(): void {
    for (let i = this.slabs.length - 1; i >= 0; i -= 1) {
      if (this.slabs[i]?.usedUnits === 0) this.slabs.splice(i, 1);
    }
  }
}

/** The unit buffers are cut in: a chunk holds its size rounded up to it (less when the largest buffer is smaller). */
const UNIT = 64 * 1024;

function roundUp(bytes: number, unit: number): number {
  return Math.ceil(bytes / unit) * unit;
}

/** A buffer given out: cut from `slab` at unit `start`, or (slab undefined) allocated for it alone. */
interface Piece {
  readonly buffer: Buffer;
  readonly slab: Slab | undefined;
  readonly start: number;
  readonly units: number;
}

/** One allocation cut into units; its free units kept as runs, sorted and joined, taken first fit. */
export class Slab {
  readonly memory: Buffer;
  usedUnits = 0;
  /** Free runs of units: [start, length], sorted by start, never touching. */
  private readonly free: [number, number][];

  constructor(bytes: number, unit: number) {
    this.memory = Buffer.allocUnsafeSlow(bytes);
    this.free = [[0, Math.floor(bytes / unit)]];
  }

  /** The first unit of `units` free ones in a row, now taken; undefined when no run is that long. */
  take(units: number): number | undefined {
    const i = this.free.findIndex(([, length]) => length >= units);
    const run = this.free[i];
    if (run === undefined) return undefined;
    const start = run[0];
    if (run[1] === units) this.free.splice(i, 1);
    else this.free[i] = [start + units, run[1] - units];
    this.usedUnits += units;
    return start;
  }

  /** Gives back `units` units from `start`, joined with the free runs next to them. */
  give(start: number, units: number): void {
    this.usedUnits -= units;
    let i = this.free.findIndex(([at]) => at > start);
    if (i === -1) i = this.free.length;
    this.free.splice(i, 0, [start, units]);
    const after = this.free[i + 1];
    const run = this.free[i] as [number, number];
    if (after !== undefined && run[0] + run[1] === after[0]) this.free.splice(i, 2, [run[0], run[1] + after[1]]);
    const before = this.free[i - 1];
    const joined = this.free[i] as [number, number];
    if (before !== undefined && before[0] + before[1] === joined[0]) this.free.splice(i - 1, 2, [before[0], before[1] + joined[1]]);
  }
}
