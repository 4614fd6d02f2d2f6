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
  watcher: [],
  // Semi-spaces of 4 MiB: V8 would size them from the memory it sees (16 MiB on a big host, 1 MiB
  // in a container of ≤ 512 MiB). With the heap growth the worker sets itself (its main.ts), its
  // heap stays as small as under --optimize-for-size for a quarter less CPU (bench, small files).
  worker: ['--max-semi-space-size=4'],
  dashboard: [],
};

/** The command that starts `app` from the repository (or image) root, as the Dockerfile and compose give it. */
export function appCommand(app: ServiceName): string[] {
  return ['node', ...NODE_FLAGS[app], `apps/${app}/dist/main.js`];
}
