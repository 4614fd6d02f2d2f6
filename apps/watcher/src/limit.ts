/**
 * Runs at most `limit` tasks at once; the rest wait in order. A folder of thousands of files
 * gives the watcher thousands of events in one go; each sync holds a stat, Redis replies and a
 * BullMQ job while it runs, so the work in flight stays bounded however many files arrive.
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
