// Reads the facts of an MP4 file (brands, duration, tracks, faststart, fragmentation) from the
// local filesystem without reading its media data.
//
// Why mp4box (mp4box.js by GPAC) instead of parsing boxes by hand: it is the JavaScript port of
// GPAC's MP4Box, well kept and widely used, and it already knows the many details a hand-written
// parser would get wrong or skip (64-bit and size-0 boxes, version-1 headers, codec strings such as
// avc1.64001e / mp4a.40.2 built from avcC / esds, audio sample entries v1/v2, hev1/av01/vp09...).
// It parses progressively: we give it pieces of the file, each tagged with its file position, and
// it tells us the file position it needs next, which lets us jump over mdat payloads.
//
// We drive it with checkBuffer() + parse() (the two steps appendBuffer() starts with) and read the
// facts from the parsed boxes, not with appendBuffer() + onReady/getInfo(): appendBuffer() also
// expands the moov's sample tables into one JavaScript object per sample, for sample extraction we
// do not do. For a one-hour file that is ~260k objects, ~95 MB of heap and 10x the time; the boxes
// alone are ~7 MB.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { Log, MP4BoxBuffer, createFile, type ISOFile } from 'mp4box';
import { type Mp4Probe, type TallyState, factsFrom, fail, printable, tally } from './facts.js';

export type { Mp4Facts, Mp4Probe, Mp4Track } from './facts.js';


export interface ProbeMp4Options {
  /**
   * Most bytes to read from the file; the mdat payloads jumped over do not count. Default 64 MiB,
   * far more than the boxes of an ordinary file need (a one-hour file has a 2 MiB moov; a
   * fragmented one reads a few KiB per fragment).
   */
  readonly maxBytesRead?: number;
  /** Give up after this long, checked between reads (default 15 s). */
  readonly timeoutMs?: number;
}

export const DEFAULT_MAX_BYTES_READ = 64 * 1024 * 1024;

export const DEFAULT_PROBE_TIMEOUT_MS = 15_000;

/** First read: enough for ftyp and the moov of a short faststart file. */
const FIRST_READ = 64 * 1024;

/** First read after jumping over an mdat: a box header, or a whole moof of a few seconds of media. */
const AFTER_JUMP_READ = 4 * 1024;

/** Reads grow (doubling) up to this while mp4box keeps asking for the bytes right after the last ones. */
const LARGE_READ = 1024 * 1024;

/**
 * Reads the facts of an MP4 file with mp4box, in pieces, jumping over mdat payloads: from a file
 * the caller has opened (vcu opens watched files only as the very regular file it expects), or
 * from a path, which is opened only if it is a regular file (never blocking on a FIFO, never
 * through a link). Content that is not a whole MP4 gives `{ mp4: null, reason }`; filesystem
 * errors (the file does not exist, is not a regular file, cannot be read) are thrown as they are.
 */
