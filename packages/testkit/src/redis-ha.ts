import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { RedisServer, freePort } from './redis-server.js';

const run = promisify(execFile);

/**
 * Waits until `condition` holds, asking every `everyMs`: for states a server only reports when
 * asked (replication links, cluster slots), never as a stand-in for an event.
 */
async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(everyMs);
  }
}

/** A short-lived client to one server, for the launchers' own questions. */
async function ask<T>(port: number, question: (redis: Redis) => Promise<T>, password?: string): Promise<T> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...(password === undefined ? {} : { password }) });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await question(redis);
  } finally {
    redis.disconnect();
  }
}

const field = (info: string, name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();

/** Stops every server given, even when some of them fail to. */
async function stopAll(servers: readonly { destroy(): Promise<void> }[]): Promise<void> {
  await Promise.allSettled(servers.map((s) => s.destroy()));
}

/** One `redis-server --sentinel` process with its own config file (sentinels rewrite it). */
class Sentinel {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(name: string, primaryPort: number, password: string | undefined): Promise<Sentinel> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vcu-sentinel-'));
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const conf = path.join(dir, 'sentinel.conf');
      const lines = [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 4000`,
        `sentinel parallel-syncs ${name} 1`,
        ...(password === undefined ? [] : [`sentinel auth-pass ${name} ${password}`]),
      ];
      await writeFile(conf, `${lines.join('\n')}\n`);
      const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
      const sentinel = new Sentinel(port, dir, child);
      try {
        await until(async () => child.exitCode === null && (await ask(port, (r) => r.ping())) === 'PONG', 10_000, `sentinel on ${port} answers`, 50);
        return sentinel;
      } catch (err) {
        child.kill('SIGKILL');
        if (attempt >= 5) {
          await rm(dir, { recursive: true, force: true });
          throw err;
        }
      }
    }
  }

  async destroy(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGKILL');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * A Sentinel group on 127.0.0.1 for tests: a primary, `replicas` replicas and three sentinels
 * (quorum 2, down-after-milliseconds 1000, failover-timeout 4000), started from Debian's
 * redis-server. {@link env} gives vcu's settings for it; {@link killPrimary} crashes the primary
 * and resolves once the sentinels have promoted a replica. {@link destroy} stops everything.
 */
export class SentinelGroup {
  private constructor(
    readonly name: string,
    readonly servers: RedisServer[],
    readonly sentinels: Sentinel[],
    readonly password: string | undefined,
  ) {}

  static async start({ replicas = 1, name = 'vcu-primary', password }: { replicas?: number; name?: string; password?: string } = {}): Promise<SentinelGroup> {
    const servers: RedisServer[] = [];
    const sentinels: Sentinel[] = [];
    try {
      const primary = await RedisServer.start({ persistent: false, ...(password === undefined ? {} : { password }) });
      servers.push(primary);
      for (let i = 0; i < replicas; i += 1) {
        servers.push(await RedisServer.start({ persistent: false, ...(password === undefined ? {} : { password }), args: () => ['--replicaof', '127.0.0.1', String(primary.port)] }));
      }
      await until(async () => Number(field(await ask(primary.port, (r) => r.info('replication'), password), 'connected_slaves')) === replicas, 20_000, 'every replica is connected');
      for (let i = 0; i < 3; i += 1) sentinels.push(await Sentinel.start(name, primary.port, password));
      const group = new SentinelGroup(name, servers, sentinels, password);
      // a failover needs sentinels that know each other (quorum) and the replicas
      await until(
        async () =>
          (
            await Promise.all(
              sentinels.map(async (s) => {
                const known = await ask(s.port, async (r) => [await r.call('SENTINEL', 'SENTINELS', name), await r.call('SENTINEL', 'REPLICAS', name)]);
                return (known[0] as unknown[]).length === 2 && (known[1] as unknown[]).length === replicas;
              }),
            )
          ).every(Boolean),
        30_000,
        'the sentinels know each other and every replica',
      );
      return group;
    } catch (err) {
      await stopAll([...sentinels, ...servers]);
      throw err;
    }
  }

  /** vcu's settings for this group (REDIS_URL carries only the password, if any). */
  env(): Record<string, string> {
    return {
      REDIS_SENTINELS: this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      REDIS_SENTINEL_NAME: this.name,
      REDIS_URL: this.password === undefined ? 'redis://127.0.0.1:6379' : `redis://:${encodeURIComponent(this.password)}@127.0.0.1:6379`,
    };
  }

  /** The port of the primary the sentinels name now. */
  async primaryPort(): Promise<number> {
    const reply = (await ask(this.sentinels[0]?.port ?? 0, (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name))) as [string, string];
    return Number(reply[1]);
  }

  /**
   * SIGKILLs the primary, then resolves with the new primary's port once a sentinel announces
   * the promotion (`+switch-master`) and the new primary says it is one.
   */
  async killPrimary(timeoutMs = 30_000): Promise<number> {
    const before = await this.primaryPort();
    const victim = this.servers.find((s) => s.port === before);
    if (victim === undefined) throw new Error(`no server of this group on port ${before}`);
    const listener = new Redis({ port: this.sentinels[0]?.port ?? 0, host: '127.0.0.1', maxRetriesPerRequest: null });
    listener.on('error', () => undefined);
    try {
      await listener.subscribe('+switch-master');
      const switched = new Promise<number>((resolve) => {
        listener.on('message', (_channel: string, message: string) => {
          // "<name> <old ip> <old port> <new ip> <new port>"
          const [name, , , , port] = message.split(' ');
          if (name === this.name) resolve(Number(port));
        });
      });
      await victim.stop('SIGKILL');
      const timer = sleep(timeoutMs, 'timeout' as const);
      const winner = await Promise.race([switched, timer]);
      if (winner === 'timeout') throw new Error(`no failover within ${timeoutMs} ms`);
      await until(async () => field(await ask(winner, (r) => r.info('replication'), this.password), 'role') === 'master', 10_000, 'the promoted replica is primary');
      return winner;
    } finally {
      listener.disconnect();
    }
  }

  async destroy(): Promise<void> {
    await stopAll([...this.sentinels, ...this.servers]);
  }
}

