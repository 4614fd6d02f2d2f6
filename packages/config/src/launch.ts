/** The apps that run as long-lived processes (the CLI runs once and needs no options). */
export type ServiceName = 'watcher' | 'worker' | 'dashboard';

/**
 * Node options each app is started with. V8 reads them when the process starts; an app cannot
 * set them itself. This is the one list for every way vcu starts an app: the Dockerfile and
 * docker-compose.yml (tests/src/deploy.test.ts checks both against it), `pnpm start`
 * (apps/local) and the processes of the tests and the bench (@vcu/testkit).
 */
export const NODE_FLAGS: Readonly<Record<ServiceName, readonly string[]>> = {
  watcher: [],
  // Young generation of at most 2 × 4 MiB (V8's default grows it to 2 × 8 MiB). Together with
  // the heap growth the worker sets itself (apps/worker/src/main.ts), its heap stays as small as
  // it was under --optimize-for-size for about a quarter less CPU (bench, 5,000 small files).
  worker: ['--max-semi-space-size=4'],
  dashboard: [],
};

/** The command that starts `app` from the repository (or image) root, as the Dockerfile and compose give it. */
export function appCommand(app: ServiceName): string[] {
  return ['node', ...NODE_FLAGS[app], `apps/${app}/dist/main.js`];
}
