// Peer uploaders' rows next to vcu's, on the same data and server.
import { PEER_LABELS, type PeerData, type PeerName, type PeerRun } from '../scenarios/peers.js';
import { GiB, fmt, pick } from '../util.js';
import type { Doc } from './doc.js';
import { range } from './doc.js';

/** A peer's median run (by MB/s) on this data, if it ran. */
export function medianPeer(runs: readonly PeerRun[], peer: PeerName, data: PeerData): PeerRun | undefined {
  const mine = runs.filter((r) => r.peer === peer && r.data === data);
  return mine.length > 0 ? pick(mine) : undefined;
}

/**
 * vcu's row and each peer's on the same data: seconds, MB/s (big files) or files/s (many), and
 * the ratio to vcu; a peer not on the PATH is named as skipped.
 */
export function peerTable(d: Doc, data: PeerData, vcu: { seconds: number; mbps: number; filesPerSecond: number; cpuPerGiB: number; label: string }): void {
  const peers = d.results.peers;
  if (peers === undefined) return;
  const perFile = data === 'many';
  const figure = (r: { mbps: number; filesPerSecond: number }): number => (perFile ? r.filesPerSecond : r.mbps);
  d.p(
    `The same files, hard-linked into a folder, copied to a fresh prefix of the same bucket by the peer uploaders found on the PATH (each with`,
    'its S3 settings in its environment); their objects are counted, then deleted like vcu\'s. Ratio to vcu: the peer\'s figure ÷ vcu\'s (below',
    "1: vcu is faster). A peer's seconds run from its start to its exit; vcu's from the first file to the last metadata.json, its apps",
    "already started. vcu's CPU is its watcher's and worker's, start-up included; a peer's is the machine's busy time less the S3 server,",
    'Redis and the bench, so it includes any other load.',
    '',
  );
  d.p(`| uploader | seconds | ${perFile ? 'files/s | MB/s' : 'MB/s | files/s'} | ratio to vcu | uploader CPU s/GiB |`, '|---|---|---|---|---|---|');
  const first = (r: { mbps: number; filesPerSecond: number }): string => (perFile ? fmt(r.filesPerSecond) : fmt(r.mbps));
  const second = (r: { mbps: number; filesPerSecond: number }): string => (perFile ? fmt(r.mbps) : fmt(r.filesPerSecond));
  d.p(`| vcu, ${vcu.label} | ${fmt(vcu.seconds, 2)} | ${first(vcu)} | ${second(vcu)} | 1.00 | ${fmt(vcu.cpuPerGiB, 2)} |`);
  for (const name of Object.keys(peers.found) as PeerName[]) {
    if (peers.found[name] === undefined) {
      d.p(`| ${PEER_LABELS[name]} | skipped: \`${name}\` is not installed | | | | |`);
      continue;
    }
    const runs = peers.runs.filter((r) => r.peer === name && r.data === data);
    const failure = peers.failures.find((f) => f.peer === name && f.data === data);
    if (failure !== undefined) d.p(`| ${PEER_LABELS[name]} | failed${runs.length > 0 ? ' once' : ''}: ${failure.error.replace(/\|/g, '\\|')} | | | | |`);
    const r = medianPeer(peers.runs, name, data);
    if (r === undefined) continue;
    d.p(`| ${PEER_LABELS[name]} (${peers.found[name]}) | ${fmt(r.seconds, 2)} | ${first(r)}${perFile ? '' : range(runs)} | ${second(r)} | ${fmt(figure(r) / figure(vcu), 2)} | ${fmt(r.cpu.other / (r.bytes / GiB), 2)} |`);
  }
  d.p('');
}
