/**
 * A service's resources (method + templated route, query or topic): RED per resource in a sortable table
 * with a request-rate trend each, and request rate and p95 latency by resource over time. Choosing a row
 * puts `method` + `resource` in the URL, which focuses the service's charts on it.
 */
import { useMemo } from 'react';
import { Sparkline } from '../../charts/Sparkline.tsx';
import { TimeSeriesChart } from '../../charts/TimeSeriesChart.tsx';
import { clusterData, type ServiceResource } from '../../clusterApi.ts';
import { type DataContext, DataError } from '../../DataPage.tsx';
import { setSearchParams } from '../../router.ts';
import { compareBy, useSort } from '../../sortableTable.tsx';
import { useTimeRange } from '../../timeRange.ts';
import { EmptyState, Spinner } from '../../ui.tsx';
import { useLoad } from '../../useLoad.ts';
import { usePromRange } from '../../usePromRange.ts';
import { ErrorRateCell, LatencyCell, RateCell, RED_KEYS, RedSortHeaders } from './redCells.tsx';
import { rateWindowS, redRangeQueries } from './redPromQL.ts';

const KEYS = ['resource', ...RED_KEYS] as const;
type Key = (typeof KEYS)[number];
const NO_VALUES: (number | null)[] = [];
const NO_TIMES: number[] = [];
/** Resources drawn in the by-resource charts (the busiest); the table lists all. */
const CHART_RESOURCES = 8;

const resourceLabel = (l: Record<string, string>) => `${l.method ?? ''} ${l.resource ?? ''}`.trim();

export function ServiceResources({
  ctx,
  namespace,
  workload,
  selected,
}: {
  ctx: DataContext;
  namespace: string;
  workload: string;
  selected: { method: string; resource: string } | null;
}) {
  const { ref, range } = ctx;
  const { setAbsolute } = useTimeRange();
  const { sort, setSort } = useSort<Key>('rsort', KEYS, { key: 'requestRate', desc: true }, ['resource']);
  const list = useLoad(
    () => clusterData.resources(ref, range, namespace, workload),
    `${ref.clusterId}|${range.key}|${namespace}|${workload}`,
  );
  const queries = useMemo(() => {
    const q = redRangeQueries(
      'server',
      { namespace, workload },
      ['method', 'resource'],
      rateWindowS((range.end - range.start) / 60),
    );
    return [
      q.requests,
      // p95 of the same busiest resources: the join keeps only those present in the first set.
      `${q.p95} and on (method, resource) topk(${CHART_RESOURCES}, ${q.requests})`,
    ];
  }, [namespace, workload, range.start, range.end]);
  const byResource = usePromRange(ctx.ref, range, queries, resourceLabel, 60);
  const trends = useMemo(
    () => new Map(byResource.aligned?.[0]?.series.map((s) => [s.label, s.values]) ?? []),
    [byResource.aligned],
  );
  const rows = useMemo(
    () =>
      [...(list.data?.resources ?? [])].sort(
        compareBy((r: ServiceResource) => (sort.key === 'resource' ? r.resource : r[sort.key]), sort.desc),
      ),
    [list.data, sort.key, sort.desc],
  );
  const requestsAll = byResource.aligned?.[0];
  const requestsChart = useMemo(() => {
    if (!requestsAll) return undefined;
    const total = (v: (number | null)[]) => v.reduce<number>((a, x) => a + (x ?? 0), 0);
    const busiest = [...requestsAll.series].sort((a, b) => total(b.values) - total(a.values));
    return { timestamps: requestsAll.timestamps, series: busiest.slice(0, CHART_RESOURCES) };
  }, [requestsAll]);
  const latencyChart = byResource.aligned?.[1];

  return (
    <section className="section" aria-labelledby="resources-h">
      <div className="section-head">
        <h2 id="resources-h">Resources</h2>
        <span className="muted">Choose a resource to focus the charts above on it.</span>
      </div>
      <DataError error={list.error || byResource.error} onRetry={list.reload} />
      {list.loading && !list.data ? <Spinner label="Loading resources" /> : null}
      {list.data && rows.length === 0 ? (
        <EmptyState icon="≡" title="No requests in this time range">
          This service received no requests the sensor could attribute to a route, query or topic.
        </EmptyState>
      ) : null}
      {rows.length > 0 ? (
        <>
          <div className="chart-grid chart-grid-2">
            <section className="card chart-card" aria-labelledby="c-res-req">
              <h3 id="c-res-req">Requests by resource</h3>
              <TimeSeriesChart
                title="Requests by resource"
                timestamps={requestsChart?.timestamps ?? []}
                series={requestsChart?.series ?? []}
                unit="reqps"
                range={range}
                loading={byResource.loading}
                onSelectRange={setAbsolute}
              />
            </section>
            <section className="card chart-card" aria-labelledby="c-res-p95">
              <h3 id="c-res-p95">p95 latency by resource</h3>
              <TimeSeriesChart
                title="p95 latency by resource"
                timestamps={latencyChart?.timestamps ?? []}
                series={latencyChart?.series ?? []}
                unit="seconds"
                range={range}
                loading={byResource.loading}
                onSelectRange={setAbsolute}
              />
            </section>
          </div>
          <div className="card table-card">
            <table className="table data-table" aria-label="Resources">
              <thead>
                <RedSortHeaders nameKey="resource" name="Resource" sort={sort} onSort={setSort} />
              </thead>
              <tbody>
                {rows.map((r) => {
                  const isSel = selected?.method === r.method && selected?.resource === r.resource;
                  const label = `${r.method} ${r.resource}`;
                  return (
                    <tr
                      key={`${r.protocol} ${label}`}
                      className={isSel ? 'row-selected' : undefined}
                      data-resource-row={label}
                    >
                      <td className="cell-wrap">
                        <button
                          type="button"
                          className="link-button"
                          aria-pressed={isSel}
                          onClick={() =>
                            setSearchParams(
                              isSel
                                ? { method: null, resource: null }
                                : { method: r.method, resource: r.resource },
                            )
                          }
                        >
                          <span className="method-chip">{r.method}</span>
                          <span className="mono">{r.resource}</span>
                        </button>
                        <span className="proto-chip">{r.protocol}</span>
                      </td>
                      <RateCell value={r.requestRate} />
                      <td className="spark-cell">
                        <Sparkline
                          timestamps={requestsAll?.timestamps ?? NO_TIMES}
                          values={trends.get(label) ?? NO_VALUES}
                          range={range}
                          label={`request rate of ${label}`}
                        />
                      </td>
                      <ErrorRateCell value={r.errorRate} />
                      <LatencyCell value={r.p50} />
                      <LatencyCell value={r.p95} />
                      <LatencyCell value={r.p99} />
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </section>
  );
}
