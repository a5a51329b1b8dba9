/**
 * Runs several PromQL range queries over the page's time range in parallel and aligns each result for the
 * charts. Reloads when the cluster, the range (or a refresh) or the expressions change, and after a passing
 * error (useAutoRetry).
 */
import { useMemo } from 'react';
import { type AlignedSeries, alignMatrix, seriesLabel } from './charts/promSeries.ts';
import { type ClusterRef, type PromLabels, type PromMatrix, promApi } from './clusterApi.ts';
import { useAutoRetry } from './DataPage.tsx';
import { stepMs, type TimeRange } from './timeRange.ts';
import { useLoad } from './useLoad.ts';

export function usePromRange(
  ref: ClusterRef,
  range: TimeRange,
  exprs: string[],
  label: (labels: PromLabels) => string = seriesLabel,
  points = 120,
) {
  const step = stepMs(range, points);
  const key = `${ref.clusterId}|${range.key}|${step}|${exprs.join('\n')}`;
  const load = useLoad(
    () =>
      Promise.all(
        exprs.map(async (e) => {
          const { data } = await promApi.queryRange(ref, e, range.start, range.end, step);
          return data.resultType === 'matrix' ? data.result : ([] as PromMatrix);
        }),
      ),
    key,
  );
  // The charts show their error in place; a passing one (portal reconnecting) is retried by itself.
  useAutoRetry(load.error, load.reload);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `label` is a formatting choice fixed per call site
  const aligned = useMemo<AlignedSeries[] | undefined>(
    () => load.data?.map((m) => alignMatrix(m, step, label)),
    [load.data, step],
  );
  return { ...load, aligned, step };
}
