// "Scale: finished streams kept": the finalize sweep, the dashboard's reads and Redis memory at
// 1,000 and 50,000 finished streams, each with its verdict. Self-contained: `pnpm bench --
// --only=scale` puts it into BENCHMARKS.md in place of its earlier self (spliceSection).
import { BYTES_PER_STREAM_TARGET, PAGE_SIZE, REQUEST_NAMES, type RequestName, SCALE_ENV, SWEEP_WARMUP, type ScaleRun, type Timing } from '../scenarios/scale.js';
import { fmt } from '../util.js';
import type { Doc } from './doc.js';

export const SCALE_HEADING = '## Scale: finished streams kept';

/** The flat rule: the larger size's median at most this × the smaller's, plus SLACK_MS. */
const FACTOR = 1.5;
const SLACK_MS = 2;

const count = (n: number): string => n.toLocaleString('en-US');

function flat(small: Timing, large: Timing): boolean {
  return large.median <= small.median * FACTOR + SLACK_MS;
}

const REQUEST_LABEL: Record<RequestName, string> = {
  'first page': `\`GET /api/streams?limit=${PAGE_SIZE}\` (first page)`,
  'deep page': `\`GET /api/streams?limit=${PAGE_SIZE}&cursor=…\` (a page ~90% deep)`,
  summary: '`GET /api/summary`',
  'one stream': '`GET /api/streams/<id>` (an old complete stream: its chunks from metadata.json in S3)',
};

function timingRow(label: string, runs: readonly ScaleRun[], of: (r: ScaleRun) => Timing): string {
  const small = runs[0];
  const large = runs.at(-1);
  const verdict = small !== undefined && large !== undefined && flat(of(small), of(large)) ? 'flat' : '**grows**';
  return `| ${label} | ${runs.map((r) => `${fmt(of(r).median, 2)} / ${fmt(of(r).p95, 2)}`).join(' | ')} | ${verdict} |`;
}

export function scaleSection(d: Doc): void {
  const scale = d.results.scale;
  if (scale === undefined || scale.runs.length === 0) return;
  d.p(...scaleLines(d, scale.runs));
}

