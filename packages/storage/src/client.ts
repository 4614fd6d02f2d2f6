import { S3Client } from '@aws-sdk/client-s3';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DirectPut } from './direct-put.js';
import { signKnownPayloadHashes } from './payload-hash.js';

export interface S3Settings {
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  readonly forcePathStyle: boolean;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Sockets kept open to S3; at least the number of uploads in flight. */
  readonly maxSockets?: number;
}

/**
 * The one place an S3 client is built.
 *
 * Checksums are `WHEN_REQUIRED`: since SDK 3.729 the default adds CRC32 trailing checksums
 * (aws-chunked bodies) that Ceph RGW, R2, B2 and older MinIO reject or mishandle. vcu has the
 * server verify each chunk by the SHA-256 SigV4 signs (direct-put.ts; payload-hash.ts for the parts
 * of a multipart upload), or Content-MD5 if asked.
 * Timeouts make a dead server fail a request (and the job retry) instead of hanging it; SDK
 * retries are few because BullMQ retries the job. PutObject, two per small file, skips the SDK's
 * middleware (direct-put.ts) on the same agents, timeouts, credentials and endpoint.
 *
 * `cacheMiddleware`: the SDK resolves its middleware stack once per command class instead of on
 * every request (a seventh of the worker's allocations for small files, which cost two requests
 * each). It means no middleware is ever added to a single command or to the client after its
 * first request: what vcu adds, it adds here, before that (payload-hash.ts, releaseBodies).
 */
export function createS3Client(settings: S3Settings): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets ?? 64 };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);
  const client = new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    credentials:
      settings.accessKeyId !== undefined && settings.secretAccessKey !== undefined
        ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
        : undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: settings.connectTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      // without it the SDK only logs a warning when the timeout passes and the request hangs on
      // (seen with Ceph RGW under load): a dead server would hold a job forever
      throwOnRequestTimeout: true,
      httpAgent,
      httpsAgent,
    },
    cacheMiddleware: true,
  });
  signKnownPayloadHashes(client);
  releaseBodies(client);
  const { connectTimeoutMs, requestTimeoutMs } = settings;
  directPuts.set(client, new DirectPut(client, { httpAgent, httpsAgent, connectTimeoutMs, requestTimeoutMs, maxAttempts: MAX_ATTEMPTS }));
  return client;
}

/** Tries per S3 request: few, because BullMQ retries the job. */
const MAX_ATTEMPTS = 2;

/** The PutObject sender of each client createS3Client built (direct-put.ts), on the same agents and timeouts. */
const directPuts = new WeakMap<S3Client, DirectPut>();

/** How `client` sends a PutObject; only clients built by createS3Client have one. */
export function directPutOf(client: S3Client): DirectPut {
  const direct = directPuts.get(client);
  if (direct === undefined) throw new Error('this S3 client was not built by createS3Client, which sets up its PutObject sender');
  return direct;
}

/**
 * A cached middleware stack keeps the first command of each class it served for the client's
 * lifetime (only its class is read again). That command must not keep its body, a chunk's buffer
 * the worker's memory budget has let go: once a request has settled (the SDK's own retries are
 * inside it), its input drops the body.
 */
function releaseBodies(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } finally {
        delete (args.input as { Body?: unknown }).Body;
      }
    },
    { step: 'initialize', priority: 'high', name: 'vcuReleaseBody' },
  );
}
