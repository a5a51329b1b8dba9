import { QueryError } from './query.ts';

/** Refuses a time range wider than the portal allows (the shared schema already checked end > start). */
export function checkRange(p: { start: number; end: number }, maxRangeMs: number): void {
  if (p.end - p.start > maxRangeMs)
    throw new QueryError(
      'bad_request',
      `the time range is ${Math.round((p.end - p.start) / 3_600_000)} h; at most ${Math.round(maxRangeMs / 3_600_000)} h is allowed`,
    );
}
