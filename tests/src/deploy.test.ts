import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { SETTINGS } from '@vcu/config';

// No Docker engine runs in CI: these check what users deploy as far as reading it can.
const root = new URL('../../', import.meta.url);
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    {
      image?: string;
      build?: unknown;
      command?: string[];
      environment?: Record<string, string | number | boolean>;
      volumes?: string[];
      ports?: string[];
      healthcheck?: { test?: string[] };
      restart?: string;
      container_name?: string;
    }
  >;
  volumes?: Record<string, unknown>;
};
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
const known = new Set(SETTINGS.map((s) => s.name));

void describe('docker-compose.yml', () => {
  const s = compose.services;

  void it('declares redis, minio, watcher, worker and dashboard', () => {
    assert.deepEqual(Object.keys(s).sort(), ['dashboard', 'minio', 'redis', 'watcher', 'worker']);
  });

  void it('runs Redis with AOF and noeviction, with a healthcheck and a data volume', () => {
    const command = (s['redis']?.command ?? []).join(' ');
    assert.match(command, /--appendonly yes/);
    assert.match(command, /--maxmemory-policy noeviction/);
    assert.ok(s['redis']?.healthcheck?.test);
    assert.ok(s['redis']?.volumes?.some((v) => v.endsWith(':/data')));
    assert.ok(compose.volumes && 'redis-data' in compose.volumes);
  });

  void it('pins the MinIO image to a release tag', () => {
    assert.match(s['minio']?.image ?? '', /^minio\/minio:RELEASE\.\d{4}-\d\d-\d\dT/);
  });

  void it('passes only settings the config package knows, and every app the same Redis and bucket', () => {
    for (const name of ['watcher', 'worker', 'dashboard']) {
      const env = s[name]?.environment ?? {};
      for (const key of Object.keys(env)) assert.ok(known.has(key), `${name}: ${key} is a vcu setting`);
      assert.equal(env['REDIS_URL'], 'redis://redis:6379');
      assert.ok(String(env['S3_BUCKET']).includes('vcu'));
    }
  });

  void it('mounts ./input into watcher and workers at WATCH_DIR, the same path in both', () => {
    for (const name of ['watcher', 'worker']) {
      const dir = String(s[name]?.environment?.['WATCH_DIR']);
      assert.ok(s[name]?.volumes?.some((v) => v.startsWith('./input:') && v.split(':')[1] === dir), `${name} mounts ./input at ${dir}`);
    }
  });

  void it('lets workers scale: no fixed container name or host port; every app restarts and has a healthcheck', () => {
    assert.equal(s['worker']?.container_name, undefined);
    assert.equal(s['worker']?.ports, undefined);
    for (const name of ['redis', 'minio', 'watcher', 'worker', 'dashboard']) {
      assert.equal(s[name]?.restart, 'unless-stopped', `${name} restarts`);
      assert.ok(s[name]?.healthcheck?.test, `${name} has a healthcheck`);
    }
    for (const name of ['watcher', 'worker', 'dashboard']) assert.match((s[name]?.command ?? []).join(' '), new RegExp(`apps/${name}/dist/main\\.js`));
  });

  void it('requires a dashboard password rather than serving Bull Board open', () => {
    assert.match(String(s['dashboard']?.environment?.['DASHBOARD_PASSWORD']), /^\$\{DASHBOARD_PASSWORD:\?/);
  });
});

void describe('Dockerfile', () => {
  void it('is multi-stage, prunes the workspace with turbo, and runs as a non-root user', () => {
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 3);
    assert.match(dockerfile, /turbo@[\d.]+ prune @vcu\/watcher @vcu\/worker @vcu\/dashboard/);
    assert.match(dockerfile, /--frozen-lockfile --prod/);
    assert.match(dockerfile, /^USER node$/m);
  });
});
