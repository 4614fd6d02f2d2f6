export { type SkipReason, absoluteIn, fsErrorCode, isFileFacts, readFacts, relativeTo } from './files.js';
export {
  type FileIdentity,
  type FileKind,
  FileReplacedError,
  NotRegularFileError,
  type OpenedFile,
  kindOf,
  openRegularFile,
  withRegularFile,
} from './open.js';
