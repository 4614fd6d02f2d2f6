export { type FileFacts, type KnownVersion, type VersionDecision, decideVersion, streamIdFor } from './identity.js';
export { type ChunkRange, type Plan, type PlanInput, chunkRanges, planChunks } from './plan.js';
export { type MetadataInput, type StreamMetadata, buildMetadata, firstBoxType } from './metadata.js';
export { type SkipReason, absoluteIn, fsErrorCode, isFileFacts, readFacts, relativeTo } from './files.js';
export { type Observation, type ObserveOptions, type Observe, type ObserverDeps, createObserver } from './observe.js';
export { type ShutdownOptions, type ShutdownStep, onShutdown } from './lifecycle.js';
export { type Connected, connect } from './connect.js';
export { createLimiter } from './limit.js';
