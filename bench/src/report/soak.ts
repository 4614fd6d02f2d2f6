// Section 7: the soak, its chart (an SVG file beside the report) and its targets.
import path from 'node:path';
import type { Sample } from '../measure/sampler.js';
import { RATE_FLAT, REDIS_PER_FILE, RSS_GROWTH_LIMIT, REDIS_SLACK } from '../scenarios/soak-figures.js';
import type { SoakResult } from '../scenarios/soak.js';
import { RECORDING } from '../scenarios/soak-writer.js';
import { MiB, fmt, mib } from '../util.js';
import type { Doc } from './doc.js';
import { type Series, chartSvg } from './svg.js';

const COLORS = ['#2a7ab0', '#d9822b', '#3b9c4a', '#8a4fbf'];
const AVERAGE_S = 10;

/** Files written or uploaded per second, averaged over the last AVERAGE_S seconds, at each sample. */
function perSecond(samples: readonly Sample[], count: 'written' | 'completed'): [number, number][] {
  return samples.map((s, i) => {
    const back = samples.slice(0, i + 1).findLast((b) => s.t - b.t >= AVERAGE_S) ?? samples[0];
    return [s.t, back === undefined || s.t === back.t ? NaN : (s[count] - back[count]) / (s.t - back.t)];
  });
}

export function soakChart(s: SoakResult): string {
  const samples = s.samples;
  const names = Object.keys(samples[0]?.rss ?? {});
  const rss: Series[] = names.map((name, i) => ({ name: `${name} RSS`, color: COLORS[i % COLORS.length] ?? '#000', points: samples.map((x) => [x.t, (x.rss[name] ?? NaN) / MiB]) }));
  return chartSvg(`vcu soak: ${s.files} files, at most ${s.rate} written per second and ${s.keep} kept`, 'seconds since the first file', [
    {
      title: 'Redis used_memory (MiB)',
      series: [
        { name: 'used_memory', color: '#2a7ab0', points: samples.map((x) => [x.t, x.redis / MiB]) },
        { name: `target: baseline + 1 MiB + ${REDIS_PER_FILE} B × files present`, color: '#c0392b', dashed: true, points: samples.map((x) => [x.t, (s.redis.baseline + REDIS_SLACK + REDIS_PER_FILE * x.present) / MiB]) },
      ],
    },
    { title: 'RSS of each process (MiB)', series: rss },
    {
      title: `files per second (${AVERAGE_S} s average)`,
      series: [
        { name: 'uploaded (metadata.json written)', color: '#8a4fbf', points: perSecond(samples, 'completed') },
        { name: `written (the writer's pace, ${s.rate}/s at most)`, color: '#888', dashed: true, points: perSecond(samples, 'written') },
      ],
    },
  ]);
}

const verdict = (pass: boolean): string => (pass ? 'pass' : '**fail**');

export function soakSection(d: Doc, svgFile: string): void {
  const s = d.results.soak;
  if (s === undefined) return;
  const link = path.relative(path.dirname(d.options.out), svgFile);
  d.p('## 7. Soak', '');
  d.p(
    `${s.files} files written into the watched folder at ${s.rate} per second: clips of 32–192 KiB written at once, and every ${RECORDING.every}th a recording`,
    `that grows by ${RECORDING.writes} writes of ${RECORDING.piece / 1024} KiB ${RECORDING.gapMs} ms apart while the writer holds it open (${s.recordings} recordings, ${fmt(s.bytes / 1e9, 2)} GB in all).`,
    `Uploaded files are rotated out as a camera would: deleted oldest first so that at most ${s.keep} stay (their objects in S3 are deleted too).`,
    `One worker and the watcher, against a private redis-server (so that \`used_memory\` is vcu's alone), with ${Object.entries(s.env).map(([k, v]) => `${k}=${v}`).join(', ')}`,
    '(settings an app does not know are ignored). Every second: Redis `used_memory`, each process\'s RSS (`VmRSS`) and the files uploaded',
    `(\`stream.complete\` events). The load took ${fmt(s.loadSeconds, 0)} s (first file to last metadata.json); the bench then waited FORGET_AFTER_MS and 15 s more`,
    `before the final reading. RSS compares the median of the first and of the last quarter of the load.`,
    '',
    `![soak: Redis memory, RSS and files/s over time](${link})`,
    '',
  );
  d.p('| figure | measured | target | verdict |', '|---|---|---|---|');
  const r = s.redis;
  d.p(
    `| Redis used_memory after the soak | ${fmt(r.end / MiB, 2)} MiB (baseline ${fmt(r.baseline / MiB, 2)} MiB, peak ${fmt(r.peak / MiB, 2)} MiB) | ≤ baseline + 1 MiB + ${REDIS_PER_FILE} B × ${r.present} files present = ${fmt(r.target / MiB, 2)} MiB | ${verdict(r.pass)} |`,
  );
  for (const x of s.rss) {
    d.p(`| ${x.name} RSS, first → last quarter | ${mib(x.first)} → ${mib(x.last)} (${x.growth >= 0 ? '+' : ''}${fmt(100 * x.growth, 1)}%; peak ${mib(x.peak)}) | ≤ +${fmt(100 * RSS_GROWTH_LIMIT, 0)}% | ${verdict(x.pass)} |`);
  }
  const f = s.filesPerSecond;
  d.p(`| files/s, first → last quarter | ${fmt(f.first)} → ${fmt(f.last)} (${fmt(f.overall)} over the load) | flat: last ≥ ${fmt(100 * RATE_FLAT, 0)}% of first | ${f.flat ? 'flat' : '**fell**'} |`, '');
}
