/**
 * Kubernetes events of the cluster in the time range, newest first: a chart of warnings and normal events
 * over time, filters (type, namespace, kind and reason asked of the portal; text matched here) kept in the
 * URL, and the events with their object, reason, message, count and source.
 */
import { useMemo } from 'react';
import { TimeSeriesChart } from '../../charts/TimeSeriesChart.tsx';
import { clusterData, type KubeEvent } from '../../clusterApi.ts';
import { type DataContext, DataError, DataPage } from '../../DataPage.tsx';
import { linkClick, setSearchParams, useSearch, withSharedParams } from '../../router.ts';
import type { PageProps } from '../../Shell.tsx';
import { formatTime, stepMs, type TimeRange, useTimeRange } from '../../timeRange.ts';
import { EmptyState, relativeTime, TableSkeleton } from '../../ui.tsx';
import { useLoad } from '../../useLoad.ts';
import { servicePath } from '../services/ServicesPage.tsx';

/** Events read per query (the portal's maximum). */
const LIMIT = 1000;
const SERVER_FILTERS = ['type', 'namespace', 'kind', 'reason'] as const;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function EventsPage({ org }: PageProps) {
  return <DataPage org={org}>{(ctx) => <Events ctx={ctx} />}</DataPage>;
}

/** Counts per bucket of the range, by type, for the chart (from the events' last-seen times). */
function histogram(events: KubeEvent[], range: TimeRange) {
  const step = stepMs(range, 60);
  const first = Math.floor(range.start / step) * step;
  const n = Math.max(1, Math.ceil((range.end - first) / step));
  const timestamps = Array.from({ length: n }, (_, i) => first + i * step);
  const warn: (number | null)[] = new Array(n).fill(0);
  const normal: (number | null)[] = new Array(n).fill(0);
  for (const e of events) {
    const i = Math.floor((Number(e.lastTimestampMs) - first) / step);
    if (i < 0 || i >= n) continue;
    const col = e.type === 'Warning' ? warn : normal;
    col[i] = (col[i] ?? 0) + 1;
  }
  return {
    timestamps,
    series: [
      { label: 'Warning', values: warn, color: '#e0a100' },
      { label: 'Normal', values: normal, color: '#9fb3ab' },
    ],
  };
}

