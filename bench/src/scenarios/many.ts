// Many small files hard-linked into the watched folder at once.
import type { Bench } from '../context.js';
import { linkMany, type ManySet } from '../data.js';
import { runVcu } from '../measure/vcu-run.js';
import type { VcuRun } from '../results.js';

export function many(bench: Bench, set: ManySet): Promise<VcuRun> {
  return runVcu(bench, {
    slug: 'many',
    label: `${set.names.length} small files`,
    redisShapes: true,
    drop: (dir) => linkMany(set, dir),
  });
}