export async function probeMp4(file: string | OpenFile, options: ProbeMp4Options = {}): Promise<Mp4Probe> {
  const maxBytesRead = options.maxBytesRead ?? DEFAULT_MAX_BYTES_READ;
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  if (!(maxBytesRead > 0)) throw new RangeError(`maxBytesRead must be > 0, got ${maxBytesRead}`);
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${timeoutMs}`);
  if (typeof file !== 'string') return probeHandle(file, maxBytesRead, timeoutMs);
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  try {
    if (!(await fh.stat()).isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'EINVAL' });
    return await probeHandle(fh, maxBytesRead, timeoutMs);
  } finally {
    await fh.close();
  }
}

/** A file the caller opened, as the probe reads it: a FileHandle, or @vcu/files' LocalFile. */
export interface OpenFile {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(): Promise<{ readonly size: number }>;
}

/** What one probe collects while it runs. */
interface ProbeState extends TallyState {
  /** mp4box's error messages, in order. */
  readonly errors: string[];
}

async function probeHandle(fh: OpenFile, maxBytesRead: number, timeoutMs: number): Promise<Mp4Probe> {
  const size = (await fh.stat()).size;
  if (size === 0) return fail('empty file: not an MP4');

  // createFile(false): mdat payloads are discarded, never copied into the box objects.
  const isofile = createFile(false);
  const state: ProbeState = { errors: [], tallies: undefined, moofsTallied: 0 };
  isofile.onError = (module, message) => {
    state.errors.push(`${module}: ${message}`);
  };

  const deadline = Date.now() + timeoutMs;
  let position = 0;
  let readSize = FIRST_READ;
  let bytesRead = 0;

  // Walk the file's top-level boxes to its end. Past the moov we keep going (cheaply: only box
  // headers and moofs are read) to count the samples of every moof of a fragmented file and to
  // notice a truncated file.
  while (position < size) {
    if (bytesRead >= maxBytesRead) return fail(giveUpReason(isofile, state, `gave up after reading ${bytesRead} bytes, the maxBytesRead limit`));
    if (Date.now() > deadline) return fail(giveUpReason(isofile, state, `timed out after ${timeoutMs} ms`));

    const want = Math.min(readSize, size - position, maxBytesRead - bytesRead);
    const piece = new ArrayBuffer(want);
    const { bytesRead: got } = await fh.read(new Uint8Array(piece), 0, want, position);
    if (got === 0) break; // the file shrank while we read it
    bytesRead += got;
    let next: number | undefined;
    try {
      next = parseQuietly(isofile, state, MP4BoxBuffer.fromArrayBuffer(got === want ? piece : piece.slice(0, got), position));
      tally(isofile, state);
    } catch (err) {
      return fail(thrownReason(isofile, err));
    }
    // mp4box leaves its next position behind us when it cannot go on, e.g. after "Invalid box
    // type" on bytes that are not an MP4 box.
    if (next === undefined || !(next > position)) {
      if (!state.tallies) return fail(stuckReason(isofile, state, position));
      break;
    }
    // Past the moov, mp4box asks for the mdat payload (it could extract samples from it); we jump
    // to the end of the mdat instead. Before the moov it asks for the end of the mdat itself.
    const mdatEnd = endOfMdatAt(isofile, next);
    if (mdatEnd !== undefined) next = mdatEnd;
    // Bigger reads while mp4box wants the bytes right after these (a big moov); small reads again
    // after a jump (what follows an mdat is a moof of a few KiB, or nothing).
    readSize = next === position + got ? Math.min(readSize * 2, LARGE_READ) : AFTER_JUMP_READ;
    position = next;
  }

  if (!state.tallies) return fail(giveUpReason(isofile, state, 'read to the end of the file', size));
  const truncated = truncation(isofile, size);
  if (truncated !== undefined) return fail(truncated);
  try {
    return factsFrom(isofile, state.tallies);
  } catch (err) {
    return fail(thrownReason(isofile, err));
  }
}

/**
 * Gives mp4box the next piece and lets it parse every box it can; returns the file position it
 * wants next. mp4box's own error logging (which it prints to the console when the error is not
 * tied to a file with an onError callback, e.g. "Invalid box type") goes into this probe's errors
 * instead: parsing is synchronous, so no other probe can run while Log.error is swapped.
 */
function parseQuietly(isofile: ISOFile, state: ProbeState, buffer: MP4BoxBuffer): number | undefined {
  const saved = Object.getOwnPropertyDescriptor(Log, 'error');
  Log.error = (module: string, message: string) => {
    state.errors.push(`${module}: ${message}`);
  };
  try {
    if (!isofile.checkBuffer(buffer)) return undefined;
    isofile.parse();
    // Drop the pieces already parsed, as appendBuffer() does.
    isofile.stream.cleanBuffers();
    // Typed as number, but undefined until mp4box first runs out of data.
    return isofile.nextParsePosition;
  } finally {
    if (saved) Object.defineProperty(Log, 'error', saved);
  }
}

/** When `position` falls inside an mdat box mp4box has seen, the file position right after that box. */
function endOfMdatAt(isofile: ISOFile, position: number): number | undefined {
  const mdats: readonly ISOFile['mdats'][number][] = isofile.mdats;
  for (let i = mdats.length - 1; i >= 0; i--) {
    const mdat = mdats[i];
    if (mdat?.start === undefined) continue;
    const end = mdat.start + mdat.size;
    if (position >= mdat.start && position < end) return end;
    if (end <= position) break;
  }
  return undefined;
}

function hasFtyp(isofile: ISOFile): boolean {
  return (isofile.ftyp as ISOFile['ftyp'] | undefined) !== undefined;
}

/** The first error mp4box reported, in printable form, or ''. */
function firstError(state: ProbeState): string {
  const first = state.errors[0];
  return first === undefined ? '' : `: mp4box reported ${printable(first)}`;
}

function thrownReason(isofile: ISOFile, err: unknown): string {
  const what = hasFtyp(isofile) ? 'corrupt MP4' : 'not an MP4';
  return `${what}: mp4box could not parse it: ${printable(err instanceof Error ? err.message : String(err))}`;
}

function stuckReason(isofile: ISOFile, state: ProbeState, position: number): string {
  const what = hasFtyp(isofile) ? 'corrupt MP4' : 'not an MP4';
  return `${what}: parsing stopped at byte ${position} without finding the moov box${firstError(state)}`;
}

/**
 * Why there are no facts when the walk stopped: at the end of the file (`fileSize` given) or
 * because a limit stopped it early (`why` says which).
 */
function giveUpReason(isofile: ISOFile, state: ProbeState, why: string, fileSize?: number): string {
  const atEnd = fileSize !== undefined;
  if (state.tallies) return `gave up checking the boxes after the moov (${why})`;
  if (isofile.moovStartFound)
    return atEnd ? `moov box is incomplete: the file is truncated or not finished (${why})` : `moov box not read completely (${why})`;
  const details = [why];
  if (!hasFtyp(isofile)) details.push('no ftyp box either');
  const lastMdat = isofile.mdats.at(-1);
  if (lastMdat?.start !== undefined) {
    const end = lastMdat.start + lastMdat.size;
    details.push(
      atEnd && end > fileSize
        ? `the mdat box at byte ${lastMdat.start} is ${lastMdat.size} bytes long but the file ends at byte ${fileSize}`
        : `an mdat box at byte ${lastMdat.start}, ${lastMdat.size} bytes long`,
    );
  }
  const what = atEnd ? 'no moov box found: not an MP4 or not finished' : 'no moov box found yet';
  return `${what} (${details.join('; ')})${firstError(state)}`;
}

/** Why a file whose moov was read is still broken: its last box runs past the end, or bytes follow it. */
function truncation(isofile: ISOFile, fileSize: number): string | undefined {
  const last = isofile.boxes.at(-1);
  const end = last?.start === undefined ? 0 : last.start + last.size;
  if (last && end > fileSize)
    return `truncated: the ${printable(last.type)} box at byte ${last.start} is ${last.size} bytes long but the file ends at byte ${fileSize}`;
  if (end < fileSize)
    return `truncated or corrupt: the ${fileSize - end} bytes after the last complete box (from byte ${end}) are not a complete box`;
  return undefined;
}
