/**
 * `pnpm start`: watcher, worker and dashboard together for local use. Defaults suit a newcomer: WATCH_DIR
 * is ./input (created), logs are pretty, and without S3_ENDPOINT an embedded S3 server stores
 * objects under ./data/s3. Every other setting comes from the environment as usual.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS, appScript, givenValue as given } from '@vcu/config';
import { type EmbeddedS3, startEmbeddedS3 } from './embedded-s3.js';
import { dashboardAuthOff, localSettingsOrExit } from './settings.js';

const root = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const { env, embedded } = localSettingsOrExit(process.env, process.cwd());
const say = (line: string): void => void process.stderr.write(`[vcu] ${line}\n`);

await mkdir(env['WATCH_DIR'] ?? 'input', { recursive: true });

let s3: EmbeddedS3 | undefined;
if (embedded !== undefined) {
  s3 = await startEmbeddedS3(embedded);
  say(`S3_ENDPOINT is not set: embedded S3 server on ${s3.env.S3_ENDPOINT} stores objects under ${embedded.directory}`);
}
if (given(env, 'DASHBOARD_PASSWORD') === undefined && !dashboardAuthOff(env)) {
  // a password for this run only, so the dashboard is never open without one
  env['DASHBOARD_PASSWORD'] = randomBytes(12).toString('base64url');
  const host = given(env, 'DASHBOARD_HOST')?.trim() ?? '127.0.0.1';
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  say(`dashboard: http://${shownHost}:${given(env, 'DASHBOARD_PORT')?.trim() ?? '3000'}/ (user ${given(env, 'DASHBOARD_USER')?.trim() ?? 'admin'}, password ${env['DASHBOARD_PASSWORD']} — set DASHBOARD_PASSWORD to choose one)`);
}
say(`watching ${env['WATCH_DIR'] ?? ''}: drop .mp4 files there; Ctrl-C stops; check them with pnpm vcu:local status|verify|restore`);

const children = new Map<string, ChildProcess>();
let stopping = false;
let exitCode = 0;

function stopAll(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill(signal);
}

for (const app of ['worker', 'watcher', 'dashboard'] as const) {
  const child = spawn(process.execPath, [...NODE_FLAGS[app], appScript(app, root)], {
    env,
    stdio: 'inherit',
    // its own process group: Ctrl-C reaches only this launcher, which stops the apps once and in order
    detached: true,
  });
  children.set(app, child);
  child.on('exit', (code, signal) => {
    children.delete(app);
    if (!stopping && app === 'dashboard') {
      // e.g. its port is taken (3000 often is): uploads need only the watcher and the worker
      say(`dashboard exited (${signal ?? `code ${String(code)}`}); uploads go on without it (DASHBOARD_PORT picks another port)`);
    } else if (!stopping) {
      say(`${app} exited (${signal ?? `code ${String(code)}`}); stopping the others`);
      exitCode = code === 0 || code === null ? 1 : code;
      stopAll('SIGTERM');
    } else if (code !== 0 && code !== null) {
      exitCode = code;
    }
    if (children.size === 0) {
      void (async () => {
        await s3?.close();
        process.exit(exitCode);
      })();
    }
  });
}

process.on('SIGINT', () => stopAll('SIGTERM'));
process.on('SIGTERM', () => stopAll('SIGTERM'));
// the terminal closed: the apps run in their own process groups and would go on without it
process.on('SIGHUP', () => stopAll('SIGTERM'));
// if this launcher dies some other way, do not leave the apps running without it
process.on('exit', () => {
  for (const child of children.values()) child.kill('SIGKILL');
});
