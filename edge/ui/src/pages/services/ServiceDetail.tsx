/**
 * One service: its RED figures, RED charts over time (for the whole service or the resource chosen in the
 * table below, `method` + `resource` in the URL), CPU and memory per pod, its resources, the slowest and failing calls (sampled
 * traces) and its peers (the service map's edges in and out).
 */
import { useMemo } from 'react';
import { formatDuration, formatPercent, formatRate } from '../../charts/format.ts';
import { RED_COLORS } from '../../charts/palette.ts';
import { TimeSeriesChart } from '../../charts/TimeSeriesChart.tsx';
import { clusterData } from '../../clusterApi.ts';
import { type DataContext, DataError } from '../../DataPage.tsx';
import { linkClick, setSearchParams, useSearch, withSharedParams } from '../../router.ts';
import { useTimeRange } from '../../timeRange.ts';
import { Spinner } from '../../ui.tsx';
import { useLoad } from '../../useLoad.ts';
import { usePromRange } from '../../usePromRange.ts';
import { errorClass, Tile } from './redCells.tsx';
import { rateWindowS, redRangeQueries } from './redPromQL.ts';
import { ServiceCalls } from './ServiceCalls.tsx';
import { ServicePeers } from './ServicePeers.tsx';
import { ServiceResources } from './ServiceResources.tsx';
import { ServiceResourceUse } from './ServiceResourceUse.tsx';

export function ServiceDetail({
  ctx,
  namespace,
  workload,
}: {
  ctx: DataContext;
  namespace: string;
  workload: string;
}) {
  const { ref, range, org } = ctx;
  const search = useSearch();
  const params = new URLSearchParams(search);
  const method = params.get('method');
  const resource = params.get('resource');
  const { setAbsolute } = useTimeRange();

  const summary = useLoad(
    () => clusterData.services(ref, range, namespace),
    `${ref.clusterId}|${range.key}|${namespace}`,
  );
  const me = summary.data?.services.find((s) => s.workload === workload) ?? null;

  const queries = useMemo(() => {
    const where: Record<string, string> = { namespace, workload };
    if (method && resource) Object.assign(where, { method, resource });
    const q = redRangeQueries('server', where, [], rateWindowS((range.end - range.start) / 120));
    return [q.requests, q.errors, q.errorRate, q.p50, q.p95, q.p99];
  }, [namespace, workload, method, resource, range.start, range.end]);
  const red = usePromRange(ref, range, queries);
  const charts = useMemo(() => {
    const a = red.aligned;
    if (!a) return null;
    // All queries share the step; the longest grid holds every series (a series may start later).
    const grid = a.reduce((g, x) => (x.timestamps.length > g.length ? x.timestamps : g), [] as number[]);
    const col = (i: number) => {
      const x = a[i];
      const s = x?.series[0];
      if (!x || !s || x.timestamps.length === 0) return grid.map(() => null);
      const offset = grid.indexOf(x.timestamps[0]!);
      return grid.map((_, j) => (j - offset >= 0 ? (s.values[j - offset] ?? null) : null));
    };
    return {
      grid,
      traffic: [
        { label: 'Requests', values: col(0), color: RED_COLORS.requests },
        { label: 'Errors', values: col(1), color: RED_COLORS.errors },
      ],
      errors: [{ label: 'Error rate', values: col(2), color: RED_COLORS.errors }],
      latency: [
        { label: 'p50', values: col(3), color: RED_COLORS.p50 },
        { label: 'p95', values: col(4), color: RED_COLORS.p95 },
        { label: 'p99', values: col(5), color: RED_COLORS.p99 },
      ],
    };
  }, [red.aligned]);

  const back = withSharedParams(`/o/${org.slug}/services`, search);
  const chartProps = { range, loading: red.loading, error: red.error, onSelectRange: setAbsolute };
  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <a href={back} onClick={linkClick}>
          Services
        </a>
        <span aria-hidden="true">/</span>
        <span className="muted">{namespace}</span>
        <span aria-hidden="true">/</span>
        <h2 className="breadcrumb-current">{workload}</h2>
      </nav>
      <DataError error={summary.error} onRetry={summary.reload} />
      {summary.loading && !summary.data ? <Spinner label="Loading figures" /> : null}
      {summary.data ? (
        <div className="tiles">
          <Tile
            label="Requests"
            value={formatRate(me?.requestRate ?? null)}
            hint={me ? 'per second' : 'no requests received'}
          />
          <Tile
            label="Errors"
            value={formatPercent(me?.errorRate ?? null)}
            tone={errorClass(me?.errorRate ?? null).includes('bad') ? 'bad' : undefined}
            hint="of requests failed"
          />
          <Tile label="p50" value={formatDuration(me?.p50 ?? null)} hint="median latency" />
          <Tile label="p95" value={formatDuration(me?.p95 ?? null)} />
          <Tile label="p99" value={formatDuration(me?.p99 ?? null)} />
        </div>
      ) : null}
      {method && resource ? (
        <div className="selection-bar" role="status">
          Charts show <span className="mono strong">{`${method} ${resource}`}</span>
          <button
            type="button"
            className="btn btn-ghost btn-sm"
            onClick={() => setSearchParams({ method: null, resource: null })}
          >
            Show the whole service
          </button>
        </div>
      ) : null}
      <div className="chart-grid">
        <section className="card chart-card" aria-labelledby="c-traffic">
          <h3 id="c-traffic">Requests and errors</h3>
          <TimeSeriesChart
            title="Requests and errors"
            timestamps={charts?.grid ?? []}
            series={charts?.traffic ?? []}
            unit="reqps"
            kind="area"
            {...chartProps}
          />
        </section>
        <section className="card chart-card" aria-labelledby="c-errors">
          <h3 id="c-errors">Error rate</h3>
          <TimeSeriesChart
            title="Error rate"
            timestamps={charts?.grid ?? []}
            series={charts?.errors ?? []}
            unit="ratio"
            kind="area"
            {...chartProps}
          />
        </section>
        <section className="card chart-card" aria-labelledby="c-latency">
          <h3 id="c-latency">Latency</h3>
          <TimeSeriesChart
            title="Latency"
            timestamps={charts?.grid ?? []}
            series={charts?.latency ?? []}
            unit="seconds"
            {...chartProps}
          />
        </section>
      </div>
      <ServiceResourceUse cluster={ref} range={range} namespace={namespace} workload={workload} />
      <ServiceResources
        ctx={ctx}
        namespace={namespace}
        workload={workload}
        selected={method && resource ? { method, resource } : null}
      />
      <ServiceCalls ctx={ctx} workload={workload} p95={me?.p95 ?? null} />
      <ServicePeers ctx={ctx} namespace={namespace} workload={workload} />
    </>
  );
}
