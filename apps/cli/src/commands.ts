import { open, rename, rm } from 'node:fs/promises';
import type { Config } from '@vcu/config';
import type { StreamMetadata } from '@vcu/domain';
import { absoluteIn, digestFile, printable, withRegularFile } from '@vcu/files';
import type { Queues } from '@vcu/queue';
import type { StreamStore } from '@vcu/state';
import type { Target } from '@vcu/storage';
import { type ChunksRead, readChunks } from './chunks.js';
import { bar, progressBar } from './progress.js';
import { fetchMetadata, resolveStreamId, sourceName } from './resolve.js';

export interface CliDeps {
  readonly config: Config;
  readonly store: StreamStore;
  readonly queues: Queues;
  readonly target: Target;
  readonly out: (line: string) => void;
}

const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/** `vcu status`: every stream with its progress. */
export async function status({ store, out }: CliDeps): Promise<number> {
  const streams = await store.list();
  if (streams.length === 0) {
    out('no streams yet');
    return 0;
  }
  out(`${'STATUS'.padEnd(9)}${'PROGRESS'.padEnd(28)}${'CHUNKS'.padEnd(12)}${'SIZE'.padEnd(12)}${'STREAM'.padEnd(26)}FILE`);
  for (const s of streams) {
    const total = s.size > 0 ? Math.ceil(s.size / s.chunkSize) : 0;
    const size = Math.max(s.size, 0);
    const shown = s.status === 'aborted' ? `aborted: ${s.reason ?? ''}` : s.status;
    out(`${shown.padEnd(9)}${bar(s.committedBytes, size).padEnd(28)}${`${s.chunksDone}/${total}`.padEnd(12)}${mib(size).padEnd(12)}${s.id.padEnd(26)}${printable(s.path)}`);
  }
  const active = streams.filter((s) => s.status === 'active').length;
  out(`${streams.length} streams: ${active} active, ${streams.filter((s) => s.status === 'complete').length} complete, ${streams.length - active - streams.filter((s) => s.status === 'complete').length} aborted`);
  return 0;
}

/** Whether the local file still has the bytes metadata.json describes: read in pieces, never through a link or a FIFO. */
async function localState(config: Config, metadata: StreamMetadata): Promise<{ state: string; problem?: string }> {
  if (config.watch.dir === '') return { state: 'not checked (WATCH_DIR unset)' };
  try {
    const sha = await withRegularFile(absoluteIn(config.watch.dir, sourceName(metadata)), { root: config.watch.dir }, async ({ handle, stats }) => {
      const size = Number(stats.size);
      const digest = await digestFile(handle, Math.max(size, 1), size, () => false);
      return size === metadata.source.size && digest.size === size ? digest.sha256 : '';
    });
    if (sha === metadata.sha256) return { state: 'matches' };
    return { state: 'differs', problem: `the local file ${printable(sourceName(metadata))} differs from what metadata.json describes (it changed after upload?)` };
  } catch {
    return { state: 'not found' };
  }
}

/**
 * `vcu verify <file-or-stream-id>`: every chunk object in S3 against metadata.json and, when the
 * file is still in WATCH_DIR, against the file. Exit 0 when all agree, 1 otherwise.
 */
export async function verify(deps: CliDeps, arg: string): Promise<number> {
  const { config, store, target, out } = deps;
  const id = await resolveStreamId(arg, config, store);
  const metadata = await fetchMetadata(target, config.s3.prefix, id);
  const name = printable(sourceName(metadata));
  const progress = progressBar(metadata.source.size, `verify ${name}`);
  const read = await readChunks(target, metadata, { progress: (bytes) => progress.update(bytes) });
  progress.finish(read.bytes);
  const local = await localState(config, metadata);
  const problems = [...read.problems, ...(local.problem === undefined ? [] : [local.problem])];
  for (const p of problems) out(`FAIL ${p}`);
  out(
    `${problems.length === 0 ? 'OK' : 'FAILED'} stream ${id} (${name}, revision ${metadata.revision}): ${metadata.chunks.length} chunks, ${metadata.source.size} bytes in S3; local file: ${local.state}`,
  );
  return problems.length === 0 ? 0 : 1;
}

/** `vcu restore <stream-id-or-path> <out-file>`: reassemble from S3, verified, written atomically. */
export async function restore(deps: CliDeps, arg: string, outFile: string): Promise<number> {
  const { config, store, target, out } = deps;
  const id = await resolveStreamId(arg, config, store);
  const metadata = await fetchMetadata(target, config.s3.prefix, id);
  const name = printable(sourceName(metadata));
  const partial = `${outFile}.partial`;
  const handle = await open(partial, 'w');
  const progress = progressBar(metadata.source.size, `restore ${name}`);
  let read: ChunksRead;
  try {
    read = await readChunks(target, metadata, {
      stopAtFirst: true,
      write: async (piece, position) => void (await handle.write(piece, 0, piece.length, position)),
      progress: (bytes) => progress.update(bytes),
    });
  } finally {
    await handle.close();
  }
  progress.finish(read.bytes);
  const problem = read.problems[0];
  if (problem !== undefined) {
    await rm(partial, { force: true });
    out(`FAILED ${problem}; nothing written to ${printable(outFile)}`);
    return 1;
  }
  await rename(partial, outFile);
  out(`OK restored ${name} (${metadata.source.size} bytes, SHA-256 ${metadata.sha256}) to ${printable(outFile)}`);
  return 0;
}

/** `vcu retry-failed`: move every failed job of both queues back to waiting, in one script call per batch. */
export async function retryFailed({ queues, out }: CliDeps): Promise<number> {
  let retried = 0;
  for (const queue of [queues.chunks, queues.finalize] as const) {
    retried += await queue.getFailedCount();
    await queue.retryJobs({ state: 'failed' });
  }
  out(retried === 0 ? 'no failed jobs' : `retried ${retried} failed job${retried === 1 ? '' : 's'}`);
  return 0;
}
