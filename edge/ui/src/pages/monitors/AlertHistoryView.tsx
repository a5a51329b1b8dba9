/**
 * Every alert transition of the cluster in the time range, newest first (at most 1000): a stacked chart of
 * transitions over time by new state, the monitor and state filters in the URL (`monitor`, `to`-state as
 * `change`), and the table.
 */
import { useMemo } from 'react';
import { TimeSeriesChart } from '../../charts/TimeSeriesChart.tsx';
import { type DataContext, DataError } from '../../DataPage.tsx';
import { setSearchParams, useSearch } from '../../router.ts';
import { stepMs, useTimeRange } from '../../timeRange.ts';
import { EmptyState, TableSkeleton } from '../../ui.tsx';
import { useLoad } from '../../useLoad.ts';
import { HistoryTable } from './HistoryTable.tsx';
import { type AlertHistoryRow, monitorsApi } from './monitorsApi.ts';

const LIMIT = 1000;
const STATES = [
  { state: 'firing', color: '#d64545' },
  { state: 'pending', color: '#e0a100' },
  { state: 'resolved', color: '#2e9e6b' },
] as const;

function histogram(rows: AlertHistoryRow[], range: { start: number; end: number }) {
  const step = stepMs(range, 60);
  const first = Math.floor(range.start / step) * step;
  const n = Math.max(1, Math.ceil((range.end - first) / step));
  const timestamps = Array.from({ length: n }, (_, i) => first + i * step);
  const series = STATES.map((s) => ({
    label: s.state,
    color: s.color,
    values: new Array<number | null>(n).fill(0),
  }));
  for (const r of rows) {
    const i = Math.floor((r.timestamp - first) / step);
    const s = series.find((x) => x.label === r.state);
    if (s && i >= 0 && i < n) s.values[i] = (s.values[i] ?? 0) + 1;
  }
  return { timestamps, series };
}

export function AlertHistoryView({ ctx }: { ctx: DataContext }) {
  const { ref, range, org } = ctx;
  const params = new URLSearchParams(useSearch());
  const monitor = params.get('monitor') ?? '';
  const change = params.get('change') ?? '';
  const { setAbsolute } = useTimeRange();
  const { data, error, loading, reload } = useLoad(async () => {
    const end = range.relative ? Math.max(Date.now(), range.end) : range.end;
    const [h, list] = await Promise.all([
      monitorsApi.history(ref, { start: range.start, end, limit: LIMIT, monitorId: monitor || undefined }),
      monitorsApi.list(ref),
    ]);
    return { history: h.history, monitors: list.monitors, window: { start: range.start, end } };
  }, `${ref.clusterId}|${range.key}|${monitor}`);
  const rows = useMemo(
    () => (data?.history ?? []).filter((h) => !change || h.state === change),
    [data, change],
  );
  const chart = useMemo(() => (data ? histogram(rows, data.window) : null), [rows, data]);
  const names = useMemo(() => {
    const m = new Map<string, string>();
    for (const x of data?.monitors ?? []) m.set(x.id, x.name);
    for (const h of data?.history ?? []) if (!m.has(h.monitorId)) m.set(h.monitorId, h.monitorName);
    return [...m].sort((a, b) => a[1].localeCompare(b[1]));
  }, [data]);

  return (
    <>
      <div className="filters">
        <label className="field-inline">
          <span className="sr-only">Monitor</span>
          <select
            aria-label="Monitor"
            value={monitor}
            onChange={(e) => setSearchParams({ monitor: e.target.value || null })}
          >
            <option value="">All monitors</option>
            {names.map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label className="field-inline">
          <span className="sr-only">Change to</span>
          <select
            aria-label="Change to"
            value={change}
            onChange={(e) => setSearchParams({ change: e.target.value || null })}
          >
            <option value="">All changes</option>
            {STATES.map((s) => (
              <option key={s.state} value={s.state}>
                to {s.state}
              </option>
            ))}
          </select>
        </label>
        <span className="muted filters-count" aria-live="polite">
          {data ? `${rows.length === LIMIT ? `newest ${LIMIT}` : rows.length} transitions` : ''}
        </span>
      </div>
      <DataError error={error} onRetry={reload} />
      {loading && !data ? <TableSkeleton rows={6} label="Loading alert history" /> : null}
      {data && chart && rows.length > 0 ? (
        <>
          <section className="card chart-card" aria-label="Transitions over time">
            <TimeSeriesChart
              title="Alert transitions over time"
              timestamps={chart.timestamps}
              series={chart.series}
              kind="bars"
              stacked
              unit="count"
              height={160}
              range={data.window}
              onSelectRange={setAbsolute}
            />
          </section>
          <HistoryTable org={org} rows={rows} showMonitor />
        </>
      ) : null}
      {data && rows.length === 0 ? (
        <EmptyState icon="✓" title="No alerts in this time range">
          <p>
            Nothing went pending, fired or resolved{monitor || change ? ' that matches the filters' : ''}.
            Pick a longer time range to look further back.
          </p>
        </EmptyState>
      ) : null}
    </>
  );
}
