/** A page that is named in the navigation but not built yet, or a path that names no page. */
import { EmptyState } from '../ui.tsx';

const PLANNED: Record<string, { title: string; icon: string; what: string }> = {
  services: {
    title: 'Services',
    icon: '◎',
    what: 'Every workload with its request rate, error rate and latency percentiles.',
  },
  map: {
    title: 'Service map',
    icon: '⬡',
    what: 'Workloads as nodes and their calls as edges, with RED figures.',
  },
  traces: {
    title: 'Traces',
    icon: '≡',
    what: 'Search requests and open their span waterfall, headers and bodies.',
  },
  logs: { title: 'Logs', icon: '¶', what: 'Query, histogram and live tail of the logs of your workloads.' },
  metrics: { title: 'Metrics', icon: '∿', what: 'A PromQL explorer over the metrics your cluster keeps.' },
  events: { title: 'Events', icon: '◷', what: 'Kubernetes events of your cluster, filterable.' },
};

export function PlaceholderPage({ page }: { page: string }) {
  const p = PLANNED[page];
  if (!p) {
    return (
      <EmptyState icon="?" title="Page not found">
        There is no page called “{page}”.
      </EmptyState>
    );
  }
  return (
    <EmptyState icon={p.icon} title={`${p.title} is coming soon`}>
      <p>{p.what}</p>
    </EmptyState>
  );
}
