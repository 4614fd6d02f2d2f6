// What the bench reads from the apps' logs: their events (the `event` field, see EVENTS in
// @vcu/logger), counted as each line arrives. Never message text.
import type { EventName } from '@vcu/logger';
import type { AppProcess, LogLine } from '@vcu/testkit';

export interface Upload {
  readonly path: string;
  readonly stream: string;
  readonly chunk: number;
  readonly bytes: number;
  readonly ms: number;
  /** When it was logged (ms since the epoch). */
  readonly at: number;
}

export interface Completion {
  readonly at: number;
  readonly stream: string;
  /** Chunks in its metadata.json (undefined when it was already described). */
  readonly chunks: number | undefined;
}

const text = (line: LogLine, field: string): string => {
  const value = line[field];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
};
const number = (line: LogLine, field: string): number => Number(line[field] ?? NaN);
const at = (line: LogLine): number => Date.parse(text(line, 'timestamp'));

/** Events of every app of one run, by kind; counted as they come in. */
export class EventTally {
  readonly uploads: Upload[] = [];
  /** File path → its first `stream.complete` (or `stream.already-described`). */
  readonly completions = new Map<string, Completion>();
  /** File path → first and last `chunk.uploaded`. */
  readonly perPath = new Map<string, { first: number; last: number }>();
  /** `chunk.skipped` by its `why`. */
  readonly skipped: Record<string, number> = {};
  failedForGood = 0;
  /** Warnings and errors by app, level and event. */
  readonly problems = new Map<string, number>();
  /** Called after each completion (the soak rotates files out on it). */
  onComplete: ((path: string, completion: Completion) => void) | undefined;
  private readonly keepUploads: boolean;

  constructor({ keepUploads = true }: { readonly keepUploads?: boolean } = {}) {
    this.keepUploads = keepUploads;
  }

  get chunksUploaded(): number {
    return this.uploaded;
  }
  private uploaded = 0;

  take(app: string, line: LogLine): void {
    if (line.level === 'warn' || line.level === 'error') this.problem(`${app} ${line.level}: ${text(line, 'event') || line.message}`);
    const event = line['event'] as EventName | undefined;
    if (event === 'chunk.uploaded') this.uploadedChunk(line);
    else if (event === 'stream.complete' || event === 'stream.already-described') this.complete(line);
    else if (event === 'chunk.skipped') this.skipped[text(line, 'why')] = (this.skipped[text(line, 'why')] ?? 0) + 1;
    else if (event === 'chunk.failed') this.failedForGood += 1;
  }

  /** Lines an app wrote that were not JSON log lines (stderr), counted as problems. */
  takeRaw(app: AppProcess): void {
    for (const raw of app.raw) if (raw.trim() !== '') this.problem(`${app.name} (stderr) ${raw.slice(0, 120)}`);
  }

  private problem(key: string): void {
    this.problems.set(key, (this.problems.get(key) ?? 0) + 1);
  }

  private uploadedChunk(line: LogLine): void {
    this.uploaded += 1;
    const upload = { path: text(line, 'path'), stream: text(line, 'stream'), chunk: number(line, 'chunk'), bytes: number(line, 'bytes'), ms: number(line, 'ms'), at: at(line) };
    if (this.keepUploads) this.uploads.push(upload);
    const p = this.perPath.get(upload.path);
    if (p === undefined) this.perPath.set(upload.path, { first: upload.at, last: upload.at });
    else p.last = Math.max(p.last, upload.at);
  }

  private complete(line: LogLine): void {
    const path = text(line, 'path');
    if (this.completions.has(path)) return;
    const chunks = line['event'] === 'stream.complete' ? number(line, 'chunks') : undefined;
    const completion = { at: at(line), stream: text(line, 'stream'), chunks };
    this.completions.set(path, completion);
    this.onComplete?.(path, completion);
  }
}
