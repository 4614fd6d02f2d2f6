import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createS3Client } from './client.js';
import { encodeKey } from './direct-put.js';
import { classifyS3Error } from './errors.js';
import { putChunk } from './operations.js';

void describe('encodeKey', () => {
  void it('keeps slashes and RFC 3986 unreserved characters', () => {
    assert.equal(encodeKey('v/0123abcd/00001'), 'v/0123abcd/00001');
    assert.equal(encodeKey('a-b_c.d~e/f'), 'a-b_c.d~e/f');
  });

  void it("percent-encodes everything else, including what encodeURIComponent leaves (!'()*), as SigV4 signs it", () => {
    assert.equal(encodeKey("cams/a b+c!'()*&=.mp4"), 'cams/a%20b%2Bc%21%27%28%29%2A%26%3D.mp4');
    assert.equal(encodeKey('ü/€'), '%C3%BC/%E2%82%AC');
  });

  void it('keeps empty segments (a key with // or a trailing /)', () => {
    assert.equal(encodeKey('a//b/'), 'a//b/');
  });
});

/**
 * The HTTP side of a PUT, against a local stand-in for S3 (the real server's answers are tested
 * in tests/src/storage.test.ts): what it cannot be made to do on demand.
 */
void describe('DirectPut over HTTP', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  async function serve(host: string, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; endpoint: string }> {
    const server = createServer(handle);
    // a client hanging up mid-body (what one test wants) is no failure of the stand-in
    server.on('clientError', (_err, socket) => socket.destroy());
    servers.push(server);
    server.listen(0, host);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return { server, endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
  }

  const client = (endpoint: string | undefined, forcePathStyle = true) =>
    createS3Client({ endpoint, region: 'us-east-1', accessKeyId: 'key', secretAccessKey: 'secret', forcePathStyle, connectTimeoutMs: 2000, requestTimeoutMs: 5000 });

  void it('reaches an endpoint given as an IPv6 literal ([::1]), signing its bracketed host', async () => {
    let seen: IncomingMessage | undefined;
    const { endpoint } = await serve('::1', (req, res) => {
      seen = req;
      req.resume();
      req.on('end', () => res.writeHead(200, { etag: '"0123"' }).end());
    });
    const s3 = client(endpoint);
    try {
      assert.equal(await putChunk({ client: s3, bucket: 'b' }, { key: 'k/1', body: Buffer.from('abc'), sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' }), '0123');
      assert.equal(seen?.url, '/b/k/1');
      assert.equal(seen?.headers.host, endpoint.slice('http://'.length));
      assert.match(seen?.headers.authorization ?? '', /SignedHeaders=[^,]*host/);
    } finally {
      s3.destroy();
    }
  });

  void it('an error answered before the body is sent stops the sending: the caller may reuse the buffer once the put settles', async () => {
    const closed: Promise<unknown>[] = [];
    const { server, endpoint } = await serve('127.0.0.1', (req, res) => {
      closed.push(once(req.socket, 'close'));
      // answers at once and never reads the body, as a server refusing a request may
      res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code><Message>no</Message></Error>');
    });
    // a kept-alive connection would stay open for the whole test: only the client can close it
    server.keepAliveTimeout = 120_000;
    const s3 = client(endpoint);
    try {
      const body = Buffer.alloc(32 * 1024 * 1024);
      await assert.rejects(putChunk({ client: s3, bucket: 'b' }, { key: 'k', body, sha256: '0'.repeat(64) }), (err: Error) => {
        assert.equal(err.name, 'AccessDenied');
        assert.equal(classifyS3Error(err), 'denied');
        return true;
      });
      // the connection is closed rather than left writing 32 MiB the server will not read
      const late = sleep(10_000, 'still open after 10 s', { ref: false });
      assert.notEqual(await Promise.race([Promise.all(closed), late]), 'still open after 10 s');
    } finally {
      s3.destroy();
    }
  });

  void it('a bucket whose endpoint rules want another signing (an S3 Express directory bucket) is refused before any request', async () => {
    const s3 = client(undefined, false);
    try {
      await assert.rejects(putChunk({ client: s3, bucket: 'vcu--use1-az4--x-s3' }, { key: 'k', body: Buffer.from('x'), sha256: '0'.repeat(64) }), /signing/);
    } finally {
      s3.destroy();
    }
  });
});
