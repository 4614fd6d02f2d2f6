import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getEndpointFromInstructions } from '@smithy/core/endpoints';
import { SignatureV4 } from '@smithy/signature-v4';
import { type Agent as HttpAgent, type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTransientS3Error } from './errors.js';

/** How a client built by createS3Client sends: its agents, timeouts and attempts. */
export interface DirectPutOptions {
  readonly httpAgent: HttpAgent;
  readonly httpsAgent: HttpsAgent;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Tries per request, as the SDK's maxAttempts (BullMQ retries the job beyond them). */
  readonly maxAttempts: number;
}

/** One PutObject: its key, body, SigV4 payload hash and headers (Content-Type, Content-MD5, x-amz-meta-*). */
export interface DirectPutInput {
  readonly key: string;
  readonly body: Buffer;
  /** Hex SHA-256 of `body`, signed as the payload hash: the server rejects a body that does not match it. */
  readonly sha256: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** An error answer of S3, shaped as the SDK's (name = the S3 error code, $metadata, $response), so errors.ts reads both alike. */
export class S3ResponseError extends Error {
  readonly $metadata: { readonly httpStatusCode: number; readonly requestId: string | undefined };
  readonly $response: { readonly statusCode: number };
  readonly $fault: 'client' | 'server';

  constructor(status: number, code: string, message: string, requestId: string | undefined) {
    super(message === '' ? `S3 answered ${status} ${code}` : message);
    this.name = code;
    this.$metadata = { httpStatusCode: status, requestId };
    this.$response = { statusCode: status };
    this.$fault = status >= 500 ? 'server' : 'client';
  }
}

/** Where a bucket's objects are: the URL the SDK's endpoint rules give, and the region its SigV4 signs with. */
interface BucketEndpoint {
  readonly url: URL;
  readonly signer: SignatureV4;
}

/** The wait before another attempt (×1 after the first, ×2 after a second…), jittered by ±50%. */
const RETRY_BASE_MS = 100;

/** Bytes of an error answer read for its code and message; S3's XML errors are far smaller. */
const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * PutObject on the client's own settings, without the SDK's per-request middleware.
 *
 * Why: measured against the Ceph RGW on this project's bench machine, a 512 KiB PutObject cost
 * the client 1.4–2.0 ms of CPU through `client.send` and 0.6–0.7 ms this way (the SDK copies its
 * whole resolved config several times per request, resolves the endpoint rules, and builds a
 * schema-driven request). vcu sends two PUTs per small file (the chunk and metadata.json): with
 * the bench's 5,000 small files the worker's CPU fell from ~4.5 to ~3.7 s per 1,000 files.
 *
 * What stays the SDK's: the endpoint (its rules, resolved once per bucket), the credentials
 * (its provider chain, with refresh), the hash, the signer (@smithy/signature-v4, SigV4 as the
 * SDK signs it), the clock offset it learns, and the keep-alive agents. What is done here: the
 * HTTP request, its timeouts, one more attempt for a transient failure (as maxAttempts 2 did)
 * and S3's XML error answer, read into an error with the SDK's shape. Plain SigV4 for `s3` only:
 * a bucket whose endpoint rules ask for another signing (S3 Express, multi-region access points)
 * is refused with a clear error.
 */
export class DirectPut {
  private readonly endpoints = new Map<string, Promise<BucketEndpoint>>();

  constructor(
    private readonly client: S3Client,
    private readonly options: DirectPutOptions,
  ) {}

