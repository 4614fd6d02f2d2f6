// The ceiling: plain PutObject of the big files' 10 MiB ranges, no queue and no Redis, N in
// flight; and the lean uploader, which does exactly vcu's S3 work per chunk.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Bench } from '../context.js';
import type { BigFile } from '../data.js';
import { cpuDelta, cpuSnapshot } from '../proc.js';
import type { CeilingRun } from '../results.js';
import { deletePrefix, runGc } from '../s3.js';
import { settings } from '../settings.js';
import { MiB, fmt, inLanes, log, mbps, sum } from '../util.js';

export const CEILING_RANGE = 10 * MiB;
/** In-flight levels of the plain uploader; the lean one runs at the last. */
export const CEILING_LEVELS = [1, 2, 4, 8] as const;

interface Range {
  readonly file: string;
  readonly index: number;
  readonly offset: number;
  readonly size: number;
}

function rangesOf(files: readonly BigFile[]): Range[] {
  return files.flatMap((f) =>
    Array.from({ length: Math.ceil(f.size / CEILING_RANGE) }, (_, i) => ({
      file: f.file,
      index: i,
      offset: i * CEILING_RANGE,
      size: Math.min(CEILING_RANGE, f.size - i * CEILING_RANGE),
    })),
  );
}

async function readRange(r: Range): Promise<Buffer> {
  const body = Buffer.allocUnsafe(r.size);
  const handle = await open(r.file, 'r');
  try {
    let filled = 0;
    while (filled < r.size) {
      const { bytesRead } = await handle.read(body, filled, r.size - filled, r.offset + filled);
      if (bytesRead === 0) throw new Error(`${r.file} is shorter than expected`);
      filled += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return body;
}

/**
 * How a PutObject proves its body: `md5`, Content-MD5 (the SDK also hashes the body with SHA-256 for
 * SigV4); `sha256`, one SHA-256 sent as the signed payload hash (which the server verifies) and as
 * user metadata, no MD5, as vcu does; `unsigned`, the same metadata but `UNSIGNED-PAYLOAD`, which
 * the server does not hash.
 */
export type PayloadProof = 'md5' | 'sha256' | 'unsigned';

export function putCommand(key: string, body: Buffer, proof: PayloadProof): PutObjectCommand {
  const sha256 = proof === 'md5' ? undefined : createHash('sha256').update(body).digest('hex');
  const command = new PutObjectCommand({
    Bucket: settings.bucket,
    Key: key,
    Body: body,
    ContentLength: body.length,
    ...(sha256 !== undefined ? { Metadata: { sha256 } } : { ContentMD5: createHash('md5').update(body).digest('base64') }),
  });
  return sha256 === undefined ? command : withPayloadHash(command, proof === 'unsigned' ? 'UNSIGNED-PAYLOAD' : sha256);
}

/**
 * The command signed with `hash` as its payload hash (the SDK's signer takes a preset
 * x-amz-content-sha256 as it is and hashes nothing; vcu's own clients do the same in
 * packages/storage, payload-hash.ts).
 */
export function withPayloadHash<C extends PutObjectCommand>(command: C, hash: string): C {
  command.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = hash;
      return next(args);
    },
    { step: 'build' },
  );
  return command;
}

export async function ceiling(bench: Bench, files: readonly BigFile[], inflight: number, lean = false): Promise<CeilingRun> {
  const prefix = `${bench.nextId(`ceiling${inflight}${lean ? 'lean' : ''}`)}/`;
  try {
    return await bench.guarded(
      () => deletePrefix(bench.client, prefix),
      async () => {
        const ranges = rangesOf(files);
        const bytes = sum(ranges.map((r) => r.size));
        bench.disturbances.check();
        const before = cpuSnapshot(bench.ticks, []);
        const started = performance.now();
        await inLanes(ranges.length, inflight, async (i) => {
          const r = ranges[i];
          if (r === undefined) return;
          const key = `${prefix}${path.basename(r.file)}/chunk_${String(r.index).padStart(6, '0')}.bin`;
          await bench.client.send(putCommand(key, await readRange(r), lean ? 'sha256' : 'md5'));
        });
        const seconds = (performance.now() - started) / 1000;
        const result = { inflight, lean, bytes, seconds, mbps: mbps(bytes, seconds), cpu: cpuDelta(before, cpuSnapshot(bench.ticks, [])) };
        log(`ceiling: ${inflight} in flight${lean ? ', lean (one SHA-256, no MD5)' : ''}: ${fmt(result.mbps)} MB/s (${fmt(seconds, 2)} s)`);
        return result;
      },
    );
  } finally {
    await runGc();
  }
}

/** Every level `repeat` times, interleaved, then the lean uploader at the highest level. */
export async function ceilingRows(bench: Bench, files: readonly BigFile[]): Promise<CeilingRun[]> {
  const rows: CeilingRun[] = [];
  for (let r = 0; r < bench.options.repeat; r += 1) {
    for (const n of CEILING_LEVELS) rows.push(await ceiling(bench, files, n));
    rows.push(await ceiling(bench, files, CEILING_LEVELS[CEILING_LEVELS.length - 1] ?? 8, true));
  }
  return rows;
}
