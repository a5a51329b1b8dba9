/**
 * Live tail: polls `logs.search` for lines newer than a cursor and keeps the newest `TAIL_MAX_LINES` in memory
 * (newest first). The cursor is the newest line's millisecond; the next poll starts at that millisecond again
 * (lines arriving within it are not lost) and drops what it already showed by line identity.
 * Paused, nothing is polled and the lines stay; resuming catches up from the cursor, `TAIL_BATCH` lines per
 * poll (when a poll is full, older lines of that interval are skipped and `skipped` says so).
 * A new query or cluster starts over with the lines of the last minutes.
 */
import { useEffect, useRef, useState } from 'react';
import type { ClusterRef } from '../../clusterApi.ts';
import { nsToMs } from '../traces/format.ts';
import { compareNs, type LogRow, lineKey, searchLogs } from './logsApi.ts';

export const TAIL_POLL_MS = 2000;
export const TAIL_MAX_LINES = 1000;
export const TAIL_BATCH = 500;
/** The first poll shows up to this many of the lines of the last `TAIL_START_MS`. */
const TAIL_START_LINES = 100;
const TAIL_START_MS = 15 * 60_000;
/** Cluster clocks differ from the browser's: ask a little into the "future". */
const CLOCK_MARGIN_MS = 5 * 60_000;

export interface LiveTail {
  lines: LogRow[];
  error: unknown;
  /** Polls that returned a full batch (some lines of that interval were not shown). */
  skipped: boolean;
  /** Lines dropped from the end to stay within TAIL_MAX_LINES. */
  dropped: number;
  lastPollAt: number | null;
  clear(): void;
}

export function useLiveTail(ref: ClusterRef, query: string, running: boolean): LiveTail {
  const [lines, setLines] = useState<LogRow[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [skipped, setSkipped] = useState(false);
  const [received, setReceived] = useState(0);
  const [lastPollAt, setLastPollAt] = useState<number | null>(null);
  const cursor = useRef<{ ms: number; keys: Set<string> } | null>(null);
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
    const poll = async () => {
      if (document.visibilityState === 'hidden') {
        timer = setTimeout(poll, TAIL_POLL_MS);
        return;
      }
      const now = Date.now();
      const first = cursor.current === null;
      const start = cursor.current?.ms ?? now - TAIL_START_MS;
      try {
        const answer = await searchLogs(ref, {
          start,
          end: Math.max(now, start) + CLOCK_MARGIN_MS,
          query,
          limit: first ? TAIL_START_LINES : TAIL_BATCH,
          buckets: 1,
        });
        if (stopped) return;
        const seen = cursor.current?.keys ?? new Set<string>();
        const fresh = answer.rows.filter((r) => !seen.has(lineKey(r)));
        if (!first && answer.rows.length >= TAIL_BATCH) setSkipped(true);
        if (fresh.length > 0) {
          fresh.sort((a, b) => compareNs(b.timestamp, a.timestamp));
          const newestMs = Math.floor(nsToMs(fresh[0]!.timestamp));
          const prevMs = cursor.current?.ms ?? -1;
          const ms = Math.max(newestMs, prevMs);
          // Remember only the lines of the cursor's millisecond: older ones cannot come back.
          const keys = new Set<string>(ms === prevMs ? seen : []);
          for (const r of fresh) if (Math.floor(nsToMs(r.timestamp)) >= ms) keys.add(lineKey(r));
          cursor.current = { ms, keys };
          setLines((old) => [...fresh, ...old].slice(0, TAIL_MAX_LINES));
          setReceived((n) => n + fresh.length);
        } else if (first) {
          cursor.current = { ms: start, keys: new Set() };
        }
        setError(null);
        setLastPollAt(Date.now());
      } catch (err) {
        if (!stopped) setError(err);
      }
      if (!stopped) timer = setTimeout(poll, TAIL_POLL_MS);
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
