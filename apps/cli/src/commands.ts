import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import type { Config } from '@vcu/config';
import { absoluteIn } from '@vcu/files';
import type { Queues } from '@vcu/queue';
import type { StreamStore } from '@vcu/state';
import { type Target, getObjectBytes } from '@vcu/storage';
import { bar, progressBar } from './progress.js';
import { fetchMetadata, resolveStreamId } from './resolve.js';

export interface CliDeps {
  readonly config: Config;
  readonly store: StreamStore;
  readonly queues: Queues;
  readonly target: Target;
  readonly out: (line: string) => void;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
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
    out(`${shown.padEnd(9)}${bar(s.committedBytes, size).padEnd(28)}${`${s.chunksDone}/${total}`.padEnd(12)}${mib(size).padEnd(12)}${s.id.padEnd(26)}${s.path}`);
  }
  const active = streams.filter((s) => s.status === 'active').length;
  out(`${streams.length} streams: ${active} active, ${streams.filter((s) => s.status === 'complete').length} complete, ${streams.length - active - streams.filter((s) => s.status === 'complete').length} aborted`);
  return 0;
}

/**
 * `vcu verify <file-or-stream-id>`: every chunk object in S3 against metadata.json and, when the
 * file is still in WATCH_DIR, against the file. Exit 0 when all agree, 1 otherwise.
 */
export async function verify(deps: CliDeps, arg: string): Promise<number> {
  const { config, store, target, out } = deps;
  const id = await resolveStreamId(arg, config, store);
  const metadata = await fetchMetadata(target, config.s3.prefix, id);
  const problems: string[] = [];
  const whole = createHash('sha256');
  const progress = progressBar(metadata.source.size, `verify ${metadata.source.path}`);
  let done = 0;
  for (const chunk of metadata.chunks) {
    const body = await getObjectBytes(target, chunk.key);
    if (body === undefined) {
      problems.push(`chunk ${chunk.index}: object ${chunk.key} is missing`);
      continue;
    }
    whole.update(body);
    if (body.length !== chunk.size) problems.push(`chunk ${chunk.index}: ${body.length} bytes in S3, metadata says ${chunk.size}`);
    else if (sha256(body) !== chunk.sha256) problems.push(`chunk ${chunk.index}: SHA-256 in S3 differs from metadata.json`);
    done += body.length;
    progress.update(done);
  }
  progress.finish(done);
  if (problems.length === 0 && whole.digest('hex') !== metadata.sha256) problems.push('the chunks together do not have the SHA-256 metadata.json records');

  let local = 'not checked (WATCH_DIR unset)';
  if (config.watch.dir !== '') {
    const file = absoluteIn(config.watch.dir, metadata.source.path);
    try {
      const hash = createHash('sha256');
      let size = 0;
      for await (const piece of createReadStream(file)) {
        hash.update(piece as Buffer);
        size += (piece as Buffer).length;
      }
      if (size === metadata.source.size && hash.digest('hex') === metadata.sha256) local = 'matches';
      else {
        local = 'differs';
        problems.push(`the local file ${metadata.source.path} differs from what metadata.json describes (it changed after upload?)`);
      }
    } catch {
      local = 'not found';
    }
  }
  for (const p of problems) out(`FAIL ${p}`);
  out(
    `${problems.length === 0 ? 'OK' : 'FAILED'} stream ${id} (${metadata.source.path}, revision ${metadata.revision}): ${metadata.chunks.length} chunks, ${metadata.source.size} bytes in S3; local file: ${local}`,
  );
  return problems.length === 0 ? 0 : 1;
}

/** `vcu restore <stream-id-or-path> <out-file>`: reassemble from S3, verified, written atomically. */
export async function restore(deps: CliDeps, arg: string, outFile: string): Promise<number> {
  const { config, store, target, out } = deps;
  const id = await resolveStreamId(arg, config, store);
  const metadata = await fetchMetadata(target, config.s3.prefix, id);
  const partial = `${outFile}.partial`;
  const handle = await open(partial, 'w');
  const whole = createHash('sha256');
  const progress = progressBar(metadata.source.size, `restore ${metadata.source.path}`);
  let done = 0;
  let problem: string | undefined;
  try {
    for (const chunk of metadata.chunks) {
      const body = await getObjectBytes(target, chunk.key);
      if (body === undefined) problem = `chunk ${chunk.index} (${chunk.key}) is missing in S3`;
      else if (body.length !== chunk.size || sha256(body) !== chunk.sha256) problem = `chunk ${chunk.index} in S3 does not match metadata.json`;
      if (problem !== undefined || body === undefined) break;
      await handle.write(body, 0, body.length, chunk.offset);
      whole.update(body);
      done += body.length;
      progress.update(done);
    }
  } finally {
    await handle.close();
  }
  progress.finish(done);
  if (problem === undefined && whole.digest('hex') !== metadata.sha256) problem = 'the restored file does not have the SHA-256 metadata.json records';
  if (problem !== undefined) {
    await rm(partial, { force: true });
    out(`FAILED ${problem}; nothing written to ${outFile}`);
    return 1;
  }
  await rename(partial, outFile);
  out(`OK restored ${metadata.source.path} (${metadata.source.size} bytes, SHA-256 ${metadata.sha256}) to ${outFile}`);
  return 0;
}

/** `vcu retry-failed`: move every failed job of both queues back to waiting. */
export async function retryFailed({ queues, out }: CliDeps): Promise<number> {
  let retried = 0;
  for (const queue of [queues.chunks, queues.finalize] as const) {
    for (const job of await queue.getFailed(0, -1)) {
      await job.retry('failed');
      retried += 1;
    }
  }
  out(retried === 0 ? 'no failed jobs' : `retried ${retried} failed job${retried === 1 ? '' : 's'}`);
  return 0;
}
