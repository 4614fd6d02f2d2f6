// The real apps as the bench runs them: @vcu/testkit's AppProcess, with BENCH_NODE_ARGS, events
// counted by an EventTally, and a stop that kills what does not exit in time.
import { AppProcess } from '@vcu/testkit';
import type { EventTally } from './tally.js';

/** Node options for every app the bench starts (BENCH_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=…`). */
function benchNodeArgs(): string[] {
  return (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
}

/** How the bench starts an app's node: extra options, and the command line up to the node binary (AppOptions.node). */
export interface NodeLaunch {
  readonly nodeArgs?: readonly string[];
  readonly node?: readonly string[];
}

export function startApp(name: 'watcher' | 'worker', env: Record<string, string>, tally: EventTally, { nodeArgs = [], node }: NodeLaunch = {}): AppProcess {
  return new AppProcess(
    name,
    { HOME: process.env['HOME'] ?? '/tmp', ...env },
    { nodeArgs: [...benchNodeArgs(), ...nodeArgs], node, onLine: (line) => tally.take(name, line), keepLines: 200 },
  );
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves with the exit code, or "killed". */
export async function stopApp(app: AppProcess, graceMs = 40_000): Promise<number | 'killed'> {
  const timer = setTimeout(() => void app.stop('SIGKILL'), graceMs);
  try {
    return (await app.stop('SIGTERM')) ?? 'killed';
  } finally {
    clearTimeout(timer);
  }
}

/** Starts `workers` workers, waits for `worker.ready`, then the watcher and `watcher.ready`. */
export async function startApps(
  env: Record<string, string>,
  tally: EventTally,
  { workers = 1, worker = {}, started }: { workers?: number; worker?: NodeLaunch; started: AppProcess[] },
): Promise<void> {
  for (let i = 0; i < workers; i += 1) started.push(startApp('worker', env, tally, worker));
  await Promise.all(started.map((w) => w.waitForEvent('worker.ready', 60_000)));
  const watcher = startApp('watcher', env, tally);
  started.push(watcher);
  await watcher.waitForEvent('watcher.ready', 60_000);
}
