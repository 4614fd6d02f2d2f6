import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SETTINGS } from './config.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

void describe('README settings table', () => {
  void it('documents every variable loadConfig reads', () => {
    for (const setting of SETTINGS) {
      assert.ok(readme.includes(`| \`${setting.name}\` |`), `README.md has a row for ${setting.name}`);
    }
  });
});
