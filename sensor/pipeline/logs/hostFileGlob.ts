import { type Dirent, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Glob patterns for the plain-text files of a plain host (`logs.files[].path`), expanded again at every
 * poll so files that appear are followed and files that go are dropped. Our own small matcher (Node 20's
 * `path.matchesGlob` is experimental and `fs.globSync` needs Node 22):
 * - `*` any characters of one name, `?` one character; neither matches a leading `.` (hidden files);
 * - `**` as a whole segment: zero or more directories, never through a symbolic link (no loops);
 * - `[...]` and `{a,b}` are refused (write several entries): a silent literal match would hide a typo.
 * Wildcards never match rotated or compressed siblings (`error.log.1`, `app.log-20261125`, `.gz`): the tailer
 * already reads a rotated file to its end through the descriptor it holds, so following the sibling as a
 * new file would read it twice. A pattern without wildcards names its file literally (no such filter).
 * Rotations that keep the extension (`app.log` -> `app.1.log`) do match; the tailer knows the copy by its
 * inode and starts it where the old path stopped.
 */
export interface HostFileGlob {
  pattern: string;
  /** Directory holding the first segment with a wildcard (the whole path when there is none). */
  base: string;
  /** Segments after `base`: a name, `**`, or a matcher of one name. */
  segments: (string | RegExp)[];
}

/** Directories one expansion may read; a `**` over a big tree stops there (counted as `dirsCut`). */
export const MAX_GLOB_DIRS = 1000;

const ROTATED = /(?:[.-]\d+(?:-\d+)?|\.(?:gz|bz2|xz|zst|lz4|zip|Z))$/;

/** Parses and validates a pattern; throws `cannot use log file pattern <p>: <cause>`. */
export function parseHostFileGlob(pattern: string): HostFileGlob {
  const fail = (cause: string) =>
    new Error(`cannot use log file pattern ${JSON.stringify(pattern)}: ${cause}`);
  if (!pattern.startsWith('/')) throw fail('not an absolute path');
  if (/[[\]{}]/.test(pattern)) throw fail('[...] and {...} are not supported; use one entry per pattern');
  const parts = pattern.slice(1).split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..') throw fail('empty, "." or ".." path segment');
    if (part.includes('**') && part !== '**') throw fail('"**" must be a whole path segment');
  }
  if (parts.at(-1) === '**') throw fail('the last segment must name files, not "**"');
  const wild = parts.findIndex((p) => /[*?]/.test(p));
  if (wild < 0) return { pattern, base: pattern, segments: [] };
  return {
    pattern,
    base: `/${parts.slice(0, wild).join('/')}`,
    segments: parts.slice(wild).map((p) => (p === '**' || !/[*?]/.test(p) ? p : nameMatcher(p))),
  };
}

function nameMatcher(segment: string): RegExp {
  const body = segment
    .replace(/[.+^$()|\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(segment.startsWith('.') ? `^${body}$` : `^(?!\\.)${body}$`);
}

/** Regular files the pattern matches now, sorted; `dirsCut` when MAX_GLOB_DIRS stopped the walk. */
export function expandHostFileGlob(g: HostFileGlob): { files: string[]; dirsCut: boolean } {
  if (g.segments.length === 0) return { files: isFile(g.base) ? [g.base] : [], dirsCut: false };
  const found = new Set<string>();
  let dirsRead = 0;
  let dirsCut = false;
  const read = (dir: string): Dirent[] => {
    if (dirsRead >= MAX_GLOB_DIRS) {
      dirsCut = true;
      return [];
    }
    dirsRead++;
    try {
      return readdirSync(dir, { withFileTypes: true });
    } catch {
      return []; // missing or unreadable: nothing there now, looked at again next poll
    }
  };
  const walk = (dir: string, i: number): void => {
    const seg = g.segments[i]!;
    const last = i === g.segments.length - 1;
    if (seg === '**') {
      walk(dir, i + 1);
      for (const e of read(dir)) if (e.isDirectory() && !e.name.startsWith('.')) walk(join(dir, e.name), i);
      return;
    }
    if (typeof seg === 'string') {
      const path = join(dir, seg);
      if (!last) walk(path, i + 1);
      else if (isFile(path)) found.add(path);
      return;
    }
    for (const e of read(dir)) {
      if (!seg.test(e.name)) continue;
      const path = join(dir, e.name);
      if (!last) {
        if (e.isDirectory() || (e.isSymbolicLink() && isDir(path))) walk(path, i + 1);
      } else if (!ROTATED.test(e.name) && isFile(path)) found.add(path);
    }
  };
  walk(g.base, 0);
  return { files: [...found].sort(), dirsCut };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