function scaleLines(d: Doc, runs: readonly ScaleRun[]): string[] {
  const { meta } = d;
  const first = runs[0];
  const lines: string[] = [SCALE_HEADING, ''];
  const p = (...xs: string[]): number => lines.push(...xs);
  const env = Object.entries(SCALE_ENV).map(([k, v]) => `\`${k}=${v}\``).join(', ');
  p(
    `Measured ${meta.date} with \`pnpm bench -- --only=scale\`${d.options.quick ? ' --quick (smaller sizes: not the reference figures)' : ''}, vcu commit ${meta.git.commit}${meta.git.changed.length > 0 ? ' with uncommitted changes' : ''}, ${meta.machine.cpu}, ${meta.machine.cores} cores.`,
    '',
    `For each size, a private redis-server (Redis ${first?.redisVersion ?? '?'}, no persistence) is seeded through vcu's own StreamStore`,
    "(`StreamSeeder` in @vcu/testkit: create, observe, plan, each chunk recorded, the ready set taken, complete; `retire` for a deleted file),",
    'so the keys are exactly what vcu leaves: finished streams of 1–4 chunks created 10 s apart, one in ten of them with its file deleted in',
    `the last half hour (in \`streams:gone\`, not yet forgotten), plus ${first?.live ?? '?'} live streams being uploaded. Then the real worker and dashboard run`,
    `against it (${env}, \`DASHBOARD_AUTH=off\`) with the S3 server above. The sweep's time is the worker's own \`finalize.swept\` event`,
    `(\`ms\`, scheduled sweeps, the first ${SWEEP_WARMUP} left out); each request is timed by the bench from sending to the last byte, ${first?.requests['first page'].count ?? '?'} times`,
    'each, taking turns. Redis memory is `used_memory` growth while seeding, divided by the streams seeded. The files of the finished',
    "streams still there are on disk (empty, sparse): each scheduled sweep looks at a fixed batch of them (round robin) to retire the",
    'streams whose file left while no watcher ran; the dashboard never looks at a file.',
    '',
    ...(meta.disturbances.length > 0 ? [`**Seen during the run, so figures may be disturbed: ${meta.disturbances.join('; ')}.**`, ''] : []),
    `Flat rule: at ${count(runs.at(-1)?.finished ?? 0)} the median is at most ${FACTOR} × the median at ${count(first?.finished ?? 0)} + ${SLACK_MS} ms. Memory: at most ${BYTES_PER_STREAM_TARGET} B`,
    `per finished stream whose file is still there (issue 13), judged at ${count(runs.at(-1)?.finished ?? 0)}: at ${count(first?.finished ?? 0)}, a few hundred KiB that Redis`,
    'spends whatever the number of keys (tables it grows in steps) still weigh on the figure per stream.',
    '',
    `| metric (median / p95, ms) | ${runs.map((r) => `${count(r.finished)} finished`).join(' | ')} | verdict |`,
    `|---|${runs.map(() => '---:|').join('')}---|`,
  );
  p(timingRow(`finalize sweep (${runs[0]?.sweep.count ?? '?'} sweeps)`, runs, (r) => r.sweep));
  const lookedFlat = runs.every((r) => r.sweep.streams === first?.sweep.streams);
  p(`| streams one sweep looks at (median: idle unfinished + gone due) | ${runs.map((r) => `${r.sweep.streams} + ${r.sweep.gone}`).join(' | ')} | ${lookedFlat ? 'flat (the live ones)' : '**grows**'} |`);
  const batchFlat = runs.every((r) => r.sweep.present === first?.sweep.present);
  p(`| kept streams whose file one sweep looks at (median), retired in the run | ${runs.map((r) => `${r.sweep.present}, ${r.sweep.retired}`).join(' | ')} | ${batchFlat ? 'flat (a fixed batch)' : '**grows**'} |`);
  for (const name of REQUEST_NAMES) p(timingRow(REQUEST_LABEL[name], runs, (r) => r.requests[name]));
  p(`| deep page starts after (streams) | ${runs.map((r) => count(r.deepAt)).join(' | ')} | |`);
  const memOk = (runs.at(-1)?.bytesPerPresent ?? NaN) <= BYTES_PER_STREAM_TARGET;
  p(`| Redis per finished stream, file there (B) | ${runs.map((r) => fmt(r.bytesPerPresent, 0)).join(' | ')} | ${memOk ? 'pass' : '**fail**'} (≤ ${BYTES_PER_STREAM_TARGET} B at ${count(runs.at(-1)?.finished ?? 0)}) |`);
  p(`| of which (MEMORY USAGE): its hash + its path key + its entry in \`streams:all\` (B) | ${runs.map((r) => `${r.keyBytes.hash} + ${r.keyBytes.path} + ${fmt(r.keyBytes.allEntry, 0)}`).join(' | ')} | (the rest: the keyspace's own tables) |`);
  p(`| Redis per finished stream, file gone (B) | ${runs.map((r) => fmt(r.bytesPerGone, 0)).join(' | ')} | (forgotten FORGET_AFTER_MS later) |`);
  p(`| Redis per finished stream, all (B) | ${runs.map((r) => fmt(r.bytesPerFinished, 0)).join(' | ')} | |`);
  p(`| seeding time (s) | ${runs.map((r) => fmt(r.seedSeconds, 1)).join(' | ')} | |`);
  p('');
  const problems = runs.flatMap((r) => [
    ...Object.entries(r.problems).map(([k, v]) => `- ${count(r.finished)}: ${k} (×${v})`),
    ...(r.exits.some((x) => x !== 0) ? [`- ${count(r.finished)}: exit codes after SIGTERM ${r.exits.join(', ')}`] : []),
  ]);
  p(`Warnings and errors the worker and dashboard logged: ${problems.length === 0 ? 'none.' : ''}`, ...problems, '');
  return lines;
}

/** The scale section of a report's text (from its heading to the next `## `), or undefined. */
export function sectionOf(text: string, heading = SCALE_HEADING): string | undefined {
  const lines = text.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return `${lines.slice(start, end < 0 ? undefined : end).join('\n').trimEnd()}\n`;
}

/**
 * `document` with its section `section` (which starts with its heading) put in place of the one
 * it has, or, new, before "Where the time goes" (else the warnings, else at the end). Nothing
 * else changes.
 */
export function spliceSection(document: string, section: string): string {
  const heading = section.split('\n', 1)[0] ?? '';
  const lines = document.split('\n');
  const body = section.trimEnd().split('\n');
  const start = lines.indexOf(heading);
  if (start >= 0) {
    const next = lines.findIndex((l, i) => i > start && l.startsWith('## '));
    const end = next < 0 ? lines.length : next;
    return [...lines.slice(0, start), ...body, '', ...lines.slice(end)].join('\n');
  }
  const before = ['## Where the time goes', '## Warnings and errors'].map((h) => lines.findIndex((l) => l.startsWith(h))).find((i) => i >= 0);
  if (before === undefined) return `${document.trimEnd()}\n\n${body.join('\n')}\n`;
  return [...lines.slice(0, before), ...body, '', ...lines.slice(before)].join('\n');
}
