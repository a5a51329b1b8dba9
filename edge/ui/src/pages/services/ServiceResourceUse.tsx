/**
 * CPU and memory of one workload over the page's range, one line per pod, from the sensor's container
 * metrics (sensor/pipeline/README.md, "Resource metrics": cAdvisor's names, labelled namespace, pod,
 * workload, container). Summed over a pod's containers; the memory is the working set (what the kernel would
 * not reclaim, the figure the OOM killer and `kubectl top` look at).
 */
import { useMemo } from 'react';
import { TimeSeriesChart } from '../../charts/TimeSeriesChart.tsx';
import type { ClusterRef, PromLabels } from '../../clusterApi.ts';
import { type TimeRange, useTimeRange } from '../../timeRange.ts';
import { usePromRange } from '../../usePromRange.ts';
import { rateWindowS } from './redPromQL.ts';

export const CPU_METRIC = 'container_cpu_usage_seconds_total';
export const MEMORY_METRIC = 'container_memory_working_set_bytes';

/** PromQL for a workload's CPU (cores) and memory (bytes) per pod; values quoted as PromQL strings. */
export function resourceQueries(namespace: string, workload: string, windowS: number) {
  const sel = `{namespace=${JSON.stringify(namespace)}, workload=${JSON.stringify(workload)}}`;
  const w = `[${Math.max(1, Math.round(windowS))}s]`;
  return {
    cpu: `sum by (pod) (rate(${CPU_METRIC}${sel}${w}))`,
    memory: `sum by (pod) (${MEMORY_METRIC}${sel})`,
  };
}

const podLabel = (l: PromLabels) => l.pod ?? 'all pods';

export function ServiceResourceUse({
  cluster,
  range,
  namespace,
  workload,
}: {
  cluster: ClusterRef;
  range: TimeRange;
  namespace: string;
  workload: string;
}) {
  const { setAbsolute } = useTimeRange();
  const exprs = useMemo(() => {
    const q = resourceQueries(namespace, workload, rateWindowS((range.end - range.start) / 120));
    return [q.cpu, q.memory];
  }, [namespace, workload, range.start, range.end]);
  const res = usePromRange(cluster, range, exprs, podLabel);
  const [cpu, memory] = res.aligned ?? [];
  const props = { range, loading: res.loading, error: res.error, onSelectRange: setAbsolute };
  const emptyText =
    'No resource metrics for this workload: the sensor sends them when resources.intervalMs is set.';
  return (
    <section className="section" aria-labelledby="resource-use-h">
      <h2 id="resource-use-h">CPU and memory</h2>
      <div className="chart-grid chart-grid-2">
        <section className="card chart-card" aria-labelledby="c-cpu" data-testid="chart-cpu">
          <h3 id="c-cpu">CPU by pod</h3>
          <TimeSeriesChart
            title="CPU by pod"
            timestamps={cpu?.timestamps ?? []}
            series={cpu?.series ?? []}
            unit="cores"
            kind="area"
            stacked
            legend
            emptyText={emptyText}
            {...props}
          />
        </section>
        <section className="card chart-card" aria-labelledby="c-memory" data-testid="chart-memory">
          <h3 id="c-memory">Memory (working set) by pod</h3>
          <TimeSeriesChart
            title="Memory by pod"
            timestamps={memory?.timestamps ?? []}
            series={memory?.series ?? []}
            unit="bytes"
            kind="area"
            stacked
            legend
            emptyText={emptyText}
            {...props}
          />
        </section>
      </div>
    </section>
  );
}
