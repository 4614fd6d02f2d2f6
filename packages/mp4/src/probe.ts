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
import { open, type FileHandle } from 'node:fs/promises';
import { Log, MP4BoxBuffer, createFile, type ISOFile } from 'mp4box';

export interface Mp4Track {
  readonly id: number;
  readonly kind: 'video' | 'audio' | 'subtitle' | 'other';
  /** RFC 6381 codec string as used by MSE, e.g. "avc1.64000d" or "mp4a.40.2". */
  readonly codec: string;
  readonly width?: number;
  readonly height?: number;
  /** Video only: samples / track duration, rounded to 3 decimals (25 for a 25 fps clip). */
  readonly frameRate?: number;
  readonly sampleRate?: number;
  readonly channels?: number;
  /** Sum of the track's sample durations (moov and every moof), seconds, 3 decimals. */
  readonly durationSeconds?: number;
}

export interface Mp4Facts {
  readonly brands: { readonly major: string; readonly minorVersion: number; readonly compatible: readonly string[] };
  /** Movie duration (mvhd); for a fragmented file mehd, else the longest track including every moof. */
  readonly durationSeconds: number;
  /** The moov has a movie extends box (mvex): samples are (also) in moof fragments. */
  readonly fragmented: boolean;
  /** The moov box starts before the first mdat box ("faststart"; always true for fragmented files). */
  readonly moovBeforeMdat: boolean;
  readonly tracks: readonly Mp4Track[];
}

export type Mp4Probe = { readonly mp4: Mp4Facts; readonly reason?: undefined } | { readonly mp4: null; readonly reason: string };

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

// tfhd / trun flags (ISO/IEC 14496-12 8.8.7, 8.8.8).
const TFHD_DEFAULT_SAMPLE_DURATION = 0x8;
const TRUN_SAMPLE_DURATION = 0x100;

/**
 * Reads the facts of an MP4 file with mp4box, in pieces, jumping over mdat payloads: from a file
 * the caller has opened (vcu opens watched files only as the very regular file it expects), or
 * from a path, which is opened only if it is a regular file (never blocking on a FIFO, never
 * through a link). Content that is not a whole MP4 gives `{ mp4: null, reason }`; filesystem
 * errors (the file does not exist, is not a regular file, cannot be read) are thrown as they are.
 */
