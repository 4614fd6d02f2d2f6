import picomatch from 'picomatch';

/** Editors', downloaders' and recorders' scratch files: never uploaded, whatever the pattern. */
const TEMPORARY = [/~$/, /\.(tmp|temp|part|partial|crdownload|download|swp|swx)$/i, /^#.*#$/];

/** True for a hidden path (any component starting with `.`) or a temporary file name. */
export function isHiddenOrTemporary(relativePath: string): boolean {
  const parts = relativePath.split('/');
  const name = parts[parts.length - 1] ?? '';
  return parts.some((part) => part.startsWith('.')) || TEMPORARY.some((re) => re.test(name));
}

/**
 * Compiles WATCH_PATTERNS into one test on paths relative to WATCH_DIR. Matching ignores case
 * (cameras write `CLIP0001.MP4`); hidden and temporary files never match.
 */
export function createMatcher(patterns: readonly string[]): (relativePath: string) => boolean {
  const match = picomatch([...patterns], { nocase: true, dot: false });
  return (relativePath) => !isHiddenOrTemporary(relativePath) && match(relativePath);
}
