/** Object keys: the contract consumers rely on. Nobody else builds them. */

/** `<prefix><streamId>/chunk_000042.bin`, the index zero-padded to 6 digits and counted from 0. */
export function chunkKey(prefix: string, streamId: string, index: number): string {
  return `${prefix}${streamId}/chunk_${String(index).padStart(6, '0')}.bin`;
}

/** `<prefix><streamId>/metadata.json` */
export function metadataKey(prefix: string, streamId: string): string {
  return `${prefix}${streamId}/metadata.json`;
}
