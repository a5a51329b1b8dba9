/**
 * Every workload that received requests in the range: request rate (with its trend), error rate and latency
 * percentiles; filter by text and namespace, sort by any column (both in the URL), open a service.
 */
import { useMemo } from 'react';
import { formatDuration, formatPercent, formatRate } from '../../charts/format.ts';
import { Sparkline } from '../../charts/Sparkline.tsx';
import { clusterData } from '../../clusterApi.ts';
import { type DataContext, DataError } from '../../DataPage.tsx';
import { linkClick, navigate, setSearchParams, useSearch, withSharedParams } from '../../router.ts';
import { compareBy, useSort } from '../../sortableTable.tsx';
import { useTimeRange } from '../../timeRange.ts';
import { EmptyState, TableSkeleton } from '../../ui.tsx';
import { useLoad } from '../../useLoad.ts';
import { usePromRange } from '../../usePromRange.ts';
import {
  ERROR_WARN,
  ErrorRateCell,
  LatencyCell,
  NamespaceSelect,
  RateCell,
  RED_KEYS,
  RedSortHeaders,
  Tile,
} from './redCells.tsx';
import { rateWindowS, redRangeQueries } from './redPromQL.ts';
import { servicePath } from './ServicesPage.tsx';

const KEYS = ['name', ...RED_KEYS] as const;
type Key = (typeof KEYS)[number];
const SPARK_POINTS = 40;

