export { type S3Settings, createS3Client } from './client.js';
export { type S3Failure, classifyS3Error, httpStatusOf, isS3ClientError, isTransientS3Error } from './errors.js';
export { chunkKey, metadataKey } from './keys.js';
export { MetadataUnreadableError, readMetadata } from './metadata.js';
export { type UploadMemorySettings, chunkBudget, memoryNeed } from './memory-need.js';
export {
  type ObjectFacts,
  type PutChunkInput,
  type Target,
  ensureBucket,
  getObjectBytes,
  getObjectStream,
  headBucket,
  headObject,
  putChunk,
  putJson,
} from './operations.js';
export { type AssembleInput, type Assembled, assembleObject, assembledKey } from './assemble.js';
export { PART_BUFFERS, type PutStreamedChunkInput, listIncompleteUploads, putStreamedChunk, streamedChunkMemory } from './multipart.js';
