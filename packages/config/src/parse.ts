/**
 * Parsers for single environment values. Each returns the parsed value or throws a {@link Problem}
 * that names what is allowed; `loadConfig` collects the problems of every variable before failing,
 * so one start-up shows every mistake at once.
 */
import { isIP } from 'node:net';

/** One invalid variable: its name, the value it had (secrets redacted) and what is allowed. */
export interface Problem {
  readonly name: string;
  readonly value: string;
  readonly allowed: string;
}

export class ProblemError extends Error {
  constructor(readonly allowed: string) {
    super(allowed);
    this.name = 'ProblemError';
  }
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** `10485760`, `10MiB`, `10 MB`, `512k` → bytes. Decimal units are powers of 1000, binary of 1024. */
export function parseSize(raw: string, min: number, max: number): number {
  const allowed = `a whole number of bytes from ${formatBytes(min)} to ${formatBytes(max)}, e.g. 10485760 or 10MiB (units: B, KiB, MiB, GiB, KB, MB, GB)`;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  if (!match) throw new ProblemError(allowed);
  const unit = SIZE_UNITS[(match[2] ?? '').toLowerCase() || 'b'];
  if (unit === undefined) throw new ProblemError(allowed);
  const bytes = Number(match[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes < min || bytes > max) throw new ProblemError(allowed);
  return bytes;
}

export function parseInteger(raw: string, min: number, max: number): number {
  const allowed = `a whole number from ${min} to ${max}`;
  if (!/^\s*-?\d+\s*$/.test(raw)) throw new ProblemError(allowed);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new ProblemError(allowed);
  return value;
}

export function parseBoolean(raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ProblemError('true or false (also 1/0, yes/no, on/off)');
}

export function parseChoice<T extends string>(raw: string, choices: readonly T[]): T {
  const value = raw.trim().toLowerCase();
  const found = choices.find((choice) => choice === value);
  if (found === undefined) throw new ProblemError(`one of ${choices.join(', ')}`);
  return found;
}

export function parseUrl(raw: string, protocols: readonly string[]): URL {
  const allowed = `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}, e.g. ${protocols[0]}//host:port`;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ProblemError(allowed);
  }
  if (!protocols.includes(url.protocol) || url.hostname === '') throw new ProblemError(allowed);
  return url;
}

/**
 * The S3 endpoint: an http(s) URL without user-info. The AWS SDK accepts `http://user:pass@host`
 * but silently ignores the user and password (requests are signed with the access key and secret),
 * so one there is a mistake that would only show later as a credentials error, and a secret that
 * every log line naming the endpoint would carry.
 */
export function parseEndpoint(raw: string): string {
  const url = parseUrl(raw, ['http:', 'https:']);
  if (url.username !== '' || url.password !== '') {
    throw new ProblemError('a URL without a user name or password, e.g. http://minio:9000: S3 requests are signed with S3_ACCESS_KEY and S3_SECRET_KEY');
  }
  // the SDK drops them; a token there would be written into every log line naming the endpoint
  if (/[?#]/.test(raw)) throw new ProblemError('a URL without a query (?…) or fragment (#…), e.g. http://minio:9000');
  return url.toString().replace(/\/$/, '');
}

/**
 * REDIS_URL: a redis:// or rediss:// URL whose user name and password can be decoded (ioredis
 * decodes them when it connects, and a stray `%` would end the process there, without naming the
 * setting) and whose database, as a path or `?db=`, is a whole number.
 */
export function parseRedisUrl(raw: string): string {
  const url = parseUrl(raw, ['redis:', 'rediss:']);
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    throw new ProblemError('a URL whose user name and password are percent-encoded (a % in them as %25), e.g. redis://:p%25ss@host:6379');
  }
  const db = url.searchParams.get('db');
  if (!/^\/?\d{0,9}$/.test(url.pathname) || (db !== null && !/^\d{1,9}$/.test(db))) {
    throw new ProblemError('a database number as the path, e.g. redis://host:6379/0, or none');
  }
  return url.toString();
}

/** A listening address: an IPv4 or IPv6 address, or `localhost`. */
export function parseListenAddress(raw: string): string {
  const value = raw.trim();
  if (value !== 'localhost' && isIP(value) === 0) {
    throw new ProblemError('an IP address to listen on, e.g. 0.0.0.0 (every IPv4 interface), 127.0.0.1 (this machine only) or :: (IPv6 and IPv4)');
  }
  return value;
}

/** S3 bucket naming rules (the strict, DNS-compatible ones every S3 server accepts). */
export function parseBucket(raw: string): string {
  const value = raw.trim();
  const ok =
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value) &&
    !value.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(value);
  if (!ok) throw new ProblemError('3 to 63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit');
  // S3 Express directory buckets sign with session credentials of their own (see @vcu/storage direct-put.ts)
  if (value.endsWith('--x-s3')) throw new ProblemError('a general-purpose bucket: S3 Express directory buckets (…--x-s3) are not supported');
  return value;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1 && value % 1024 === 0) {
    value /= 1024;
    unit += 1;
  }
  return `${value} ${units[unit]}`;
}

/** One `host:port` of a list: a server of a Sentinel group or a Redis Cluster. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * A comma-separated list of `host:port` (an IPv6 address in brackets: `[::1]:26379`), at least
 * one, each port 1–65535.
 */
export function parseHostPorts(raw: string, example: string): readonly HostPort[] {
  const allowed = `a comma-separated list of host:port, e.g. ${example}`;
  const items = raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (items.length === 0) throw new ProblemError(allowed);
  return items.map((item) => {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(item);
    const port = Number(match?.[3]);
    const host = match?.[1] ?? match?.[2];
    if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) throw new ProblemError(allowed);
    return { host, port };
  });
}
