import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './config.js';
import { MAX_CHUNK_SIZE } from './settings.js';
import { ProblemError, formatBytes, parseSize } from './parse.js';
import { redactUrl } from './redact.js';
import { describeConfig } from './describe.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vcu-config-test-'));
const regularFile = path.join(tmp, 'not-a-dir.txt');
writeFileSync(regularFile, 'x');
after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

type Env = Record<string, string | undefined>;

/** A valid environment: only WATCH_DIR set, plus the overrides. */
function env(overrides: Env = {}): Env {
  return { WATCH_DIR: tmp, ...overrides };
}

/** Runs loadConfig, which must throw a ConfigError, and returns that error. */
function configError(vars: Env): ConfigError {
  let caught: unknown;
  try {
    loadConfig(vars);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.name, 'ConfigError');
  return caught;
}

/**
 * Asserts that `vars` fails with a problem for `name`, that the message names the variable and
 * its bad value, and that what is allowed (matching `allowed`) is in the message.
 */
function expectProblem(vars: Env, name: string, shownValue: string, allowed: RegExp): ConfigError {
  const err = configError(vars);
  const problem = err.problems.find((p) => p.name === name);
  assert.ok(problem, `no problem reported for ${name}: ${err.message}`);
  assert.equal(problem.value, shownValue);
  assert.match(problem.allowed, allowed);
  assert.ok(
    err.message.includes(`${name}=${JSON.stringify(shownValue)}`),
    `message should name ${name} and its value ${JSON.stringify(shownValue)}: ${err.message}`,
  );
  assert.match(err.message, allowed);
  return err;
}

