// A small hand-written SVG line chart: panels stacked over one time axis, each with its own y
// axis, a few polylines and a legend. No dependency.

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
  readonly dashed?: boolean;
}

export interface Panel {
  readonly title: string;
  readonly series: readonly Series[];
}

const WIDTH = 900;
const LEFT = 70;
const RIGHT = 20;
const TOP = 60;
const PANEL = 170;
const GAP = 58;

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const round = (x: number): string => (Math.round(x * 10) / 10).toString();

/** A round step that cuts 0–max into about `n` parts. */
export function niceStep(max: number, n = 4): number {
  if (!(max > 0)) return 1;
  const raw = max / n;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
}

const label = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toPrecision(2));

interface Frame {
  readonly top: number;
  readonly xMax: number;
  readonly yMax: number;
}

const px = (f: Frame, x: number): number => LEFT + (x / f.xMax) * (WIDTH - LEFT - RIGHT);
const py = (f: Frame, y: number): number => f.top + PANEL - (y / f.yMax) * PANEL;

function axes(f: Frame, panel: Panel, xStep: number, yStep: number): string[] {
  const out = [`<text x="${LEFT}" y="${f.top - 10}" font-weight="bold">${escape(panel.title)}</text>`];
  for (let y = 0; y <= f.yMax + 1e-9; y += yStep) {
    out.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${round(py(f, y))}" y2="${round(py(f, y))}" stroke="#ddd"/>`);
    out.push(`<text x="${LEFT - 6}" y="${round(py(f, y) + 4)}" text-anchor="end">${label(y)}</text>`);
  }
  for (let x = 0; x <= f.xMax + 1e-9; x += xStep) {
    out.push(`<line x1="${round(px(f, x))}" x2="${round(px(f, x))}" y1="${f.top + PANEL}" y2="${f.top + PANEL + 4}" stroke="#444"/>`);
    out.push(`<text x="${round(px(f, x))}" y="${f.top + PANEL + 17}" text-anchor="middle">${label(x)}</text>`);
  }
  out.push(`<rect x="${LEFT}" y="${f.top}" width="${WIDTH - LEFT - RIGHT}" height="${PANEL}" fill="none" stroke="#444"/>`);
  return out;
}

function lines(f: Frame, panel: Panel): string[] {
  const out: string[] = [];
  panel.series.forEach((s, i) => {
    const points = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => `${round(px(f, x))},${round(py(f, y))}`);
    const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : '';
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5"${dash} points="${points.join(' ')}"/>`);
    const lx = WIDTH - RIGHT - 330;
    const ly = f.top + 14 + i * 15;
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 24}" y="${ly}">${escape(s.name)}</text>`);
  });
  return out;
}

/** The chart: `panels` stacked, x in `xLabel` units from 0 to the largest x. */
export function chartSvg(title: string, xLabel: string, panels: readonly Panel[]): string {
  const xMax = Math.max(1, ...panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)).filter(Number.isFinite)));
  const xStep = niceStep(xMax, 8);
  const height = TOP + panels.length * (PANEL + GAP);
  const body = panels.flatMap((panel, i) => {
    const ys = panel.series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
    const yStep = niceStep(Math.max(...ys, 0) * 1.05);
    const f = { top: TOP + i * (PANEL + GAP), xMax: Math.ceil(xMax / xStep) * xStep, yMax: Math.max(yStep, Math.ceil((Math.max(...ys, 0) * 1.05) / yStep) * yStep) };
    return [...axes(f, panel, xStep, yStep), ...lines(f, panel)];
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${escape(title)}</text>`,
    ...body,
    `<text x="${WIDTH / 2}" y="${height - 12}" text-anchor="middle">${escape(xLabel)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
