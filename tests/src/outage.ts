import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@vcu/testkit';

const run = promisify(execFile);

/** A way to take the S3 server away from the apps and bring it back. */
export interface S3Outage {
  /** Settings the apps need so the outage reaches them. */
  readonly env: Record<string, string>;
  readonly kind: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * With VCU_RGW_TOOLS (CI sets it to shared/tools/rgw) the real Ceph RGW is stopped with
 * `stop-rgw.sh --rgw-only` and restarted with `start-rgw.sh`. Otherwise the apps reach S3
 * through a TCP proxy that is closed (connections refused) for the outage.
 */
export async function createS3Outage(endpoint: string): Promise<S3Outage> {
  const tools = process.env['VCU_RGW_TOOLS'];
  if (tools !== undefined && tools !== '') {
    const script = (name: string, ...args: string[]) =>
      run('bash', [path.join(tools, name), ...args], { timeout: 300_000, env: { ...process.env, RGW_NO_INSTALL: '1' } });
    return {
      env: {},
      kind: 'Ceph RGW stopped',
      stop: async () => void (await script('stop-rgw.sh', '--rgw-only')),
      start: async () => void (await script('start-rgw.sh')),
      close: async () => void (await script('start-rgw.sh')),
    };
  }
  return TcpProxy.start(endpoint);
}

/**
 * A TCP proxy to S3 that can be cut (connections refused) and restored on the same port, or held:
 * requests already sent are answered, but no more bytes reach S3, so uploads hang mid-request.
 */
export class TcpProxy implements S3Outage {
  readonly kind = 'proxy to S3 closed';
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly clients = new Map<net.Socket, net.Socket>();
  private held = false;

  private constructor(
    private readonly port: number,
    private readonly target: URL,
  ) {}

  static async start(endpoint: string): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), new URL(endpoint));
    await proxy.start();
    return proxy;
  }

  get env(): Record<string, string> {
    return { S3_ENDPOINT: `http://127.0.0.1:${this.port}` };
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(this.target.port || 80), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => {
          this.sockets.delete(s);
          this.clients.delete(s);
        });
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      upstream.pipe(client);
      this.clients.set(client, upstream);
      if (this.held) client.pause();
      else client.pipe(upstream);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** From now on no byte from a client reaches S3 (until stop; a restarted proxy forwards again): requests in flight hang. */
  hold(): void {
    this.held = true;
    for (const [client, upstream] of this.clients) {
      client.unpipe(upstream);
      client.pause();
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.held = false;
    for (const s of this.sockets) s.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  close(): Promise<void> {
    return this.stop();
  }
}
