import { CHUNK_STATES, type ChunkRow, FAILED_HINT, type StreamDetail } from './api.js';
import { byId, el, progressBar, setText } from './dom.js';
import { formatAge, formatBytes } from './format.js';
import { progressOf, shownRate } from './list.js';

/** The facts listed at the top of a stream's view: label and text. */
function facts(detail: StreamDetail): [string, string][] {
  const s = detail.stream;
  const now = Date.parse(detail.now);
  const list: [string, string][] = [
    ['stream', s.id],
    ['state', s.state === 'failed' ? `failed: ${FAILED_HINT}` : s.reason === undefined ? s.state : `${s.state} (${s.reason})`],
    ['committed', `${formatBytes(s.committedBytes)} of ${formatBytes(s.size)} (${progressOf(s)}%)`],
    ['chunks', `${s.chunksDone}/${s.chunksTotal}`],
    ['rate', shownRate(s)],
    ['age', `${formatAge(now - Date.parse(s.createdAt))} (created ${s.createdAt})`],
    ['revision', revisionText(s)],
  ];
  if (s.completedAt !== null) list.push(['complete', s.completedAt]);
  return list;
}

/** A stream reopened since its last metadata.json says so: the file changed after it was described. */
function revisionText(s: StreamDetail['stream']): string {
  if (s.revision === 0 || s.state === 'complete' || s.state === 'aborted') return String(s.revision);
  return `${s.revision} in S3; the file changed since${s.state === 'active' ? ' and is being checked again' : ''}`;
}

function chunkRow(chunk: ChunkRow): HTMLTableRowElement {
  return el(
    'tr',
    { attrs: { 'data-index': String(chunk.index) } },
    el('td', { className: 'num', text: String(chunk.index) }),
    el('td', {}, el('span', { className: `state ${chunk.state}`, text: chunk.state })),
    el('td', { className: 'num', text: chunk.offset.toLocaleString('en') }),
    el('td', { className: 'num', text: formatBytes(chunk.size) }),
    el('td', { className: 'sha', text: chunk.sha256 ?? '' }),
    el('td', { text: chunk.uploadedAt ?? '' }),
  );
}

/** Fills `#detail-view` with one stream: its facts, a link to its metadata.json, its chunks. */
export function showDetail(detail: StreamDetail): void {
  const s = detail.stream;
  setText(byId('d-name'), s.name);
  document.title = `vcu · ${s.name}`;
  byId('d-facts').replaceChildren(...facts(detail).flatMap(([label, text]) => [el('dt', { text: label }), el('dd', { text })]));
  byId('d-progress').replaceChildren(progressBar(progressOf(s)));
  const metadata = byId('d-metadata');
  metadata.replaceChildren(
    detail.metadata === null
      ? el('span', { text: 'no metadata.json yet: it is written when every chunk is uploaded and checked' })
      : el('a', { attrs: { href: detail.metadata.url, id: 'metadata-link' }, text: `metadata.json (${detail.metadata.key})` }),
  );
  const counts = CHUNK_STATES.filter((state) => detail.chunkCounts[state] > 0).map((state) => `${detail.chunkCounts[state]} ${state}`);
  const more = s.chunksTotal - detail.chunksShown;
  setText(byId('d-chunk-counts'), `${counts.join(', ') || 'no chunks yet'}${more > 0 ? ` (the first ${detail.chunksShown} shown)` : ''}`);
  // rebuilt only when a chunk changed: a selection in the table survives the refreshes between
  const shown = JSON.stringify(detail.chunks);
  if (shown !== lastChunks) byId<HTMLTableSectionElement>('d-chunks').replaceChildren(...detail.chunks.map(chunkRow));
  lastChunks = shown;
}

let lastChunks = '';

/** The view of a stream the dashboard does not know (any more). */
export function showMissing(id: string): void {
  setText(byId('d-name'), 'no such stream');
  byId('d-facts').replaceChildren(el('dt', { text: 'stream' }), el('dd', { text: id }));
  byId('d-metadata').replaceChildren();
  setText(byId('d-chunk-counts'), '');
  byId('d-chunks').replaceChildren();
  lastChunks = '';
}
