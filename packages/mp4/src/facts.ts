// The facts vcu reads from an MP4's boxes (parsed by mp4box): brands, duration, fragmentation,
// faststart, and each track's codec, size, rate and duration from its sample tables and fragments.
import type { ISOFile } from 'mp4box';

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

// tfhd / trun flags (ISO/IEC 14496-12 8.8.7, 8.8.8).
const TFHD_DEFAULT_SAMPLE_DURATION = 0x8;

const TRUN_SAMPLE_DURATION = 0x100;

export type Moov = ISOFile['moov'];

type Moof = ISOFile['moofs'][number];

/** Sample count and summed sample durations (track timescale) of one track, moov and moofs. */
export interface Tally {
  samples: number;
  duration: number;
}

/** Starts the per-track tallies from the moov once it is parsed, and adds each new moof. */
export function tally(isofile: ISOFile, state: TallyState): void {
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

export function factsFrom(isofile: ISOFile, tallies: Map<number, Tally>): Mp4Probe {
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

export function fail(reason: string): Mp4Probe {
  return { mp4: null, reason };
}

/** Printable form of mp4box's messages (a garbage box type is four arbitrary bytes). */
export function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** Per-track tallies one probe keeps while it parses, moov first, then each new moof. */
export interface TallyState {
  /** Per track id, once the moov is parsed. */
  tallies: Map<number, Tally> | undefined;
  /** How many of isofile.moofs are in the tallies. */
  moofsTallied: number;
}
