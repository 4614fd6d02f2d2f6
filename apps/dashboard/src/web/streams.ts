/**
 * The streams page: the list of streams (`/streams`) or one stream (`/streams/<id>`), with the
 * counts and the throughput chart above, refreshed every 2 s from the JSON API while the page is
 * visible. Loaded as a module from the dashboard itself (the Content-Security-Policy refuses
 * inline scripts); everything it shows goes in as text.
 */
import type { StreamDetail, StreamPage, Summary } from './api.js';
import { STREAM_STATES } from './api.js';
import { drawChart } from './chart.js';
import { showDetail, showMissing } from './detail.js';
import { byId, setText } from './dom.js';
import { StreamTable } from './list.js';

const REFRESH_MS = 2000;
const PAGE_SIZE = 50;

/** An answer the page cannot use: `status` 0 when the dashboard did not answer at all. */
class Unavailable extends Error {
  constructor(readonly status: number) {
    super(`status ${status}`);
  }
}

async function getJson<T>(url: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store', signal: AbortSignal.timeout(10_000) });
  } catch {
    throw new Unavailable(0);
  }
  if (!res.ok) throw new Unavailable(res.status);
  return (await res.json()) as T;
}

function showSummary(summary: Summary): void {
  for (const state of STREAM_STATES) setText(byId(`count-${state}`), String(summary.counts[state]));
  byId('counts').title = summary.countsComplete ? '' : 'counts of part of the streams only: there are more than one sample reads';
  drawChart(summary.throughput, Date.parse(summary.now));
}

/** The list view: one page of streams, and the cursors of the pages before it (to go back). */
class ListView {
  private readonly table = new StreamTable(byId<HTMLTableSectionElement>('streams-body'));
  private readonly cursors: string[] = [];
  private next: string | null = null;

  constructor(refresh: () => void) {
    byId('older').addEventListener('click', () => {
      if (this.next === null) return;
      this.cursors.push(this.next);
      refresh();
    });
    byId('newer').addEventListener('click', () => {
      if (this.cursors.pop() !== undefined) refresh();
    });
  }

  async load(): Promise<void> {
    const cursor = this.cursors.at(-1);
    const page = await getJson<StreamPage>(`/api/streams?limit=${PAGE_SIZE}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    this.table.show(page);
    this.next = page.next;
    byId('empty').hidden = page.streams.length > 0;
    byId<HTMLButtonElement>('older').disabled = page.next === null;
    byId<HTMLButtonElement>('newer').disabled = this.cursors.length === 0;
  }
}

/** The detail view of stream `id`. */
function detailLoader(id: string): () => Promise<void> {
  return async () => {
    try {
      showDetail(await getJson<StreamDetail>(`/api/streams/${encodeURIComponent(id)}`));
    } catch (err) {
      if (err instanceof Unavailable && err.status === 404) showMissing(id);
      else throw err;
    }
  };
}

/** Says whether the page is live, and why not. */
function showLive(err: unknown): void {
  const live = byId('live');
  live.classList.toggle('down', err !== undefined);
  if (err === undefined) setText(live, `live · ${new Date().toLocaleTimeString()}`);
  else if (err instanceof Unavailable && err.status === 401) setText(live, 'signed out: reload the page to sign in');
  else if (err instanceof Unavailable && err.status === 0) setText(live, 'the dashboard does not answer: retrying');
  else setText(live, `the dashboard answered ${err instanceof Unavailable ? err.status : 'something unreadable'}: retrying`);
}

function main(): void {
  const match = /^\/streams\/([^/]+)$/.exec(location.pathname);
  const id = match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
  byId(id === undefined ? 'list-view' : 'detail-view').hidden = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let busy = false;
  let again = false;
  let loadView: () => Promise<void> = () => Promise.resolve();
  const refresh = (): void => {
    clearTimeout(timer);
    if (busy) {
      again = true; // asked for while one is on its way (a page button): once that one is done
      return;
    }
    busy = true;
    void Promise.all([getJson<Summary>('/api/summary').then(showSummary), loadView()])
      .then(() => showLive(undefined), showLive)
      .finally(() => {
        busy = false;
        const rerun = again;
        again = false;
        // while the page is hidden nothing is fetched; it refreshes when it is shown again
        if (rerun) refresh();
        else if (!document.hidden) timer = setTimeout(refresh, REFRESH_MS);
      });
  };
  if (id === undefined) {
    const list = new ListView(refresh);
    loadView = () => list.load();
  } else {
    loadView = detailLoader(id);
  }
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) refresh();
  });
  refresh();
}

main();
