/**
 * The audit log (admins): who did what, when, from where; newest first, filtered by area, person and outcome
 * (in the URL, so a filtered view can be shared), 50 entries a page with "Load older" (the API pages by id).
 */
import { useEffect, useState } from 'react';
import { type AuditEntry, adminEndpoints, type Member, type OrgRef } from '../../api.ts';
import { setSearchParams, useSearch } from '../../router.ts';
import { EmptyState, ErrorNote, relativeTime, TableSkeleton } from '../../ui.tsx';
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

export function AuditPage({ org, members }: { org: OrgRef; members: Member[] }) {
  const params = new URLSearchParams(useSearch());
  const filter = {
    action: params.get('action') ?? '',
    actor: params.get('actor') ?? '',
    outcome: params.get('outcome') ?? '',
  };
  const key = `${org.id}|${filter.action}|${filter.actor}|${filter.outcome}`;
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [more, setMore] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [loadedKey, setLoadedKey] = useState('');

  const load = async (before: number | undefined, forKey: string, signal: { stale: boolean }) => {
    setBusy(true);
    setError(null);
    try {
      const res = await adminEndpoints.audit(org.id, { ...filter, limit: PAGE, before });
      if (signal.stale) return;
      setEntries((old) => (before === undefined ? res.entries : [...(old ?? []), ...res.entries]));
      setMore(res.entries.length === PAGE);
      setLoadedKey(forKey);
    } catch (err) {
      if (!signal.stale) {
        setError(err);
        if (before === undefined) setEntries(null);
      }
    } finally {
      if (!signal.stale) setBusy(false);
    }
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` names every input of the first page
  useEffect(() => {
    const signal = { stale: false };
    void load(undefined, key, signal);
    return () => {
      signal.stale = true;
    };
  }, [key]);

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
      <ErrorNote error={error} />
      {entries === null && busy ? <TableSkeleton label="Loading the audit log" /> : null}
      {entries && entries.length === 0 && loadedKey === key ? (
        <EmptyState icon="☰" title={filtered ? 'Nothing matches these filters' : 'No entries yet'}>
          {filtered
            ? 'Try another area or person, or clear the filters.'
            : 'Changes to members, tokens, clusters and sign-ins appear here.'}
        </EmptyState>
      ) : null}
      {entries && entries.length > 0 ? (
        <div className="card table-card">
          <table className="table audit-table" aria-label="Audit log" aria-busy={busy}>
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
                disabled={busy}
                onClick={() => void load(entries.at(-1)?.id, key, { stale: false })}
              >
                {busy ? 'Loading...' : 'Load older entries'}
              </button>
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
