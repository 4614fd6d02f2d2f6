import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The process id of the Redis server answering on `port`, or undefined when none answers. A server
 * that wants a password is sent it first.
 */
async function serverPid(port: number, password: string | undefined): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (pid: number | undefined): void => {
      socket.destroy();
      resolve(pid);
    };
    const auth = password === undefined ? '' : `AUTH ${password}\r\n`;
    socket.once('connect', () => socket.write(`${auth}INFO server\r\n`));
    socket.on('data', (data) => {
      reply += data.toString();
      const pid = /process_id:(\d+)/.exec(reply)?.[1];
      if (pid !== undefined) done(Number(pid));
      else if (reply.startsWith('-')) done(undefined);
    });
    socket.once('error', () => done(undefined));
    socket.setTimeout(1000, () => done(undefined));
  });
}

/**
 * A private redis-server for tests that stop, kill or wipe Redis (the shared one on 6379 is
 * never touched). `persistent` keeps an append-only file with fsync on every write, so a
 * restart, even after SIGKILL, comes back with every acknowledged write. `password` starts it
 * with `--requirepass` (the password of the `default` user).
 */
export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly persistent: boolean,
    readonly password: string | undefined,
    private readonly extraArgs: readonly string[] = [],
  ) {}

  /**
   * `args`: more command-line settings (`--replicaof …`, `--cluster-enabled yes`…), made for the
   * port this server gets; evaluated again for each port tried.
   */
  static async start({
    persistent,
    password,
    args,
  }: {
    persistent: boolean;
    password?: string;
    args?: (port: number) => readonly string[] | Promise<readonly string[]>;
  }): Promise<RedisServer> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vcu-redis-'));
    // a free port can be taken by someone else before redis-server binds it: try another
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const server = new RedisServer(port, dir, persistent, password, (await args?.(port)) ?? []);
      try {
        await server.start();
        return server;
      } catch (err) {
        await server.stop('SIGKILL');
        if (attempt >= 5) {
          await rm(dir, { recursive: true, force: true });
          throw err;
        }
      }
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--maxmemory-policy', 'noeviction'];
    args.push(...(this.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
    if (this.password !== undefined) args.push('--requirepass', this.password, '--masterauth', this.password);
    args.push(...this.extraArgs);
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    const deadline = Date.now() + 10_000;
    // the server answering must be this one: another may have taken the port meanwhile
    while ((await serverPid(this.port, this.password)) !== child.pid) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server on port ${this.port} exited at start (port taken?)`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
      await sleep(50);
    }
  }

  /** Whether its process runs (it was not stopped or killed). */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM: Redis saves what its persistence mode says and exits; SIGKILL: a crash. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    this.child = undefined;
  }

  /** Stops it and deletes its data directory. */
  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}
