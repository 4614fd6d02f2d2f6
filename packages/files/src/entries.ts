import { readdir } from 'node:fs/promises';
import { absoluteIn, fsErrorCode } from './files.js';
import { lossyName, nameFromBytes } from './names.js';

/** One entry of a folder, named in vcu's string form (names.ts): names that are not UTF-8 included. */
export interface Entry {
  /** The entry's own name. */
  readonly name: string;
  /** Relative to the root, `/`-separated. */
  readonly path: string;
  /** What the entry itself is: a symbolic link is never followed. */
  readonly kind: 'file' | 'directory' | 'symbolic link' | 'other';
}

const join = (dir: string, name: string): string => (dir === '' ? name : `${dir}/${name}`);

/**
 * The entries of `relativeDir` ('' for `root` itself), read as raw bytes. Text-based listings
 * (chokidar's, or `readdir` without `encoding: 'buffer'`) decode a name that is not UTF-8 with
 * U+FFFD, and that decoded name then opens nothing; these names open their files.
 */
export async function readEntries(root: string, relativeDir: string): Promise<Entry[]> {
  const dir = relativeDir === '' ? root : absoluteIn(root, relativeDir);
  const dirents = await readdir(dir, { encoding: 'buffer', withFileTypes: true });
  return dirents.map((d) => {
    const name = nameFromBytes(d.name);
    const kind = d.isFile() ? 'file' : d.isDirectory() ? 'directory' : d.isSymbolicLink() ? 'symbolic link' : 'other';
    return { name, path: join(relativeDir, name), kind };
  });
}

/** Errors that mean "no such entry here" while looking a name up: that branch finds nothing. */
const NOT_THERE = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM']);

/**
 * Every path under `root` that decodes to `shown`, a `/`-separated relative path that is text (a
 * command line argument, a name as chokidar reports it), in vcu's string form. A component
 * holding U+FFFD may stand for several raw names (each a file of its own), or for a name that
 * holds U+FFFD itself: each is looked up in its folder, read as raw bytes. Other components are
 * taken as they are, whether they exist or not.
 */
export async function pathsDecodingTo(root: string, shown: string): Promise<string[]> {
  let found = [''];
  for (const part of shown.split('/')) {
    const next: string[] = [];
    for (const parent of found) {
      if (!part.includes('\uFFFD')) {
        next.push(join(parent, part));
        continue;
      }
      const entries = await readEntries(root, parent).catch((err: unknown) => {
        if (NOT_THERE.has(fsErrorCode(err) ?? '')) return [];
        throw err;
      });
      for (const entry of entries) if (lossyName(entry.name) === part) next.push(entry.path);
    }
    found = next;
  }
  return found;
}