void describe('loadConfig defaults', () => {
  void it('fills every setting from its default when only WATCH_DIR is set', () => {
    const config = loadConfig(env());
    assert.deepEqual(config, {
      redis: { url: 'redis://127.0.0.1:6379', topology: { kind: 'single' }, keyPrefix: '{vcu}' },
      s3: {
        endpoint: undefined,
        region: 'us-east-1',
        bucket: 'vcu',
        accessKeyId: undefined,
        secretAccessKey: undefined,
        forcePathStyle: false,
        prefix: '',
        connectTimeoutMs: 5000,
        requestTimeoutMs: 120_000,
        contentMd5: false,
      },
      watch: { dir: path.resolve(tmp), patterns: ['**/*.mp4'], pollMs: 0, rescanMs: 60_000, sealWhenClosed: 'auto' },
      chunkSize: 10 * 1024 * 1024,
      multipart: { above: 64 * 1024 * 1024, partSize: 8 * 1024 * 1024 },
      assemble: { enabled: false, keyTemplate: '{prefix}{streamId}/{name}' },
      streamIdleMs: 5000,
      forgetAfterMs: 3_600_000,
      keepCompletedJobs: 1000,
      afterUpload: { mode: 'keep', deleteAfterMs: 60_000 },
      finalizeEveryMs: 1000,
      worker: { concurrency: 4, lockMs: 30000 },
      log: { level: 'info', format: 'json' },
      shutdownTimeoutMs: 30_000,
      metricsPort: 9102,
      dashboard: { host: '0.0.0.0', port: 3000, auth: true, user: 'admin', password: '', readOnly: false },
    });
  });

  void it('checks the assembly settings: CHUNK_SIZE of 5 MiB or more, a key template with {streamId}', () => {
    assert.throws(() => loadConfig(env({ ASSEMBLE: 'true', CHUNK_SIZE: '1MiB' })), /CHUNK_SIZE="1MiB": expected at least 5 MiB \(5242880\) when ASSEMBLE=true/);
    assert.equal(loadConfig(env({ ASSEMBLE: 'true', CHUNK_SIZE: '5MiB' })).assemble.enabled, true);
    assert.throws(() => loadConfig(env({ ASSEMBLE_KEY: 'videos/{name}' })), /ASSEMBLE_KEY="videos\/\{name\}": expected a key template/);
    assert.throws(() => loadConfig(env({ ASSEMBLE_KEY: '{prefix}{streamId}/{nmae}' })), /ASSEMBLE_KEY/);
  });

  void it('requires WATCH_DIR of the watcher and worker only, and a dashboard password unless DASHBOARD_AUTH=off', () => {
    assert.throws(() => loadConfig({}, { app: 'watcher' }), /WATCH_DIR=""/);
    assert.equal(loadConfig({ DASHBOARD_PASSWORD: 'pw' }, { app: 'dashboard' }).watch.dir, '');
    // Compose gives the dashboard WATCH_DIR too, without the folder: it does not read it, so it starts
    assert.equal(loadConfig({ DASHBOARD_PASSWORD: 'pw', WATCH_DIR: '/no/such/folder' }, { app: 'dashboard' }).watch.dir, '');
    assert.throws(() => loadConfig({ WATCH_DIR: '/no/such/folder' }, { app: 'cli' }), /WATCH_DIR="\/no\/such\/folder"/);
    assert.throws(() => loadConfig({}, { app: 'dashboard' }), /DASHBOARD_PASSWORD="": expected a password/);
    const open = loadConfig({ DASHBOARD_AUTH: 'off' }, { app: 'dashboard' });
    assert.equal(open.dashboard.auth, false);
    assert.equal(loadConfig({}, { app: 'cli' }).metricsPort, 0);
    assert.equal(loadConfig(env({}), { app: 'watcher' }).metricsPort, 9101);
  });

  void it('treats empty and blank values as unset', () => {
    const config = loadConfig(env({ CHUNK_SIZE: '', LOG_LEVEL: '   ', S3_BUCKET: '' }));
    assert.equal(config.chunkSize, 10_485_760);
    assert.equal(config.log.level, 'info');
    assert.equal(config.s3.bucket, 'vcu');
  });

  void it('resolves WATCH_DIR to an absolute path', () => {
    const relative = path.relative(process.cwd(), tmp);
    const config = loadConfig({ WATCH_DIR: relative });
    assert.ok(path.isAbsolute(config.watch.dir));
    assert.equal(config.watch.dir, path.resolve(tmp));
  });

  void it('reads explicit values', () => {
    const config = loadConfig(
      env({
        REDIS_URL: 'rediss://user:pw@redis.example:6380',
        LOG_FORMAT: 'PRETTY',
        LOG_LEVEL: 'debug',
        WORKER_CONCURRENCY: '16',
        WATCH_PATTERNS: '**/*.mp4, **/*.mov ,,',
        S3_ACCESS_KEY: 'AKIA123',
        S3_SECRET_KEY: 'shh',
      }),
    );
    assert.equal(config.redis.url, 'rediss://user:pw@redis.example:6380');
    assert.equal(config.log.format, 'pretty');
    assert.equal(config.log.level, 'debug');
    assert.equal(config.worker.concurrency, 16);
    assert.deepEqual(config.watch.patterns, ['**/*.mp4', '**/*.mov']);
    assert.equal(config.s3.accessKeyId, 'AKIA123');
    assert.equal(config.s3.secretAccessKey, 'shh');
  });
});

