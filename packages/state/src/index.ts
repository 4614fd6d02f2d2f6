export type { Keys } from './keys.js';
export { type ChunkRecord, type NewStream, type Provenance, type Recorded, type StreamRecord, type StreamStatus } from './records.js';
export { type ListedStream, StreamIndex, type StreamPage } from './queries.js';
export { StreamStore, createStreamStore } from './store.js';
