import type { QueryParams, RedFigures, ServiceEdge, ServiceNode } from '../../lib/tunnel/index.ts';
import type { VictoriaMetricsClient } from './prometheus.ts';
import { jsonAnswer, type QueryAnswer, type QueryContext, QueryError } from './query.ts';
import { type RedSelection, redQueries } from './redQueries.ts';
import { checkRange } from './timeRange.ts';

type Keyed<T> = Map<string, { labels: Record<string, string> } & T>;

/**
 * Runs the RED queries of one selection and joins them per group. Error rate is the share of requests that
 * failed (0..1); rates are per second over the selected range; latencies in seconds.
 */
async function red(vm: VictoriaMetricsClient, s: RedSelection, atMs: number, signal: AbortSignal) {
  const q = redQueries(s);
  let results: Awaited<ReturnType<VictoriaMetricsClient['instantVector']>>[];
  try {
    results = await Promise.all(
      [q.requests, q.errors, ...q.quantiles.map((x) => x.query)].map((x) =>
        vm.instantVector(x, atMs, signal),
      ),
    );
  } catch (err) {
    if (err instanceof QueryError || signal.aborted) throw err;
    throw new QueryError('unavailable', (err as Error).message);
  }
  const [requests = [], errors = [], p50 = [], p95 = [], p99 = []] = results;
  const key = (m: Record<string, string>) => s.by.map((l) => m[l] ?? '').join('\u0000');
  const out: Keyed<RedFigures> = new Map();
  for (const r of requests) {
    const labels = Object.fromEntries(s.by.map((l) => [l, r.metric[l] ?? '']));
    out.set(key(r.metric), {
      labels,
      requestRate: num(r.value[1]),
      errorRate: 0,
      p50: null,
      p95: null,
      p99: null,
    });
  }
  const fill = (samples: typeof requests, set: (f: RedFigures, v: number | null) => void) => {
    for (const sample of samples) {
      const f = out.get(key(sample.metric));
      if (f) set(f, num(sample.value[1]));
    }
  };
  fill(errors, (f, v) => {
    f.errorRate = f.requestRate && v !== null ? v / f.requestRate : 0;
  });
  fill(p50, (f, v) => {
    f.p50 = v;
  });
  fill(p95, (f, v) => {
    f.p95 = v;
  });
  fill(p99, (f, v) => {
    f.p99 = v;
  });
  return out;
}

function num(v: string): number | null {
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

const figures = ({ requestRate, errorRate, p50, p95, p99 }: RedFigures): RedFigures => ({
  requestRate,
  errorRate,
  p50,
  p95,
  p99,
});

/** `services.list`: every workload that received requests, with its RED figures. */
export function servicesListHandler(vm: VictoriaMetricsClient, maxRangeMs: number) {
  return async (p: QueryParams<'services.list'>, ctx: QueryContext): Promise<QueryAnswer> => {
    checkRange(p, maxRangeMs);
    const where: Record<string, string> = p.namespace ? { namespace: p.namespace } : {};
    const rows = await red(
      vm,
      { side: 'server', by: ['namespace', 'workload'], where, windowS: (p.end - p.start) / 1000 },
      p.end,
      ctx.signal,
    );
    const services: ServiceNode[] = [...rows.values()]
      .map((r) => ({ namespace: r.labels.namespace ?? '', workload: r.labels.workload ?? '', ...figures(r) }))
      .sort((a, b) => (b.requestRate ?? 0) - (a.requestRate ?? 0));
    return jsonAnswer({ services });
  };
}

/** `services.resources`: one workload's RED figures per method and resource. */
export function serviceResourcesHandler(vm: VictoriaMetricsClient, maxRangeMs: number) {
  return async (p: QueryParams<'services.resources'>, ctx: QueryContext): Promise<QueryAnswer> => {
    checkRange(p, maxRangeMs);
    const rows = await red(
      vm,
      {
        side: 'server',
        by: ['protocol', 'method', 'resource'],
        where: { namespace: p.namespace, workload: p.workload },
        windowS: (p.end - p.start) / 1000,
      },
      p.end,
      ctx.signal,
    );
    const resources = [...rows.values()]
      .map((r) => ({ ...r.labels, ...figures(r) }))
      .sort((a, b) => (b.requestRate ?? 0) - (a.requestRate ?? 0));
    return jsonAnswer({ namespace: p.namespace, workload: p.workload, resources });
  };
}

/**
 * `services.map`: nodes are workloads (with their server-side RED) plus peers seen only as call targets
 * (external: databases, other clusters, DNS names); edges are client calls per caller, peer and protocol.
 */
export function serviceMapHandler(vm: VictoriaMetricsClient, maxRangeMs: number) {
  return async (p: QueryParams<'services.map'>, ctx: QueryContext): Promise<QueryAnswer> => {
    checkRange(p, maxRangeMs);
    const where: Record<string, string> = p.namespace ? { namespace: p.namespace } : {};
    const windowS = (p.end - p.start) / 1000;
    const [servers, calls] = await Promise.all([
      red(vm, { side: 'server', by: ['namespace', 'workload'], where, windowS }, p.end, ctx.signal),
      red(
        vm,
        { side: 'client', by: ['namespace', 'workload', 'peer', 'protocol'], where, windowS },
        p.end,
        ctx.signal,
      ),
    ]);
    const nodes = new Map<string, ServiceNode & { external: boolean }>();
    for (const r of servers.values()) {
      const n = { namespace: r.labels.namespace ?? '', workload: r.labels.workload ?? '' };
      nodes.set(n.workload, { ...n, ...figures(r), external: false });
    }
    const edges: ServiceEdge[] = [];
    for (const r of calls.values()) {
      const source = { namespace: r.labels.namespace ?? '', workload: r.labels.workload ?? '' };
      const target = r.labels.peer ?? '';
      edges.push({ source, target, protocol: r.labels.protocol ?? '', ...figures(r) });
      if (!nodes.has(source.workload))
        nodes.set(source.workload, {
          ...source,
          requestRate: null,
          errorRate: null,
          p50: null,
          p95: null,
          p99: null,
          external: false,
        });
      if (!nodes.has(target))
        nodes.set(target, {
          namespace: '',
          workload: target,
          requestRate: null,
          errorRate: null,
          p50: null,
          p95: null,
          p99: null,
          external: true,
        });
    }
    return jsonAnswer({ nodes: [...nodes.values()], edges });
  };
}
