/**
 * What kind of failure an S3 call met, from error names, codes and HTTP status (never from
 * message text). Used for clear logs and to decide whether retrying can help.
 */
export type S3Failure =
  /** No answer: connection refused or reset, DNS, timeout. Retrying later helps. */
  | 'unreachable'
  /** The server answered with a 5xx or asked us to slow down. Retrying later helps. */
  | 'server'
  /** Not found (object or bucket). */
  | 'not-found'
  /** Credentials or permissions are wrong: the operator must act; retrying after that helps. */
  | 'denied'
  /** The server refused the request as invalid. */
  | 'refused';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'AbortError']);
const DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden', 'AllAccessDisabled']);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: unknown;
}

export function httpStatusOf(err: unknown): number | undefined {
  const status = (err as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The server does not implement the request (501 NotImplemented): some S3 servers lack UploadPartCopy or ListMultipartUploads. */
export function isNotImplemented(err: unknown): boolean {
  return httpStatusOf(err) === 501 || (err as SdkErrorShape | undefined)?.name === 'NotImplemented';
}

export function classifyS3Error(err: unknown): S3Failure {
  if (typeof err !== 'object' || err === null) return 'refused';
  const e = err as SdkErrorShape;
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : typeof e.Code === 'string' ? e.Code : '';
  const status = httpStatusOf(err);
  if (NETWORK_CODES.has(code) || NETWORK_NAMES.has(name) || (status === undefined && e.$response === undefined)) return 'unreachable';
  if (name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket' || status === 404) return 'not-found';
  if (DENIED.has(name) || DENIED.has(code) || status === 403) return 'denied';
  if (status !== undefined && (status >= 500 || status === 429)) return 'server';
  if (name === 'SlowDown' || name === 'ServiceUnavailable' || name === 'InternalError') return 'server';
  return 'refused';
}

/** True for an error the S3 client threw: it carries `$metadata`, even when no answer came. */
export function isS3ClientError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && '$metadata' in err;
}

/**
 * True when the same S3 request may succeed later without anyone changing anything. Errors that
 * did not come from the S3 client (a deleted file, a filesystem error) are never S3 outages.
 */
export function isTransientS3Error(err: unknown): boolean {
  if (!isS3ClientError(err)) return false;
  const kind = classifyS3Error(err);
  return kind === 'unreachable' || kind === 'server';
}
