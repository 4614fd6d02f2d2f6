import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { withSettingsTable } from './readme.js';
import { SETTINGS } from './settings.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

void describe('README settings table', () => {
  void it('is the table generated from the settings (run `pnpm docs` after changing one)', () => {
    const generated = withSettingsTable(readme);
    assert.ok(generated !== undefined, 'README.md has the settings table markers');
    assert.equal(readme, generated, 'README.md settings table is stale: run `pnpm docs`');
  });

  void it('has a row for every setting', () => {
    for (const setting of SETTINGS) assert.ok(readme.includes(`| \`${setting.name}\` |`), `README.md has a row for ${setting.name}`);
  });
});
