/** How quickly the estimate follows the sizes of recent chunks (the weight of the newest). */
const NEWEST_WEIGHT = 0.1;

/**
 * How many chunk jobs a worker takes at once, from the sizes of the chunks it has been admitting:
 * the memory budget over the typical chunk's bytes, between WORKER_CONCURRENCY (big chunks: as
 * before) and `max` (many small files: dozens of small PUTs in flight instead of four). The memory
 * budget bounds the bytes whatever this says; this only keeps one worker from taking jobs that
 * would wait on its memory while other workers could run them.
 */
export function createConcurrencyTuner({ base, max, budget, set }: { base: number; max: number; budget: number; set: (n: number) => void }) {
  let typical = budget / base;
  let current = base;
  return {
    /** A chunk of `bytes` was admitted. */
    observe(bytes: number): void {
      typical = (1 - NEWEST_WEIGHT) * typical + NEWEST_WEIGHT * Math.max(bytes, 1);
      const wanted = Math.max(base, Math.min(max, Math.floor(budget / typical)));
      if (wanted !== current) {
        current = wanted;
        set(wanted);
      }
    },
    get current(): number {
      return current;
    },
  };
}
