import { isIPv6 } from 'node:net';

/**
 * Who a login attempt counts against: the client's IPv4 address, or the /64 network of an IPv6
 * one (a single host usually holds a whole /64, so counting addresses would let it try billions).
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!isIPv6(address)) return address;
  const plain = address.split('%', 1)[0] ?? address; // drop a zone id (fe80::1%eth0)
  const groups = (text: string | undefined): string[] => (text === undefined || text === '' ? [] : text.split(':'));
  const [head, tail] = plain.split('::');
  const zeros = tail === undefined ? 0 : 8 - groups(head).length - groups(tail).length;
  const all = [...groups(head), ...Array<string>(Math.max(0, zeros)).fill('0'), ...groups(tail)];
  return `${all
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

export interface LoginLimiterOptions {
  /** Wrong passwords a client may send per window; the next attempt is refused until the window ends. */
  readonly maxFailures?: number;
  /** The window starts at a client's first failure. */
  readonly windowMs?: number;
  /** Clients remembered at once; past that, the one that failed least recently is forgotten. */
  readonly maxClients?: number;
  readonly now?: () => number;
}

/** What one more wrong password from a client amounts to. */
export interface Failure {
  /** Wrong passwords from this client in the current window, this one included. */
  readonly failures: number;
  /** The first of its window: worth a log line. */
  readonly first: boolean;
  /** The one that used up the client's allowance: worth a log line too. */
  readonly lockedOut: boolean;
  /** User names this client tried in the window (the first few). */
  readonly users: readonly string[];
  /** How long until the client may try again (0 while it still may). */
  readonly retryAfterMs: number;
}

interface Entry {
  readonly start: number;
  failures: number;
  readonly users: string[];
}

const MAX_USERS_KEPT = 5;

/**
 * Slows down password guessing: each client may send `maxFailures` wrong passwords in a window of
 * `windowMs`, then every request of it is refused until the window ends. Memory is bounded: at most
 * `maxClients` clients are remembered (each a few dozen bytes), the least recently failing
 * forgotten first, so a flood of addresses cannot exhaust memory (it can only forget its own counts).
 */
export class LoginLimiter {
  readonly maxFailures: number;
  readonly windowMs: number;
  private readonly maxClients: number;
  private readonly now: () => number;
  private readonly clients = new Map<string, Entry>();

  constructor({ maxFailures = 10, windowMs = 60_000, maxClients = 10_000, now = Date.now }: LoginLimiterOptions = {}) {
    this.maxFailures = maxFailures;
    this.windowMs = windowMs;
    this.maxClients = maxClients;
    this.now = now;
  }

  /** How long `client` must wait before its next attempt is looked at; 0 when it may try now. */
  retryAfterMs(client: string): number {
    const entry = this.current(client);
    return entry === undefined || entry.failures < this.maxFailures ? 0 : entry.start + this.windowMs - this.now();
  }

  /** Counts a wrong password from `client`, who gave the user name `user`. */
  fail(client: string, user: string): Failure {
    const entry = this.current(client) ?? { start: this.now(), failures: 0, users: [] };
    entry.failures += 1;
    if (entry.users.length < MAX_USERS_KEPT && !entry.users.includes(user)) entry.users.push(user);
    // re-inserted so the Map's order is least recently failing first
    this.clients.delete(client);
    this.clients.set(client, entry);
    for (const oldest of this.clients.keys()) {
      if (this.clients.size <= this.maxClients) break;
      this.clients.delete(oldest);
    }
    return {
      failures: entry.failures,
      first: entry.failures === 1,
      lockedOut: entry.failures === this.maxFailures,
      users: [...entry.users],
      retryAfterMs: this.retryAfterMs(client),
    };
  }

  /** The right password: the client's count starts again. */
  succeed(client: string): void {
    this.clients.delete(client);
  }

  /** Clients remembered now. */
  get size(): number {
    return this.clients.size;
  }

  private current(client: string): Entry | undefined {
    const entry = this.clients.get(client);
    if (entry !== undefined && this.now() - entry.start >= this.windowMs) {
      this.clients.delete(client);
      return undefined;
    }
    return entry;
  }
}