export function ServicesList({ ctx }: { ctx: DataContext }) {
  const { ref, range, org } = ctx;
  const search = useSearch();
  const params = new URLSearchParams(search);
  const text = params.get('q') ?? '';
  const ns = params.get('ns') ?? '';
  const { sort, setSort } = useSort<Key>('sort', KEYS, { key: 'requestRate', desc: true }, ['name']);
  const { setRange } = useTimeRange();

  const { data, error, loading, reload } = useLoad(
    () => clusterData.services(ref, range),
    `${ref.clusterId}|${range.key}`,
  );
  const sparkQuery = useMemo(() => {
    const window = rateWindowS((range.end - range.start) / SPARK_POINTS);
    return [redRangeQueries('server', {}, ['namespace', 'workload'], window).requests];
  }, [range.start, range.end]);
  const trend = usePromRange(
    ref,
    range,
    sparkQuery,
    (l) => `${l.namespace ?? ''}/${l.workload ?? ''}`,
    SPARK_POINTS,
  );
  const trendBy = useMemo(() => {
    const a = trend.aligned?.[0];
    return new Map(a?.series.map((s) => [s.label, s.values]) ?? []);
  }, [trend.aligned]);
  const timestamps = trend.aligned?.[0]?.timestamps ?? [];

  const services = data?.services ?? [];
  const namespaces = useMemo(() => [...new Set(services.map((s) => s.namespace))].sort(), [services]);
  const rows = useMemo(() => {
    const needle = text.trim().toLowerCase();
    return services
      .filter(
        (s) =>
          (!ns || s.namespace === ns) &&
          (!needle || `${s.namespace}/${s.workload}`.toLowerCase().includes(needle)),
      )
      .sort(compareBy((s) => (sort.key === 'name' ? s.workload : s[sort.key]), sort.desc));
  }, [services, text, ns, sort.key, sort.desc]);

  const totals = useMemo(() => {
    const req = services.reduce((a, s) => a + (s.requestRate ?? 0), 0);
    const err = services.reduce((a, s) => a + (s.requestRate ?? 0) * (s.errorRate ?? 0), 0);
    const failing = services.filter((s) => (s.errorRate ?? 0) >= ERROR_WARN).length;
    const slowest = services.reduce<(typeof services)[number] | null>(
      (a, s) => ((s.p95 ?? -1) > (a?.p95 ?? -1) ? s : a),
      null,
    );
    return { req, errRate: req > 0 ? err / req : null, failing, slowest };
  }, [services]);

  if (error && !data) return <DataError error={error} onRetry={reload} />;
  if (loading && !data) return <TableSkeleton label="Loading services" />;
  if (services.length === 0) {
    return (
      <EmptyState
        icon="◎"
        title="No traffic seen in this time range"
        action={
          range.from !== 'now-24h' ? (
            <button type="button" className="btn btn-secondary" onClick={() => setRange('now-24h', 'now')}>
              Look at the last 24 hours
            </button>
          ) : null
        }
      >
        <p>
          Services appear as soon as the Understory sensor sees a workload answer requests (HTTP, gRPC,
          databases, queues), without any change to your code.
        </p>
        <p className="muted">
          Check that the <code>understory-sensor</code> DaemonSet runs on your nodes, then send some traffic
          to your workloads. Figures arrive within a minute.
        </p>
      </EmptyState>
    );
  }

  const open = (namespace: string, workload: string) =>
    withSharedParams(servicePath(org.slug, namespace, workload), search);
  return (
    <>
      <div className="tiles">
        <Tile
          label="Services"
          value={String(services.length)}
          hint={namespaces.length === 1 ? 'in 1 namespace' : `in ${namespaces.length} namespaces`}
        />
        <Tile label="Requests" value={formatRate(totals.req)} hint="across all services" />
        <Tile
          label="Failed requests"
          value={formatPercent(totals.errRate)}
          tone={(totals.errRate ?? 0) >= ERROR_WARN ? 'bad' : undefined}
          hint={totals.failing ? `${totals.failing} services above 1%` : 'no service above 1%'}
        />
        <Tile
          label="Slowest p95"
          value={formatDuration(totals.slowest?.p95 ?? null)}
          hint={totals.slowest?.workload ?? ''}
        />
      </div>
      <div className="filters">
        <label className="field field-inline grow">
          <span className="sr-only">Filter services</span>
          <input
            type="search"
            placeholder="Filter by name or namespace"
            aria-label="Filter services"
            value={text}
            onChange={(e) => setSearchParams({ q: e.target.value || null }, true)}
          />
        </label>
        <NamespaceSelect value={ns} namespaces={namespaces} onChange={(v) => setSearchParams({ ns: v })} />
        <span className="muted filters-count" aria-live="polite">
          {rows.length === services.length
            ? `${services.length} services`
            : `${rows.length} of ${services.length}`}
        </span>
      </div>
      <DataError error={error || trend.error} onRetry={reload} />
      {rows.length === 0 ? (
        <EmptyState
          icon="⌕"
          title="No service matches these filters"
          action={
            <button
              type="button"
              className="btn btn-secondary"
              onClick={() => setSearchParams({ q: null, ns: null })}
            >
              Clear filters
            </button>
          }
        >
          Try another name, or all namespaces.
        </EmptyState>
      ) : (
        <div className="card table-card">
          <table className="table data-table" aria-label="Services">
            <thead>
              <RedSortHeaders nameKey="name" name="Service" sort={sort} onSort={setSort} />
            </thead>
            <tbody>
              {rows.map((s) => {
                const href = open(s.namespace, s.workload);
                return (
                  <tr
                    key={`${s.namespace}/${s.workload}`}
                    data-service-row={s.workload}
                    className="row-link"
                    onClick={(e) => {
                      if ((e.target as HTMLElement).closest('a')) return;
                      navigate(href);
                    }}
                  >
                    <td>
                      <a href={href} onClick={linkClick} className="service-name">
                        {s.workload}
                      </a>
                      <span className="ns-chip">{s.namespace}</span>
                    </td>
                    <RateCell value={s.requestRate} />
                    <td className="spark-cell">
                      <Sparkline
                        timestamps={timestamps}
                        values={trendBy.get(`${s.namespace}/${s.workload}`) ?? []}
                        range={range}
                        label={`request rate of ${s.workload}`}
                      />
                    </td>
                    <ErrorRateCell value={s.errorRate} />
                    <LatencyCell value={s.p50} />
                    <LatencyCell value={s.p95} />
                    <LatencyCell value={s.p99} />
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
