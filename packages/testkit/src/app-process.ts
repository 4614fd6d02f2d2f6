import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS, type ServiceName, appScript } from '@vcu/config';
import type { EventName } from '@vcu/logger';

/** The repository root, from packages/testkit/dist. */
const ROOT = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/**
 * The command prefix that takes away root's power to read and search any file (the capabilities
 * CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH), so that a mode-000 file is unreadable to the app as
 * it would be to an ordinary user. The app keeps root's uid, so it still reaches a checkout inside
 * a folder only root may enter (/root, mode 0700), which a switch to another user (nobody) would
 * not. Empty when the tests do not run as root: an ordinary user has no such power to begin with.
 */
export function unprivilegedPrefix(): string[] {
  if (process.getuid?.() !== 0) return [];
  const caps = '-dac_override,-dac_read_search';
  return ['setpriv', `--inh-caps=${caps}`, `--bounding-set=${caps}`, '--'];
}

/** One JSON log line of an app (LOG_FORMAT=json). */
export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly [field: string]: unknown;
}

export interface AppOptions {
  /** Run without root's power to read any file (tests of permission errors); see {@link unprivilegedPrefix}. */
  readonly unprivileged?: boolean;
  /**
   * Node options before the script (default `--enable-source-maps`), e.g. `--cpu-prof` to profile;
   * after the app's own (NODE_FLAGS), which it always runs with, as it does when deployed.
   */
  readonly nodeArgs?: readonly string[];
  /**
   * The command line that runs node, up to the node binary (default: this process's node). The
   * bench runs a worker inside a memory cgroup this way: a shell that joins it, then a copy of node.
   */
  readonly node?: readonly string[];
  /** Called with each JSON log line as it arrives: for a reader that counts events as they come. */
  readonly onLine?: (line: LogLine) => void;
  /** Keep only the last this many lines (at least; default: all) in {@link AppProcess.lines}, for long runs. */
  readonly keepLines?: number;
}

/** A real vcu app (`apps/<name>/dist/main.js`) running as a child process, its logs collected. */
export class AppProcess {
  readonly lines: LogLine[] = [];
  /** Everything it wrote that was not a JSON log line (stderr, warnings). */
  readonly raw: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];
  private readonly onLine: ((line: LogLine) => void) | undefined;
  private readonly keepLines: number;

  constructor(
    readonly name: ServiceName,
    env: Record<string, string>,
    { unprivileged = false, nodeArgs = ['--enable-source-maps'], node = [process.execPath], onLine, keepLines = Infinity }: AppOptions = {},
  ) {
    this.onLine = onLine;
    this.keepLines = keepLines;
    const [command = process.execPath, ...prefix] = [...(unprivileged ? unprivilegedPrefix() : []), ...node];
    this.child = spawn(command, [...prefix, ...NODE_FLAGS[name], ...nodeArgs, appScript(name, ROOT)], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (stream: NodeJS.ReadableStream): void => {
      let buffer = '';
      stream.setEncoding('utf8');
      stream.on('data', (data: string) => {
        buffer += data;
        let newline;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          this.take(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
        }
      });
    };
    if (this.child.stdout) collect(this.child.stdout);
    if (this.child.stderr) collect(this.child.stderr);
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private take(text: string): void {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed === 'object' && parsed !== null && 'message' in parsed) this.keep(parsed as LogLine);
      else this.raw.push(text);
    } catch {
      this.raw.push(text);
    }
    if (process.env['VCU_TEST_ECHO'] === '1') process.stderr.write(`[${this.name}] ${text}\n`);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private keep(line: LogLine): void {
    this.lines.push(line);
    // dropped in batches, so that a long run does not shift the array on every line
    if (this.lines.length >= 2 * this.keepLines) this.lines.splice(0, this.lines.length - this.keepLines);
    this.onLine?.(line);
  }

  /** Lines whose message matches. */
  find(message: RegExp | string, where?: (line: LogLine) => boolean): LogLine[] {
    return this.lines.filter(
      (l) => (typeof message === 'string' ? l.message === message : message.test(l.message)) && (where === undefined || where(l)),
    );
  }

  /** Lines of this log event (the `event` field; see EVENTS in @vcu/logger). */
  events(name: EventName, where?: (line: LogLine) => boolean): LogLine[] {
    return this.lines.filter((l) => l['event'] === name && (where === undefined || where(l)));
  }

  /** Resolves with the first line (already seen or future) of this log event. */
  async waitForEvent(name: EventName, timeoutMs = 30_000, where?: (line: LogLine) => boolean): Promise<LogLine> {
    return this.waitUntilLine(() => this.events(name, where)[0], `event ${name}`, timeoutMs);
  }

  /** Resolves with the first line (already seen or future) whose message matches. */
  async waitFor(message: RegExp | string, timeoutMs = 30_000, where?: (line: LogLine) => boolean): Promise<LogLine> {
    return this.waitUntilLine(() => this.find(message, where)[0], String(message), timeoutMs);
  }

  private async waitUntilLine(found: () => LogLine | undefined, what: string, timeoutMs: number): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = found();
      if (line !== undefined) return line;
      if (!this.running) throw new Error(`${this.name} exited before logging ${what}:\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name} did not log ${what} within ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  tail(n = 30): string {
    return [...this.raw.slice(-10), ...this.lines.slice(-n).map((l) => JSON.stringify(l))].join('\n');
  }

  /** Sends a signal and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }
}
