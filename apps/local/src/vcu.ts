/**
 * `pnpm vcu:local …`: the `vcu` command with the settings `pnpm start` uses (./input, the embedded
 * S3 server), so what `pnpm start` uploaded can be checked and restored without setting anything.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { appScript } from '@vcu/config';
import { localSettingsOrExit } from './settings.js';

const root = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));
Object.assign(process.env, localSettingsOrExit(process.env, process.cwd()).env);
await import(pathToFileURL(appScript('cli', root)).href);
