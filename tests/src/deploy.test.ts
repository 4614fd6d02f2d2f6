import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type AppName, type Config, NODE_FLAGS, SETTINGS, appCommand, loadConfig, parseSize } from '@vcu/config';
import { memoryNeed } from '@vcu/storage';
import {
  type ComposeFile,
  type Env,
  type Mount,
  MissingValueError,
  activeServices,
  dockerBytes,
  goDurationMs,
  interpolateAll,
  parseDotenv,
  profilesOf,
  readCompose,
  requiredVariables,
} from './compose.js';

// No Docker engine runs in CI: these read what users deploy as Compose would (tests/src/compose.ts)
// and check it against the config package, whose SETTINGS list is read here, never copied.
const root = new URL('../../', import.meta.url);
const rootDir = fileURLToPath(root);
const composeText = readFileSync(new URL('docker-compose.yml', root), 'utf8');
const compose = readCompose(new URL('docker-compose.yml', root));
const readme = readFileSync(new URL('README.md', root), 'utf8');
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
const envExample = parseDotenv(readFileSync(new URL('.env.example', root), 'utf8'));
const minioInit = new URL('deploy/minio-init.sh', root);

const APPS = ['watcher', 'worker', 'dashboard'] as const satisfies readonly AppName[];
/** What compose decides itself instead of .env: the bundled Redis, the mount, the ports healthchecks and the published port use. */
const FIXED: Readonly<Record<string, string>> = {
  REDIS_URL: 'redis://redis:6379',
  WATCH_DIR: '/input',
  METRICS_PORT: '9100',
  DASHBOARD_PORT: '3000',
  DASHBOARD_HOST: '0.0.0.0',
};
/** Secrets only some apps get. */
const ONLY_FOR: Readonly<Record<string, readonly string[]>> = { DASHBOARD_PASSWORD: ['dashboard'] };
const defaultOf = (name: string): string => SETTINGS.find((s) => s.name === name)?.default ?? assert.fail(`${name} is not in SETTINGS`);

