/**
 * The PromQL explorer: a query box (run with Ctrl/Cmd+Enter or the button), a chart of the range query over the
 * page's time range and a table of the instant values at its end. The query and the chart's unit are in the
 * URL (`expr`, `unit`), so a link reproduces the view; Prometheus' own error message is shown as it is.
 */
import { type KeyboardEvent, useEffect, useMemo, useState } from 'react';
import type { Unit } from '../../charts/format.ts';
import { seriesLabel } from '../../charts/promSeries.ts';
import { TimeSeriesChart } from '../../charts/TimeSeriesChart.tsx';
import { type PromResult, promApi } from '../../clusterApi.ts';
import { type DataContext, DataError, DataPage } from '../../DataPage.tsx';
import { setSearchParams, useSearch } from '../../router.ts';
import type { PageProps } from '../../Shell.tsx';
import { useTimeRange } from '../../timeRange.ts';
import { useLoad } from '../../useLoad.ts';
import { usePromRange } from '../../usePromRange.ts';
import { redRangeQueries } from '../services/redPromQL.ts';
import { ResultTable } from './ResultTable.tsx';

const UNITS: { value: Unit; label: string }[] = [
  { value: 'none', label: 'Plain numbers' },
  { value: 'reqps', label: 'Per second' },
  { value: 'ratio', label: 'Ratio (0-1 as %)' },
  { value: 'seconds', label: 'Seconds' },
  { value: 'bytes', label: 'Bytes' },
];

function examples(): { label: string; expr: string; unit: Unit }[] {
  const by = redRangeQueries('server', {}, ['workload'], 300);
  return [
    { label: 'Requests per service', expr: by.requests, unit: 'reqps' },
    { label: 'Error ratio per service', expr: by.errorRate, unit: 'ratio' },
    { label: 'p95 latency per service', expr: by.p95, unit: 'seconds' },
    {
      label: 'Series per metric (top 10)',
      expr: 'topk(10, count by (__name__) ({__name__=~".+"}))',
      unit: 'none',
    },
  ];
}

/** Rows for the query box: its lines, long ones counted as wrapped (about 110 characters a row), 2 to 8. */
function boxRows(text: string): number {
  const rows = text.split('\n').reduce((n, line) => n + Math.max(1, Math.ceil(line.length / 110)), 0);
  return Math.min(8, Math.max(2, rows));
}

export function MetricsPage({ org }: PageProps) {
  return <DataPage org={org}>{(ctx) => <Explorer ctx={ctx} />}</DataPage>;
}

