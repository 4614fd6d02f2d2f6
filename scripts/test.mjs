#!/usr/bin/env node
// Runs the compiled test files with node's own test runner: unit specs beside the code
// (packages/*/dist, apps/*/dist) and the integration suite (tests/dist), which starts the real
// apps against real Redis and S3. `node scripts/test.mjs unit|integration [name-filter]`.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [tier = 'all', filter = ''] = process.argv.slice(2);

function find(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules') continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out = out.concat(find(full));
    else if (name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const unit = ['packages', 'apps'].flatMap((top) =>
  readdirSync(path.join(root, top)).flatMap((pkg) => find(path.join(root, top, pkg, 'dist'))),
);
const integration = find(path.join(root, 'tests', 'dist'));
const files = (tier === 'unit' ? unit : tier === 'integration' ? integration : [...unit, ...integration]).filter((f) =>
  f.includes(filter),
);
if (files.length === 0) {
  console.error(`no test files found for "${tier}" ${filter} (did the build run?)`);
  process.exit(1);
}

const child = spawn(
  process.execPath,
  ['--enable-source-maps', '--test', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 3}`, ...files],
  { stdio: 'inherit', cwd: root },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
