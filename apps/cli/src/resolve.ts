import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '@vcu/config';
import { type StreamMetadata, streamIdFor } from '@vcu/domain';
import { isFileFacts, readFacts, relativeTo } from '@vcu/files';
import type { StreamStore } from '@vcu/state';
import { type Target, getObjectBytes, metadataKey } from '@vcu/storage';

/** A user mistake: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const STREAM_ID = /^[0-9a-f]{24}$/;

/**
 * A stream id from what the user typed: a stream id as is, or a file (absolute, relative to the
 * current folder, or relative to WATCH_DIR) whose current stream Redis knows, or else whose id
 * follows from the file itself.
 */
export async function resolveStreamId(arg: string, config: Config, store: StreamStore): Promise<string> {
  if (STREAM_ID.test(arg)) return arg;
  const root = config.watch.dir;
  if (root === '') throw new UsageError(`"${arg}" is not a stream id, and WATCH_DIR is not set to find it as a file`);
  const candidates = [path.resolve(arg), path.join(root, arg)];
  for (const absolute of candidates) {
    const rel = relativeTo(root, absolute);
    if (rel === undefined) continue;
    const known = await store.currentOf(rel);
    if (known !== undefined) return known.id;
    if (existsSync(absolute)) {
      const facts = await readFacts(root, rel);
      if (isFileFacts(facts)) return streamIdFor(facts, 0);
    }
  }
  throw new UsageError(`no stream is known for "${arg}" (give a stream id or a file inside WATCH_DIR=${root})`);
}

export async function fetchMetadata(target: Target, prefix: string, streamId: string): Promise<StreamMetadata> {
  const body = await getObjectBytes(target, metadataKey(prefix, streamId));
  if (body === undefined) throw new UsageError(`stream ${streamId} has no metadata.json in S3 (not finished yet, or not this bucket/prefix)`);
  return JSON.parse(body.toString('utf8')) as StreamMetadata;
}
