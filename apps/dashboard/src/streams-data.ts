import type { ChunkRecord, StreamRecord, StreamStore } from '@vcu/state';

/**
 * Where the dashboard reads streams, and nowhere else: every page, API answer and sample goes
 * through these functions, so a change in how the store lists streams is a change here only.
 *
 * For now the store lists streams by SCAN (at most {@link LIST_WINDOW} a read) and this pages
 * them; once the store keeps a sorted index with exact paging, `listStreams` asks it for the page.
 */

/** A stream with the number of its chunks uploaded so far. */
export type ListedStream = StreamRecord & { readonly chunksDone: number };

/** The most streams one read of the store takes. */
export const LIST_WINDOW = 10_000;

/** The most streams one page holds (and what `GET /api/streams` returns without `limit`). */
export const MAX_PAGE = 1000;

export interface Page {
  /** Newest first (by creation, then id). */
  readonly streams: readonly ListedStream[];
  /** Where the next page starts; undefined after the last. */
  readonly next: string | undefined;
}

/** Newest first; streams created at the same millisecond by id, so pages never skip or repeat one. */
function newestFirst(a: Pick<StreamRecord, 'createdAt' | 'id'>, b: Pick<StreamRecord, 'createdAt' | 'id'>): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A cursor names the last stream of a page: `<createdAt ms>.<id>`. */
function cursorOf(stream: Pick<StreamRecord, 'createdAt' | 'id'>): string {
  return `${stream.createdAt}.${stream.id}`;
}

/** The stream a cursor names, or undefined for text that is no cursor. */
export function parseCursor(text: string): Pick<StreamRecord, 'createdAt' | 'id'> | undefined {
  const match = /^(\d{1,16})\.([0-9A-Za-z_-]{1,64})$/.exec(text);
  return match?.[1] === undefined || match[2] === undefined ? undefined : { createdAt: Number(match[1]), id: match[2] };
}

/** The store's streams, each once (SCAN may name a key twice), newest first; `whole` unless the read was cut at its limit. */
async function readStreams(store: StreamStore): Promise<{ streams: ListedStream[]; whole: boolean }> {
  const read = await store.list(LIST_WINDOW);
  const byId = new Map(read.map((s) => [s.id, s]));
  return { streams: [...byId.values()].sort(newestFirst), whole: read.length < LIST_WINDOW };
}

/** Up to `limit` streams, newest first, after the stream `cursor` names (from the newest without one). */
export async function listStreams(store: StreamStore, { limit, cursor }: { limit: number; cursor?: string | undefined }): Promise<Page> {
  const after = cursor === undefined ? undefined : parseCursor(cursor);
  if (cursor !== undefined && after === undefined) throw new RangeError(`not a cursor: ${JSON.stringify(cursor.slice(0, 100))}`);
  const { streams: all } = await readStreams(store);
  const start = after === undefined ? 0 : all.findIndex((s) => newestFirst(after, s) < 0);
  const streams = start < 0 ? [] : all.slice(start, start + limit);
  const last = streams.at(-1);
  const more = start >= 0 && start + limit < all.length;
  return { streams, next: more && last !== undefined ? cursorOf(last) : undefined };
}

/** Every stream the store lists in one read, and whether that was all of them (not cut at {@link LIST_WINDOW}). */
export async function everyStream(store: StreamStore): Promise<{ streams: readonly ListedStream[]; whole: boolean }> {
  return readStreams(store);
}

/** One stream and the records of its uploaded chunks, or undefined when the store has no such stream. */
export async function streamWithChunks(store: StreamStore, id: string): Promise<{ stream: ListedStream; records: ReadonlyMap<number, ChunkRecord> } | undefined> {
  const [stream, records] = await Promise.all([store.get(id), store.chunks(id)]);
  return stream === undefined ? undefined : { stream: { ...stream, chunksDone: records.size }, records };
}
