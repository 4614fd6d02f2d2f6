// What one S3 request of each kind a small file needs costs the S3 server, measured alone: no
// queue, no Redis, a fixed number in flight. It splits the server's share of the many-files run
// by request: the second request of each file (vcu's metadata.json PUT, rclone's HEAD) and the
// chunk's PUT with its SHA-256 signed (the server hashes the body to check it) or unsigned.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Bench } from '../context.js';
import type { ManySet } from '../data.js';
import { cpuDelta, cpuSnapshot } from '../proc.js';
import { deletePrefix, runGc } from '../s3.js';
import { settings } from '../settings.js';
import { fmt, inLanes, log, sleep } from '../util.js';
import { putCommand, withPayloadHash } from './ceiling.js';

export const REQUEST_KINDS = ['small-put', 'head', 'chunk-signed', 'chunk-unsigned'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export const REQUEST_LABELS: Record<RequestKind, string> = {
  'small-put': 'PUT of a 1 KiB JSON body, signed with its SHA-256, with Content-MD5 and Content-Type (as vcu writes a metadata.json)',
  head: 'HEAD of one of those objects (as rclone checks each file it copied)',
  'chunk-signed': "PUT of a small file's bytes, its SHA-256 signed and in the metadata (as vcu sends a chunk)",
  'chunk-unsigned': 'the same PUT with UNSIGNED-PAYLOAD (the server does not hash the body)',
};

/** Requests in flight: rclone's transfers. */
export const REQUESTS_IN_FLIGHT = 16;

/** How long the server's background CPU is read, with nothing sent, before each round. */
const IDLE_MS = 2000;

export interface RequestCost {
  /** Which round (0, 1, …); each round runs every kind once. */
  readonly round: number;
  readonly kind: RequestKind;
  readonly requests: number;
  readonly seconds: number;
  /** CPU seconds of the S3 server's processes during the requests, less their background (`background`). */
  readonly server: number;
  /** CPU seconds the server would have used anyway in that time, at its rate measured idle just before. */
  readonly background: number;
}

/** A body the size of a one-chunk file's metadata.json. */
function smallBody(i: number): Buffer {
  return Buffer.from(JSON.stringify({ n: i, pad: 'x'.repeat(1000) }), 'utf8');
}

/** A PUT as vcu's putJson sends a metadata.json: SHA-256 signed, Content-MD5, Content-Type. */
function smallPut(key: string, body: Buffer): PutObjectCommand {
  const md5 = createHash('md5').update(body).digest('base64');
  const command = new PutObjectCommand({ Bucket: settings.bucket, Key: key, Body: body, ContentLength: body.length, ContentType: 'application/json', ContentMD5: md5 });
  return withPayloadHash(command, createHash('sha256').update(body).digest('hex'));
}

/** The S3 server's CPU seconds per second with nothing sent (its monitor, manager and own timers). */
async function backgroundRate(bench: Bench): Promise<number> {
  const before = cpuSnapshot(bench.ticks, []);
  await sleep(IDLE_MS);
  const w = cpuDelta(before, cpuSnapshot(bench.ticks, []));
  return w.s3 / w.wall;
}

/** `count` requests of one kind, REQUESTS_IN_FLIGHT at a time; the S3 server's CPU meanwhile, less its background. */
async function timed(bench: Bench, at: { round: number; idle: number }, kind: RequestKind, count: number, send: (i: number) => Promise<unknown>): Promise<RequestCost> {
  const before = cpuSnapshot(bench.ticks, []);
  const started = performance.now();
  await inLanes(count, REQUESTS_IN_FLIGHT, send);
  const seconds = (performance.now() - started) / 1000;
  const background = at.idle * seconds;
  const cost = { round: at.round, kind, requests: count, seconds, server: cpuDelta(before, cpuSnapshot(bench.ticks, [])).s3 - background, background };
  log(`requests: ${count} × ${kind}: ${fmt(count / seconds, 0)}/s, S3 server ${fmt((cost.server / count) * 1000, 2)} CPU s per 1,000`);
  return cost;
}

/**
 * Round `round`: each kind once, `count` requests of it, on the many set's first files; every
 * object deleted after. The HEADs read the small PUTs' objects, so those two go in that order; odd
 * rounds run the chunk PUTs first and the unsigned before the signed, so no kind always follows
 * the same one.
 */
export async function requestCosts(bench: Bench, set: ManySet, count: number, round: number): Promise<RequestCost[]> {
  const prefix = `${bench.nextId('requests')}/`;
  const file = (i: number): Promise<Buffer> => readFile(path.join(set.dir, set.names[i % set.names.length] ?? ''));
  const chunk = (proof: 'sha256' | 'unsigned') => async (i: number) => bench.client.send(putCommand(`${prefix}${proof}/${i}`, await file(i), proof));
  try {
    return await bench.guarded(
      () => deletePrefix(bench.client, prefix),
      async () => {
        bench.disturbances.check();
        const at = { round, idle: await backgroundRate(bench) };
        const small = async (): Promise<RequestCost[]> => [
          await timed(bench, at, 'small-put', count, (i) => bench.client.send(smallPut(`${prefix}small/${i}.json`, smallBody(i)))),
          await timed(bench, at, 'head', count, (i) => bench.client.send(new HeadObjectCommand({ Bucket: settings.bucket, Key: `${prefix}small/${i}.json` }))),
        ];
        const chunks = async (): Promise<RequestCost[]> => {
          const signed = (): Promise<RequestCost> => timed(bench, at, 'chunk-signed', count, chunk('sha256'));
          const unsigned = (): Promise<RequestCost> => timed(bench, at, 'chunk-unsigned', count, chunk('unsigned'));
          return round % 2 === 0 ? [await signed(), await unsigned()] : [await unsigned(), await signed()];
        };
        return round % 2 === 0 ? [...(await small()), ...(await chunks())] : [...(await chunks()), ...(await small())];
      },
    );
  } finally {
    await runGc();
  }
}
