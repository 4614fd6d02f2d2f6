import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vcu-exit-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void describe('exitProcess', () => {
  void it('ends the process even when a thread is stuck in the kernel (process.exit alone would wait forever)', { skip: process.platform !== 'linux' }, async () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const exit = pathToFileURL(path.join(import.meta.dirname, 'exit.js')).href;
    // a plain open of a FIFO with no writer blocks one of libuv's threads until a writer comes
    const script = `import { open } from 'node:fs/promises'; import { exitProcess } from ${JSON.stringify(exit)};
      open(${JSON.stringify(fifo)}, 'r').catch(() => {}); setTimeout(() => exitProcess(0), 200);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    const started = Date.now();
    const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve({ code: null, signal: null });
      }, 10_000);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    assert.equal(ended.signal, 'SIGKILL', `killed by its watchdog, not left hanging: ${JSON.stringify(ended)}`);
    assert.ok(Date.now() - started < 6000, 'within a few seconds');
  });
});
