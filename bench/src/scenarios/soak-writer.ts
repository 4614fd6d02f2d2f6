// The soak's camera: writes files into the watched folder at a steady pace (small clips written
// at once, and every tenth a recording that grows while the writer holds it open), and rotates
// uploaded files out (deletes them, oldest first) so that at most `keep` stay; their objects in
// S3 are deleted too, as a retention rule would, so a long soak does not fill the S3 server.
import { randomBytes } from 'node:crypto';
import { open, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { chunkKey, metadataKey } from '@vcu/storage';
import type { Completion, EventTally } from '../measure/tally.js';
import { deleteKeys } from '../s3.js';
import { MiB, sleep } from '../util.js';
import { prng } from '../data.js';

export interface WriterPlan {
  readonly files: number;
  /** Files started per second. */
  readonly rate: number;
  /** At most this many files stay in the folder; older uploaded ones are deleted. */
  readonly keep: number;
  readonly dir: string;
  readonly s3Prefix: string;
}

/** One recording in ten; it grows by 8 writes of 192 KiB, 150 ms apart (1.5 MiB in ~1 s). */
export const RECORDING = { every: 10, writes: 8, piece: 192 * 1024, gapMs: 150 } as const;
/** Clips of 32–192 KiB. */
const CLIP = { min: 32 * 1024, max: 192 * 1024 } as const;

export class SoakWriter {
  written = 0;
  bytes = 0;
  recordings = 0;
  /** Files in the folder, oldest first. */
  readonly present = new Map<string, Completion | undefined>();
  private readonly pool = randomBytes(4 * MiB);
  private readonly rand = prng(20270101);
  private readonly open = new Set<Promise<void>>();
  private pendingKeys: string[] = [];
  private deleting: Promise<void> = Promise.resolve();
  private deleteError: Error | undefined;
  private writeError: Error | undefined;

  constructor(
    private readonly plan: WriterPlan,
    private readonly tally: EventTally,
    private readonly client: S3Client,
  ) {
    tally.onComplete = (name, completion) => {
      if (this.present.has(name)) this.present.set(name, completion);
    };
  }

  /** Writes every file at the plan's pace, rotating as it goes; resolves when the last is closed. */
  async run(failed: () => Error | undefined): Promise<void> {
    const started = Date.now();
    for (let i = 0; i < this.plan.files; i += 1) {
      const wait = started + (i * 1000) / this.plan.rate - Date.now();
      if (wait > 0) await sleep(wait);
      if (this.writeError !== undefined) throw this.writeError;
      await this.rotate(failed);
      const recording = i % RECORDING.every === RECORDING.every - 1;
      const name = `${recording ? 'r' : 'c'}${String(i).padStart(6, '0')}.mp4`;
      this.present.set(name, undefined);
      this.written += 1;
      if (recording) this.track(this.record(name, i));
      else await this.clip(name, i);
    }
    await Promise.all(this.open);
    if (this.writeError !== undefined) throw this.writeError;
  }

  /** Deletes uploaded files, oldest first, until at most `keep` are left; waits while none is uploaded yet. */
  private async rotate(failed: () => Error | undefined): Promise<void> {
    while (this.present.size >= this.plan.keep) {
      const done = [...this.present].filter(([, c]) => c !== undefined).slice(0, this.present.size - this.plan.keep + 1);
      for (const [name, completion] of done) await this.remove(name, completion);
      if (this.present.size < this.plan.keep) return;
      const err = failed();
      if (err !== undefined) throw err;
      await sleep(50);
    }
  }

  private async remove(name: string, completion: Completion | undefined): Promise<void> {
    await unlink(path.join(this.plan.dir, name));
    this.present.delete(name);
    if (completion === undefined || completion.chunks === undefined) return;
    for (let c = 0; c < completion.chunks; c += 1) this.pendingKeys.push(chunkKey(this.plan.s3Prefix, completion.stream, c));
    this.pendingKeys.push(metadataKey(this.plan.s3Prefix, completion.stream));
    if (this.pendingKeys.length >= 1000) this.flush();
  }

  /** Deletes the rotated files' objects in the background, one batch after another. */
  private flush(): void {
    const keys = this.pendingKeys;
    this.pendingKeys = [];
    this.deleting = this.deleting
      .then(() => deleteKeys(this.client, keys))
      .catch((err: unknown) => {
        this.deleteError ??= err instanceof Error ? err : new Error(String(err));
      });
  }

  /** Deletes the objects of every file rotated out so far; throws if a deletion failed. */
  async drain(): Promise<void> {
    this.flush();
    await this.deleting;
    if (this.deleteError !== undefined) throw new Error(`deleting rotated files' objects failed: ${this.deleteError.message}`);
  }

  /** Keeps a recording being written; its failure stops the run at the next file. */
  private track(writing: Promise<void>): void {
    const settled = writing
      .catch((err: unknown) => {
        this.writeError ??= err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => this.open.delete(settled));
    this.open.add(settled);
  }

  private piece(i: number, size: number): Buffer {
    const start = Math.floor(this.rand() * (this.pool.length - size));
    const body = Buffer.from(this.pool.subarray(start, start + size));
    body.write(`vcu soak file ${i}\n`, 0);
    return body;
  }

  private async clip(name: string, i: number): Promise<void> {
    const body = this.piece(i, CLIP.min + Math.floor(this.rand() * (CLIP.max - CLIP.min + 1)));
    await writeFile(path.join(this.plan.dir, name), body);
    this.bytes += body.length;
  }

  private async record(name: string, i: number): Promise<void> {
    this.recordings += 1;
    const handle = await open(path.join(this.plan.dir, name), 'w');
    try {
      for (let w = 0; w < RECORDING.writes; w += 1) {
        if (w > 0) await sleep(RECORDING.gapMs);
        await handle.write(this.piece(i, RECORDING.piece), 0, RECORDING.piece, w * RECORDING.piece);
        this.bytes += RECORDING.piece;
      }
    } finally {
      await handle.close();
    }
  }
}
