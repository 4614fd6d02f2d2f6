// Test helpers (real MP4 files made with ffmpeg, durations read with ffprobe): a separate entry
// point, `@vcu/mp4/testing`, so that production code never loads them.
export { ffprobeDuration, hasCommand, makeTestMp4, type MakeTestMp4Options, type TestMp4Kind } from './ffmpeg.js';
