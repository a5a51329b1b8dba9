import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { SavedTotals } from './seriesAggregator.ts';

/**
 * The file that keeps the ingester's counter totals across a restart (`<queue dir>/totals.json`). Written
 * at every flush to a temp name, fsynced, then renamed over the old one, so a crash leaves either the old or
 * the new totals, never half a file. Synchronous: called from the event loop at flush time.
 */
export function writeTotals(file: string, totals: SavedTotals): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(totals));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** The saved totals, or undefined when there is no file yet; throws `cannot read ...` on a damaged one. */
export function readTotals(file: string): SavedTotals | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ingester totals ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as SavedTotals;
  } catch (err) {
    throw new Error(`cannot read ingester totals ${file}: ${(err as Error).message}`);
  }
}