const scratch = mkdtempSync(path.join(os.tmpdir(), 'vcu-deploy-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The first sh block of the README's deploy section, as a newcomer types it. */
function readmeDeployCommands(): string[] {
  const start = readme.indexOf('## Deploy it with Docker Compose');
  assert.ok(start >= 0, 'README.md has a "Deploy it with Docker Compose" section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? assert.fail('the deploy section starts with an sh block');
  return block.split('\n').filter((line) => line.trim() !== '');
}

/** `.env` after the README's first commands, run for real (all but the `docker` ones) in an empty folder. */
function newcomerEnv(): Record<string, string> {
  const dir = mkdtempSync(path.join(scratch, 'newcomer-'));
  copyFileSync(new URL('.env.example', root), path.join(dir, '.env.example'));
  const script = readmeDeployCommands().filter((line) => !line.trimStart().startsWith('docker '));
  const run = spawnSync('sh', ['-euc', script.join('\n')], { cwd: dir, encoding: 'utf8' });
  assert.equal(run.status, 0, `the README's commands fail: ${run.stderr}`);
  return parseDotenv(readFileSync(path.join(dir, '.env'), 'utf8'));
}
const newcomer: Env = newcomerEnv();

/** Another S3 server instead of the bundled MinIO: AWS with its default credential chain. */
const aws: Env = { ...newcomer, COMPOSE_PROFILES: '', S3_ENDPOINT: '', S3_ACCESS_KEY: '', S3_SECRET_KEY: '', S3_REGION: 'eu-west-1', S3_BUCKET: 'my-videos' };

const render = (env: Env): ComposeFile => interpolateAll(compose, env);
const envOf = (rendered: ComposeFile, service: string): Record<string, string> => rendered.services[service]?.environment ?? {};

/**
 * The config an app builds from its container's environment, WATCH_DIR swapped for a folder that
 * exists here in the containers that mount it (the dashboard's has no such folder, and must start).
 */
function configIn(rendered: ComposeFile, app: AppName): Config {
  const env = envOf(rendered, app);
  const mounted = (rendered.services[app]?.volumes ?? []).some((v) => typeof v === 'object' && v.target === env['WATCH_DIR']);
  return loadConfig(mounted ? { ...env, WATCH_DIR: scratch } : env, { app });
}

function without(env: Env, name: string): Env {
  const copy = { ...env };
  delete copy[name];
  return copy;
}

void describe('docker-compose.yml', () => {
  const s = compose.services;

  void it('declares Redis, MinIO and its one-shot setup, the watcher, the workers and the dashboard', () => {
    assert.deepEqual(Object.keys(s).sort(), ['dashboard', 'minio', 'minio-init', 'redis', 'watcher', 'worker']);
  });

  void it('runs Redis with AOF and noeviction, with a healthcheck and a data volume', () => {
    const command = (s['redis']?.command ?? []).join(' ');
    assert.match(command, /--appendonly yes/);
    assert.match(command, /--maxmemory-policy noeviction/);
    assert.ok(s['redis']?.healthcheck?.test);
    assert.ok(s['redis']?.volumes?.some((v) => typeof v === 'string' && v.endsWith(':/data')));
    assert.ok(compose.volumes && 'redis-data' in compose.volumes && 'minio-data' in compose.volumes);
  });

  void it('pins the MinIO server and client images to release tags', () => {
    assert.match(s['minio']?.image ?? '', /^minio\/minio:RELEASE\.\d{4}-\d\d-\d\dT/);
    assert.match(s['minio-init']?.image ?? '', /^minio\/mc:RELEASE\.\d{4}-\d\d-\d\dT/);
  });

  void it('passes every vcu setting to the apps: a value in .env arrives as it is, an empty or missing one arrives empty', () => {
    const settings: readonly string[] = SETTINGS.map((setting) => setting.name);
    const passed = settings.filter((name) => !(name in FIXED));
    const marked = render({ ...newcomer, ...Object.fromEntries(passed.map((name) => [name, `from-env-${name}`])) });
    const emptied = render({ ...newcomer, ...Object.fromEntries(passed.map((name) => [name, ''])), DASHBOARD_PASSWORD: 'x' });
    const unset = render({ ...Object.fromEntries(Object.entries(newcomer).filter(([name]) => !passed.includes(name))), DASHBOARD_PASSWORD: 'x' });
    for (const app of APPS) {
      for (const key of Object.keys(envOf(marked, app))) assert.ok(settings.includes(key), `${app}: ${key} is a vcu setting`);
      for (const name of settings) {
        const gets = ONLY_FOR[name]?.includes(app) ?? true;
        const fixed = FIXED[name];
        if (fixed !== undefined) {
          assert.equal(envOf(marked, app)[name], fixed, `${app}: compose fixes ${name}`);
        } else if (!gets) {
          assert.equal(envOf(marked, app)[name], undefined, `${app}: ${name} stays with ${ONLY_FOR[name]?.join(', ')}`);
        } else {
          const hint = `add "${name}: \${${name}-}" to x-vcu-env in docker-compose.yml`;
          assert.equal(envOf(marked, app)[name], `from-env-${name}`, `${app}: ${name} from .env does not reach the container: ${hint}`);
          if (name === 'DASHBOARD_PASSWORD') continue; // required, below
          assert.equal(envOf(emptied, app)[name], '', `${app}: ${name}= (empty) must stay empty, no compose default: ${hint}`);
          assert.equal(envOf(unset, app)[name], '', `${app}: ${name} unset must stay unset (empty), no compose default: ${hint}`);
        }
      }
    }
  });

  void it("README names every setting compose sets itself, and no other, as the ones .env cannot change", () => {
    const sentence = /works in `\.env`, except ([^.]+?), which compose sets/.exec(readme.replace(/\s+/g, ' '));
    assert.ok(sentence?.[1], 'README.md says which settings compose sets');
    const named = [...sentence[1].matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]);
    assert.deepEqual(named.sort(), Object.keys(FIXED).sort());
  });

  void it('after the README first commands, gives every app a valid config for the bundled MinIO', () => {
    const rendered = render(newcomer);
    for (const app of APPS) {
      const config = configIn(rendered, app);
      assert.equal(config.s3.endpoint, 'http://minio:9000', app);
      assert.equal(config.s3.forcePathStyle, true, app);
      assert.equal(config.s3.accessKeyId, newcomer['S3_ACCESS_KEY'], app);
      assert.equal(config.redis.url, 'redis://redis:6379', app);
    }
    assert.deepEqual(activeServices(rendered, profilesOf(newcomer)).sort(), Object.keys(s).sort());
  });

  void it('uses another S3 server with MinIO off (COMPOSE_PROFILES empty); an empty S3_ENDPOINT stays unset for AWS', () => {
    const rendered = render(aws);
    assert.deepEqual(activeServices(rendered, profilesOf(aws)).sort(), ['dashboard', 'redis', 'watcher', 'worker']);
    for (const app of APPS) {
      const config = configIn(rendered, app);
      assert.equal(config.s3.endpoint, undefined, `${app}: S3_ENDPOINT= means AWS`);
      assert.equal(config.s3.forcePathStyle, false, `${app}: virtual-host style for AWS`);
      assert.equal(config.s3.accessKeyId, undefined, `${app}: the AWS default credential chain`);
      assert.equal(config.s3.region, 'eu-west-1', app);
    }
    const other = render({ ...aws, S3_ENDPOINT: 'https://s3.example.com', S3_ACCESS_KEY: 'id', S3_SECRET_KEY: 'secret-key' });
    assert.equal(configIn(other, 'worker').s3.endpoint, 'https://s3.example.com');
    assert.equal(configIn(other, 'worker').s3.accessKeyId, 'id');
  });

  void it('makes MinIO optional: no service that runs without the minio profile requires one of it', () => {
    assert.deepEqual(s['minio']?.profiles, ['minio']);
    assert.deepEqual(s['minio-init']?.profiles, ['minio']);
    for (const profiles of [[], ['minio']]) {
      const active = activeServices(compose, profiles);
      for (const name of active) {
        for (const [dependency, how] of Object.entries(s[name]?.depends_on ?? {})) {
          assert.ok(dependency in s, `${name} depends on ${dependency}, which exists`);
          assert.ok(active.includes(dependency) || how.required === false, `${name} requires ${dependency}, which the profiles ${JSON.stringify(profiles)} turn off`);
        }
      }
    }
    // with MinIO on, nothing talks to S3 before vcu's user exists
    for (const app of ['worker', 'dashboard']) {
      assert.deepEqual(s[app]?.depends_on?.['minio-init'], { condition: 'service_completed_successfully', required: false }, app);
    }
  });

  void it('requires no variable that the README first commands leave without a value, and says how to get one', () => {
    const required = requiredVariables(composeText);
    assert.ok(required.has('DASHBOARD_PASSWORD') && required.has('MINIO_ROOT_USER') && required.has('MINIO_ROOT_PASSWORD'));
    const generator = readmeDeployCommands().join('\n');
    for (const name of required) {
      assert.ok(newcomer[name], `${name} has a value after the README's commands`);
      assert.ok(envExample[name] || generator.includes(name), `${name}: a value in .env.example, or generated by the README's commands`);
      assert.throws(
        () => render(without(newcomer, name)),
        (err: unknown) => err instanceof MissingValueError && err.variable === name && err.hint.includes('README.md'),
        `without ${name}, compose stops and points to the README`,
      );
    }
    assert.doesNotThrow(() => render(aws), 'the external-S3 .env needs nothing more');
  });

  void it('contains no known secret: no default password, generated secrets MinIO accepts, none in .env.example', () => {
    assert.doesNotMatch(composeText, /\$\{\w*(PASSWORD|SECRET)\w*:?-[^}]/, 'a secret with a default value');
    for (const [name, value] of Object.entries(envExample)) {
      if (/PASSWORD|SECRET/.test(name)) assert.equal(value, '', `.env.example gives ${name} a value`);
    }
    const secrets = ['DASHBOARD_PASSWORD', 'MINIO_ROOT_PASSWORD', 'S3_SECRET_KEY'].map((name) => newcomer[name] ?? '');
    assert.equal(new Set(secrets).size, 3, 'three different secrets');
    for (const secret of secrets) assert.ok(secret.length >= 16 && secret.length <= 40, `MinIO takes 8 to 40 characters: ${secret.length}`);
    const again = newcomerEnv();
    assert.notEqual(again['DASHBOARD_PASSWORD'], newcomer['DASHBOARD_PASSWORD'], 'each install gets its own');
  });

  void it('gives vcu its own MinIO user, not the root account, limited to the bucket', () => {
    const rendered = render(newcomer);
    const init = envOf(rendered, 'minio-init');
    const worker = envOf(rendered, 'worker');
    assert.notEqual(worker['S3_ACCESS_KEY'], newcomer['MINIO_ROOT_USER']);
    assert.notEqual(worker['S3_SECRET_KEY'], newcomer['MINIO_ROOT_PASSWORD']);
    assert.equal(init['VCU_ACCESS_KEY'], worker['S3_ACCESS_KEY']);
    assert.equal(init['VCU_SECRET_KEY'], worker['S3_SECRET_KEY']);
    assert.equal(render(without(newcomer, 'S3_BUCKET')).services['minio-init']?.environment?.['VCU_BUCKET'], defaultOf('S3_BUCKET'), 'the apps default bucket');
    for (const app of APPS) assert.equal(envOf(rendered, app)['MINIO_ROOT_PASSWORD'], undefined, `${app} never sees the root password`);
    const script = readFileSync(minioInit, 'utf8');
    const resources = [...script.matchAll(/"Resource": \[([^\]]*)\]/g)].map((m) => m[1]);
    assert.deepEqual(resources, ['"arn:aws:s3:::$VCU_BUCKET"', '"arn:aws:s3:::$VCU_BUCKET/*"']);
    assert.doesNotMatch(script, /s3:\*|Delete/);
  });

  void it('scales workers with WORKER_REPLICAS, which every later `up` keeps', () => {
    assert.equal(String(render(without(newcomer, 'WORKER_REPLICAS')).services['worker']?.deploy?.replicas), '1');
    assert.equal(String(render({ ...newcomer, WORKER_REPLICAS: '4' }).services['worker']?.deploy?.replicas), '4');
    assert.equal(s['worker']?.container_name, undefined);
    assert.equal(s['worker']?.ports, undefined);
  });

  void it('runs the apps as VCU_UID:VCU_GID, by default the image user node (1000:1000)', () => {
    for (const app of APPS) {
      assert.equal(render(without(without(newcomer, 'VCU_UID'), 'VCU_GID')).services[app]?.user, '1000:1000', app);
      assert.equal(render({ ...newcomer, VCU_UID: '1001', VCU_GID: '44' }).services[app]?.user, '1001:44', app);
    }
    assert.match(dockerfile, /^USER node$/m);
  });

  void it('publishes ports on 127.0.0.1 unless BIND_ADDRESS says otherwise', () => {
    for (const env of [newcomer, without(newcomer, 'BIND_ADDRESS'), { ...newcomer, BIND_ADDRESS: '' }]) {
      const published = Object.values(render(env).services).flatMap((service) => service.ports ?? []);
      assert.ok(published.length >= 3);
      for (const port of published) assert.match(port, /^127\.0\.0\.1:\d+:\d+$/);
    }
    const open = Object.values(render({ ...newcomer, BIND_ADDRESS: '0.0.0.0' }).services).flatMap((service) => service.ports ?? []);
    for (const port of open) assert.match(port, /^0\.0\.0\.0:/);
    assert.deepEqual(render({ ...newcomer, DASHBOARD_PORT: '8080' }).services['dashboard']?.ports, ['127.0.0.1:8080:3000']);
    for (const name of ['redis', 'watcher', 'worker', 'minio-init']) assert.equal(s[name]?.ports, undefined, name);
  });

  void it('mounts the watched folder read-only at WATCH_DIR, the same in watcher and workers, and never creates it', () => {
    for (const name of ['watcher', 'worker']) {
      const mounts = (render(newcomer).services[name]?.volumes ?? []).filter((v): v is Mount => typeof v === 'object');
      assert.equal(mounts.length, 1, name);
      const mount = mounts[0];
      assert.deepEqual(mount, { type: 'bind', source: newcomer['INPUT_DIR'] ?? './input', target: FIXED['WATCH_DIR'], read_only: true, bind: { create_host_path: false } }, name);
    }
    assert.equal(newcomer['INPUT_DIR'] ?? './input', './input');
    // AFTER_UPLOAD=delete needs the workers to write it
    for (const [value, readOnly] of [['false', false], ['true', true]] as const) {
      const mounts = (render({ ...newcomer, INPUT_READ_ONLY: value }).services['worker']?.volumes ?? []).filter((v): v is Mount => typeof v === 'object');
      assert.equal(mounts[0]?.read_only, readOnly, `INPUT_READ_ONLY=${value}`);
    }
    assert.ok(readmeDeployCommands().includes('mkdir -p input'), 'the README makes ./input before the first up');
  });

  void it('gives every app SHUTDOWN_TIMEOUT_MS plus 10 s to stop before Docker kills it', () => {
    for (const timeout of [undefined, '5000', '120000']) {
      const rendered = render(timeout === undefined ? without(newcomer, 'SHUTDOWN_TIMEOUT_MS') : { ...newcomer, SHUTDOWN_TIMEOUT_MS: timeout });
      for (const app of APPS) {
        const grace = goDurationMs(rendered.services[app]?.stop_grace_period ?? '');
        assert.equal(grace, Number(timeout ?? defaultOf('SHUTDOWN_TIMEOUT_MS')) + 10_000, `${app} with SHUTDOWN_TIMEOUT_MS=${timeout}`);
      }
    }
  });

  void it('limits memory; the default worker limit holds what a worker needs (memoryNeed: 140 MiB + WORKER_CONCURRENCY × CHUNK_SIZE)', () => {
    const size = (raw: string): number => parseSize(raw, 1, Number.MAX_SAFE_INTEGER);
    const multipart = { above: size(defaultOf('MULTIPART_ABOVE')), partSize: size(defaultOf('MULTIPART_PART_SIZE')) };
    const need = (concurrency: string, chunk: string): number => memoryNeed({ chunkSize: size(chunk), multipart, worker: { concurrency: Number(concurrency) } });
    for (const env of [newcomer, without(without(without(newcomer, 'WORKER_MEMORY'), 'WORKER_CONCURRENCY'), 'CHUNK_SIZE')]) {
      const limit = dockerBytes(render(env).services['worker']?.deploy?.resources?.limits?.memory ?? '');
      const concurrency = env['WORKER_CONCURRENCY'] || defaultOf('WORKER_CONCURRENCY');
      const chunk = env['CHUNK_SIZE'] || defaultOf('CHUNK_SIZE');
      assert.ok(limit >= need(concurrency, chunk), `worker limit ${limit} B < ${need(concurrency, chunk)} B`);
    }
    assert.equal(render({ ...newcomer, WORKER_MEMORY: '2g' }).services['worker']?.deploy?.resources?.limits?.memory, '2g');
    for (const app of APPS) assert.ok(dockerBytes(render(newcomer).services[app]?.deploy?.resources?.limits?.memory ?? '') >= 256 * 1024 ** 2, app);
  });

  void it('rotates the logs of every container', () => {
    for (const [name, service] of Object.entries(s)) {
      assert.equal(service.logging?.driver, 'json-file', name);
      assert.ok(service.logging?.options?.['max-size'] && service.logging.options['max-file'], `${name} rotates its log`);
    }
  });

  void it('restarts every long-running service and checks its health; the one-shot setup runs once', () => {
    for (const name of ['redis', 'minio', 'watcher', 'worker', 'dashboard']) {
      assert.equal(s[name]?.restart, 'unless-stopped', `${name} restarts`);
      assert.ok(s[name]?.healthcheck?.test, `${name} has a healthcheck`);
    }
    assert.equal(s['minio-init']?.restart, 'no');
    for (const name of APPS) assert.deepEqual(s[name]?.command, appCommand(name), `${name} starts with its Node options (NODE_FLAGS)`);
  });

  void it('requires a dashboard password rather than serving Bull Board open', () => {
    assert.match(String(s['dashboard']?.environment?.['DASHBOARD_PASSWORD']), /^\$\{DASHBOARD_PASSWORD:\?/);
  });
});

void describe('deploy/minio-init.sh (with a stand-in mc that records its calls)', () => {
  const dir = mkdtempSync(path.join(scratch, 'mc-'));
  const log = path.join(dir, 'calls');
  mkdirSync(path.join(dir, 'bin'));
  // answers like mc: attaching a policy that is already attached fails with MinIO's message
  writeFileSync(
    path.join(dir, 'bin', 'mc'),
    `#!/bin/sh\necho "$*" >> "${log}"\ncase "$*" in "admin policy attach"*) if [ -e "${dir}/attached" ]; then echo "mc: <ERROR> The specified policy change is already in effect." >&2; exit 1; fi; touch "${dir}/attached";; esac\n`,
  );
  chmodSync(path.join(dir, 'bin', 'mc'), 0o755);
  const run = (env: Env) =>
    spawnSync('sh', [fileURLToPath(minioInit)], {
      encoding: 'utf8',
      env: { PATH: `${path.join(dir, 'bin')}:${process.env['PATH'] ?? ''}`, MINIO_ROOT_USER: 'root', MINIO_ROOT_PASSWORD: 'rootpassword', VCU_BUCKET: 'vcu', VCU_ACCESS_KEY: 'vcu', VCU_SECRET_KEY: 'secret-key-1', ...env },
    });

  void it('creates the bucket, the policy and the user, and succeeds again on the next `up`', () => {
    const first = run({});
    assert.equal(first.status, 0, first.stderr);
    const second = run({});
    assert.equal(second.status, 0, second.stderr);
    const calls = readFileSync(log, 'utf8');
    assert.match(calls, /^mb --ignore-existing local\/vcu$/m);
    assert.match(calls, /^admin policy create local vcu-bucket /m);
    assert.match(calls, /^admin user add local vcu secret-key-1$/m);
    assert.match(calls, /^admin policy attach local vcu-bucket --user vcu$/m);
  });

  void it('refuses clearly without vcu keys, with the root user as vcu, or with a short secret', () => {
    for (const [env, message] of [
      [{ VCU_SECRET_KEY: '' }, /S3_ACCESS_KEY and S3_SECRET_KEY must be set/],
      [{ VCU_ACCESS_KEY: 'root' }, /must differ from MINIO_ROOT_USER/],
      [{ VCU_SECRET_KEY: 'short' }, /at least 8 characters/],
    ] as const) {
      const result = run(env);
      assert.equal(result.status, 1);
      assert.match(result.stderr, message);
    }
  });

  void it('is valid sh', () => {
    assert.equal(spawnSync('sh', ['-n', fileURLToPath(minioInit)]).status, 0);
  });
});

void describe('.dockerignore', () => {
  void it('keeps .env (the secrets) out of the build context', () => {
    const lines = readFileSync(new URL('.dockerignore', root), 'utf8').split('\n').map((l) => l.trim());
    assert.ok(lines.includes('.env'), '.env is ignored');
    assert.ok(!lines.includes('!.env'), '.env is not let back in');
  });
});

void describe('Dockerfile', () => {
  void it('is multi-stage, prunes the workspace with turbo, and runs as a non-root user', () => {
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 3);
    assert.match(dockerfile, /turbo@[\d.]+ prune @vcu\/watcher @vcu\/worker @vcu\/dashboard/);
    assert.match(dockerfile, /--frozen-lockfile --prod/);
    assert.match(dockerfile, /^USER node$/m);
  });

  void it('starts the worker by default, with its Node options (NODE_FLAGS)', () => {
    const cmd = /^CMD (.+)$/m.exec(dockerfile)?.[1] ?? assert.fail('the Dockerfile has a CMD');
    assert.deepEqual(JSON.parse(cmd), appCommand('worker'));
  });
});

void describe("each app's `pnpm start`", () => {
  void it('runs it with its Node options (NODE_FLAGS), as the image does', () => {
    for (const name of APPS) {
      const manifest = JSON.parse(readFileSync(new URL(`apps/${name}/package.json`, root), 'utf8')) as { scripts?: Record<string, string> };
      assert.equal(manifest.scripts?.['start'], ['node', ...NODE_FLAGS[name], 'dist/main.js'].join(' '), name);
    }
  });
});

void describe('docker compose config (with the Compose plugin)', () => {
  const version = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  const missing = version.status === 0 ? undefined : `docker compose is not available here (${(version.error?.message ?? version.stderr).trim().split('\n')[0]})`;

  /** `docker compose config` on `env`, with nothing from this process's environment. */
  function config(env: Env): ComposeFile {
    const file = path.join(mkdtempSync(path.join(scratch, 'config-')), '.env');
    writeFileSync(file, Object.entries(env).map(([k, v]) => `${k}='${v}'`).join('\n'));
    const keep = ['PATH', 'HOME', 'DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT'];
    const result = spawnSync('docker', ['compose', '--env-file', file, 'config', '--format', 'json'], {
      cwd: rootDir,
      encoding: 'utf8',
      env: Object.fromEntries(keep.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]]]))),
    });
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout) as ComposeFile;
  }

  void it('accepts the example .env after the README commands, MinIO included', { skip: missing }, () => {
    const services = config(newcomer).services;
    assert.ok('minio' in services && 'minio-init' in services);
    assert.equal(services['worker']?.environment?.['S3_ENDPOINT'], 'http://minio:9000');
  });

  void it('accepts an external-S3 .env: no MinIO, S3_ENDPOINT empty', { skip: missing }, () => {
    const services = config(aws).services;
    assert.ok(!('minio' in services) && !('minio-init' in services));
    assert.equal(services['worker']?.environment?.['S3_ENDPOINT'], '');
  });
});
