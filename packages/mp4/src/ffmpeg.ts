// Test helpers around the ffmpeg and ffprobe command-line tools: make real MP4 files of each
// layout, and read a file's (or URL's) duration the way an independent tool sees it. Used by this
// package's tests and by the integration tests; nothing in production depends on them.
import { spawn } from 'node:child_process';

export type TestMp4Kind = 'regular' | 'faststart' | 'fragmented';

export interface MakeTestMp4Options {
  /** Pass -re: read the input at its native rate, so the file is written over `seconds` as a recorder would. */
  readonly realtime?: boolean;
  /** Video bitrate for libx264, e.g. "8M" to make a big mdat quickly. Default: x264's choice. */
  readonly videoBitrate?: string;
  /** Frames between keyframes (-g); with 'fragmented', a fragment starts at each keyframe. */
  readonly keyframeInterval?: number;
  /** Frame size, default "320x240". */
  readonly size?: string;
}

/** -movflags for each layout: moov after mdat (ffmpeg's default), moov first, or moof fragments. */
const MOVFLAGS: Record<TestMp4Kind, readonly string[]> = {
  regular: [],
  faststart: ['-movflags', '+faststart'],
  fragmented: ['-movflags', 'frag_keyframe+empty_moov'],
};

/**
 * Writes `out`: an H.264 320x240 25 fps test pattern with a 440 Hz AAC stereo 48 kHz tone,
 * `seconds` long, laid out as `kind`. Rejects with ffmpeg's stderr when it fails.
 */
export async function makeTestMp4(
  out: string,
  kind: TestMp4Kind,
  seconds: number,
  opts: MakeTestMp4Options = {},
): Promise<void> {
  const re = opts.realtime ? ['-re'] : [];
  const args = [
    '-v', 'error', '-nostdin', '-y',
    ...re, '-f', 'lavfi', '-i', `testsrc=size=${opts.size ?? '320x240'}:rate=25`,
    ...re, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds),
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p',
    ...(opts.keyframeInterval ? ['-g', String(opts.keyframeInterval)] : []),
    ...(opts.videoBitrate ? ['-b:v', opts.videoBitrate, '-minrate', opts.videoBitrate, '-maxrate', opts.videoBitrate, '-bufsize', opts.videoBitrate, '-x264-params', 'nal-hrd=cbr'] : []),
    '-c:a', 'aac', '-ac', '2',
    ...MOVFLAGS[kind],
    out,
  ];
  await run('ffmpeg', args);
}

/** The container duration ffprobe reports for a file or URL, in seconds. */
export async function ffprobeDuration(fileOrUrl: string): Promise<number> {
  const stdout = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', fileOrUrl]);
  const duration = Number.parseFloat(stdout.trim());
  if (!Number.isFinite(duration)) throw new Error(`ffprobe gave no duration for ${fileOrUrl}: ${JSON.stringify(stdout)}`);
  return duration;
}

/** Whether `command` can be started (e.g. "ffmpeg" is on PATH). */
export async function hasCommand(command: string): Promise<boolean> {
  try {
    await run(command, ['-version']);
    return true;
  } catch {
    return false;
  }
}

/** Runs `command args`, resolving with its stdout, rejecting with its stderr on failure. */
function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else {
        const stderr = Buffer.concat(err).toString('utf8').trim();
        reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`})${stderr ? `: ${stderr}` : ''}`));
      }
    });
  });
}
