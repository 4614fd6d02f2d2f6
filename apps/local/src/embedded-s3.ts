import { mkdir } from 'node:fs/promises';
import S3rver from 's3rver';

/** The settings that point vcu at an embedded server on `port`. */
export function embeddedS3Env(port: number) {
  return {
    S3_ENDPOINT: `http://127.0.0.1:${port}`,
    // s3rver accepts any key pair; these are the ones its docs use
    S3_ACCESS_KEY: 'S3RVER',
    S3_SECRET_KEY: 'S3RVER',
    S3_FORCE_PATH_STYLE: 'true',
    /** s3rver does not check the signed payload hash, but its ETag is the body's MD5. */
    S3_CONTENT_MD5: 'true',
  } as const;
}

export interface EmbeddedS3 {
  /** The settings that point vcu at this server. */
  readonly env: ReturnType<typeof embeddedS3Env>;
  close(): Promise<void>;
}

/**
 * An S3-compatible server (s3rver) on 127.0.0.1, storing objects as files under `directory`, so
 * vcu runs locally with nothing but Redis. For trying vcu out and for tests without a real S3
 * server; deployments point S3_ENDPOINT at MinIO, Ceph or AWS.
 */
export async function startEmbeddedS3({
  directory,
  port = 0,
  keepAlive = true,
}: {
  directory: string;
  port?: number;
  /** false: the server does not keep the process alive by itself (tests). */
  keepAlive?: boolean;
}): Promise<EmbeddedS3> {
  await mkdir(directory, { recursive: true });
  const server = new S3rver({ address: '127.0.0.1', port, directory, silent: true });
  const address = await server.run();
  if (!keepAlive) server.httpServer?.unref();
  return { env: embeddedS3Env(address.port), close: () => server.close() };
}
