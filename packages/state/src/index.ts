export type { Keys } from './keys.js';
export { type ChunkRecord, type NewStream, type Provenance, type Recorded, type Sighting, type StreamRecord, type StreamStatus, lacksDroppedRecords, recordsFromMetadata } from './records.js';
export { type ListedStream, type StreamCursor, StreamIndex, type StreamPage, parseCursor } from './queries.js';
export { StreamStore, createStreamStore } from './store.js';
