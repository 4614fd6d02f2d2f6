export { type Keys, makeKeys } from './keys.js';
export {
  type ChunkRecord,
  type NewStream,
  type Provenance,
  type Recorded,
  type StreamRecord,
  type StreamStatus,
  type StreamStore,
  createStreamStore,
} from './store.js';
