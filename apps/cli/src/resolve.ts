import path from 'node:path';
import type { Config } from '@vcu/config';
import { type StreamMetadata, streamIdFor } from '@vcu/domain';
import { fsErrorCode, isFileFacts, nameFromBytes, pathsDecodingTo, printable, readFacts, relativeTo } from '@vcu/files';
import type { StreamStore } from '@vcu/state';
import { type Target, readMetadata } from '@vcu/storage';

/** A user mistake: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const STREAM_ID = /^[0-9a-f]{24}$/;

/**
 * A stream id from what the user typed: a stream id as is, or a file (absolute, relative to the
 * current folder, or relative to WATCH_DIR) whose current stream Redis knows, or else whose id
 * follows from the file itself. The command line arrives as text, a name that is not UTF-8
 * decoded with U+FFFD: such a name is looked up by its bytes, and when several files read the
 * same, the user is asked for the stream id.
 */
export async function resolveStreamId(arg: string, config: Config, store: StreamStore): Promise<string> {
  if (STREAM_ID.test(arg)) return arg;
  const root = config.watch.dir;
  if (root === '') throw new UsageError(`"${printable(arg)}" is not a stream id, and WATCH_DIR is not set to find it as a file`);
  for (const absolute of [path.resolve(arg), path.join(root, arg)]) {
    const shown = relativeTo(root, absolute);
    if (shown === undefined) continue;
    const ids = new Set<string>();
    for (const rel of await pathsDecodingTo(root, shown)) {
      const id = await streamIdOf(root, rel, store);
      if (id !== undefined) ids.add(id);
    }
    if (ids.size > 1) {
      throw new UsageError(`"${printable(arg)}" reads the same as ${ids.size} files whose names are not UTF-8: give a stream id instead (vcu status lists them)`);
    }
    const [id] = ids;
    if (id !== undefined) return id;
  }
  throw new UsageError(`no stream is known for "${printable(arg)}" (give a stream id or a file inside WATCH_DIR=${printable(root)})`);
}

/** The current stream of the file at `rel` (vcu's string form of a name), or the id its file gives. */
async function streamIdOf(root: string, rel: string, store: StreamStore): Promise<string | undefined> {
  const known = await store.currentOf(rel);
  if (known !== undefined) return known.id;
  try {
    const facts = await readFacts(root, rel);
    return isFileFacts(facts) ? streamIdFor(facts, 0) : undefined;
  } catch (err) {
    const code = fsErrorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

export async function fetchMetadata(target: Target, prefix: string, streamId: string): Promise<StreamMetadata> {
  const metadata = await readMetadata(target, prefix, streamId);
  if (metadata === undefined) throw new UsageError(`stream ${streamId} has no metadata.json in S3 (not finished yet, or not this bucket/prefix)`);
  return metadata;
}

/** The file's path relative to WATCH_DIR in vcu's string form: lossless, from `pathBytes` when the name is not UTF-8. */
export function sourceName(metadata: StreamMetadata): string {
  const bytes = metadata.source.pathBytes;
  return bytes === undefined ? metadata.source.path : nameFromBytes(Buffer.from(bytes, 'base64'));
}
