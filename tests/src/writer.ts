import { appendFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';

/**
 * A recorder: appends `stepBytes` to a file every `everyMs` until stopped, and remembers every
 * byte it wrote so the test can compare S3 with what was written.
 */
export class GrowingFile {
  private readonly parts: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  constructor(
    readonly file: string,
    private readonly stepBytes: number,
    private readonly everyMs: number,
  ) {}

  start(): this {
    this.timer = setInterval(() => {
      const part = randomBytes(this.stepBytes);
      this.pending = this.pending
        .then(() => appendFile(this.file, part))
        .then(() => void this.parts.push(part))
        .catch((err: unknown) => {
          this.failure = err instanceof Error ? err : new Error(String(err));
        });
    }, this.everyMs);
    return this;
  }

  /** Stops writing; resolves with every byte written, in order. */
  async stop(): Promise<Buffer> {
    clearInterval(this.timer);
    await this.pending;
    if (this.failure !== undefined) throw this.failure;
    return Buffer.concat(this.parts);
  }
}
