// Peer uploaders' rows next to vcu's, on the same data and server.
import { PEER_LABELS, type PeerData, type PeerName, type PeerRun } from '../scenarios/peers.js';
import type { CpuWindow } from '../proc.js';
import { type RequestCounts, requestsPerFile } from '../rgw-requests.js';
import { REQUESTS_IN_FLIGHT, REQUEST_KINDS, REQUEST_LABELS, type RequestCost, type RequestKind } from '../scenarios/requests.js';
import { GiB, fmt, maxOf, median, minOf, pick } from '../util.js';
import type { Doc } from './doc.js';
import { range } from './doc.js';

/** A peer's median run (by MB/s) on this data, if it ran. */
export function medianPeer(runs: readonly PeerRun[], peer: PeerName, data: PeerData): PeerRun | undefined {
  const mine = runs.filter((r) => r.peer === peer && r.data === data);
  return mine.length > 0 ? pick(mine) : undefined;
}

/** What the peer table reads of vcu's run. */
interface VcuFigures {
  readonly seconds: number;
  readonly mbps: number;
  readonly filesPerSecond: number;
  readonly cpuPerGiB: number;
  readonly files: number;
  readonly bytes: number;
  readonly window: CpuWindow;
  readonly label: string;
  readonly s3Requests?: RequestCounts | undefined;
}

/** CPU seconds per 1,000 files. */
function perThousand(cpu: number, files: number): number {
  return (cpu / files) * 1000;
}

/** The S3 server's CPU seconds during a copy, per 1,000 files (many) or per GiB (big files). */
function serverCost(perFile: boolean, window: CpuWindow, files: number, bytes: number): number {
  return perFile ? perThousand(window.s3, files) : window.s3 / (bytes / GiB);
}

/**
 * vcu's row and each peer's on the same data: seconds, MB/s (big files) or files/s (many), the
 * ratio to vcu, the uploader's CPU and the S3 server's; a peer not on the PATH is named as skipped.
 */
export function peerTable(d: Doc, data: PeerData, vcu: VcuFigures): void {
  const peers = d.results.peers;
  if (peers === undefined) return;
  const perFile = data === 'many';
  const requestsCounted = vcu.s3Requests !== undefined || peers.runs.some((r) => r.data === data && r.s3Requests !== undefined);
  /** The requests column's cell (with its trailing bar), when the S3 server's counts were read. */
  const requests = (counts: RequestCounts | undefined, files: number): string => (requestsCounted ? ` ${counts === undefined ? '' : requestsPerFile(counts, files)} |` : '');
  const figure = (r: { mbps: number; filesPerSecond: number }): number => (perFile ? r.filesPerSecond : r.mbps);
  d.p(
    `The same files, hard-linked into a folder, copied to a fresh prefix of the same bucket by the peer uploaders found on the PATH (each with`,
    'its S3 settings in its environment); their objects are counted, then deleted like vcu\'s. Ratio to vcu: the peer\'s figure ÷ vcu\'s (below',
    "1: vcu is faster). A peer's seconds run from its start to its exit; vcu's from the first file to the last metadata.json, its apps",
    "already started. vcu's CPU is its watcher's and worker's, start-up included; a peer's is the machine's busy time less the S3 server,",
    'Redis and the bench, so it includes any other load. The S3 server\'s CPU is that of its processes (radosgw, ceph-osd…) during the same',
    'window: what the uploader\'s requests cost the server.',
    ...(requestsCounted ? ['S3 requests per file as the S3 server counted them (its admin socket\'s "perf dump"): PUTs + GETs and HEADs + the rest (listings, bucket checks).'] : []),
    '',
  );
  d.p(
    `| uploader | seconds | ${perFile ? 'files/s | MB/s' : 'MB/s | files/s'} | ratio to vcu | uploader CPU s/GiB | S3 server CPU ${perFile ? 's per 1,000 files' : 's/GiB'} |${requestsCounted ? ' S3 requests per file |' : ''}`,
    `|---|---|---|---|---|---|---|${requestsCounted ? '---|' : ''}`,
  );
  const first = (r: { mbps: number; filesPerSecond: number }): string => (perFile ? fmt(r.filesPerSecond) : fmt(r.mbps));
  const second = (r: { mbps: number; filesPerSecond: number }): string => (perFile ? fmt(r.mbps) : fmt(r.filesPerSecond));
  d.p(`| vcu, ${vcu.label} | ${fmt(vcu.seconds, 2)} | ${first(vcu)} | ${second(vcu)} | 1.00 | ${fmt(vcu.cpuPerGiB, 2)} | ${fmt(serverCost(perFile, vcu.window, vcu.files, vcu.bytes), 2)} |${requests(vcu.s3Requests, vcu.files)}`);
  for (const name of Object.keys(peers.found) as PeerName[]) {
    if (peers.found[name] === undefined) {
      d.p(`| ${PEER_LABELS[name]} | skipped: \`${name}\` is not installed | | | | | |${requests(undefined, 0)}`);
      continue;
    }
    const runs = peers.runs.filter((r) => r.peer === name && r.data === data);
    const failures = peers.failures.filter((f) => f.peer === name && f.data === data);
    const failure = failures[0];
    if (failure !== undefined) {
      const times = runs.length > 0 ? ` in ${failures.length} of ${failures.length + runs.length} runs` : '';
      d.p(`| ${PEER_LABELS[name]} | failed${times}: ${failure.error.replace(/\|/g, '\\|').replace(/\s+/g, ' ')} | | | | | |${requests(undefined, 0)}`);
    }
    const r = medianPeer(peers.runs, name, data);
    if (r === undefined) continue;
    d.p(`| ${PEER_LABELS[name]} (${peers.found[name]}) | ${fmt(r.seconds, 2)} | ${first(r)}${range(runs, figure)} | ${second(r)} | ${fmt(figure(r) / figure(vcu), 2)} | ${fmt(r.cpu.other / (r.bytes / GiB), 2)} | ${fmt(serverCost(perFile, r.cpu, r.files, r.bytes), 2)} |${requests(r.s3Requests, r.files)}`);
  }
  d.p('');
  if (perFile) serverBound(d, vcu);
  if (perFile) requestCosts(d, vcu);
}

