import type { StreamStore } from '@vcu/state';

/** One row of the streams view and of `/api/streams`. */
export interface StreamSummary {
  readonly id: string;
  readonly path: string;
  readonly status: string;
  readonly size: number;
  readonly committedBytes: number;
  readonly chunksDone: number;
  readonly chunksTotal: number;
  readonly revision: number;
  readonly reason: string | undefined;
  readonly createdAt: string;
}

export async function listStreams(store: StreamStore, limit = 1000): Promise<StreamSummary[]> {
  const streams = await store.list(limit);
  return streams.map((s) => ({
    id: s.id,
    path: s.path,
    status: s.status,
    size: Math.max(s.size, 0),
    committedBytes: s.committedBytes,
    chunksDone: s.chunksDone,
    chunksTotal: s.size > 0 ? Math.ceil(s.size / s.chunkSize) : 0,
    revision: s.revision,
    reason: s.reason,
    createdAt: new Date(s.createdAt).toISOString(),
  }));
}

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** A plain HTML table that refreshes itself every 2 s. */
export function renderStreams(rows: readonly StreamSummary[]): string {
  const body = rows
    .map((r) => {
      const pct = r.size > 0 ? Math.floor((100 * r.committedBytes) / r.size) : 0;
      return `<tr><td>${escape(r.path)}</td><td><code>${r.id}</code></td><td>${escape(r.status)}${r.reason ? ` (${escape(r.reason)})` : ''}</td>
<td>${r.size.toLocaleString('en')}</td><td><progress max="100" value="${pct}"></progress> ${pct}%</td><td>${r.chunksDone}/${r.chunksTotal}</td><td>${r.revision}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>vcu streams</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}</style></head>
<body><h1>vcu streams</h1><p><a href="/queues">queues (Bull Board)</a> · <a href="/api/streams">JSON</a></p>
<table><tr><th>file</th><th>stream</th><th>state</th><th>size (bytes)</th><th>committed</th><th>chunks</th><th>revision</th></tr>
${body || '<tr><td colspan="7">no streams yet</td></tr>'}</table></body></html>`;
}
