/** The data pages arrive with the cluster tunnel; until then each says what it will show and what to do. */
import type { OrgRef } from '../api.ts';
import { linkClick } from '../router.ts';
import { EmptyState } from '../ui.tsx';

export const PLACEHOLDERS: Record<string, { title: string; icon: string; what: string }> = {
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

export function PlaceholderPage({ page, org }: { page: string; org: OrgRef }) {
  const p = PLACEHOLDERS[page];
  if (!p) {
    return (
      <EmptyState icon="?" title="Page not found">
        There is no page called “{page}”.
      </EmptyState>
    );
  }
  return (
    <EmptyState
      icon={p.icon}
      title={`${p.title} will appear here`}
      action={
        <a className="btn btn-primary" href={`/o/${org.slug}/clusters`} onClick={linkClick}>
          Connect a cluster
        </a>
      }
    >
      <p>{p.what}</p>
      <p className="muted">
        This data stays in your cluster and is read through the cluster's tunnel, which comes in the next
        release. Connect a cluster now so it is ready.
      </p>
    </EmptyState>
  );
}
