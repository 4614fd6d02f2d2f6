import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { AppName } from './settings.js';

/** The apps that run as long-lived processes (the CLI runs once and needs no options). */
export type ServiceName = Exclude<AppName, 'cli'>;

/**
 * Node options each app is started with. V8 reads them when the process starts; an app cannot
 * set them itself. This is the one list for every way vcu starts an app: the Dockerfile,
 * docker-compose.yml and each app's `start` script (tests/src/deploy.test.ts checks them against
 * it), `pnpm start` (apps/local) and the processes of the tests and the bench (@vcu/testkit).
 */
export const NODE_FLAGS: Readonly<Record<ServiceName, readonly string[]>> = {
  // Semi-spaces of 4 MiB: V8 would size them from the memory it sees (16 MiB on a big host, 1 MiB
  // in a container of ≤ 512 MiB). With the slower heap growth the watcher and the worker set on
  // themselves (limitHeapGrowth), their heaps stay about as small as under --optimize-for-size for
  // less CPU (bench, 5,000 small files: a quarter less for the worker, a fifth for the watcher).
  watcher: ['--max-semi-space-size=4'],
  worker: ['--max-semi-space-size=4'],
  dashboard: [],
};

/**
 * Called at start-up by the watcher and the worker (not the CLI or dashboard). V8's default heap
 * growth lets garbage reach several times the live set before a full GC (the watcher's 5,000-file
 * burst: 200 MiB); the old generation grows by a fifth per full GC instead. V8 reads this option
 * at each full GC, so an app can set it on itself; options V8 reads only at start-up go on the
 * command line (NODE_FLAGS).
 */
export function limitHeapGrowth(): void {
  setFlagsFromString('--heap-growing-percent=20');
}

/** The built entry point of `app` under the repository (or image) root `root`; relative without one. */
export function appScript(app: AppName, root = ''): string {
  return path.join(root, 'apps', app, 'dist', 'main.js');
}

/** The command that starts `app` from the repository (or image) root, as the Dockerfile and compose give it. */
export function appCommand(app: ServiceName): string[] {
  return ['node', ...NODE_FLAGS[app], appScript(app)];
}
