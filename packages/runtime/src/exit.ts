import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** How long process.exit() may take before the process is killed instead. */
const EXIT_GRACE_MS = 2000;

/** The kernel's start time of a process (field 22 of /proc/<pid>/stat), to tell it from a later one with the same pid. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * A process of its own that kills this one if it still runs `graceMs` from now. process.exit()
 * waits for libuv's worker threads, and one stuck in the kernel (a read from a hung network mount)
 * would hold it forever; no timer of this process can fire then. It checks the start time, so it
 * never kills another process that took the pid meanwhile.
 */
function armExitWatchdog(graceMs: number): void {
  const pid = process.pid;
  const started = startTime(pid);
  if (started === undefined) return; // no /proc (not Linux): process.exit() is all there is
  const script = `
    const { readFileSync } = require('node:fs');
    const [pid, started, graceMs] = process.argv.slice(1);
    const startTime = () => { try { const s = readFileSync('/proc/' + pid + '/stat', 'utf8'); return s.slice(s.lastIndexOf(')') + 2).split(' ')[19]; } catch { return undefined; } };
    setTimeout(() => { if (startTime() === started) process.kill(Number(pid), 'SIGKILL'); }, Number(graceMs));`;
  try {
    spawn(process.execPath, ['-e', script, String(pid), started, String(graceMs)], { detached: true, stdio: 'ignore' }).unref();
  } catch {
    // cannot start it (out of processes?): exit as usual
  }
}

/** Exits with `code`, and is killed if exiting takes longer than a moment (see {@link armExitWatchdog}). */
export function exitProcess(code: number): never {
  armExitWatchdog(EXIT_GRACE_MS);
  process.exit(code);
}
