// What every report section shares: the lines written so far and the figures sections refer to
// (the ceiling, the lean uploader, the median end-to-end run).
import type { Options } from '../options.js';
import type { CeilingRun, Meta, Results, VcuRun } from '../results.js';
import { fmt, maxOf, minOf, mib, pick } from '../util.js';

export class Doc {
  readonly lines: string[] = [];
  /** The best plain level (each level its median run): "the ceiling". */
  readonly best: number | undefined;
  /** The lean uploader's median run. */
  readonly lean: number | undefined;
  /** The median end-to-end run with defaults. */
  readonly e2e: VcuRun | undefined;
  /** The median run of the many small files. */
  readonly many: VcuRun | undefined;

  constructor(
    readonly meta: Meta,
    readonly results: Results,
    readonly options: Options,
  ) {
    const rows = results.ceiling?.rows ?? [];
    this.best = rows.length > 0 ? maxOf(ceilingLevels(rows).map((r) => r.mbps)) : undefined;
    const leanRows = rows.filter((r) => r.lean);
    this.lean = leanRows.length > 0 ? pick(leanRows).mbps : undefined;
    this.e2e = results.e2e ? pick(results.e2e) : undefined;
    this.many = results.many && results.many.length > 0 ? pick(results.many) : undefined;
  }

  p(...xs: string[]): void {
    this.lines.push(...xs);
  }

  /** `x` ÷ the ceiling, or n/a without one. */
  ratio(x: number): string {
    return this.best !== undefined ? fmt(x / this.best, 2) : 'n/a';
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** The plain levels measured (1, 2, 4, 8 in flight), each its median run. */
export function ceilingLevels(rows: readonly CeilingRun[]): CeilingRun[] {
  const levels = [...new Set(rows.filter((r) => !r.lean).map((r) => r.inflight))];
  return levels.map((n) => pick(rows.filter((r) => r.inflight === n && !r.lean)));
}

/** " (min–max)" of MB/s (or of another figure) over repeated runs, empty for one run. */
export function range<T extends { mbps: number }>(runs: readonly T[], figure: (r: T) => number = (r) => r.mbps): string {
  return runs.length > 1 ? ` (${fmt(minOf(runs.map(figure)))}–${fmt(maxOf(runs.map(figure)))})` : '';
}

/** "worker 180 MiB (anonymous 120 MiB), watcher 100 MiB (anonymous 60 MiB)" */
export function rssOf(r: VcuRun): string {
  return r.procs.map((x) => `${x.name} ${mib(x.peakRss)} (anonymous ${mib(x.peakAnon)})`).join(', ');
}