/**
 * What vcu's requests cost the servers, and what that leaves vcu: at the fastest peer's files/s,
 * this machine's cores hold `cores ÷ files/s` CPU seconds per file; vcu's S3 server and Redis take
 * their share of that first, and vcu's own processes would have to fit in the rest.
 */
function serverBound(d: Doc, vcu: VcuFigures): void {
  const { s3, redis, cores } = vcu.window;
  if (!(s3 + redis > 0)) return;
  d.p(
    `vcu's requests cost the S3 server ${fmt(perThousand(s3, vcu.files), 2)} CPU s and Redis ${fmt(perThousand(redis, vcu.files), 2)} CPU s per 1,000 files (each file is two PUTs: its`,
    `chunk and its metadata.json, each signed with its body's SHA-256, which the server checks by hashing the body again, as it does for the AWS CLI;`,
    `rclone sends its PUTs unsigned, with a Content-MD5 it computes itself, and a HEAD after each);`,
    `on this machine's ${cores} cores that work alone bounds vcu at ${fmt(vcu.files / ((s3 + redis) / cores))} files/s, were vcu's own processes free.`,
  );
  const peers = d.results.peers;
  const medians = peers === undefined ? [] : (Object.keys(peers.found) as PeerName[]).map((name) => medianPeer(peers.runs, name, 'many'));
  const fastest = medians.filter((r) => r !== undefined).sort((a, b) => b.filesPerSecond - a.filesPerSecond)[0];
  if (fastest !== undefined && fastest.filesPerSecond > vcu.filesPerSecond) {
    const atPeerRate = (cores / fastest.filesPerSecond) * 1000;
    const left = atPeerRate - perThousand(s3 + redis, vcu.files);
    d.p(
      `To match ${fastest.peer}'s ${fmt(fastest.filesPerSecond)} files/s here, with the machine 100% busy: ${fmt(atPeerRate, 2)} core-seconds per 1,000 files at that rate,`,
      left > 0
        ? `less the servers' share, leave vcu's watcher and worker at most ${fmt(left, 2)} CPU s per 1,000 files;`
        : "and the servers' share alone is more than that: out of reach on this machine whatever vcu's own processes use;",
      `they used ${fmt(perThousand(vcu.window.apps, vcu.files), 2)} (between the first file and the last metadata.json, start-up not included).`,
    );
  }
  d.p('');
}