/** The hash slot of `key` as this cluster computes it. */
async function slotOf(port: number, key: string): Promise<number> {
  return Number(await ask(port, (r) => r.call('CLUSTER', 'KEYSLOT', key)));
}

/** The port of the primary that serves `slot` now, as node `port` sees it. */
async function ownerOf(port: number, slot: number): Promise<number | undefined> {
  const slots = (await ask(port, (r) => r.call('CLUSTER', 'SLOTS'))) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
  const range = slots.find(([from, to]) => slot >= from && slot <= to);
  return range?.[2][1];
}

/**
 * A Redis Cluster on 127.0.0.1 for tests: `masters` primaries with `replicasEach` replicas each
 * (cluster-node-timeout 1000 ms, so a dead primary's replica takes over in a second or two),
 * created with `redis-cli --cluster create`. {@link destroy} stops every node.
 */
export class RedisCluster {
  private constructor(
    readonly nodes: RedisServer[],
    private readonly replicasEach: number,
  ) {}

  static async start({ masters = 3, replicasEach = 1 }: { masters?: number; replicasEach?: number } = {}): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    try {
      const count = masters * (1 + replicasEach);
      for (let i = 0; i < count; i += 1) {
        nodes.push(
          await RedisServer.start({
            persistent: false,
            args: async (port) => [
              '--cluster-enabled', 'yes',
              '--cluster-config-file', `nodes-${port}.conf`,
              '--cluster-node-timeout', '1000',
              '--cluster-port', String(await freePort()),
              '--cluster-replica-validity-factor', '0',
            ],
          }),
        );
      }
      await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicasEach), '--cluster-yes']);
      const cluster = new RedisCluster(nodes, replicasEach);
      await until(async () => (await cluster.healthy()), 30_000, 'the cluster is up with every replica in sync');
      return cluster;
    } catch (err) {
      await stopAll(nodes);
      throw err;
    }
  }

  /** Every running node says cluster_state:ok, and every running primary has its replicas online. */
  private async healthy(expectReplicas = true): Promise<boolean> {
    for (const node of this.nodes.filter((n) => n.running)) {
      const state = await ask(node.port, async (r) => String(await r.call('CLUSTER', 'INFO')));
      if (field(state, 'cluster_state') !== 'ok') return false;
      const info = await ask(node.port, (r) => r.info('replication'));
      const inSync = Number(field(info, 'connected_slaves')) >= this.replicasEach && !/state=(?!online)/.test(info);
      if (expectReplicas && field(info, 'role') === 'master' && !inSync) return false;
    }
    return true;
  }

  /** vcu's setting for this cluster: every node. */
  env(): Record<string, string> {
    return { REDIS_CLUSTER_NODES: this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',') };
  }

  /** The port of the primary that holds `key` (e.g. `{vcu}:epoch`: every vcu key, see the hash tag). */
  async primaryOf(key: string): Promise<number> {
    const port = this.nodes.find((n) => n.running)?.port ?? 0;
    const owner = await ownerOf(port, await slotOf(port, key));
    if (owner === undefined) throw new Error(`no node serves ${key}`);
    return owner;
  }

  /**
   * SIGKILLs the primary that holds `key`, then resolves with the port of the replica promoted in
   * its place once every running node agrees and the cluster is ok again.
   */
  async killPrimaryOf(key: string, timeoutMs = 30_000): Promise<number> {
    const before = await this.primaryOf(key);
    const victim = this.nodes.find((n) => n.port === before);
    if (victim === undefined) throw new Error(`no node on port ${before}`);
    await victim.stop('SIGKILL');
    let after: number | undefined;
    await until(
      async () => {
        const owners = await Promise.all(this.nodes.filter((n) => n.running).map(async (n) => ownerOf(n.port, await slotOf(n.port, key))));
        after = owners[0];
        return after !== undefined && after !== before && owners.every((o) => o === after) && (await this.healthy(false));
      },
      timeoutMs,
      `a replica of the primary on ${before} takes over`,
    );
    return after ?? 0;
  }

  async destroy(): Promise<void> {
    await stopAll(this.nodes);
  }
}
