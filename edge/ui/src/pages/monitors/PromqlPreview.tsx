/**
 * What a PromQL monitor would have seen: the expression over the page's time range, with the threshold drawn
 * as a line, read through the cluster's Prometheus API (VictoriaMetrics) as the query is typed (after a pause).
 * Below it, how many series are over the threshold at the end of the range: the alerts it would raise now.
 */
import { useEffect, useMemo, useState } from 'react';
import { type Comparison, conditionHolds } from '../../../../../lib/tunnel/monitors.ts';
import { TimeSeriesChart } from '../../charts/TimeSeriesChart.tsx';
import type { DataContext } from '../../DataPage.tsx';
import { useTimeRange } from '../../timeRange.ts';
import { usePromRange } from '../../usePromRange.ts';

const TYPING_PAUSE_MS = 600;
export const THRESHOLD_COLOR = '#d64545';

export function PromqlPreview(props: { ctx: DataContext; query: string; op: Comparison; threshold: string }) {
  const { ctx, op } = props;
  const [query, setQuery] = useState(props.query.trim());
  useEffect(() => {
    const t = setTimeout(() => setQuery(props.query.trim()), TYPING_PAUSE_MS);
    return () => clearTimeout(t);
  }, [props.query]);
  const { setAbsolute } = useTimeRange();
  const exprs = useMemo(() => (query ? [query] : []), [query]);
  const result = usePromRange(ctx.ref, ctx.range, exprs);
  const aligned = result.aligned?.[0];
  const threshold = props.threshold.trim() === '' ? Number.NaN : Number(props.threshold);

  const series = useMemo(() => {
    if (!aligned) return [];
    // A series without labels (a sum, a ratio) is named by what it is rather than `{}`.
    const own = aligned.series.map((s) => (s.label === '{}' ? { ...s, label: 'value' } : s));
    if (!Number.isFinite(threshold) || own.length === 0) return own;
    return [
      ...own,
      {
        label: `threshold (${op} ${threshold})`,
        values: aligned.timestamps.map(() => threshold),
        color: THRESHOLD_COLOR,
      },
    ];
  }, [aligned, threshold, op]);
  const over = useMemo(() => {
    if (!aligned || !Number.isFinite(threshold)) return null;
    let n = 0;
    for (const s of aligned.series) {
      const last = [...s.values].reverse().find((v) => v !== null);
      if (last !== undefined && last !== null && conditionHolds(last, op, threshold)) n++;
    }
    return { n, of: aligned.series.length };
  }, [aligned, threshold, op]);

  if (!query)
    return (
      <div className="mon-preview-empty muted">
        Write a query to see it over the selected time range, with the threshold.
      </div>
    );
  return (
    <section className="mon-preview" aria-label="Preview">
      {result.error ? (
        <div className="alert alert-error" role="alert">
          <div className="strong">The cluster's Prometheus API refused the query</div>
          <div className="mono">
            {result.error instanceof Error ? result.error.message : String(result.error)}
          </div>
        </div>
      ) : (
        <TimeSeriesChart
          title="Preview of the monitor's query"
          timestamps={aligned?.timestamps ?? []}
          series={series}
          range={ctx.range}
          height={220}
          loading={result.loading}
          emptyText="The query returned no series in this time range: the monitor would not fire."
          onSelectRange={setAbsolute}
          legend={series.length <= 8}
        />
      )}
      {over && !result.error ? (
        <p className="mon-preview-note" aria-live="polite">
          {result.loading
            ? 'Reading…'
            : over.of === 0
              ? 'No series: nothing to alert on in this range.'
              : `${over.n} of ${over.of} series ${over.n === 1 ? 'is' : 'are'} ${op} ${threshold} at the end of the range${
                  over.n > 0 ? ': the monitor would raise an alert for each.' : '.'
                }`}
          {aligned?.dropped ? ` (${aligned.dropped} more series not drawn.)` : ''}
        </p>
      ) : null}
    </section>
  );
}
