// The S3 server's own count of the requests it served, when it is a Ceph RADOS Gateway on this
// machine whose admin socket this process may open: how many PUTs and GETs/HEADs a copy cost it.
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Requests the RADOS Gateway counted ("perf dump", section rgw); HEADs count as GETs. */
export interface RequestCounts {
  readonly total: number;
  readonly put: number;
  readonly get: number;
}

/** The RADOS Gateway's admin socket on this machine: a listening Unix socket named …rgw….asok (the first, where several gateways run). */
function rgwSocket(): string | undefined {
  try {
    const paths = readFileSync('/proc/net/unix', 'utf8')
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[7]);
    return paths.find((p) => p !== undefined && /\/[^/]*rgw[^/]*\.asok$/.test(p));
  } catch {
    return undefined;
  }
}

function parse(body: Buffer): RequestCounts | undefined {
  try {
    const rgw = (JSON.parse(body.toString('utf8')) as { rgw?: Record<string, unknown> }).rgw;
    const { req, put, get } = rgw ?? {};
    return typeof req === 'number' && typeof put === 'number' && typeof get === 'number' ? { total: req, put, get } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The counters now, asked over the admin socket (a command ending in NUL; the answer is a 4-byte
 * big-endian length and that much JSON); undefined when there is no such server or it does not answer.
 */
export async function rgwRequests(timeoutMs = 2000): Promise<RequestCounts | undefined> {
  const socket = rgwSocket();
  if (socket === undefined) return undefined;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const conn = net.connect(socket);
    const done = (counts: RequestCounts | undefined): void => {
      clearTimeout(timer);
      conn.destroy();
      resolve(counts);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    conn.on('error', () => done(undefined));
    conn.on('connect', () => conn.write('{"prefix":"perf dump"}\0'));
    conn.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      if (all.length >= 4 && all.length >= 4 + all.readUInt32BE(0)) done(parse(all.subarray(4, 4 + all.readUInt32BE(0))));
    });
  });
}

/** The requests served between two readings; undefined unless both were read from one server's life (a restart resets them). */
export function requestsBetween(before: RequestCounts | undefined, after: RequestCounts | undefined): RequestCounts | undefined {
  if (before === undefined || after === undefined) return undefined;
  const served = { total: after.total - before.total, put: after.put - before.put, get: after.get - before.get };
  return served.total < 0 || served.put < 0 || served.get < 0 ? undefined : served;
}

/** Per file, as the report prints it: "PUT + GET/HEAD + other". */
export function requestsPerFile(counts: RequestCounts, files: number): string {
  const each = (n: number): string => (n / files).toFixed(2);
  return `${each(counts.put)} + ${each(counts.get)} + ${each(counts.total - counts.put - counts.get)}`;
}
