/**
 * The time range shared by every data page. It lives in the URL (`from`, `to`, optional `refresh`) so a link
 * shows the same window to a teammate:
 * - relative: `from=now-1h&to=now` (units s, m, h, d, w), resolved against an anchor that moves on refresh;
 * - absolute: `from=<epoch ms>&to=<epoch ms>`.
 * Without parameters the range is the last hour. Pages read `useTimeRange().range` and load with `range.key`
 * as their reload key: it changes when the range changes or when the user refreshes (absolute ranges too).
 */
import { useMemo, useSyncExternalStore } from 'react';
import { setSearchParams, useSearch } from './router.ts';

export const DEFAULT_FROM = 'now-1h';
export const DEFAULT_TO = 'now';
/** The portal refuses longer ranges (incloud/portal/limits.ts maxRangeMs). */
export const MAX_RANGE_MS = 31 * 86_400_000;

export const PRESETS: { from: string; label: string; short: string }[] = [
  { from: 'now-5m', label: 'Last 5 minutes', short: '5m' },
  { from: 'now-15m', label: 'Last 15 minutes', short: '15m' },
  { from: 'now-1h', label: 'Last 1 hour', short: '1h' },
  { from: 'now-6h', label: 'Last 6 hours', short: '6h' },
  { from: 'now-24h', label: 'Last 24 hours', short: '24h' },
  { from: 'now-7d', label: 'Last 7 days', short: '7d' },
  { from: 'now-30d', label: 'Last 30 days', short: '30d' },
];

/** Auto-refresh choices (`refresh` parameter); only relative ranges move. */
export const AUTO_REFRESH: { value: string; label: string; ms: number }[] = [
  { value: '10s', label: 'Every 10 s', ms: 10_000 },
  { value: '30s', label: 'Every 30 s', ms: 30_000 },
  { value: '1m', label: 'Every minute', ms: 60_000 },
  { value: '5m', label: 'Every 5 minutes', ms: 300_000 },
];

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const RELATIVE = /^now(?:-(\d{1,6})([smhdw]))?$/;
const ABSOLUTE = /^\d{10,14}$/;

/** One `from`/`to` value -> epoch ms at `anchor`, or null when it is not a valid time. */
export function resolveTime(value: string, anchor: number): number | null {
  const rel = RELATIVE.exec(value);
  if (rel) return rel[1] ? anchor - Number(rel[1]) * UNIT_MS[rel[2]!]! : anchor;
  if (ABSOLUTE.test(value)) return Number(value);
  return null;
}

export interface TimeRange {
  /** As in the URL (defaults filled in). */
  from: string;
  to: string;
  /** Resolved, epoch milliseconds, start < end. */
  start: number;
  end: number;
  /** True when `to` is `now`: refreshing moves the window. */
  relative: boolean;
  label: string;
  /** Changes whenever the data should be read again (range changed or refreshed): a load key. */
  key: string;
  /** Why the URL's range was not used (it fell back to the default), or null. */
  invalid: string | null;
}

/** Resolves URL values at `anchor`; a missing, unparsable, reversed or too long range falls back to the last hour. */
export function resolveRange(from: string | null, to: string | null, anchor: number): TimeRange {
  const f = from ?? DEFAULT_FROM;
  const t = to ?? DEFAULT_TO;
  const start = resolveTime(f, anchor);
  const end = resolveTime(t, anchor);
  let invalid: string | null = null;
  if (start === null || end === null) invalid = 'the time range in the link is not valid';
  else if (end <= start) invalid = 'the time range in the link ends before it starts';
  else if (end - start > MAX_RANGE_MS) invalid = 'the time range in the link is longer than 31 days';
  if (invalid !== null || start === null || end === null) {
    return { ...resolveRange(DEFAULT_FROM, DEFAULT_TO, anchor), invalid };
  }
  return {
    from: f,
    to: t,
    start,
    end,
    relative: t === 'now',
    label: rangeLabel(f, t, start, end),
    key: `${f}|${t}|${anchor}`,
    invalid: null,
  };
}

function rangeLabel(from: string, to: string, start: number, end: number): string {
  if (to === 'now') {
    const preset = PRESETS.find((p) => p.from === from);
    if (preset) return preset.label;
    const rel = RELATIVE.exec(from);
    if (rel?.[1]) return `Last ${rel[1]}${rel[2]}`;
  }
  return `${formatTime(start, end - start)} – ${formatTime(end, end - start, start)}`;
}

/** A timestamp as short as the range allows: the date only when the range spans days or the day changes. */
export function formatTime(ms: number, spanMs: number, sameDayAs?: number): string {
  const d = new Date(ms);
  const time = d.toLocaleTimeString('en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    ...(spanMs < 600_000 ? { second: '2-digit' } : {}),
  });
  if (sameDayAs !== undefined && new Date(sameDayAs).toDateString() === d.toDateString()) return time;
  return `${d.toLocaleDateString('en', { month: 'short', day: 'numeric' })}, ${time}`;
}

/**
 * A step for range queries giving about `points` points, rounded to a readable size (1 s ... 1 d), so charts of
 * the same range line up and PromQL `step` values look intentional.
 */
export function stepMs(range: { start: number; end: number }, points = 120): number {
  const raw = (range.end - range.start) / points;
  const nice = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
  ].map((s) => s * 1000);
  return nice.find((s) => s >= raw) ?? nice[nice.length - 1]!;
}

// The anchor "now" of relative ranges: shared by all components so every chart of a page reads the same
// window, and moved only by refresh() or a range change (a re-render must not change the window).
let anchor = Date.now();
const anchorListeners = new Set<() => void>();
function subscribeAnchor(listener: () => void): () => void {
  anchorListeners.add(listener);
  return () => anchorListeners.delete(listener);
}
function moveAnchor(): void {
  anchor = Math.max(Date.now(), anchor + 1);
  for (const l of anchorListeners) l();
}

export interface TimeRangeState {
  range: TimeRange;
  /** Sets both ends (relative strings or epoch ms as strings); pushes a history entry. */
  setRange(from: string, to: string): void;
  /** Absolute range from epoch ms, e.g. a selection on a chart. */
  setAbsolute(start: number, end: number): void;
  /** Reads the data again: relative ranges move to now. */
  refresh(): void;
  /** Auto-refresh value (see AUTO_REFRESH) or null. */
  autoRefresh: string | null;
  setAutoRefresh(value: string | null): void;
}

export function useTimeRange(): TimeRangeState {
  const search = useSearch();
  const at = useSyncExternalStore(subscribeAnchor, () => anchor);
  return useMemo(() => {
    const params = new URLSearchParams(search);
    const range = resolveRange(params.get('from'), params.get('to'), at);
    const auto = params.get('refresh');
    return {
      range,
      setRange(from: string, to: string) {
        moveAnchor();
        setSearchParams({
          from: from === DEFAULT_FROM && to === DEFAULT_TO ? null : from,
          to: from === DEFAULT_FROM && to === DEFAULT_TO ? null : to,
        });
      },
      setAbsolute(start: number, end: number) {
        const s = Math.round(start);
        const e = Math.max(Math.round(end), s + 1000);
        setSearchParams({ from: String(s), to: String(e) });
      },
      refresh: moveAnchor,
      autoRefresh: AUTO_REFRESH.some((a) => a.value === auto) ? auto : null,
      setAutoRefresh(value: string | null) {
        setSearchParams({ refresh: value }, true);
      },
    };
  }, [search, at]);
}
