// Small helpers every part of the bench uses: units, logging to stderr, running a command.
import { type ExecFileException, execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLimiter } from '@vcu/runtime';

/** The repository root (bench/dist/util.js → ../..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Progress goes to stderr; the report alone goes to stdout. */
export function log(...args: unknown[]): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** MB/s: 10⁶ bytes per second. */
export const mbps = (bytes: number, seconds: number): number => bytes / 1e6 / seconds;

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/**
 * Runs `work(i)` for i = 0…count−1, `lanes` at a time (the apps' limiter). After a failure no new
 * work starts, and the first error is thrown once every started one has stopped, so a cleanup
 * never races a request still in flight.
 */
export async function inLanes(count: number, lanes: number, work: (i: number) => Promise<unknown>): Promise<void> {
  const run = createLimiter(lanes);
  let failure: { readonly err: unknown } | undefined;
  const step = async (i: number): Promise<void> => {
    if (failure !== undefined) return;
    try {
      await work(i);
    } catch (err) {
      failure ??= { err };
    }
  };
  await Promise.all(Array.from({ length: count }, (_, i) => run(() => step(i))));
  if (failure !== undefined) throw failure.err instanceof Error ? failure.err : new Error(String(failure.err));
}

export interface CommandResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly err: ExecFileException | null;
}

/** Runs a command to its end (or `timeoutMs`); never throws. `env` replaces the environment when given. */
export function run(file: string, args: readonly string[], timeoutMs = 10_000, env?: NodeJS.ProcessEnv): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * MiB, ...(env ? { env } : {}) }, (err, stdout, stderr) =>
      resolve({ ok: err === null, stdout: String(stdout), stderr: String(stderr), err }),
    );
  });
}

/** `x` with `digits` decimals, or n/a. */
export const fmt = (x: number | undefined, digits = 1): string => (x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/** Bytes as whole MiB. */
export const mib = (bytes: number | undefined): string => `${fmt(bytes === undefined ? NaN : bytes / MiB, 0)} MiB`;

function sorted(xs: readonly number[]): number[] {
  return xs.filter(Number.isFinite).sort((a, b) => a - b);
}

/** The lower median (a value that occurred), NaN for none. */
export function median(xs: readonly number[]): number {
  const s = sorted(xs);
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] ?? NaN);
}

export function quantile(xs: readonly number[], q: number): number {
  const s = sorted(xs);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN);
}

/** Math.max / min of finite values, NaN for none (never ±Infinity). */
export function maxOf(xs: readonly number[]): number {
  const s = sorted(xs);
  return s.at(-1) ?? NaN;
}
export function minOf(xs: readonly number[]): number {
  const s = sorted(xs);
  return s[0] ?? NaN;
}

/** The median run (by MB/s) of repeated runs. */
export function pick<T extends { readonly mbps: number }>(runs: readonly T[]): T {
  const s = [...runs].sort((a, b) => a.mbps - b.mbps);
  const r = s[Math.floor((s.length - 1) / 2)];
  if (r === undefined) throw new Error('no runs to pick from');
  return r;
}
