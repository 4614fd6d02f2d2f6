export { type SkipReason, absoluteIn, fsErrorCode, isFileFacts, readFacts, relativeTo } from './files.js';
