export { type FileFacts, type KnownVersion, type VersionDecision, changedMsOf, decideVersion, mtimeMsOf, sameFile, streamIdFor } from './identity.js';
export { type ChunkRange, PLAN_WINDOW_CHUNKS, type Plan, type PlanInput, chunkRanges, planChunks } from './plan.js';
export { type Container, type MetadataInput, type StreamMetadata, buildMetadata } from './metadata.js';
