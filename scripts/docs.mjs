#!/usr/bin/env node
// Writes the README's settings table from the one table of settings
// (packages/config/src/settings.ts). Run after changing a setting: `pnpm docs`.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { withSettingsTable } = await import(path.join(root, 'packages/config/dist/readme.js'));
const file = path.join(root, 'README.md');
const before = readFileSync(file, 'utf8');
const after = withSettingsTable(before);
if (after === undefined) {
  console.error('README.md has no settings table markers');
  process.exit(1);
}
writeFileSync(file, after);
console.log(after === before ? 'README.md settings table is up to date' : 'README.md settings table written');
