import { SETTINGS } from './settings.js';

/** Marks the README's generated settings table: everything between them is written by `pnpm docs`. */
export const TABLE_START = '<!-- settings table: generated from packages/config/src/settings.ts by `pnpm docs` -->';
export const TABLE_END = '<!-- end of settings table -->';

/** The README's settings table, in markdown, from the one table of settings. */
export function settingsTable(): string {
  const rows = SETTINGS.map((s) => {
    const shown = s.shown ?? (s.default === undefined || s.default === '' ? '(unset)' : `\`${s.default}\``);
    return `| \`${s.name}\` | ${shown} | ${s.doc.replaceAll('|', '\\|')} |`;
  });
  return [TABLE_START, '| variable | default | meaning |', '|---|---|---|', ...rows, TABLE_END].join('\n');
}

/** The README with its settings table replaced by the generated one; undefined when it has no markers. */
export function withSettingsTable(readme: string): string | undefined {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) return undefined;
  return readme.slice(0, start) + settingsTable() + readme.slice(end + TABLE_END.length);
}
