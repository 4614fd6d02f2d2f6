/**
 * Runs at most `limit` tasks at once; the rest wait in order. Bounds the work in flight where a
 * burst could start thousands at once: the watcher's syncs, a finalize sweep's streams, the
 * whole-file digests it starts.
 */
export function createLimiter(limit: number) {
  let running = 0;
  const waiting: (() => void)[] = [];

  return async function run<T>(task: () => Promise<T>): Promise<T> {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await task();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}
