import type { Logger } from '../../../lib/log.ts';
import { expandHostFileGlob, type HostFileGlob, parseHostFileGlob } from './hostFileGlob.ts';
import { type CompiledMultiline, compileMultiline, type MultilineRule } from './multiline.ts';

/** One `logs.files` entry: a path or glob pattern, the service its records are named as. */
export interface HostFileEntry {
  path: string;
  service: string;
  /** Files this pattern may match (default DEFAULT_MAX_FILES_PER_PATTERN). */
  maxFiles?: number;
  /** Join multi-line records (stack traces); off when absent. */
  multiline?: MultilineRule;
}

export const DEFAULT_MAX_FILES_PER_PATTERN = 100;
/** Each followed file holds a descriptor open: the total stays well below the usual limit of 1024. */
export const DEFAULT_MAX_HOST_FILES = 500;

export interface HostFile {
  path: string;
  service: string;
  multiline?: CompiledMultiline;
}

interface Compiled {
  glob: HostFileGlob;
  service: string;
  maxFiles: number;
  multiline?: CompiledMultiline;
}

/**
 * The configured host files, expanded at every poll within explicit caps: at most `maxFiles` per pattern
 * and `maxTotal` in all. When a cap cuts, files already followed are kept (no churn) before new ones, in
 * name order; the cut is logged when its size changes and kept in `cut` (a gauge). A file matched by two
 * entries belongs to the first.
 */
export class HostFiles {
  private readonly entries: Compiled[];
  /** Files left out by a cap at the last listing, per pattern. */
  readonly cut = new Map<string, number>();
  /** Patterns whose `**` walk stopped at MAX_GLOB_DIRS directories at the last listing. */
  private readonly dirsCut = new Set<string>();

  /** Throws `cannot use log file pattern ...` / `cannot use multiline rule ...` on bad entries. */
  constructor(
    entries: readonly HostFileEntry[],
    private readonly maxTotal: number,
    private readonly log: Logger,
  ) {
    this.entries = entries.map((e) => ({
      glob: parseHostFileGlob(e.path),
      service: e.service,
      maxFiles: e.maxFiles ?? DEFAULT_MAX_FILES_PER_PATTERN,
      ...(e.multiline ? { multiline: compileMultiline(e.multiline) } : {}),
    }));
  }

  /** The files to follow now; `taken` holds paths already listed (pod files), `followed` the open ones. */
  list(taken: ReadonlySet<string>, followed: (path: string) => boolean): HostFile[] {
    const out: HostFile[] = [];
    const mine = new Set<string>();
    for (const e of this.entries) {
      const { files, dirsCut } = expandHostFileGlob(e.glob);
      const fresh = files.filter((p) => !taken.has(p) && !mine.has(p));
      const room = Math.max(0, Math.min(e.maxFiles, this.maxTotal - out.length));
      const kept = [...fresh.filter(followed), ...fresh.filter((p) => !followed(p))].slice(0, room);
      for (const path of kept) {
        mine.add(path);
        out.push({ path, service: e.service, ...(e.multiline ? { multiline: e.multiline } : {}) });
      }
      this.noteCut(e, fresh.length - kept.length, dirsCut);
    }
    return out;
  }

  private noteCut(e: Compiled, files: number, dirsCut: boolean): void {
    const pattern = e.glob.pattern;
    if ((this.cut.get(pattern) ?? 0) === files && this.dirsCut.has(pattern) === dirsCut) return;
    this.cut.set(pattern, files);
    if (dirsCut) this.dirsCut.add(pattern);
    else this.dirsCut.delete(pattern);
    if (files === 0 && !dirsCut) this.log.info({ pattern }, 'log file pattern within its caps again');
    else
      this.log.warn(
        { pattern, filesLeftOut: files, dirsCut, maxFiles: e.maxFiles, maxTotal: this.maxTotal },
        'log file pattern matches more than its caps allow: files left out',
      );
  }
}
