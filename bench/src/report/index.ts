// The report (BENCHMARKS.md for a full run): its sections in order, from the results.
import type { Options } from '../options.js';
import type { Meta, Results, VcuRun } from '../results.js';
import { GiB } from '../util.js';
import { Doc } from './doc.js';
import { growingSection, manySection } from './files.js';
import { header, summary } from './header.js';
import { scaleSection } from './scale.js';
import { soakSection } from './soak.js';
import { ceilingSection, cpuSection, endToEndSection, scalingSection } from './throughput.js';
import { hashingFloor, profileSection, whereTime } from './time.js';

export { soakChart } from './soak.js';

/** Warnings and errors the apps logged, and exit codes other than 0, by run. */
function anomalies(d: Doc): void {
  const { results } = d;
  const runs: { label: string; problems: Readonly<Record<string, number>>; exits: readonly (number | 'killed')[] }[] = [
    ...(results.e2e ?? []),
    ...[...(results.scaling?.values() ?? [])].flat(),
    ...(results.many ?? []),
    ...(results.growing ?? []),
    ...(results.profile ? [results.profile] : []),
    ...(results.soak ? [{ ...results.soak, label: 'soak' }] : []),
  ];
  const lines: string[] = [];
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.problems)) lines.push(`- ${r.label}: ${k} (×${v})`);
    if (r.exits.some((x) => x !== 0)) lines.push(`- ${r.label}: exit codes after SIGTERM ${r.exits.join(', ')}`);
  }
  d.p('## Warnings and errors the apps logged', '');
  d.p(...(lines.length > 0 ? [...new Set(lines)] : ['None.']), '');
}

function timeSections(d: Doc, many: VcuRun | undefined): void {
  if (d.e2e) {
    whereTime(d, d.e2e, 'Where the time goes: end to end (the run of 2.)', d.e2e.bytes / GiB, 'per GiB');
    hashingFloor(d);
  }
  profileSection(d);
  if (many) {
    whereTime(d, many, 'Where the time goes: many small files (the median run of 5.)', many.files / 1000, 'per 1,000 files');
    d.p('');
  }
}

export function report(meta: Meta, results: Results, options: Options): string {
  const d = new Doc(meta, results, options);
  header(d);
  summary(d);
  ceilingSection(d);
  endToEndSection(d);
  cpuSection(d);
  scalingSection(d);
  manySection(d);
  growingSection(d);
  soakSection(d, options.soakSvg);
  scaleSection(d);
  timeSections(d, d.many);
  anomalies(d);
  return d.text();
}
