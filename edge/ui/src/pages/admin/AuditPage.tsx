/**
 * The audit log (admins): who did what, when, from where; newest first, filtered by area, person and outcome
 * (in the URL, so a filtered view can be shared), 50 entries a page with "Load older" (the API pages by id).
 * The first page is a read (`useLoad`, again on every filter change); "Load older" is an action (`useAction`:
 * busy, its error beside the button), and a page that arrives after the filters changed is dropped.
 */
import { useRef, useState } from 'react';
import { type AuditEntry, adminEndpoints, type Member, type OrgRef } from '../../api.ts';
import { setSearchParams, useSearch } from '../../router.ts';
import { EmptyState, ErrorNote, relativeTime, TableSkeleton } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';
import { useLoad } from '../../useLoad.ts';
import './admin.css';

const PAGE = 50;
const AREAS = [
  { value: '', label: 'All actions' },
  { value: 'user', label: 'Sign-in and accounts' },
  { value: 'sso', label: 'Single sign-on' },
  { value: 'member', label: 'Members' },
  { value: 'invitation', label: 'Invitations' },
  { value: 'token', label: 'API tokens' },
  { value: 'service_account', label: 'Service accounts' },
  { value: 'cluster', label: 'Clusters' },
  { value: 'org', label: 'Organization' },
  { value: 'monitor', label: 'Monitors' },
];

/** The first page of one view (`key`: the org and filters), and whether the API may have older entries. */
type FirstPage = { key: string; entries: AuditEntry[]; more: boolean };
/** Older pages, loaded after (and only shown with) the first page `after`. */
type OlderPages = { after: FirstPage; entries: AuditEntry[]; more: boolean };

export function AuditPage({ org, members }: { org: OrgRef; members: Member[] }) {
  const params = new URLSearchParams(useSearch());
  const filter = {
    action: params.get('action') ?? '',
    actor: params.get('actor') ?? '',
    outcome: params.get('outcome') ?? '',
  };
  const key = `${org.id}|${filter.action}|${filter.actor}|${filter.outcome}`;
  const first = useLoad<FirstPage>(async () => {
    const res = await adminEndpoints.audit(org.id, { ...filter, limit: PAGE });
    return { key, entries: res.entries, more: res.entries.length === PAGE };
  }, key);
  const [older, setOlder] = useState<OlderPages | null>(null);
  const loadingOlder = useAction();
  // The first page on screen now, for an older page that arrives later to check it still belongs.
  const current = first.data?.key === key ? first.data : null;
  const currentRef = useRef(current);
  currentRef.current = current;

  // While the first page of new filters loads, the previous view's first page stays, without older pages.
  const olderHere = current && older?.after === current ? older : null;
  const entries = first.data ? [...first.data.entries, ...(olderHere?.entries ?? [])] : null;
  const more = olderHere ? olderHere.more : (current?.more ?? false);
  const loadOlder = (after: FirstPage, before: number | undefined) =>
    loadingOlder.run(async () => {
      const res = await adminEndpoints.audit(org.id, { ...filter, limit: PAGE, before });
      // The filters changed (or the list was read again) while this page was on its way: it is not this list's.
      if (currentRef.current !== after) return;
      setOlder((o) => ({
        after,
        entries: [...(o?.after === after ? o.entries : []), ...res.entries],
        more: res.entries.length === PAGE,
      }));
    });

  const names = new Map(members.map((m) => [m.userId, m.name]));
  const who = (actor: string) => {
    const [kind, id = ''] = actor.split(':', 2);
    if (kind === 'user') return names.get(id) ?? 'former member';
    if (kind === 'token') return `API token ${id.slice(-6)}`;
    return actor;
  };
  const filtered = filter.action || filter.actor || filter.outcome;
  const set = (k: string, v: string) => setSearchParams({ [k]: v || null });
  return (
    <div className="page">
      <div className="page-head">
        <p className="muted">Security-relevant changes and sign-ins in {org.name}, newest first.</p>
      </div>
      <section className="audit-filters" aria-label="Filter the audit log">
        <label className="field">
          <span>Area</span>
          <select value={filter.action} onChange={(e) => set('action', e.target.value)}>
            {AREAS.map((a) => (
              <option key={a.value} value={a.value}>
                {a.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Who</span>
          <select value={filter.actor} onChange={(e) => set('actor', e.target.value)}>
            <option value="">Anyone</option>
            {members.map((m) => (
              <option key={m.userId} value={`user:${m.userId}`}>
                {m.name} ({m.email})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Outcome</span>
          <select value={filter.outcome} onChange={(e) => set('outcome', e.target.value)}>
            <option value="">Any outcome</option>
            <option value="success">Succeeded</option>
            <option value="failure">Failed</option>
          </select>
        </label>
        {filtered ? (
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() => setSearchParams({ action: null, actor: null, outcome: null })}
          >
            Clear filters
          </button>
        ) : null}
      </section>
      <ErrorNote error={first.error} />
      {entries === null && first.loading ? <TableSkeleton label="Loading the audit log" /> : null}
      {current && entries?.length === 0 ? (
        <EmptyState icon="☰" title={filtered ? 'Nothing matches these filters' : 'No entries yet'}>
          {filtered
            ? 'Try another area or person, or clear the filters.'
            : 'Changes to members, tokens, clusters and sign-ins appear here.'}
        </EmptyState>
      ) : null}
      {entries && entries.length > 0 ? (
        <div className="card table-card">
          <table
            className="table audit-table"
            aria-label="Audit log"
            aria-busy={first.loading || loadingOlder.busy}
          >
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Details</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id} data-audit-action={e.action}>
                  <td>
                    <div>{relativeTime(e.createdAt)}</div>
                    <div className="audit-when">{new Date(e.createdAt).toLocaleString('en')}</div>
                  </td>
                  <td className="strong" title={e.actor}>
                    {who(e.actor)}
                  </td>
                  <td>
                    <span className="audit-action">{e.action}</span>
                    {e.outcome !== 'success' ? <div className="outcome-failure">{e.outcome}</div> : null}
                  </td>
                  <td>{target(e, names)}</td>
                  <td className="audit-details">{details(e.details)}</td>
                  <td className="muted" title={e.userAgent ?? undefined}>
                    {e.ip ?? '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {more ? (
            <div className="audit-more">
              <button
                type="button"
                className="btn btn-secondary"
                disabled={loadingOlder.busy}
                onClick={() => current && void loadOlder(current, entries.at(-1)?.id)}
              >
                {loadingOlder.busy ? 'Loading...' : 'Load older entries'}
              </button>
              <ErrorNote error={loadingOlder.error} />
            </div>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

function target(e: AuditEntry, names: Map<string, string>): string {
  if (!e.targetType) return '—';
  const id = e.targetId ?? '';
  const kind = e.targetType.replace('_', ' ');
  if (e.targetType === 'user') return `user ${names.get(id) ?? id}`;
  // Token and service-account entries carry the name (ids alone read badly once the thing is deleted).
  const name = e.details.name;
  return typeof name === 'string' ? `${kind} ${name}` : `${kind} ${id}`;
}

function details(d: Record<string, unknown>) {
  const parts = Object.entries(d).filter(([k]) => k !== 'name');
  if (parts.length === 0) return '—';
  return parts.map(([k, v], i) => (
    <span key={k}>
      {i > 0 ? ' · ' : ''}
      {k} <code>{Array.isArray(v) ? v.join(', ') : typeof v === 'string' ? v : JSON.stringify(v)}</code>
    </span>
  ));
}
