// Where a Node process spent its time, from a V8 CPU profile (`node --cpu-prof`): self time
// grouped into hashing (by who hashed), garbage collection, idle, and code by package.
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly rows: { group: string; ms: number }[];
}

const PACKAGE_GROUPS: readonly [RegExp, string][] = [
  [/node_modules\/(\.pnpm\/)?(@aws-sdk|@smithy|@aws-crypto)/, 'AWS SDK (JavaScript)'],
  [/node_modules\/(\.pnpm\/)?(bullmq|ioredis|msgpackr|cron-parser)/, 'BullMQ and ioredis (JavaScript)'],
  [/node_modules\/(\.pnpm\/)?(winston|logform|@colors|triple-beam|readable-stream|safe-stable-stringify)/, 'logging (winston)'],
];

function hashingGroup(callers: readonly string[]): string {
  if (callers.includes('getPayloadHash')) return 'hashing: SHA-256 of each request body by the AWS SDK (SigV4 payload signing)';
  if (callers.includes('readChunk')) return 'hashing: SHA-256 of each chunk (readChunk)';
  if (callers.includes('digestFile')) return 'hashing: SHA-256 of the whole file at finalize (digestFile)';
  return 'hashing: elsewhere';
}

/** The group a sampled frame's self time goes to, given the frames that called it. */
function groupOf(frame: CallFrame, callers: readonly CallFrame[]): string {
  const { functionName: fn, url } = frame;
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'garbage collector';
  if (url === 'node:internal/crypto/hash') return hashingGroup(callers.map((f) => f.functionName));
  if (callers.some((f) => f.url.startsWith('node:internal/modules'))) return 'loading modules (start-up)';
  if (callers.some((f) => f.functionName === 'digestFile')) return 'finalize: reading the whole file again (besides hashing)';
  if (callers.some((f) => f.functionName === 'readChunk')) return 'chunk upload: reading the chunk (besides hashing)';
  const known = PACKAGE_GROUPS.find(([pattern]) => pattern.test(url));
  if (known !== undefined) return known[1];
  if (url.includes('node_modules')) return 'other packages';
  if (url.includes('/apps/') || url.includes('/packages/')) return "vcu's own code";
  if (url.startsWith('node:')) return 'Node core in JavaScript (http, net, fs, streams, timers)';
  if (fn === '(program)') return '(program: V8 and native work not attributed)';
  return `native: ${fn}`;
}

/** Self time (µs) by group. */
function selfTimeByGroup(prof: CpuProfile): { groups: Map<string, number>; total: number } {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const d = prof.timeDeltas[i] ?? 0;
    total += d;
    self.set(id, (self.get(id) ?? 0) + d);
  });
  const callers = (id: number): CallFrame[] => {
    const frames: CallFrame[] = [];
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const frame = byId.get(p)?.callFrame;
      if (frame !== undefined) frames.push(frame);
    }
    return frames;
  };
  const groups = new Map<string, number>();
  for (const [id, us] of self) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const group = groupOf(frame, callers(id));
    groups.set(group, (groups.get(group) ?? 0) + us);
  }
  return { groups, total };
}

export function summarizeProfile(file: string): ProfileSummary {
  const { groups, total } = selfTimeByGroup(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const idle = groups.get('idle') ?? 0;
  const busy = total - idle;
  const rows = [...groups]
    .filter(([g]) => g !== 'idle')
    .map(([group, us]) => ({ group, ms: us / 1000 }))
    .sort((a, b) => b.ms - a.ms);
  // native calls of less than 2% each folded together
  const small = rows.filter((r) => r.group.startsWith('native: ') && r.ms * 1000 < 0.02 * busy);
  const kept = rows.filter((r) => !small.includes(r));
  if (small.length > 0) {
    const names = small.map((r) => r.group.slice(8)).slice(0, 4);
    kept.push({ group: `native: other (${names.join(', ')}…)`, ms: small.reduce((a, r) => a + r.ms, 0) });
  }
  return { totalMs: total / 1000, busyMs: busy / 1000, idleMs: idle / 1000, rows: kept };
}
