/**
 * What a SQL monitor over logs would have seen: matching log lines counted per window (the monitor's window as
 * the bucket width) over the page's time range, with the threshold, read through the same logs search the
 * Logs page uses (the filter is the same query language). Windows here are back to back while the evaluator's
 * window slides, and groups are summed: the chart shows the shape, the evaluator decides. Counts only: duration
 * aggregates and the other sources have no preview yet.
 */
import { useEffect, useMemo, useState } from 'react';
import { type Comparison, conditionHolds } from '../../../../../lib/tunnel/monitors.ts';
import { TimeSeriesChart } from '../../charts/TimeSeriesChart.tsx';
import type { DataContext } from '../../DataPage.tsx';
import { useTimeRange } from '../../timeRange.ts';
import { useLoad } from '../../useLoad.ts';
import { MAX_BUCKETS, searchLogs } from '../logs/logsApi.ts';
import { THRESHOLD_COLOR } from './PromqlPreview.tsx';

const TYPING_PAUSE_MS = 600;

export function SqlLogsPreview(props: {
  ctx: DataContext;
  filter: string;
  windowSeconds: number | null;
  op: Comparison;
  threshold: string;
}) {
  const { ctx, op, windowSeconds } = props;
  const { ref, range } = ctx;
  const [filter, setFilter] = useState(props.filter.trim());
  useEffect(() => {
    const t = setTimeout(() => setFilter(props.filter.trim()), TYPING_PAUSE_MS);
    return () => clearTimeout(t);
  }, [props.filter]);
  const { setAbsolute } = useTimeRange();
  const span = range.end - range.start;
  const buckets = windowSeconds
    ? Math.min(MAX_BUCKETS, Math.max(1, Math.round(span / (windowSeconds * 1000))))
    : 60;
  const counts = useLoad(
    () => searchLogs(ref, { start: range.start, end: range.end, query: filter, limit: 1, buckets }),
    `${ref.clusterId}|${range.key}|${filter}|${buckets}`,
  );
  const threshold = props.threshold.trim() === '' ? Number.NaN : Number(props.threshold);
  const chart = useMemo(() => {
    const h = counts.data?.histogram ?? [];
    const timestamps = h.map((b) => b.start);
    const series: { label: string; values: (number | null)[]; color?: string }[] = [
      { label: 'matching lines per window', values: h.map((b) => b.count) },
    ];
    if (Number.isFinite(threshold) && h.length > 0)
      series.push({
        label: `threshold (${op} ${threshold})`,
        values: h.map(() => threshold),
        color: THRESHOLD_COLOR,
      });
    const over = Number.isFinite(threshold)
      ? h.filter((b) => conditionHolds(b.count, op, threshold)).length
      : 0;
    return { timestamps, series, over, windows: h.length };
  }, [counts.data, threshold, op]);

  return (
    <section className="mon-preview" aria-label="Preview">
      {counts.error ? (
        <div className="alert alert-error" role="alert">
          <div className="strong">The cluster refused the filter</div>
          <div className="mono">
            {counts.error instanceof Error ? counts.error.message : String(counts.error)}
          </div>
        </div>
      ) : (
        <TimeSeriesChart
          title="Preview: matching log lines per window"
          timestamps={chart.timestamps}
          series={chart.series}
          kind="line"
          unit="count"
          range={range}
          height={200}
          loading={counts.loading}
          emptyText="No log line matches in this time range."
          onSelectRange={setAbsolute}
          legend
        />
      )}
      {counts.data && !counts.error ? (
        <p className="mon-preview-note" aria-live="polite">
          {counts.loading
            ? 'Counting…'
            : `${counts.data.total} matching lines in the range; ${chart.over} of ${chart.windows} windows ${
                Number.isFinite(threshold) ? `${op} ${threshold}` : '(set a threshold)'
              }, all groups together.`}
        </p>
      ) : null}
    </section>
  );
}