/** Lower median over the rounds, with the range when there are several: "2.56 (2.25–3.94)". */
function spread(xs: readonly number[]): string {
  return xs.length > 1 ? `${fmt(median(xs), 2)} (${fmt(minOf(xs), 2)}–${fmt(maxOf(xs), 2)})` : fmt(median(xs), 2);
}

/** Each round's S3 server CPU per 1,000 requests, by kind; rounds that lack a kind are left out. */
function costsByRound(costs: readonly RequestCost[]): Record<RequestKind, number>[] {
  const rounds = [...new Set(costs.map((c) => c.round))];
  return rounds.flatMap((round) => {
    const mine = costs.filter((c) => c.round === round);
    const entries = REQUEST_KINDS.map((k) => mine.find((c) => c.kind === k)).filter((c) => c !== undefined);
    if (entries.length !== REQUEST_KINDS.length) return [];
    return [Object.fromEntries(entries.map((c) => [c.kind, (c.server / c.requests) * 1000])) as Record<RequestKind, number>];
  });
}

/**
 * What each request of a small file costs the S3 server alone (scenarios/requests.ts), and, round
 * by round, the difference between vcu's two requests per file and an unsigned PUT and a HEAD:
 * its metadata.json PUT against a HEAD, and the server's check of the signed SHA-256. Next to it,
 * what the server spent per file in the runs themselves, which such parts do not add up to.
 */
function requestCosts(d: Doc, vcu: VcuFigures): void {
  const costs = d.results.requests ?? [];
  const failures = d.results.requestFailures ?? [];
  if (failures.length > 0) d.p(`The per-request measurement below failed in ${failures.length} round${failures.length > 1 ? 's' : ''}: ${failures[0] ?? ''}`, '');
  const rounds = costsByRound(costs);
  if (rounds.length === 0) return;
  const rate = (kind: RequestKind): number => median(costs.filter((c) => c.kind === kind).map((c) => c.requests / c.seconds));
  const of = (figure: (r: Record<RequestKind, number>) => number): string => spread(rounds.map(figure));
  d.p(
    `What each request costs the S3 server, measured alone: ${costs[0]?.requests ?? 0} requests of each kind, ${REQUESTS_IN_FLIGHT} in flight, from the bench's own client`,
    "(no queue, no Redis; the chunk bodies are the many-files set's files), after each round above. The server's CPU during them, less its",
    'background (its rate read for 2 s with nothing sent, just before), per 1,000 requests; odd rounds run the kinds in another order.',
    `The median of ${rounds.length} round${rounds.length > 1 ? 's' : ''} (the lower middle one for an even count), with the range.`,
    '',
    '| request | requests/s | S3 server CPU s per 1,000 |',
    '|---|---|---|',
    ...REQUEST_KINDS.map((k) => `| ${REQUEST_LABELS[k]} | ${fmt(rate(k), 0)} | ${of((r) => r[k])} |`),
    '',
  );
  const rclone = medianPeer(d.results.peers?.runs ?? [], 'rclone', 'many');
  d.p(
    "Round by round, vcu's two requests per file (a signed chunk PUT and a metadata.json PUT) cost the server",
    `${of((r) => r['chunk-signed'] + r['small-put'] - r['chunk-unsigned'] - r.head)} CPU s per 1,000 files more than an unsigned PUT and a HEAD (the shape of rclone's requests): the metadata.json`,
    `PUT in place of a HEAD ${of((r) => r['small-put'] - r.head)}, the server's check of the signed SHA-256 ${of((r) => r['chunk-signed'] - r['chunk-unsigned'])}.`,
    `In the runs themselves the server spent ${fmt(serverCost(true, vcu.window, vcu.files, vcu.bytes), 2)} CPU s per 1,000 files on vcu (the median run)${rclone !== undefined ? ` and ${fmt(serverCost(true, rclone.cpu, rclone.files, rclone.bytes), 2)} on rclone (its median run)` : ''}:`,
    "requests measured alone do not simply add up to a mixed run's cost (and rclone's PUTs also carry a Content-MD5 and its mtime), so uploaders",
    "compare by the S3 server column of the uploaders' table; this one says what each request costs on its own. vcu keeps both of its requests:",
    'the metadata.json is its contract, and the signed SHA-256 is the proof that lets finalize skip a HEAD per chunk.',
    '',
  );
}
