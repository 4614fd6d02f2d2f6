// One more end-to-end run with defaults, the worker under V8's sampling profiler (`--cpu-prof`).
import { readdirSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Bench } from '../context.js';
import type { BigFile } from '../data.js';
import { summarizeProfile } from '../measure/profile.js';
import type { ProfileRun } from '../results.js';
import { settings } from '../settings.js';
import { ROOT } from '../util.js';
import { E2E_CONFIGS, runBig } from './e2e.js';

export async function profiled(bench: Bench, files: readonly BigFile[]): Promise<ProfileRun> {
  const dir = path.join(settings.data, `prof-${bench.options.tag}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    const defaults = E2E_CONFIGS[0];
    if (defaults === undefined) throw new Error('no default configuration');
    const r = await runBig(bench, files, { ...defaults, slug: 'profile', label: '1 worker (defaults), worker profiled' }, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    const worker = r.procs.find((x) => x.name === 'worker');
    const file = readdirSync(dir).find((f) => f.includes(`.${worker?.pid}.`) && f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`the worker left no CPU profile in ${dir}`);
    const kept = path.join(ROOT, 'bench', 'results', `${bench.options.stamp}-worker.cpuprofile`);
    await mkdir(path.dirname(kept), { recursive: true });
    await rename(path.join(dir, file), kept).catch(async () => writeFile(kept, await readFile(path.join(dir, file))));
    return { ...r, profile: summarizeProfile(kept), profileFile: path.relative(ROOT, kept) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
