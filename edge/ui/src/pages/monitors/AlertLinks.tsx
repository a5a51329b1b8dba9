/**
 * Where to look next from an alert: the service page of the workload it names, and for SQL monitors over logs,
 * traces or events the matching rows on that page (the monitor's filter narrowed to the alert's group). Links
 * keep the cluster and the time range.
 */
import type { OrgRef } from '../../api.ts';
import { linkClick, withSharedParams } from '../../router.ts';
import { quoteValue } from '../logs/querySuggest.ts';
import { servicePath } from '../services/ServicesPage.tsx';
import type { Monitor } from './monitorsApi.ts';

/** The logs query field for a SQL monitor's group-by field (the same names in the logs language). */
const LOG_FIELDS = new Set(['service', 'severity', 'namespace', 'pod', 'container', 'node', 'host']);

export function AlertLinks(props: { org: OrgRef; monitor: Monitor; labels: Record<string, string> }) {
  const { org, monitor, labels } = props;
  const links: { href: string; label: string }[] = [];
  if (labels.namespace && labels.workload)
    links.push({
      href: withSharedParams(servicePath(org.slug, labels.namespace, labels.workload)),
      label: `Service ${labels.workload}`,
    });
  const c = monitor.condition;
  if (c.type === 'sql' && c.source === 'logs') {
    const group = c.groupBy && LOG_FIELDS.has(c.groupBy) ? labels[c.groupBy] : undefined;
    const q = [c.filter, group ? `${c.groupBy}:${quoteValue(group)}` : ''].filter(Boolean).join(' ');
    links.push({ href: withSharedParams(`/o/${org.slug}/logs?q=${encodeURIComponent(q)}`), label: 'Logs' });
  }
  if (c.type === 'sql' && c.source === 'events') {
    // The Events page filters by reason and searches object names: enough to land on the alert's events.
    const qs = new URLSearchParams();
    const reason = /(?:^|\s)attr\.reason:"?([A-Za-z]+)"?/.exec(c.filter)?.[1];
    if (reason) qs.set('reason', reason);
    if (labels.name) qs.set('text', labels.name);
    links.push({ href: withSharedParams(`/o/${org.slug}/events?${qs}`), label: 'Events' });
  }
  return (
    <>
      {links.map((l) => (
        <a key={l.href} className="btn btn-ghost btn-sm" href={l.href} onClick={linkClick}>
          {l.label} →
        </a>
      ))}
    </>
  );
}
