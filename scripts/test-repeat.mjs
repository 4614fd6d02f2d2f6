#!/usr/bin/env node
// Runs the test suite (or the files matching a filter) several times in a row and prints which
// tests failed how often: the way to find a flaky test before CI does.
//   pnpm test:repeat <runs> [file-name filter] [--tier=all|unit|integration] [--load=N]
// --load=N keeps N extra processes busy on the CPU meanwhile (a loaded CI machine); with
// TEST_CONCURRENCY=4 more test files run at once. Each run's full output is kept under
// .test-repeat/run-<i>.log; the exit code is 1 when any run failed.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const positional = args.filter((a) => !a.startsWith('--'));
const runs = Number(positional[0] ?? 5);
const filter = positional[1] ?? '';
const tier = option('tier', 'all');
const load = Number(option('load', 0));
if (!Number.isInteger(runs) || runs < 1) {
  console.error('usage: pnpm test:repeat <runs> [file-name filter] [--tier=all|unit|integration] [--load=N]');
  process.exit(2);
}

/**
 * The failed tests of one run's TAP output, as `suite > test` names. A suite fails when one of its
 * tests does; only the innermost failures are kept.
 */
function failedTests(tap) {
  const stack = [];
  const failures = [];
  for (const line of tap.split('\n')) {
    const indent = /^ */.exec(line)[0].length;
    const depth = Math.floor(indent / 4);
    const subtest = /^\s*# Subtest: (.*)$/.exec(line);
    if (subtest) {
      stack.length = depth;
      stack[depth] = subtest[1];
      continue;
    }
    const notOk = /^\s*not ok \d+ - (.*?)(?: # .*)?$/.exec(line);
    if (notOk) failures.push([...stack.slice(0, depth), notOk[1]].join(' > '));
  }
  return failures.filter((name) => !failures.some((other) => other !== name && other.startsWith(`${name} > `)));
}

function burn() {
  // a busy loop in its own process: it competes for the CPU like another job on a CI machine
  return spawn(process.execPath, ['-e', 'for(;;){Math.sqrt(Math.random())}'], { stdio: 'ignore' });
}

function runOnce(index) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'test.mjs'), tier, filter], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      const totals = /tests: (\d+) passed, (\d+) failed/.exec(out);
      writeFileSync(path.join(root, '.test-repeat', `run-${index}.log`), out);
      resolve({
        code: code ?? 1,
        seconds: Math.round((Date.now() - started) / 1000),
        passed: Number(totals?.[1] ?? 0),
        failed: failedTests(out),
      });
    });
  });
}

mkdirSync(path.join(root, '.test-repeat'), { recursive: true });
const burners = Array.from({ length: load }, burn);
const stopBurners = () => burners.forEach((b) => b.kill('SIGKILL'));
process.on('exit', stopBurners);
process.on('SIGINT', () => process.exit(130));

const results = [];
for (let i = 1; i <= runs; i += 1) {
  const result = await runOnce(i);
  results.push(result);
  const verdict = result.code === 0 ? 'ok' : `FAILED (${result.failed.length || 'exit code'} ${result.failed.length === 1 ? 'test' : 'tests'})`;
  console.log(`run ${i}/${runs}: ${result.passed} passed, ${verdict}, ${result.seconds} s`);
  for (const name of result.failed) console.log(`  not ok: ${name}`);
}
stopBurners();

const counts = new Map();
for (const r of results) for (const name of new Set(r.failed)) counts.set(name, (counts.get(name) ?? 0) + 1);
const badRuns = results.filter((r) => r.code !== 0).length;
console.log(`\n${runs} runs of "${tier}${filter ? ` ${filter}` : ''}" (TEST_CONCURRENCY=${process.env.TEST_CONCURRENCY ?? 3}, load=${load}): ${runs - badRuns} green, ${badRuns} red`);
console.log('\n| test | failed |\n|---|---|');
if (counts.size === 0) console.log(`| (none) | 0/${runs} |`);
for (const [name, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`| ${name.replaceAll('|', '\\|')} | ${n}/${runs} |`);
console.log(`\nper run: ${results.map((r) => `${r.seconds} s`).join(', ')}; logs in .test-repeat/`);
process.exit(badRuns > 0 ? 1 : 0);