void describe('CHUNK_SIZE parsing', () => {
  const cases: [string, number][] = [
    ['10MiB', 10_485_760],
    ['10 MiB', 10_485_760],
    ['10mib', 10_485_760],
    ['512k', 512 * 1024],
    ['512KiB', 512 * 1024],
    ['512KB', 512_000],
    ['1 GB', 1_000_000_000],
    ['1GiB', 1024 ** 3],
    ['1048576', 1_048_576],
    ['1', 1],
    ['7B', 7],
    ['1.5k', 1536],
    ['5GiB', 5 * 1024 ** 3],
  ];
  for (const [raw, bytes] of cases) {
    void it(`CHUNK_SIZE=${JSON.stringify(raw)} is ${bytes} bytes`, () => {
      assert.equal(loadConfig(env({ CHUNK_SIZE: raw })).chunkSize, bytes);
    });
  }

  void it('parseSize parses units directly, decimal as powers of 1000 and binary of 1024', () => {
    assert.equal(parseSize('10MiB', 1, MAX_CHUNK_SIZE), 10_485_760);
    assert.equal(parseSize('10MB', 1, MAX_CHUNK_SIZE), 10_000_000);
    assert.equal(parseSize('512k', 1, MAX_CHUNK_SIZE), 524_288);
    assert.equal(parseSize('1 GB', 1, MAX_CHUNK_SIZE), 1e9);
    assert.equal(parseSize(' 1048576 ', 1, MAX_CHUNK_SIZE), 1_048_576);
  });

  void it('parseSize rejects malformed, fractional-byte and out-of-range values with what is allowed', () => {
    for (const raw of ['abc', '', '-5', '0', '0.5', '10 XB', '10MiB extra', '1e6', '6GiB']) {
      assert.throws(
        () => parseSize(raw, 1, MAX_CHUNK_SIZE),
        (err: unknown) => err instanceof ProblemError && err.allowed.includes('from 1 B to 5 GiB'),
        `parseSize(${JSON.stringify(raw)}) should throw`,
      );
    }
  });

  void it('formatBytes names sizes in the largest exact binary unit', () => {
    assert.equal(formatBytes(1), '1 B');
    assert.equal(formatBytes(1024), '1 KiB');
    assert.equal(formatBytes(1536), '1536 B');
    assert.equal(formatBytes(MAX_CHUNK_SIZE), '5 GiB');
  });
});

