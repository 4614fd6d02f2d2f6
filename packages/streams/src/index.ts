export { type ObserveOptions, type Observation, type Progress, type RetireReason, type Streams, type StreamsDeps, createStreams } from './streams.js';