function Explorer({ ctx }: { ctx: DataContext }) {
  const { ref, range } = ctx;
  const search = useSearch();
  const params = new URLSearchParams(search);
  const expr = params.get('expr') ?? '';
  const unitParam = params.get('unit');
  const unit: Unit = UNITS.some((u) => u.value === unitParam) ? (unitParam as Unit) : 'none';
  const [draft, setDraft] = useState(expr);
  const { setAbsolute } = useTimeRange();
  // A new URL (back button, a shared link) replaces what is in the box.
  useEffect(() => setDraft(expr), [expr]);

  const run = (text = draft) => setSearchParams({ expr: text.trim() || null });
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      run();
    }
  };
  const exprs = useMemo(() => (expr ? [expr] : []), [expr]);
  const rangeResult = usePromRange(ref, range, exprs);
  const instant = useLoad(
    async (): Promise<{ expr: string; data: PromResult; warnings: string[] } | null> =>
      expr ? { expr, ...(await promApi.query(ref, expr, range.end)) } : null,
    `${ref.clusterId}|${range.key}|${expr}`,
  );
  // useLoad keeps the last answer while the next loads or fails: show only this query's own values.
  const values = instant.data?.expr === expr && !instant.error ? instant.data : null;
  const aligned = rangeResult.aligned?.[0];
  const metrics = useLoad(() => promApi.metricNames(ref), ref.clusterId);

  return (
    <>
      <section className="card panel query-panel" aria-label="Query">
        {/* Not a wrapping label: its accessible name would then include the query text. */}
        <div className="field">
          <label htmlFor="promql-query" className="field-label">
            PromQL
          </label>
          <textarea
            id="promql-query"
            className="query-box mono"
            rows={boxRows(draft)}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={onKey}
            placeholder="sum by (workload) (rate(http_server_request_duration_seconds_count[5m]))"
            spellCheck={false}
            aria-describedby="query-help"
          />
        </div>
        <div className="query-actions">
          <button type="button" className="btn btn-primary" onClick={() => run()} disabled={!draft.trim()}>
            Run query
          </button>
          <span id="query-help" className="muted">
            <kbd>Ctrl</kbd>+<kbd>Enter</kbd> runs it. The chart covers the time range; the table shows values
            at its end.
          </span>
          <label className="field-inline query-unit">
            <span className="sr-only">Unit</span>
            <select
              aria-label="Unit"
              value={unit}
              onChange={(e) =>
                setSearchParams({ unit: e.target.value === 'none' ? null : e.target.value }, true)
              }
            >
              {UNITS.map((u) => (
                <option key={u.value} value={u.value}>
                  {u.label}
                </option>
              ))}
            </select>
          </label>
          <MetricPicker
            names={metrics.data?.data ?? []}
            onPick={(name) => setDraft((d) => (d ? `${d}${name}` : name))}
          />
        </div>
      </section>
      {!expr ? (
        <section className="card panel" aria-labelledby="examples-h">
          <h2 id="examples-h">Start with an example</h2>
          <p className="muted">
            Every metric your cluster keeps is here: the sensor's RED histograms, node and container
            resources, and the components' own metrics. Query them with PromQL, as in Grafana.
          </p>
          <div className="examples">
            {examples().map((x) => (
              <button
                key={x.label}
                type="button"
                className="example"
                onClick={() => setSearchParams({ expr: x.expr, unit: x.unit === 'none' ? null : x.unit })}
              >
                <span className="strong">{x.label}</span>
                <code>{x.expr.length > 90 ? `${x.expr.slice(0, 89)}…` : x.expr}</code>
              </button>
            ))}
          </div>
        </section>
      ) : (
        <>
          <DataError error={rangeResult.error || instant.error} onRetry={rangeResult.reload} />
          {values?.warnings.length ? (
            <div className="alert alert-warn">{values.warnings.join(' ')}</div>
          ) : null}
          {aligned?.dropped ? (
            <div className="alert alert-warn" role="status">
              Drawing the first {aligned.series.length} series of {aligned.series.length + aligned.dropped}:
              narrow the query (e.g. <code>topk</code> or <code>sum by</code>) to see the others.
            </div>
          ) : null}
          {rangeResult.error ? null : (
            <section className="card chart-card" aria-label="Query result over time">
              <TimeSeriesChart
                title="Query result"
                timestamps={aligned?.timestamps ?? []}
                series={aligned?.series ?? []}
                unit={unit}
                range={range}
                height={300}
                loading={rangeResult.loading}
                emptyText="The query returned no series in this time range."
                onSelectRange={setAbsolute}
                legend={(aligned?.series.length ?? 0) <= 12}
              />
            </section>
          )}
          {values ? <ResultTable result={values.data} unit={unit} label={seriesLabel} /> : null}
        </>
      )}
      <datalist id="metric-names">
        {(metrics.data?.data ?? []).slice(0, 500).map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
    </>
  );
}

/** Inserts a metric name into the query: a filterable list of the names the cluster has. */
function MetricPicker({ names, onPick }: { names: string[]; onPick: (name: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <form
      className="metric-picker"
      onSubmit={(e) => {
        e.preventDefault();
        if (names.includes(value)) {
          onPick(value);
          setValue('');
        }
      }}
    >
      <input
        type="search"
        list="metric-names"
        className="metric-picker-input"
        aria-label="Insert a metric name"
        placeholder={names.length ? `Insert one of ${names.length} metrics…` : 'Insert a metric…'}
        value={value}
        onChange={(e) => setValue(e.target.value)}
      />
    </form>
  );
}
