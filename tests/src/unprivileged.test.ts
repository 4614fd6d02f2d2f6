import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { unprivilegedPrefix } from '@vcu/testkit';

const run = promisify(execFile);

/**
 * The tests of unreadable files run the apps without root's power to read any file. This must
 * work wherever the checkout lives, including inside a folder only root may enter (/root is mode
 * 0700 on Debian), where an app started as another user (nobody) could not even load its code.
 */
void describe('apps run "unprivileged" (tests of unreadable files) from a folder only root may enter', () => {
  let dir: string | undefined;
  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  void it('loads its code from a mode-0700 folder and still cannot read a mode-000 file', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('runs only as root: an ordinary user cannot read a mode-000 file anyway, and the apps run as that user');
      return;
    }
    dir = await mkdtemp(path.join(os.tmpdir(), 'vcu-root-only-'));
    await chmod(dir, 0o700);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const probe = path.join(dir, 'probe.mjs');
    await writeFile(probe, "import { readFileSync } from 'node:fs';\ntry { readFileSync(process.argv[2]); console.log('read'); } catch (err) { console.log(err.code); }\n");
    const secret = path.join(dir, 'unreadable.mp4');
    await writeFile(secret, 'bytes', { mode: 0o000 });
    await chmod(secret, 0o000);

    const [command = '', ...args] = [...unprivilegedPrefix(), process.execPath, probe, secret];
    const { stdout } = await run(command, args, { timeout: 20_000 });
    assert.equal(stdout.trim(), 'EACCES', 'the code under the root-only folder ran, and the mode-000 file was refused');
    const { stdout: privileged } = await run(process.execPath, [probe, secret], { timeout: 20_000 });
    assert.equal(privileged.trim(), 'read', 'without the prefix, root reads it: the prefix is what makes the difference');
  });
});
