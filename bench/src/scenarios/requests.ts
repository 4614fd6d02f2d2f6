// What one S3 request of each kind a small file needs costs the S3 server, measured alone: no
// queue, no Redis, a fixed number in flight. It splits the server's share of the many-files run
// by request: the second request of each file (vcu's metadata.json PUT, rclone's HEAD) and the
// chunk's PUT with its SHA-256 signed (the server hashes the body to check it) or unsigned.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { Bench } from '../context.js';
import type { ManySet } from '../data.js';
import { cpuDelta, cpuSnapshot } from '../proc.js';
import { deletePrefix, runGc } from '../s3.js';
import { settings } from '../settings.js';
import { fmt, log } from '../util.js';
import { putCommand } from './ceiling.js';

export const REQUEST_KINDS = ['small-put', 'head', 'chunk-signed', 'chunk-unsigned'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export const REQUEST_LABELS: Record<RequestKind, string> = {
  'small-put': 'PUT of a 1 KiB JSON body, its SHA-256 signed (as vcu writes a metadata.json)',
  head: 'HEAD of one of those objects (as rclone checks each file it copied)',
  'chunk-signed': "PUT of a small file's bytes, its SHA-256 signed and in the metadata (as vcu sends a chunk)",
  'chunk-unsigned': 'the same PUT with UNSIGNED-PAYLOAD (the server does not hash the body)',
};

/** Requests in flight: rclone's transfers. */
export const REQUESTS_IN_FLIGHT = 16;

export interface RequestCost {
  readonly kind: RequestKind;
  readonly requests: number;
  readonly seconds: number;
  /** CPU seconds of the S3 server's processes during the requests. */
  readonly server: number;
}

/** A body the size of a one-chunk file's metadata.json. */
function smallBody(i: number): Buffer {
  const text = JSON.stringify({ n: i, pad: 'x'.repeat(1000) });
  return Buffer.from(text, 'utf8');
}

/** `count` requests of one kind, REQUESTS_IN_FLIGHT at a time; the S3 server's CPU meanwhile. */
async function timed(bench: Bench, kind: RequestKind, count: number, send: (i: number) => Promise<unknown>): Promise<RequestCost> {
  let next = 0;
  const before = cpuSnapshot(bench.ticks, []);
  const started = performance.now();
  const lane = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) await send(i);
  };
  await Promise.all(Array.from({ length: REQUESTS_IN_FLIGHT }, lane));
  const seconds = (performance.now() - started) / 1000;
  const cost = { kind, requests: count, seconds, server: cpuDelta(before, cpuSnapshot(bench.ticks, [])).s3 };
  log(`requests: ${count} × ${kind}: ${fmt(count / seconds, 0)}/s, S3 server ${fmt((cost.server / count) * 1000, 2)} CPU s per 1,000`);
  return cost;
}

/** Each kind once, `count` requests of it, on the many set's first files; every object deleted after. */
export async function requestCosts(bench: Bench, set: ManySet, count: number): Promise<RequestCost[]> {
  const prefix = `${bench.nextId('requests')}/`;
  const file = (i: number): Promise<Buffer> => readFile(path.join(set.dir, set.names[i % set.names.length] ?? ''));
  const send = (key: string, body: Buffer, proof: 'sha256' | 'unsigned'): Promise<unknown> => bench.client.send(putCommand(key, body, proof));
  try {
    return await bench.guarded(
      () => deletePrefix(bench.client, prefix),
      async () => {
        bench.disturbances.check();
        return [
          await timed(bench, 'small-put', count, (i) => send(`${prefix}small/${i}.json`, smallBody(i), 'sha256')),
          await timed(bench, 'head', count, (i) => bench.client.send(new HeadObjectCommand({ Bucket: settings.bucket, Key: `${prefix}small/${i}.json` }))),
          await timed(bench, 'chunk-signed', count, async (i) => send(`${prefix}signed/${i}`, await file(i), 'sha256')),
          await timed(bench, 'chunk-unsigned', count, async (i) => send(`${prefix}unsigned/${i}`, await file(i), 'unsigned')),
        ];
      },
    );
  } finally {
    await runGc();
  }
}
