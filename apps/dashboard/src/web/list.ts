import { FAILED_HINT, type StreamPage, type StreamRow } from './api.js';
import { el, progressBar, setProgress, setText } from './dom.js';
import { formatAge, formatBytes, formatRate, percent } from './format.js';

/** A stream's progress: committed bytes of its size (a complete stream is 100 % whatever its size). */
export function progressOf(row: StreamRow): number {
  return percent(row.committedBytes, row.size, row.state === 'complete' ? 100 : 0);
}

/** A stream's rate as shown: `–` for a finished stream that committed nothing lately. */
export function shownRate(row: StreamRow): string {
  return row.state === 'active' || (row.bytesPerSecond ?? 0) > 0 ? formatRate(row.bytesPerSecond) : '–';
}

/** The cells of one row, made once and updated in place on every refresh (no flicker, no lost focus). */
interface RowCells {
  readonly tr: HTMLTableRowElement;
  readonly name: HTMLAnchorElement;
  readonly state: HTMLElement;
  readonly progress: HTMLElement;
  readonly pct: HTMLElement;
  readonly chunks: HTMLElement;
  readonly rate: HTMLElement;
  readonly age: HTMLElement;
}

function makeRow(row: StreamRow): RowCells {
  const name = el('a', { className: 'name', attrs: { href: `/streams/${encodeURIComponent(row.id)}` } });
  const state = el('span', { className: 'state' });
  const progress = progressBar(0);
  const pct = el('span', { className: 'pct' });
  const [chunks, rate, age] = [el('td', { className: 'num' }), el('td', { className: 'num' }), el('td', { className: 'num' })];
  const tr = el('tr', { attrs: { 'data-id': row.id } }, el('td', { className: 'file' }, name), el('td', {}, state), el('td', { className: 'progress-cell' }, progress, pct), chunks, rate, age);
  return { tr, name, state, progress, pct, chunks, rate, age };
}

function updateRow(cells: RowCells, row: StreamRow, now: number): void {
  setText(cells.name, row.name);
  cells.name.title = `${row.name}\nstream ${row.id}`;
  setText(cells.state, row.state);
  cells.state.className = `state ${row.state}`;
  cells.state.title = row.state === 'failed' ? FAILED_HINT : (row.reason ?? '');
  const pct = progressOf(row);
  setProgress(cells.progress, pct);
  cells.progress.title = `${formatBytes(row.committedBytes)} of ${formatBytes(row.size)} committed`;
  setText(cells.pct, `${pct}%`);
  setText(cells.chunks, `${row.chunksDone}/${row.chunksTotal}`);
  setText(cells.rate, shownRate(row));
  setText(cells.age, formatAge(now - Date.parse(row.createdAt)));
  cells.age.title = `created ${row.createdAt}${row.completedAt === null ? '' : `, complete ${row.completedAt}`}`;
}

/** Keeps `<tbody>` showing one page of streams, in its order, reusing the rows it already has. */
export class StreamTable {
  private readonly rows = new Map<string, RowCells>();

  constructor(private readonly body: HTMLTableSectionElement) {}

  show(page: StreamPage): void {
    const now = Date.parse(page.now);
    const keep = new Set(page.streams.map((s) => s.id));
    for (const [id, cells] of this.rows) {
      if (keep.has(id)) continue;
      cells.tr.remove();
      this.rows.delete(id);
    }
    let before: ChildNode | null = this.body.firstChild;
    for (const row of page.streams) {
      let cells = this.rows.get(row.id);
      if (cells === undefined) {
        cells = makeRow(row);
        this.rows.set(row.id, cells);
      }
      updateRow(cells, row, now);
      if (cells.tr !== before) this.body.insertBefore(cells.tr, before);
      before = cells.tr.nextSibling;
    }
  }
}
