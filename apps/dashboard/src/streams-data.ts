import { LruMap } from '@vcu/runtime';
import { type ChunkRecord, type ListedStream, type StreamPage, type StreamRecord, type StreamStore, lacksDroppedRecords, recordsFromMetadata } from '@vcu/state';
import { type Target, readMetadata } from '@vcu/storage';

/**
 * Where the dashboard reads streams, and nowhere else: every page, API answer and sample goes
 * through these functions. Each read costs what it concerns (a page, the live streams, one
 * stream), never every stream Redis keeps: the store answers from its sorted indexes.
 */

export type { ListedStream };

/** The most streams one sample reads (the live ones: unfinished, new, just finished). */
export const LIVE_WINDOW = 10_000;

/** The most streams one page holds (and what `GET /api/streams` returns without `limit`). */
export const MAX_PAGE = 1000;

/** Up to `limit` streams, newest first, after the stream `cursor` names (from the newest without one). */
export async function listStreams(store: StreamStore, query: { limit: number; cursor?: string | undefined }): Promise<StreamPage> {
  return store.page(query);
}

/** The streams that can change since the sample at `since` (ms), those seen unfinished then (`also`) included. */
export async function liveStreams(store: StreamStore, since: number, also: readonly string[]): Promise<{ streams: readonly ListedStream[]; whole: boolean }> {
  return store.live(since, also, LIVE_WINDOW);
}

/** How many streams are kept, unfinished and aborted. */
export async function streamCounts(store: StreamStore): Promise<{ total: number; active: number; aborted: number }> {
  return store.counts();
}

/** Where a complete stream's chunk records are: its metadata.json (Redis dropped them). */
export interface MetadataSource {
  readonly target: Target;
  readonly prefix: string;
}

/**
 * The chunk records of a stream's last metadata.json, by prefix, stream and revision: a revision's
 * metadata.json does not change, and the page asks again every 2 s while a stream is shown.
 */
const described = new LruMap<string, Promise<ReadonlyMap<number, ChunkRecord> | undefined>>(16);

function describedRecords(objects: MetadataSource, stream: StreamRecord): Promise<ReadonlyMap<number, ChunkRecord> | undefined> {
  const key = `${objects.prefix}\0${stream.id}\0${stream.revision}`;
  let records = described.get(key);
  if (records === undefined) {
    records = readMetadata(objects.target, objects.prefix, stream.id).then((m) => (m === undefined ? undefined : recordsFromMetadata(m)));
    described.set(key, records);
    records.catch(() => described.delete(key));
  }
  return records;
}

/**
 * One stream and the records of its uploaded chunks, or undefined when the store has no such
 * stream. Records Redis dropped come from the stream's metadata.json: all of a complete stream's,
 * and a reopened stream's (the file grew, was rewritten or chmod-ed since) until finalize restores
 * them; a record Redis keeps (a chunk uploaded again) wins. A reopened stream is shown from Redis
 * alone when its metadata.json cannot be read (S3 down): Redis says what is being done.
 */
export async function streamWithChunks(
  store: StreamStore,
  objects: MetadataSource,
  id: string,
): Promise<{ stream: ListedStream; records: ReadonlyMap<number, ChunkRecord> } | undefined> {
  const [stream, kept] = await Promise.all([store.get(id), store.chunks(id)]);
  if (stream === undefined) return undefined;
  const fromMetadata = lacksDroppedRecords(stream, kept) ? describedRecords(objects, stream) : undefined;
  const dropped = stream.status === 'complete' ? await fromMetadata : await fromMetadata?.catch(() => undefined);
  const records = dropped === undefined ? kept : new Map([...dropped, ...kept]);
  return { stream: { ...stream, chunksDone: records.size }, records };
}
