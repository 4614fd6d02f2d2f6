// The command line: which scenarios, how big, how many repeats, where the report goes.
import path from 'node:path';
import { MiB, ROOT } from './util.js';

export const SCENARIOS = ['ceiling', 'e2e', 'scaling', 'many', 'growing', 'profile', 'soak', 'scale'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Options {
  readonly argv: readonly string[];
  readonly quick: boolean;
  readonly only: readonly Scenario[];
  /** Every scenario at full size: the run that writes BENCHMARKS.md. */
  readonly full: boolean;
  readonly repeat: number;
  readonly out: string;
  /**
   * Put the scale section into BENCHMARKS.md in place of its earlier self, touching nothing else:
   * a run that measured scale, not quick, whose report goes elsewhere (no --out).
   */
  readonly spliceScale: boolean;
  /** Where the soak's chart goes: bench/soak.svg beside BENCHMARKS.md, else bench/results/. */
  readonly soakSvg: string;
  readonly bigFiles: number;
  readonly bigFileSize: number;
  readonly manyFiles: number;
  readonly growWrites: number;
  readonly soakFiles: number;
  /** A timestamp for result file names, and a tag that starts every S3 prefix of this run. */
  readonly stamp: string;
  readonly tag: string;
}

const USAGE = `usage: pnpm bench [-- --only=${SCENARIOS.join(',')}] [--quick] [--repeat=N] [--out=FILE] [--soak-files=N]`;

export class UsageError extends Error {}

function parseOnly(value: string | undefined): Scenario[] {
  const names = (value ?? SCENARIOS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (s === 'cpu' ? 'e2e' : s));
  return names.map((s) => {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new UsageError(`--only: unknown scenario "${s}"; choose from ${SCENARIOS.join(', ')} (cpu = e2e)`);
    return s as Scenario;
  });
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name}: expected a whole number ≥ 1, got "${value}"`);
  return n;
}

/** Parses `process.argv`; throws UsageError for anything it does not know. `--help` returns undefined. */
export function parseOptions(args: readonly string[]): Options | undefined {
  const argv = args.filter((a) => a !== '--');
  for (const a of argv) {
    if (!/^--(quick|only=.+|repeat=\d+|out=.+|soak-files=\d+|help)$/.test(a)) throw new UsageError(`unknown argument ${a}\n${USAGE}`);
  }
  if (argv.includes('--help')) return undefined;
  const option = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const quick = argv.includes('--quick');
  const only = parseOnly(option('only'));
  const full = !quick && SCENARIOS.every((s) => only.includes(s));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const results = path.join(ROOT, 'bench', 'results');
  const out = option('out') ?? (full ? path.join(ROOT, 'BENCHMARKS.md') : path.join(results, `BENCHMARKS-${stamp}.md`));
  return {
    argv,
    quick,
    only,
    full,
    repeat: positive('repeat', option('repeat'), quick ? 1 : 3),
    out: path.resolve(out),
    spliceScale: only.includes('scale') && !quick && option('out') === undefined && !full,
    soakSvg: path.resolve(out) === path.join(ROOT, 'BENCHMARKS.md') ? path.join(ROOT, 'bench', 'soak.svg') : path.join(results, `soak-${stamp}.svg`),
    bigFiles: 4,
    bigFileSize: (quick ? 32 : 256) * MiB,
    manyFiles: quick ? 500 : 5000,
    growWrites: quick ? 50 : 100,
    soakFiles: positive('soak-files', option('soak-files'), quick ? 400 : 20_000),
    stamp,
    tag: `vb${Date.now().toString(36)}`,
  };
}

export { USAGE };
