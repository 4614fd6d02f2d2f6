import type { S3Client } from '@aws-sdk/client-s3';

/**
 * Payload hashes vcu already holds, by the body they belong to (the SDK's middleware copies a
 * request's input on the way, but not its body). A WeakMap, so a body and its entry go away
 * together, and only bodies given here are touched.
 */
const known = new WeakMap<Buffer, string>();

/** Has a client built by createS3Client sign `sha256` (hex) as the hash of `body`. */
export function signPayloadAs(body: Buffer, sha256: string): Buffer {
  known.set(body, sha256);
  return body;
}

function knownHash(input: object): string | undefined {
  const body = (input as { Body?: unknown }).Body;
  return Buffer.isBuffer(body) ? known.get(body) : undefined;
}

/**
 * SigV4 signs a hash of the payload, sent as `x-amz-content-sha256`; left alone, the SDK hashes
 * every body to fill that header. For a body given to {@link signPayloadAs} the header is set
 * to the hash vcu holds, and the signer uses it as it is. This lives on the client, not on each
 * command, so the client can resolve its middleware once per command class (`cacheMiddleware`):
 * the hash is looked up from each request's own body, never from state the requests share.
 */
export function signKnownPayloadHashes(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const sha256 = knownHash(args.input);
      const request = args.request as { headers?: Record<string, string> };
      if (sha256 !== undefined && request.headers !== undefined) request.headers['x-amz-content-sha256'] = sha256;
      return next(args);
    },
    { step: 'build', name: 'vcuPayloadHash' },
  );
}
