/**
 * Live tail: shows the newest lines, then polls `logs.search` for the lines after a cursor, oldest first
 * (`order: asc`), and keeps the newest `TAIL_MAX_LINES` in memory (shown newest first). The cursor is the last
 * line's millisecond; the next poll starts at that millisecond again (lines arriving within it are not lost)
 * and drops what it already showed by line identity. A full poll (`TAIL_BATCH` lines) is followed at once by
 * the next, so a burst is read to its end rather than skipped; only more than `TAIL_BATCH` lines within one
 * millisecond can be skipped (`skipped` says so).
 * Paused, nothing is polled and the lines stay; resuming catches up from the cursor.
 * A poll gives up after `TAIL_REQUEST_TIMEOUT_MS` and the next one asks again from the same cursor: an answer
 * lost or held on the way would otherwise stop the tail until the edge's own deadline (32 s). Seen under load in
 * `wrangler dev`: a poll reached the cluster's Durable Object 12 s after the browser sent it.
 * A new query or cluster starts over with the newest lines of the last minutes.
 */
import { useEffect, useRef, useState } from 'react';
import type { ClusterRef } from '../../clusterApi.ts';
import { nsToMs } from '../traces/format.ts';
import { type LogRow, lineKey, searchLogs } from './logsApi.ts';

export const TAIL_POLL_MS = 2000;
export const TAIL_MAX_LINES = 1000;
export const TAIL_BATCH = 500;
/** A poll's answer normally takes well under a second; one that takes longer than this is asked again. */
export const TAIL_REQUEST_TIMEOUT_MS = 10_000;
/** The first poll shows up to this many of the lines of the last `TAIL_START_MS`. */
const TAIL_START_LINES = 100;
const TAIL_START_MS = 15 * 60_000;
/** Cluster clocks differ from the browser's: ask a little into the "future". */
const CLOCK_MARGIN_MS = 5 * 60_000;

export interface LiveTail {
  lines: LogRow[];
  error: unknown;
  /** More than a batch of lines shared one millisecond: some of them were not shown. */
  skipped: boolean;
  /** Lines dropped from the end to stay within TAIL_MAX_LINES. */
  dropped: number;
  lastPollAt: number | null;
  clear(): void;
}

export interface Cursor {
  ms: number;
  /** Identities of the lines already shown at `ms`. */
  keys: Set<string>;
}

const lineMs = (r: LogRow) => Math.floor(nsToMs(r.timestamp));
const patience = { timeoutMs: TAIL_REQUEST_TIMEOUT_MS };

export function useLiveTail(ref: ClusterRef, query: string, running: boolean): LiveTail {
  const [lines, setLines] = useState<LogRow[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [skipped, setSkipped] = useState(false);
  const [received, setReceived] = useState(0);
  const [lastPollAt, setLastPollAt] = useState<number | null>(null);
  const cursor = useRef<Cursor | null>(null);
  const identity = `${ref.orgId}/${ref.clusterId}/${query}`;
  const identityRef = useRef(identity);

  if (identityRef.current !== identity) {
    // Another query or cluster: start over (set during render so no stale lines show for a frame).
    identityRef.current = identity;
    cursor.current = null;
    setLines([]);
    setSkipped(false);
    setReceived(0);
  }

  // biome-ignore lint/correctness/useExhaustiveDependencies: `identity` stands for ref and query
  useEffect(() => {
    if (!running) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const show = (fresh: LogRow[]) => {
      if (fresh.length === 0) return;
      // `fresh` is oldest first; the page shows newest first.
      const newestFirst = [...fresh].reverse();
      setLines((old) => [...newestFirst, ...old].slice(0, TAIL_MAX_LINES));
      setReceived((n) => n + fresh.length);
    };
    const poll = async () => {
      if (document.visibilityState === 'hidden') {
        timer = setTimeout(poll, TAIL_POLL_MS);
        return;
      }
      const now = Date.now();
      let again = TAIL_POLL_MS;
      try {
        const c = cursor.current;
        if (c === null) {
          const start = now - TAIL_START_MS;
          const answer = await searchLogs(
            ref,
            {
              start,
              end: now + CLOCK_MARGIN_MS,
              query,
              limit: TAIL_START_LINES,
              buckets: 1,
            },
            patience,
          );
          if (stopped) return;
          const rows = [...answer.rows].reverse(); // oldest first
          cursor.current = advanceCursor({ ms: start, keys: new Set() }, rows);
          show(rows);
        } else {
          const answer = await searchLogs(
            ref,
            {
              start: c.ms,
              end: Math.max(now, c.ms) + CLOCK_MARGIN_MS,
              query,
              limit: TAIL_BATCH,
              buckets: 1,
              order: 'asc',
            },
            patience,
          );
          if (stopped) return;
          const fresh = answer.rows.filter((r) => !c.keys.has(lineKey(r)));
          let next = advanceCursor(c, fresh);
          if (answer.rows.length >= TAIL_BATCH) {
            again = 0; // a burst: read on at once
            if (next.ms === c.ms && fresh.length === 0) {
              // A whole batch within one millisecond, all seen: step past it.
              next = { ms: c.ms + 1, keys: new Set() };
              setSkipped(true);
            }
          }
          cursor.current = next;
          show(fresh);
        }
        setError(null);
        setLastPollAt(Date.now());
      } catch (err) {
        if (!stopped) setError(err);
      }
      if (!stopped) timer = setTimeout(poll, again);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [running, identity]);

  return {
    lines,
    error,
    skipped,
    dropped: Math.max(0, received - lines.length),
    lastPollAt,
    clear: () => {
      setLines([]);
      setReceived(0);
      setSkipped(false);
    },
  };
}

/** The cursor after showing `rows` (oldest first): the last line's millisecond and the lines seen in it. */
export function advanceCursor(c: Cursor, rows: LogRow[]): Cursor {
  const last = rows[rows.length - 1];
  if (!last) return c;
  const ms = Math.max(c.ms, lineMs(last));
  const keys = new Set<string>(ms === c.ms ? c.keys : []);
  for (const r of rows) if (lineMs(r) === ms) keys.add(lineKey(r));
  return { ms, keys };
}
