import path from 'node:path';
import { embeddedS3Env } from './embedded-s3.js';

/**
 * The settings `pnpm start` runs with, for it and for `pnpm vcu:local`: WATCH_DIR is ./input, the
 * dashboard listens on 127.0.0.1 only (a laptop's dashboard is not for the café's network) and,
 * without S3_ENDPOINT, S3 is the embedded server (LOCAL_S3_PORT, default 4568; objects under
 * LOCAL_S3_DIR, default ./data/s3). Whatever the environment sets wins.
 */
export function localSettings(env: NodeJS.ProcessEnv, cwd: string): { env: NodeJS.ProcessEnv; embedded: { directory: string; port: number } | undefined } {
  const settings: NodeJS.ProcessEnv = { ...env };
  settings['WATCH_DIR'] ??= path.join(cwd, 'input');
  settings['LOG_FORMAT'] ??= 'pretty';
  settings['DASHBOARD_HOST'] ??= '127.0.0.1';
  if ((settings['S3_ENDPOINT'] ?? '') !== '') return { env: settings, embedded: undefined };
  const embedded = {
    directory: path.resolve(settings['LOCAL_S3_DIR'] ?? path.join(cwd, 'data', 's3')),
    port: Number(settings['LOCAL_S3_PORT'] ?? 4568),
  };
  return { env: { ...settings, ...embeddedS3Env(embedded.port) }, embedded };
}
