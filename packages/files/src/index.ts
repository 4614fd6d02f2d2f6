export { type SkipReason, absoluteIn, currentFacts, fileVersion, fsErrorCode, isFileFacts, onlyChangeTimeMoved, pathText, readFacts, relativeTo } from './files.js';
export { type Entry, pathsDecodingTo, readEntries } from './entries.js';
export { isRawName, keyPart, lossyName, nameFromBytes, nameToBytes, printable, printableJson } from './names.js';
export {
  type FileIdentity,
  type FileKind,
  FileReplacedError,
  NotRegularFileError,
  type OpenChecks,
  type OpenedFile,
  kindOf,
  openRegularFile,
  withRegularFile,
} from './open.js';
export { canSeeWriters, filesOpenForWriting, type WritersLook, writersLook } from './writers.js';
export { type FileDigest, digestFile } from './digest.js';
export { LocalFile, type ReadableFile, SYNC_READ_MAX } from './readable.js';