  /** Puts the object; returns the ETag as S3 answered it (quotes and all), or undefined. */
  async put(bucket: string, input: DirectPutInput): Promise<string | undefined> {
    const endpoint = await this.endpointOf(bucket);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(endpoint, input);
      } catch (err) {
        if (attempt >= this.options.maxAttempts || !worthAnotherAttempt(err)) throw err;
        // jittered, so that many PUTs refused together (SlowDown) do not all come back together
        await sleep(RETRY_BASE_MS * attempt * (0.5 + Math.random()));
      }
    }
  }

  private async endpointOf(bucket: string): Promise<BucketEndpoint> {
    let endpoint = this.endpoints.get(bucket);
    if (endpoint === undefined) {
      endpoint = this.resolve(bucket);
      this.endpoints.set(bucket, endpoint);
      // a failure (no region yet, say) is not kept: the next put asks again
      endpoint.catch(() => this.endpoints.delete(bucket));
    }
    return endpoint;
  }

  private async resolve(bucket: string): Promise<BucketEndpoint> {
    const { config } = this.client;
    // a copy, as the SDK's own middleware passes: the lookup may note an endpoint from the environment on it
    const resolved = await getEndpointFromInstructions({ Bucket: bucket, Key: 'k' }, PutObjectCommand, { ...config });
    const scheme = (resolved.properties?.['authSchemes'] as { name?: string; signingName?: string; signingRegion?: string }[] | undefined)?.[0];
    if (scheme !== undefined && (scheme.name !== 'sigv4' || (scheme.signingName ?? 's3') !== 's3')) {
      throw new Error(`bucket ${bucket} wants ${scheme.name ?? 'another'} signing (an S3 Express directory bucket, a multi-region access point); vcu signs its PUTs with SigV4 for s3`);
    }
    const region = scheme?.signingRegion ?? (await config.region());
    const signer = new SignatureV4({ credentials: config.credentials, region, service: 's3', sha256: config.sha256, uriEscapePath: false, applyChecksum: false });
    return { url: new URL(resolved.url.href), signer };
  }

  private async attempt({ url, signer }: BucketEndpoint, input: DirectPutInput): Promise<string | undefined> {
    const path = `${url.pathname.replace(/\/$/, '')}/${encodeKey(input.key)}`;
    const unsigned = {
      method: 'PUT',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path,
      query: {},
      headers: { ...input.headers, host: url.host, 'content-length': String(input.body.length), 'x-amz-content-sha256': input.sha256 },
      body: input.body,
    };
    // no credentials yet (an instance role's endpoint down) is an outage too, as through the SDK
    const signed = await signer.sign(unsigned, { signingDate: new Date(Date.now() + this.client.config.systemClockOffset) }).catch((err: unknown) => {
      throw asClientError(err instanceof Error ? err : new Error(String(err)));
    });
    const response = await this.send(url, path, signed.headers, input.body);
    if (response.status >= 200 && response.status < 300) return response.etag;
    throw this.refused(response);
  }

  /** The error for an answer that is not a success; a clock too far off is corrected for the next attempt, as the SDK does. */
  private refused({ status, body, date, requestId }: Answer): S3ResponseError {
    const code = xmlText(body, 'Code') ?? `Http${status}`;
    if (CLOCK_SKEW_CODES.has(code) && date !== undefined) {
      const offset = Date.parse(date) - Date.now();
      if (Number.isFinite(offset)) this.client.config.systemClockOffset = offset;
    }
    return new S3ResponseError(status, code, xmlText(body, 'Message') ?? '', requestId);
  }

  private async send(url: URL, path: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
    const https = url.protocol === 'https:';
    // an IPv6 literal without its brackets, as node:http wants it (the host header keeps them)
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const options = { method: 'PUT', hostname, port: url.port, path, headers, agent: https ? this.options.httpsAgent : this.options.httpAgent };
    return new Promise<Answer>((resolve, reject) => {
      const request = https ? httpsRequest(options) : httpRequest(options);
      const fail = (err: Error): void => {
        request.destroy();
        reject(asClientError(err));
      };
      request.on('error', fail);
      request.on('response', (response) => {
        readAnswer(response).then((answer) => {
          // an answer (an error) before the whole body went out: the socket must not go on
          // reading the body, whose buffer the caller reuses once this settles
          if (!request.writableFinished) request.destroy();
          resolve(answer);
        }, fail);
      });
      this.watchTimeouts(request, fail);
      request.end(body);
    });
  }

  /**
   * A connection not made within connectTimeoutMs fails, and so does a request whose socket has
   * been silent (nothing sent, nothing answered) for requestTimeoutMs: a server that stopped
   * answering. (The SDK's request timeout counts from the request's start instead; a server that
   * keeps answering slowly is given its time here.) Time waiting for a free socket counts in neither.
   */
  private watchTimeouts(request: ClientRequest, fail: (err: Error) => void): void {
    const { connectTimeoutMs, requestTimeoutMs } = this.options;
    request.setTimeout(requestTimeoutMs, () => fail(timeoutError(`no answer from S3 within ${requestTimeoutMs} ms`)));
    request.once('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => fail(timeoutError(`no connection to S3 within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      socket.once('connect', () => clearTimeout(timer));
      request.once('close', () => clearTimeout(timer));
    });
  }
}

/** Answers to a request signed at a time the server finds too far from its own. */
const CLOCK_SKEW_CODES = new Set(['RequestTimeTooSkewed', 'RequestExpired', 'RequestInTheFuture']);

/** An outage, or a clock the answer has just corrected (the SDK retries both). */
function worthAnotherAttempt(err: unknown): boolean {
  return isTransientS3Error(err) || (err instanceof S3ResponseError && CLOCK_SKEW_CODES.has(err.name));
}

interface Answer {
  readonly status: number;
  readonly etag: string | undefined;
  readonly date: string | undefined;
  readonly requestId: string | undefined;
  /** The error answer's text (empty for a success, whose body is not kept). */
  readonly body: string;
}

async function readAnswer(response: IncomingMessage): Promise<Answer> {
  const status = response.statusCode ?? 0;
  const success = status >= 200 && status < 300;
  let body = '';
  for await (const piece of response as AsyncIterable<Buffer>) {
    if (!success && body.length < ERROR_BODY_LIMIT) body += piece.toString('utf8');
  }
  const header = (name: string): string | undefined => {
    const value = response.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  return { status, etag: header('etag'), date: header('date'), requestId: header('x-amz-request-id'), body };
}

/** The text of the first `<tag>` in an S3 XML error answer. */
function xmlText(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return match?.[1];
}

/** A network error marked as the client's (`$metadata`), so errors.ts counts it an outage (retry later), as it does the SDK's. */
function asClientError(err: Error): Error {
  return Object.assign(err, { $metadata: {} });
}

function timeoutError(message: string): Error {
  const err = new Error(message);
  err.name = 'TimeoutError';
  return err;
}

/** An object key as a URL path: each segment percent-encoded as SigV4 and S3 want (RFC 3986 unreserved characters kept), slashes kept. */
export function encodeKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}
