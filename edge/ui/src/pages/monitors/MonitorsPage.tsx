/**
 * Monitors and alerts of a cluster (issue 12): the list with live state, ready-made monitors turned on in one
 * click, the PromQL/SQL editor with a live preview, a monitor's alerts and timeline, alert history,
 * notification targets and silences. Everything is in the URL:
 *   /o/<org>/monitors                 the list (q, state, severity, template filters)
 *   /o/<org>/monitors/new             a new monitor (type=promql|sql)
 *   /o/<org>/monitors/m/<id>[/edit]   one monitor, its editor
 *   /o/<org>/monitors/history | targets | silences
 * Viewers see everything read-only (no change controls at all); editors and above change things. The edge
 * enforces the same (edge/src/routes/monitors.ts): hiding the buttons is for the reader, not for security.
 */
import type { ReactNode } from 'react';
import type { OrgRef } from '../../api.ts';
import { type DataContext, DataPage } from '../../DataPage.tsx';
import { linkClick, useSearch, withSharedParams } from '../../router.ts';
import type { PageProps } from '../../Shell.tsx';
import { AlertHistoryView } from './AlertHistoryView.tsx';
import { MonitorDetail } from './MonitorDetail.tsx';
import { MonitorEditor } from './MonitorEditor.tsx';
import { MonitorList } from './MonitorList.tsx';
import { SilencesView } from './SilencesView.tsx';
import { TargetsView } from './TargetsView.tsx';
import './monitors.css';

/** Editors, admins and owners change monitors; viewers read. */
export const canEdit = (org: OrgRef) => org.role !== 'viewer';

/** Link to a monitors view, keeping the cluster and the time range. */
export const monitorsPath = (org: OrgRef, sub = '') =>
  withSharedParams(`/o/${org.slug}/monitors${sub ? `/${sub}` : ''}`);

const TABS = [
  { sub: '', label: 'Monitors' },
  { sub: 'history', label: 'Alert history' },
  { sub: 'targets', label: 'Notification targets' },
  { sub: 'silences', label: 'Silences' },
];

export function MonitorsPage({ org, rest }: PageProps) {
  useSearch(); // re-render links on query changes
  const [first = '', second, third] = rest;
  const tab = first === 'm' || first === 'new' ? '' : first;
  return (
    <DataPage org={org}>
      {(ctx) => (
        <>
          <nav className="mon-tabs" aria-label="Monitors sections">
            {TABS.map((t) => (
              <a
                key={t.sub}
                href={monitorsPath(org, t.sub)}
                onClick={linkClick}
                className={t.sub === tab ? 'mon-tab active' : 'mon-tab'}
                aria-current={t.sub === tab ? 'page' : undefined}
              >
                {t.label}
              </a>
            ))}
          </nav>
          {!canEdit(org) ? (
            <div className="mon-readonly muted" role="note">
              You have view access: monitors, alerts and silences are read-only. Editors and admins can change
              them.
            </div>
          ) : null}
          {view(ctx, first, second, third)}
        </>
      )}
    </DataPage>
  );
}

function view(ctx: DataContext, first: string, second?: string, third?: string): ReactNode {
  if (first === 'm' && second) {
    return third === 'edit' ? (
      <MonitorEditor ctx={ctx} monitorId={second} key={`edit-${second}`} />
    ) : (
      <MonitorDetail ctx={ctx} monitorId={second} key={second} />
    );
  }
  if (first === 'new') return <MonitorEditor ctx={ctx} key="new" />;
  if (first === 'history') return <AlertHistoryView ctx={ctx} />;
  if (first === 'targets') return <TargetsView ctx={ctx} />;
  if (first === 'silences') return <SilencesView ctx={ctx} />;
  return <MonitorList ctx={ctx} />;
}