function Events({ ctx }: { ctx: DataContext }) {
  const { ref, range, org } = ctx;
  const search = useSearch();
  const params = new URLSearchParams(search);
  const filters = Object.fromEntries(SERVER_FILTERS.map((k) => [k, params.get(k) ?? ''])) as Record<
    (typeof SERVER_FILTERS)[number],
    string
  >;
  const text = params.get('text') ?? '';
  const { setAbsolute } = useTimeRange();
  const { data, error, loading, reload } = useLoad(
    () =>
      clusterData.events(ref, {
        start: range.start,
        end: range.end,
        limit: LIMIT,
        type: filters.type || undefined,
        namespace: filters.namespace || undefined,
        kind: filters.kind || undefined,
        reason: filters.reason || undefined,
      }),
    `${ref.clusterId}|${range.key}|${SERVER_FILTERS.map((k) => filters[k]).join('|')}`,
  );
  // The choices come from an unfiltered read of the same range, so a filter can be changed without clearing it.
  const choices = useLoad(
    () => clusterData.events(ref, { start: range.start, end: range.end, limit: LIMIT }),
    `${ref.clusterId}|${range.key}`,
  );
  const options = useMemo(() => {
    const all = choices.data?.events ?? [];
    const uniq = (f: (e: KubeEvent) => string) => [...new Set(all.map(f).filter(Boolean))].sort();
    return { namespace: uniq((e) => e.namespace), kind: uniq((e) => e.kind), reason: uniq((e) => e.reason) };
  }, [choices.data]);
  const events = useMemo(() => {
    const needle = text.trim().toLowerCase();
    const all = data?.events ?? [];
    if (!needle) return all;
    return all.filter((e) => `${e.objectName} ${e.message} ${e.reason}`.toLowerCase().includes(needle));
  }, [data, text]);
  const chart = useMemo(() => histogram(events, range), [events, range]);
  const warnings = events.filter((e) => e.type === 'Warning').length;
  const filtered = SERVER_FILTERS.some((k) => filters[k]) || text !== '';

  const select = (key: 'type' | 'namespace' | 'kind' | 'reason', label: string, values: string[]) => (
    <label className="field-inline">
      <span className="sr-only">{label}</span>
      <select
        aria-label={label}
        value={filters[key]}
        onChange={(e) => setSearchParams({ [key]: e.target.value || null })}
      >
        <option value="">{`All ${label === 'Kind' ? 'kinds' : `${label.toLowerCase()}s`}`}</option>
        {values.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <>
      <div className="filters">
        {select('type', 'Type', ['Warning', 'Normal'])}
        {select('namespace', 'Namespace', options.namespace)}
        {select('kind', 'Kind', options.kind)}
        {select('reason', 'Reason', options.reason)}
        <label className="field-inline grow">
          <span className="sr-only">Search events</span>
          <input
            type="search"
            aria-label="Search events"
            placeholder="Search object, reason or message"
            value={text}
            onChange={(e) => setSearchParams({ text: e.target.value || null }, true)}
          />
        </label>
        {filtered ? (
          <button
            type="button"
            className="btn btn-ghost btn-sm"
            onClick={() =>
              setSearchParams({ type: null, namespace: null, kind: null, reason: null, text: null })
            }
          >
            Clear filters
          </button>
        ) : null}
      </div>
      <DataError error={error} onRetry={reload} />
      {loading && !data ? <TableSkeleton rows={8} label="Loading events" /> : null}
      {data && (data.events.length > 0 || filtered) ? (
        <section className="card chart-card" aria-labelledby="events-chart-h">
          <div className="section-head">
            <h3 id="events-chart-h">Events over time</h3>
            <span className="muted count-note" aria-live="polite">
              {events.length === LIMIT ? `newest ${LIMIT}` : plural(events.length, 'event')},{' '}
              {plural(warnings, 'warning')}
            </span>
          </div>
          <TimeSeriesChart
            title="Events over time"
            timestamps={chart.timestamps}
            series={chart.series}
            unit="count"
            kind="bars"
            stacked
            height={140}
            range={range}
            onSelectRange={setAbsolute}
            emptyText="No events match these filters."
          />
        </section>
      ) : null}
      {data && data.events.length === 0 && !filtered ? (
        <EmptyState icon="◷" title="No Kubernetes events in this time range">
          <p>
            Events tell what Kubernetes did to your workloads: scheduling, image pulls, restarts, failed
            probes, scaling. The Understory k8s-watcher stores them as they happen.
          </p>
          <p className="muted">A quiet cluster has few events; try a longer time range.</p>
        </EmptyState>
      ) : null}
      {events.length > 0 ? (
        <div className="card table-card">
          <table className="table data-table events-table" aria-label="Events">
            <thead>
              <tr>
                <th scope="col">Last seen</th>
                <th scope="col">Type</th>
                <th scope="col">Reason</th>
                <th scope="col">Object</th>
                <th scope="col">Message</th>
                <th scope="col" className="num">
                  Count
                </th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => {
                const last = Number(e.lastTimestampMs);
                return (
                  <tr
                    key={e.uid}
                    data-event-row={e.reason}
                    className={e.type === 'Warning' ? 'event-warning' : undefined}
                  >
                    <td title={new Date(last).toLocaleString()}>
                      <div>{relativeTime(last)}</div>
                      <div className="muted cell-sub">{formatTime(last, range.end - range.start)}</div>
                    </td>
                    <td>
                      <span className={e.type === 'Warning' ? 'badge badge-pending' : 'badge badge-neutral'}>
                        {e.type}
                      </span>
                    </td>
                    <td className="strong">{e.reason}</td>
                    <td>
                      <div className="mono">
                        {e.kind}/{e.objectName}
                      </div>
                      <div className="muted cell-sub">
                        {e.objectNamespace || e.namespace}
                        {e.workload ? (
                          <>
                            {' · '}
                            <a
                              href={withSharedParams(servicePath(org.slug, e.namespace, e.workload), search)}
                              onClick={linkClick}
                            >
                              {e.workload}
                            </a>
                          </>
                        ) : null}
                      </div>
                    </td>
                    <td className="cell-wrap event-message">
                      {e.message}
                      {e.source ? (
                        <div className="muted cell-sub">
                          {[e.source, e.host].filter(Boolean).join(' on ')}
                        </div>
                      ) : null}
                    </td>
                    <td className="num">{e.count > 1 ? `×${e.count}` : '1'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {data && events.length === 0 && filtered ? (
        <EmptyState
          icon="⌕"
          title="No event matches these filters"
          action={
            <button
              type="button"
              className="btn btn-secondary"
              onClick={() =>
                setSearchParams({ type: null, namespace: null, kind: null, reason: null, text: null })
              }
            >
              Clear filters
            </button>
          }
        >
          Try fewer filters or a longer time range.
        </EmptyState>
      ) : null}
    </>
  );
}
