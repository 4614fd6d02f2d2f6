#!/usr/bin/env node
// Runs the compiled test files with node's own test runner: unit specs beside the code
// (packages/*/dist, apps/*/dist) and the integration suite (tests/dist), which starts the real
// apps against real Redis and S3. Files under tests/dist/serial/ stop shared services (the S3
// server), so they run after the rest, one at a time.
//   node scripts/test.mjs [all|unit|integration] [file-name filter]
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
const chosen = (tier === 'unit' ? unit : tier === 'integration' ? integration : [...unit, ...integration]).filter((f) =>
  f.includes(filter),
);
const isSerial = (f) => f.includes(`${path.sep}serial${path.sep}`);
const phases = [
  { files: chosen.filter((f) => !isSerial(f)), concurrency: Number(process.env.TEST_CONCURRENCY ?? 3) },
  { files: chosen.filter(isSerial), concurrency: 1 },
].filter((p) => p.files.length > 0);
if (phases.length === 0) {
  console.error(`no test files found for "${tier}" ${filter} (did the build run?)`);
  process.exit(1);
}

const totals = { pass: 0, fail: 0 };
let failed = false;
for (const phase of phases) {
  const code = await new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--enable-source-maps', '--test', '--test-reporter=tap', `--test-concurrency=${phase.concurrency}`, ...phase.files],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: root },
    );
    let rest = '';
    child.stdout.on('data', (data) => {
      process.stdout.write(data);
      rest += data.toString();
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^# (pass|fail) (\d+)$/.exec(line);
        if (m) totals[m[1]] += Number(m[2]);
      }
    });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  if (code !== 0) failed = true;
}
console.log(`\ntests: ${totals.pass} passed, ${totals.fail} failed`);
process.exit(failed || totals.fail > 0 ? 1 : 0);
