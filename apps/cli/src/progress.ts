/** A one-line progress bar on a terminal; nothing when output is not a terminal (logs, pipes). */
export function progressBar(total: number, label: string, out: NodeJS.WriteStream = process.stderr) {
  const started = Date.now();
  let last = 0;
  const draw = (done: number, force = false): void => {
    if (!out.isTTY) return;
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const width = 30;
    const filled = Math.round(fraction * width);
    const seconds = Math.max((now - started) / 1000, 0.001);
    const rate = done / seconds / 1024 ** 2;
    out.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(1)}% ${rate.toFixed(1)} MiB/s `);
  };
  return {
    update: (done: number) => draw(done),
    finish(done: number): void {
      draw(done, true);
      if (out.isTTY) out.write('\n');
    },
  };
}

/** `[#####.....]  48%` for tables. */
export function bar(done: number, total: number, width = 20): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}