export async function probeMp4(file: string | FileHandle, options: ProbeMp4Options = {}): Promise<Mp4Probe> {
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

type Moov = ISOFile['moov'];
type Moof = ISOFile['moofs'][number];

/** Sample count and summed sample durations (track timescale) of one track, moov and moofs. */
interface Tally {
  samples: number;
  duration: number;
}

/** What one probe collects while it runs. */
interface ProbeState {
  /** mp4box's error messages, in order. */
  readonly errors: string[];
  /** Per track id, once the moov is parsed. */
  tallies: Map<number, Tally> | undefined;
  /** How many of isofile.moofs are in the tallies. */
  moofsTallied: number;
}

async function probeHandle(fh: FileHandle, maxBytesRead: number, timeoutMs: number): Promise<Mp4Probe> {
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

/** Starts the per-track tallies from the moov once it is parsed, and adds each new moof. */
function tally(isofile: ISOFile, state: ProbeState): void {
  const moov = isofile.moov as Moov | undefined;
  if (!moov) return;
  if (!state.tallies) {
    state.tallies = new Map();
    for (const trak of moov.traks) {
      const stbl = trak.mdia.minf.stbl;
      const stsz = stbl.stsz as typeof stbl.stsz | undefined;
      const stz2 = stbl.stz2 as typeof stbl.stz2 | undefined;
      const stts = stbl.stts as typeof stbl.stts | undefined;
      let duration = 0;
      if (stts) for (let i = 0; i < stts.sample_counts.length; i++) duration += (stts.sample_counts[i] ?? 0) * (stts.sample_deltas[i] ?? 0);
      state.tallies.set(trak.tkhd.track_id, { samples: stsz?.sample_count ?? stz2?.sample_sizes.length ?? 0, duration });
    }
  }
  for (; state.moofsTallied < isofile.moofs.length; state.moofsTallied++) {
    const moof = isofile.moofs[state.moofsTallied];
    if (moof) tallyMoof(moov, moof, state.tallies);
  }
}

/** Adds the samples of one moof: trun sample durations, else tfhd's default, else trex's. */
function tallyMoof(moov: Moov, moof: Moof, tallies: Map<number, Tally>): void {
  for (const traf of moof.trafs) {
    const tfhd = traf.tfhd as typeof traf.tfhd | undefined;
    if (!tfhd) continue;
    const track = tallies.get(tfhd.track_id);
    if (!track) continue;
    const trex = moov.mvex?.trexs.find((t) => t.track_id === tfhd.track_id);
    const defaultDuration = tfhd.flags & TFHD_DEFAULT_SAMPLE_DURATION ? tfhd.default_sample_duration : (trex?.default_sample_duration ?? 0);
    for (const trun of traf.truns) {
      track.samples += trun.sample_count;
      if (trun.flags & TRUN_SAMPLE_DURATION) for (const d of trun.sample_duration) track.duration += d;
      else track.duration += trun.sample_count * defaultDuration;
      // The per-sample tables are no longer needed; a long recording has millions of entries.
      trun.sample_duration = [];
      trun.sample_size = [];
      trun.sample_flags = [];
      trun.sample_composition_time_offset = [];
    }
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

function factsFrom(isofile: ISOFile, tallies: Map<number, Tally>): Mp4Probe {
  const ftyp = isofile.ftyp as ISOFile['ftyp'] | undefined;
  if (!ftyp) return fail('no ftyp box: not an MP4 (a moov box without ftyp, e.g. an old QuickTime file)');
  const moov = isofile.moov;
  const fragmented = moov.mvex !== undefined;
  const tracks = moov.traks.map((trak) => trackFrom(trak, tallies.get(trak.tkhd.track_id)));

  const { timescale, duration } = moov.mvhd;
  let durationSeconds = timescale > 0 ? duration / timescale : 0;
  if (fragmented) {
    // mehd when the muxer wrote one (it is 0 or missing when the moov was written first, as with
    // ffmpeg's empty_moov); else the longest track, moov and moofs (as mp4box's getInfo does).
    const mehd = moov.mvex?.mehd;
    if (mehd && mehd.fragment_duration > 0 && timescale > 0) durationSeconds = mehd.fragment_duration / timescale;
    else for (const t of tracks) durationSeconds = Math.max(durationSeconds, t.durationSeconds ?? 0);
  }
  const firstMdatStart = isofile.mdats[0]?.start;
  return {
    mp4: {
      brands: {
        major: ftyp.major_brand,
        minorVersion: Number(ftyp.minor_version) || 0,
        compatible: [...ftyp.compatible_brands],
      },
      durationSeconds: round3(durationSeconds),
      fragmented,
      moovBeforeMdat: firstMdatStart === undefined || (moov.start ?? 0) < firstMdatStart,
      tracks,
    },
  };
}

function trackFrom(trak: Moov['traks'][number], counted: Tally | undefined): Mp4Track {
  const entry = trak.mdia.minf.stbl.stsd.entries[0];
  const kind = trackKind(trak.mdia.hdlr.handler, entry);
  const timescale = trak.mdia.mdhd.timescale;
  // The summed sample durations; mdhd when there are no samples to count.
  const units = counted && counted.duration > 0 ? counted.duration : trak.mdia.mdhd.duration;
  const durationSeconds = timescale > 0 && units > 0 ? units / timescale : undefined;
  const track: { -readonly [K in keyof Mp4Track]: Mp4Track[K] } = { id: trak.tkhd.track_id, kind, codec: entry?.getCodec() ?? '' };
  if (durationSeconds !== undefined) track.durationSeconds = round3(durationSeconds);
  if (kind === 'video') {
    // The sample entry's coded size; tkhd's (16.16 fixed point) presentation size as a fallback.
    const width = entry?.isVideo() ? entry.getWidth() : trak.tkhd.width / 65536;
    const height = entry?.isVideo() ? entry.getHeight() : trak.tkhd.height / 65536;
    if (width > 0) track.width = width;
    if (height > 0) track.height = height;
    if (durationSeconds !== undefined && counted && counted.samples > 0) track.frameRate = round3(counted.samples / durationSeconds);
  }
  if (kind === 'audio' && entry?.isAudio()) {
    const sampleRate = entry.getSampleRate();
    const channels = entry.getChannelCount();
    if (sampleRate > 0) track.sampleRate = sampleRate;
    if (channels > 0) track.channels = channels;
  }
  return track;
}

type SampleEntry = Moov['traks'][number]['mdia']['minf']['stbl']['stsd']['entries'][number];

/** The track's kind from its handler (vide, soun, subt/sbtl/text), else from its sample entry. */
function trackKind(handler: string, entry: SampleEntry | undefined): Mp4Track['kind'] {
  if (handler === 'vide') return 'video';
  if (handler === 'soun') return 'audio';
  if (handler === 'subt' || handler === 'sbtl' || handler === 'text') return 'subtitle';
  if (entry?.isVideo()) return 'video';
  if (entry?.isAudio()) return 'audio';
  if (entry?.isSubtitle()) return 'subtitle';
  return 'other';
}

function fail(reason: string): Mp4Probe {
  return { mp4: null, reason };
}

/** Printable form of mp4box's messages (a garbage box type is four arbitrary bytes). */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
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

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