void describe('invalid values', () => {
  const sizeAllowed = /whole number of bytes from 1 B to 5 GiB/;
  for (const bad of ['abc', '0', '-5', '6GiB']) {
    void it(`rejects CHUNK_SIZE=${bad}`, () => {
      expectProblem(env({ CHUNK_SIZE: bad }), 'CHUNK_SIZE', bad, sizeAllowed);
    });
  }

  void it('rejects CHUNK_SIZE one byte above 5 GiB', () => {
    const raw = String(MAX_CHUNK_SIZE + 1);
    expectProblem(env({ CHUNK_SIZE: raw }), 'CHUNK_SIZE', raw, sizeAllowed);
  });

  for (const bad of ['not-a-url', 'http://x']) {
    void it(`rejects REDIS_URL=${bad}`, () => {
      expectProblem(env({ REDIS_URL: bad }), 'REDIS_URL', bad, /redis:\/\/ or rediss:\/\//);
    });
  }

  void it('rejects LOG_FORMAT=xml', () => {
    expectProblem(env({ LOG_FORMAT: 'xml' }), 'LOG_FORMAT', 'xml', /one of json, pretty/);
  });

  void it('rejects LOG_LEVEL=verbose', () => {
    expectProblem(env({ LOG_LEVEL: 'verbose' }), 'LOG_LEVEL', 'verbose', /one of error, warn, info, debug/);
  });

  void it('rejects WORKER_CONCURRENCY=0', () => {
    expectProblem(env({ WORKER_CONCURRENCY: '0' }), 'WORKER_CONCURRENCY', '0', /whole number from 1 to 256/);
  });

  void it('rejects a non-integer WORKER_CONCURRENCY', () => {
    expectProblem(env({ WORKER_CONCURRENCY: '2.5' }), 'WORKER_CONCURRENCY', '2.5', /whole number from 1 to 256/);
  });

  void it('rejects S3_BUCKET=Bad_Bucket', () => {
    expectProblem(env({ S3_BUCKET: 'Bad_Bucket' }), 'S3_BUCKET', 'Bad_Bucket', /lowercase letters, digits, dots or hyphens/);
  });

  void it('rejects an S3 Express directory bucket (S3_BUCKET=…--x-s3), whose signing vcu does not do', () => {
    expectProblem(env({ S3_BUCKET: 'cams--use1-az4--x-s3' }), 'S3_BUCKET', 'cams--use1-az4--x-s3', /directory buckets .* not supported/);
  });

  void it('rejects S3_ENDPOINT that is not http(s)', () => {
    expectProblem(env({ S3_ENDPOINT: 'ftp://minio' }), 'S3_ENDPOINT', 'ftp://minio', /http:\/\/ or https:\/\//);
  });

  void it('rejects S3_FORCE_PATH_STYLE=maybe', () => {
    expectProblem(env({ S3_FORCE_PATH_STYLE: 'maybe' }), 'S3_FORCE_PATH_STYLE', 'maybe', /true or false/);
  });

  void it('rejects S3_CONTENT_MD5=sometimes', () => {
    expectProblem(env({ S3_CONTENT_MD5: 'sometimes' }), 'S3_CONTENT_MD5', 'sometimes', /true or false/);
  });

  void it('requires WATCH_DIR', () => {
    expectProblem({}, 'WATCH_DIR', '', /folder to watch \(required\)/);
    expectProblem({ WATCH_DIR: '  ' }, 'WATCH_DIR', '', /folder to watch \(required\)/);
  });

  void it('rejects a nonexistent WATCH_DIR', () => {
    const missing = path.join(tmp, 'does-not-exist');
    expectProblem({ WATCH_DIR: missing }, 'WATCH_DIR', missing, /an existing directory/);
  });

  void it('rejects a WATCH_DIR that is a regular file', () => {
    expectProblem({ WATCH_DIR: regularFile }, 'WATCH_DIR', regularFile, /a directory \(this path is not one\)/);
  });

  void it('rejects S3_ACCESS_KEY without S3_SECRET_KEY, naming the missing one', () => {
    const err = expectProblem(env({ S3_ACCESS_KEY: 'AKIAEXAMPLE' }), 'S3_SECRET_KEY', '', /set together or both left unset/);
    assert.equal(err.problems.length, 1);
  });

  void it('rejects S3_SECRET_KEY without S3_ACCESS_KEY, naming the missing one', () => {
    const err = expectProblem(env({ S3_SECRET_KEY: 'topsecretvalue' }), 'S3_ACCESS_KEY', '', /set together or both left unset/);
    assert.equal(err.problems.length, 1);
  });

  void it('reports several problems at once, one a line', () => {
    const err = configError({
      CHUNK_SIZE: 'abc',
      LOG_FORMAT: 'xml',
      WORKER_CONCURRENCY: '0',
      S3_BUCKET: 'Bad_Bucket',
    });
    assert.deepEqual(
      err.problems.map((p) => p.name).sort(),
      ['CHUNK_SIZE', 'LOG_FORMAT', 'S3_BUCKET', 'WATCH_DIR', 'WORKER_CONCURRENCY'],
    );
    const lines = err.message.split('\n');
    assert.equal(lines[0], 'Invalid configuration:');
    assert.equal(lines.length, 1 + err.problems.length);
    for (const name of ['CHUNK_SIZE', 'LOG_FORMAT', 'WORKER_CONCURRENCY', 'S3_BUCKET', 'WATCH_DIR']) {
      assert.equal(lines.filter((line) => line.trimStart().startsWith(`${name}=`)).length, 1, `one line for ${name}`);
    }
  });
});

void describe('secrets in error messages', () => {
  const secret = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';

  void it('never shows the S3_SECRET_KEY value', () => {
    for (const vars of [
      env({ S3_SECRET_KEY: secret }),
      env({ S3_SECRET_KEY: secret, CHUNK_SIZE: 'abc', LOG_FORMAT: 'xml' }),
      { S3_SECRET_KEY: secret, S3_ACCESS_KEY: 'AKIA', S3_BUCKET: 'Bad_Bucket' },
    ]) {
      const err = configError(vars);
      assert.ok(!err.message.includes(secret), err.message);
      assert.ok(!JSON.stringify(err.problems).includes(secret));
    }
  });

  void it('redacts the REDIS_URL password when the URL has the wrong protocol', () => {
    const err = expectProblem(env({ REDIS_URL: 'http://user:hunter2@x:6379' }), 'REDIS_URL', 'http://user:***@x:6379/', /redis:\/\//);
    assert.ok(!err.message.includes('hunter2'), err.message);
  });

  void it('redacts the REDIS_URL password when the URL does not parse', () => {
    const err = expectProblem(env({ REDIS_URL: 'redis://user:hunter2@bad host:6379' }), 'REDIS_URL', 'redis://user:***@bad host:6379', /redis:\/\//);
    assert.ok(!err.message.includes('hunter2'), err.message);
  });

  void it('redacts the whole REDIS_URL password even when it holds an unescaped @ and the URL does not parse', () => {
    const err = configError(env({ REDIS_URL: 'redis://:hunter@2secret@host:badport' }));
    const problem = err.problems.find((p) => p.name === 'REDIS_URL');
    assert.ok(problem);
    assert.ok(!err.message.includes('hunter'), err.message);
    assert.ok(!err.message.includes('2secret'), err.message);
  });

  void it('rejects S3_ENDPOINT with a user name or password, showing it redacted', () => {
    const err = expectProblem(env({ S3_ENDPOINT: 'http://AKIA:hunter2@minio:9000' }), 'S3_ENDPOINT', 'http://***:***@minio:9000/', /without a user name or password.*S3_ACCESS_KEY/);
    assert.ok(!err.message.includes('hunter2') && !err.message.includes('AKIA'), err.message);
    expectProblem(env({ S3_ENDPOINT: 'http://justakey@minio:9000' }), 'S3_ENDPOINT', 'http://***@minio:9000/', /without a user name or password/);
    expectProblem(env({ S3_ENDPOINT: 'http://AKIA:hunter@2@minio :9000' }), 'S3_ENDPOINT', 'http://***:***@minio :9000', /http:\/\/ or https:\/\//);
  });

  void it('redacts S3_ENDPOINT when it is wrong for another reason', () => {
    const err = expectProblem(env({ S3_ENDPOINT: 'ftp://u:hunter2@minio' }), 'S3_ENDPOINT', 'ftp://***:***@minio/', /http:\/\/ or https:\/\//);
    assert.ok(!err.message.includes('hunter2'), err.message);
  });

  void it('redacts a REDIS_URL password given as a query parameter', () => {
    const err = expectProblem(env({ REDIS_URL: 'http://h:6379/?password=hunter2&db=1' }), 'REDIS_URL', 'http://h:6379/?password=***&db=1', /redis:\/\//);
    assert.ok(!err.message.includes('hunter2'), err.message);
  });

  void it('rejects a REDIS_URL password that cannot be decoded (ioredis would end the process on it), without showing it', () => {
    const err = expectProblem(env({ REDIS_URL: 'redis://:50%off@redis:6379' }), 'REDIS_URL', 'redis://:***@redis:6379', /percent-encoded \(a % in them as %25\)/);
    assert.ok(!err.message.includes('50%off'), err.message);
    expectProblem(env({ REDIS_URL: 'redis://us%zzer:pw@redis:6379' }), 'REDIS_URL', 'redis://us%zzer:***@redis:6379', /percent-encoded/);
    assert.equal(loadConfig(env({ REDIS_URL: 'redis://:50%25off@redis:6379' })).redis.url, 'redis://:50%25off@redis:6379');
  });

  void it('rejects a REDIS_URL database that is not a whole number', () => {
    for (const bad of ['redis://h:6379/abc', 'redis://h:6379/1/2', 'redis://h:6379/?db=x', 'redis://h:6379/-1']) {
      expectProblem(env({ REDIS_URL: bad }), 'REDIS_URL', bad, /database number as the path/);
    }
    for (const good of ['redis://h:6379', 'redis://h:6379/', 'redis://h:6379/0', 'redis://h:6379/15', 'redis://h:6379/?db=3']) {
      assert.equal(loadConfig(env({ REDIS_URL: good })).redis.url, new URL(good).toString(), good);
    }
  });

  void it('rejects S3_ENDPOINT with a query or fragment: a token there would reach every log line naming the endpoint', () => {
    const err = expectProblem(env({ S3_ENDPOINT: 'http://minio:9000/?token=abc' }), 'S3_ENDPOINT', 'http://minio:9000/?token=***', /without a query/);
    assert.ok(!err.message.includes('abc'), err.message);
    expectProblem(env({ S3_ENDPOINT: 'http://minio:9000#x' }), 'S3_ENDPOINT', 'http://minio:9000#x', /without a query/);
    expectProblem(env({ S3_ENDPOINT: 'http://minio:9000/?' }), 'S3_ENDPOINT', 'http://minio:9000/?', /without a query/);
  });

  void it('describeConfig, the start-up line, shows no Redis password in either form', () => {
    for (const url of ['redis://user:hunter2@h:6379', 'redis://h:6379/?password=hunter2', 'rediss://:hunter2@h:6380/0?Password=hunter2']) {
      const line = JSON.stringify(describeConfig(loadConfig(env({ REDIS_URL: url }))));
      assert.ok(!line.includes('hunter2'), line);
      assert.match(line, /\*\*\*/);
    }
  });

  void it('redactUrl leaves URLs without a password unchanged', () => {
    assert.equal(redactUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
    assert.equal(redactUrl('redis://user@host:6379'), 'redis://user@host:6379');
    assert.equal(redactUrl('redis://:pw@host:6379'), 'redis://:***@host:6379');
  });
});

void describe('the returned config', () => {
  void it('is deeply frozen', () => {
    const config = loadConfig(env({ S3_ENDPOINT: 'http://minio:9000' }));
    for (const object of [config, config.redis, config.s3, config.watch, config.watch.patterns, config.worker, config.log]) {
      assert.ok(Object.isFrozen(object));
    }
    assert.throws(() => {
      (config as { chunkSize: number }).chunkSize = 1;
    }, TypeError);
    assert.throws(() => {
      (config.s3 as { bucket: string }).bucket = 'other';
    }, TypeError);
    assert.throws(() => {
      (config.watch.patterns as string[]).push('**/*');
    }, TypeError);
    assert.equal(config.chunkSize, 10_485_760);
    assert.equal(config.s3.bucket, 'vcu');
    assert.deepEqual(config.watch.patterns, ['**/*.mp4']);
  });

  void it('is a new object on every call', () => {
    assert.notEqual(loadConfig(env()), loadConfig(env()));
  });
});

void describe('S3_FORCE_PATH_STYLE', () => {
  void it('defaults to false without S3_ENDPOINT', () => {
    const config = loadConfig(env());
    assert.equal(config.s3.endpoint, undefined);
    assert.equal(config.s3.forcePathStyle, false);
  });

  void it('defaults to true with S3_ENDPOINT, whose trailing slash is dropped', () => {
    const config = loadConfig(env({ S3_ENDPOINT: 'http://minio:9000/' }));
    assert.equal(config.s3.endpoint, 'http://minio:9000');
    assert.equal(config.s3.forcePathStyle, true);
  });

  void it('can be overridden either way', () => {
    assert.equal(loadConfig(env({ S3_ENDPOINT: 'http://minio:9000', S3_FORCE_PATH_STYLE: 'false' })).s3.forcePathStyle, false);
    assert.equal(loadConfig(env({ S3_FORCE_PATH_STYLE: 'yes' })).s3.forcePathStyle, true);
    assert.equal(loadConfig(env({ S3_FORCE_PATH_STYLE: '0' })).s3.forcePathStyle, false);
  });
});

void describe('DASHBOARD_HOST', () => {
  void it('defaults to 0.0.0.0 and takes any IP address or localhost', () => {
    assert.equal(loadConfig(env()).dashboard.host, '0.0.0.0');
    for (const host of ['127.0.0.1', '::', '::1', '10.1.2.3', 'localhost', ' 127.0.0.1 ']) {
      assert.equal(loadConfig(env({ DASHBOARD_HOST: host })).dashboard.host, host.trim());
    }
  });

  void it('rejects anything else, saying what is allowed', () => {
    for (const bad of ['example.com', '127.0.0.256', '0.0.0.0:3000', 'http://127.0.0.1']) {
      expectProblem(env({ DASHBOARD_HOST: bad }), 'DASHBOARD_HOST', bad, /an IP address to listen on, e\.g\. 0\.0\.0\.0/);
    }
  });
});

void describe('Redis topology: one server, Sentinel or Cluster', () => {
  void it('is one server by default, every key under the {REDIS_PREFIX} hash tag', () => {
    const config = loadConfig(env({ REDIS_PREFIX: 'cams' }));
    assert.deepEqual(config.redis.topology, { kind: 'single' });
    assert.equal(config.redis.keyPrefix, '{cams}');
  });

  void it('reads REDIS_SENTINELS and REDIS_SENTINEL_NAME', () => {
    const config = loadConfig(env({ REDIS_SENTINELS: 's1:26379, [::1]:26380,10.0.0.3:26381', REDIS_SENTINEL_NAME: 'vcu-primary' }));
    assert.deepEqual(config.redis.topology, {
      kind: 'sentinel',
      name: 'vcu-primary',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: '::1', port: 26380 },
        { host: '10.0.0.3', port: 26381 },
      ],
    });
    assert.match(JSON.stringify(describeConfig(config)), /"redisSentinels":"s1:26379,::1:26380,10.0.0.3:26381"/);
  });

  void it('reads REDIS_CLUSTER_NODES', () => {
    const config = loadConfig(env({ REDIS_CLUSTER_NODES: 'r1:7000,r2:7001' }));
    assert.deepEqual(config.redis.topology, { kind: 'cluster', nodes: [{ host: 'r1', port: 7000 }, { host: 'r2', port: 7001 }] });
  });

  for (const bad of ['s1', 's1:0', 's1:70000', ',', 'a b:1', 's1:26379,s2']) {
    void it(`rejects REDIS_SENTINELS=${bad}`, () => {
      expectProblem(env({ REDIS_SENTINELS: bad, REDIS_SENTINEL_NAME: 'm' }), 'REDIS_SENTINELS', bad, /comma-separated list of host:port/);
    });
  }

  void it('refuses Sentinel and Cluster together', () => {
    expectProblem(env({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'r1:7000' }), 'REDIS_CLUSTER_NODES', 'r1:7000', /unset when REDIS_SENTINELS is set/);
  });

  void it('needs the name of the primary with sentinels, and sentinels with a name', () => {
    expectProblem(env({ REDIS_SENTINELS: 's1:26379' }), 'REDIS_SENTINEL_NAME', '', /required with REDIS_SENTINELS/);
    expectProblem(env({ REDIS_SENTINEL_NAME: 'm' }), 'REDIS_SENTINELS', '', /REDIS_SENTINEL_NAME is set/);
  });

  void it('refuses a database other than 0 with a Cluster, showing the URL without its password', () => {
    const err = expectProblem(env({ REDIS_CLUSTER_NODES: 'r1:7000', REDIS_URL: 'redis://u:hunter2@x:6379/2' }), 'REDIS_URL', 'redis://u:***@x:6379/2', /database 0 only/);
    assert.doesNotMatch(err.message, /hunter2/);
    assert.equal(loadConfig(env({ REDIS_CLUSTER_NODES: 'r1:7000', REDIS_URL: 'redis://u:pw@x:6379/0' })).redis.topology.kind, 'cluster');
  });
});
