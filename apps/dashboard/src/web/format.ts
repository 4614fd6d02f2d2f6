/**
 * Pure formatting and chart geometry for the streams page: no DOM, so the server's unit tests
 * check it too (src/format.test.ts).
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** `1536` → `1.5 KiB`; three significant digits from KiB on. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${value} B`;
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${UNITS[unit] ?? ''}`;
}

/** Bytes per second, or `–` when unknown. */
export function formatRate(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? '–' : `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** A duration as people say it: `42 s`, `3 min 5 s`, `15 min`, `2 h 10 min`, `3 d 4 h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (big: number, bigUnit: string, small: number, smallUnit: string): string => `${big} ${bigUnit}${small === 0 ? '' : ` ${small} ${smallUnit}`}`;
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return two(min, 'min', s % 60, 's');
  const h = Math.floor(min / 60);
  if (h < 24) return two(h, 'h', min % 60, 'min');
  return two(Math.floor(h / 24), 'd', h % 24, 'h');
}

/** Whole percent of `done` in `total`, rounded down (100 only when all is done); `whenEmpty` for a total of 0. */
export function percent(done: number, total: number, whenEmpty = 0): number {
  if (total <= 0) return whenEmpty;
  return Math.min(100, Math.max(0, Math.floor((100 * done) / total)));
}

export interface ChartInput {
  /** Oldest first; `at` in ms. */
  readonly points: readonly { readonly at: number; readonly value: number }[];
  /** The right edge (ms) and the span shown (ms). */
  readonly now: number;
  readonly spanMs: number;
  /** Points further apart than this are not joined (the dashboard was not running between them). */
  readonly gapMs: number;
  readonly width: number;
  readonly height: number;
}

export interface ChartShape {
  /** SVG path data of the line, and of the area under it. */
  readonly line: string;
  readonly area: string;
  /** The value at the top of the chart. */
  readonly top: number;
  /** Points inside the span. */
  readonly shown: number;
}

/** A round top for a chart of bytes per second: 1, 2 or 5 × a power of ten, in the unit formatBytes shows it in. */
export function roundUp(value: number): number {
  if (!(value > 1)) return 1;
  let unit = 1024 ** Math.min(UNITS.length - 1, Math.floor(Math.log(value) / Math.log(1024)));
  if (value / unit >= 1024 && unit < 1024 ** (UNITS.length - 1)) unit *= 1024; // log's rounding at exact powers
  const inUnit = value / unit;
  const power = 10 ** Math.floor(Math.log10(inUnit));
  const step = [1, 2, 5, 10].find((s) => s * power >= inUnit) ?? 10;
  return step * power * unit;
}

/** The throughput chart's line and area, time on x (right edge `now`), value on y from 0 to a round top. */
export function chartShape({ points, now, spanMs, gapMs, width, height }: ChartInput): ChartShape {
  const inside = points.filter((p) => p.at >= now - spanMs && p.at <= now);
  const top = roundUp(Math.max(0, ...inside.map((p) => p.value)));
  const x = (at: number): string => ((width * (at - (now - spanMs))) / spanMs).toFixed(1);
  const y = (value: number): string => (height - (height * value) / top).toFixed(1);
  const runs: { at: number; value: number }[][] = [];
  for (const p of inside) {
    const run = runs.at(-1);
    const last = run?.at(-1);
    if (run === undefined || last === undefined || p.at - last.at > gapMs) runs.push([p]);
    else run.push(p);
  }
  const line = runs.map((run) => run.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.at)},${y(p.value)}`).join(' ')).join(' ');
  const area = runs
    .filter((run) => run.length > 1)
    .map((run) => `M${x(run[0]?.at ?? 0)},${height} ${run.map((p) => `L${x(p.at)},${y(p.value)}`).join(' ')} L${x(run.at(-1)?.at ?? 0)},${height} Z`)
    .join(' ');
  return { line, area, top, shown: inside.length };
}
