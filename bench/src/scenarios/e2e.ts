// vcu end to end on the big files, with defaults (e2e) and with more workers or concurrency
// (scaling); and the checks that the objects in S3 describe the files.
import type { Bench } from '../context.js';
import { type BigFile, bigName, linkBig } from '../data.js';
import { runVcu } from '../measure/vcu-run.js';
import type { VcuRun } from '../results.js';
import { type S3Object, getText } from '../s3.js';

export interface VcuConfig {
  readonly slug: string;
  readonly label: string;
  readonly workers: number;
  readonly env: Readonly<Record<string, string>>;
}

export const E2E_CONFIGS: readonly VcuConfig[] = [
  // WORKER_CONCURRENCY 4 is the default: its row in the scaling table is this one
  { slug: 'defaults', label: '1 worker, WORKER_CONCURRENCY 4 (defaults)', workers: 1, env: {} },
  { slug: 'w2', label: '2 worker processes', workers: 2, env: {} },
  { slug: 'w4', label: '4 worker processes', workers: 4, env: {} },
  ...[1, 2, 8, 16].map((c) => ({ slug: `c${c}`, label: `1 worker, WORKER_CONCURRENCY ${c}`, workers: 1, env: { WORKER_CONCURRENCY: String(c) } })),
  // above MULTIPART_ABOVE (64 MiB): each chunk is streamed as a multipart upload of 8 MiB parts
  { slug: 'streamed', label: '1 worker, CHUNK_SIZE 256MiB (streamed in 8 MiB parts)', workers: 1, env: { CHUNK_SIZE: '256MiB' } },
];

interface Metadata {
  readonly sha256?: string;
  readonly source?: { readonly path?: string; readonly size?: number };
}

/** Each metadata.json describes its file: size and SHA-256 of the whole file. */
export function verifyBig(bench: Bench, files: readonly BigFile[]) {
  return async (metas: readonly S3Object[]): Promise<string> => {
    const byName = new Map(files.map((f, i) => [bigName(i), f]));
    for (const m of metas) {
      const meta = JSON.parse(await getText(bench.client, m.key)) as Metadata;
      const f = byName.get(meta.source?.path ?? '');
      if (f === undefined || meta.source?.size !== f.size || meta.sha256 !== f.sha256) {
        throw new Error(`metadata.json ${m.key} does not describe its file (path ${meta.source?.path}, size ${meta.source?.size}, sha256 ${meta.sha256})`);
      }
    }
    return `${metas.length} metadata.json, size and SHA-256 of each file match`;
  };
}

/** The big files hard-linked into the empty watched folder, with one configuration. */
export function runBig(bench: Bench, files: readonly BigFile[], config: VcuConfig, workerNodeArgs: readonly string[] = []): Promise<VcuRun> {
  return runVcu(bench, { ...config, drop: (dir) => linkBig(files, dir), verify: verifyBig(bench, files), worker: { nodeArgs: workerNodeArgs } });
}

/**
 * Defaults (and, with scaling, every configuration) `repeat` times, interleaved. With scaling the
 * defaults, the headline figure, run twice a round, first and halfway: this S3 server has slow
 * spells (runs of one configuration a round apart differ by a fifth), and twice the runs in two
 * places of the round make its median steadier.
 */
export async function endToEnd(bench: Bench, files: readonly BigFile[], scaling: boolean): Promise<Map<string, VcuRun[]>> {
  const configs = E2E_CONFIGS.filter((c) => c.slug === 'defaults' || scaling);
  const half = Math.ceil(configs.length / 2);
  const round = scaling ? [...configs.slice(0, half), ...configs.filter((c) => c.slug === 'defaults'), ...configs.slice(half)] : configs;
  const runs = new Map<string, VcuRun[]>(configs.map((c) => [c.slug, []]));
  for (let r = 0; r < bench.options.repeat; r += 1) {
    for (const c of round) runs.get(c.slug)?.push(await runBig(bench, files, c));
  }
  return runs;
}
