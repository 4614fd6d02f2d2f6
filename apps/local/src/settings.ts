import path from 'node:path';
import { givenValue as given } from '@vcu/config';
import { embeddedS3Env } from './embedded-s3.js';

/** A launcher setting with a wrong value: its name, the value and what is allowed, as the apps say it. */
export class LocalSettingError extends Error {
  constructor(name: string, value: string, allowed: string) {
    super(`${name}="${value}": expected ${allowed}`);
  }
}

/** LOCAL_S3_PORT: the embedded server's port (0 would let it pick one the apps never learn). */
function embeddedPort(env: NodeJS.ProcessEnv): number {
  const raw = given(env, 'LOCAL_S3_PORT');
  if (raw === undefined) return 4568;
  const port = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!(port >= 1 && port <= 65_535)) throw new LocalSettingError('LOCAL_S3_PORT', raw, 'a TCP port from 1 to 65535');
  return port;
}

/**
 * The settings `pnpm start` runs with, for it and for `pnpm vcu:local`: WATCH_DIR is ./input, the
 * dashboard listens on 127.0.0.1 only (a laptop's dashboard is not for the café's network) and,
 * without S3_ENDPOINT, S3 is the embedded server (LOCAL_S3_PORT, default 4568; objects under
 * LOCAL_S3_DIR, default ./data/s3). Whatever the environment sets wins; an empty value sets
 * nothing, as for the apps. Throws LocalSettingError for a wrong LOCAL_S3_PORT.
 */
export function localSettings(env: NodeJS.ProcessEnv, cwd: string): { env: NodeJS.ProcessEnv; embedded: { directory: string; port: number } | undefined } {
  const settings: NodeJS.ProcessEnv = {
    ...env,
    WATCH_DIR: given(env, 'WATCH_DIR') ?? path.join(cwd, 'input'),
    LOG_FORMAT: given(env, 'LOG_FORMAT') ?? 'pretty',
    DASHBOARD_HOST: given(env, 'DASHBOARD_HOST') ?? '127.0.0.1',
  };
  if (given(settings, 'S3_ENDPOINT') !== undefined) return { env: settings, embedded: undefined };
  const embedded = {
    directory: path.resolve(given(settings, 'LOCAL_S3_DIR') ?? path.join(cwd, 'data', 's3')),
    port: embeddedPort(settings),
  };
  return { env: { ...settings, ...embeddedS3Env(embedded.port) }, embedded };
}

/** {@link localSettings}, or the process ends with the wrong setting named (exit code 2, as the apps' own). */
export function localSettingsOrExit(env: NodeJS.ProcessEnv, cwd: string): ReturnType<typeof localSettings> {
  try {
    return localSettings(env, cwd);
  } catch (err) {
    if (!(err instanceof LocalSettingError)) throw err;
    process.stderr.write(`vcu: Invalid configuration:\n  ${err.message}\n`);
    process.exit(2);
  }
}

/** DASHBOARD_AUTH=off (in any case, as the dashboard reads it): the dashboard runs without a password. */
export function dashboardAuthOff(env: NodeJS.ProcessEnv): boolean {
  return (env['DASHBOARD_AUTH'] ?? '').trim().toLowerCase() === 'off';
}
