import type { Throughput } from './api.js';
import { byId, setText, svg } from './dom.js';
import { chartShape, formatAge, formatRate } from './format.js';

const WIDTH = 600;
const HEIGHT = 100;

/**
 * Draws the throughput chart into `<svg id="chart">`: committed bytes per second since the
 * dashboard started, over `keepMs` at most, now at the right edge; the top value and the span are written beside it. The svg
 * carries `data-points` (points drawn) for tests and scripts.
 */
export function drawChart(throughput: Throughput, now: number): void {
  const chart = byId<SVGSVGElement>('chart');
  const points = throughput.points.map((p) => ({ at: Date.parse(p.at), value: p.bytesPerSecond }));
  // from the first sample on (at least a minute) until the dashboard has run for keepMs
  const first = throughput.points[0];
  const spanMs = Math.min(throughput.keepMs, Math.max(60_000, first === undefined ? 0 : now - Date.parse(first.from)));
  const shape = chartShape({ points, now, spanMs, gapMs: 2.5 * throughput.everyMs, width: WIDTH, height: HEIGHT });
  chart.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  chart.setAttribute('data-points', String(shape.shown));
  chart.replaceChildren(
    ...[0.25, 0.5, 0.75].map((f) => svg('line', { class: 'grid', x1: '0', x2: String(WIDTH), y1: String(HEIGHT * f), y2: String(HEIGHT * f) })),
    svg('path', { class: 'area', d: shape.area }),
    svg('path', { class: 'line', d: shape.line }),
  );
  const latest = throughput.points.at(-1);
  setText(byId('rate-now'), latest === undefined ? '–' : formatRate(latest.bytesPerSecond));
  setText(byId('chart-top'), shape.shown === 0 ? 'no samples yet' : formatRate(shape.top));
  setText(byId('chart-span'), `−${formatAge(spanMs)}`);
  chart.setAttribute(
    'aria-label',
    `committed bytes per second over the last ${formatAge(spanMs)}: ${shape.shown} samples, at most ${formatRate(shape.top)}`,
  );
}
