import type { Container } from '@vcu/domain';

/** Box types an ISO-BMFF/MP4 file may start with. */
const MP4_FIRST_BOXES = new Set(['ftyp', 'styp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pdin', 'moof', 'sidx', 'uuid']);

/** The box type an ISO-BMFF file starts with, or null when the first 8 bytes are not a box header. */
export function firstBoxType(head: Buffer): string | null {
  if (head.length < 8) return null;
  const type = head.subarray(4, 8).toString('latin1');
  return /^[\x20-\x7e]{4}$/.test(type) ? type : null;
}

/** What the first 8 bytes of a file (box size + type) say: MP4 or other content. */
export function describeContainer(head: Buffer): Container {
  const box = firstBoxType(head);
  return { recognisedMp4: box !== null && MP4_FIRST_BOXES.has(box), firstBox: box };
}
