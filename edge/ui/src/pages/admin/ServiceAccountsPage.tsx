/**
 * Service accounts: principals for programs (CI, Grafana, an exporter) that do not belong to a person, so they
 * survive people leaving. Admins create one, give it tokens with a scope (its role), and revoke or delete.
 */
import { type FormEvent, useState } from 'react';
import {
  type ApiToken,
  adminEndpoints,
  type CreatedToken,
  type OrgRef,
  type ServiceAccount,
} from '../../api.ts';
import { EmptyState, ErrorNote, relativeTime, Spinner } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';
import { useLoad } from '../../useLoad.ts';
import { CreatedTokenPanel, NewTokenForm, TokenTable } from '../tokens/tokenParts.tsx';
import './admin.css';

export function ServiceAccountsPage({
  org,
  memberName,
}: {
  org: OrgRef;
  memberName: (id: string) => string;
}) {
  const { data, error, loading, reload } = useLoad(() => adminEndpoints.serviceAccounts(org.id), org.id);
  const accounts = [...(data?.serviceAccounts ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <div className="page">
      <div className="page-head">
        <p className="muted">
          Service accounts call the API for programs, not people: their tokens keep working when someone
          leaves the organization. A token&apos;s scope is the account&apos;s role.
        </p>
      </div>
      <NewAccountForm orgId={org.id} onCreated={reload} />
      <ErrorNote error={error} />
      {loading && !data ? <Spinner label="Loading service accounts" /> : null}
      {data && accounts.length === 0 ? (
        <EmptyState icon="⚙" title="No service accounts">
          Create one above for CI, Grafana or a script, then give it a token with the scope it needs.
        </EmptyState>
      ) : null}
      <div className="sa-list">
        {accounts.map((sa) => (
          <AccountCard
            key={sa.id}
            orgId={org.id}
            account={sa}
            createdBy={memberName(sa.createdBy)}
            onDeleted={reload}
          />
        ))}
      </div>
    </div>
  );
}

function NewAccountForm({ orgId, onCreated }: { orgId: string; onCreated: () => Promise<void> }) {
  const { busy, error, run } = useAction();
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    void run(async () => {
      await adminEndpoints.createServiceAccount(orgId, String(new FormData(form).get('saName') ?? ''));
      form.reset();
      await onCreated();
    });
  };
  return (
    <form className="card panel form" onSubmit={submit} aria-labelledby="new-sa-title">
      <h2 id="new-sa-title">Create a service account</h2>
      <div className="row">
        <label className="field grow">
          <span>Account name</span>
          <input
            name="saName"
            required
            minLength={2}
            maxLength={40}
            pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?"
            title="lower-case letters, digits and inner dashes"
            placeholder="grafana"
          />
        </label>
        <div className="row-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Creating...' : 'Create account'}
          </button>
        </div>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

function AccountCard({
  orgId,
  account,
  createdBy,
  onDeleted,
}: {
  orgId: string;
  account: ServiceAccount;
  createdBy: string;
  onDeleted: () => Promise<void>;
}) {
  const tokens = useLoad(() => adminEndpoints.serviceAccountTokens(orgId, account.id), account.id);
  const [adding, setAdding] = useState(false);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  /** Revoking a token (keyed by its id) or deleting the account: one at a time, errors above the tokens. */
  const action = useAction();
  const revoke = ({ id, name }: ApiToken) => {
    if (!window.confirm(`Revoke “${name}” of ${account.name}? Programs using it stop working at once.`))
      return;
    void action.run(async () => {
      await adminEndpoints.revokeServiceAccountToken(orgId, account.id, id);
      setCreated((c) => (c?.id === id ? null : c));
      const revokedAt = Date.now();
      tokens.setData((d) => d && { tokens: d.tokens.map((t) => (t.id === id ? { ...t, revokedAt } : t)) });
      await tokens.reload();
    }, id);
  };
  const remove = () => {
    if (!window.confirm(`Delete the service account ${account.name}? All its tokens stop working at once.`))
      return;
    void action.run(async () => {
      await adminEndpoints.deleteServiceAccount(orgId, account.id);
      await onDeleted();
    }, 'delete');
  };
  const list = tokens.data?.tokens ?? [];
  const active = list.filter((t) => t.revokedAt === null).length;
  return (
    <section className="card sa-card" aria-label={`Service account ${account.name}`} data-sa={account.name}>
      <header className="sa-head">
        <div className="sa-avatar" aria-hidden="true">
          {account.name.slice(0, 2).toUpperCase()}
        </div>
        <div className="sa-title">
          <h2>{account.name}</h2>
          <div className="muted small">
            created {relativeTime(account.createdAt)} by {createdBy} ·{' '}
            {active === 1 ? '1 active token' : `${active} active tokens`}
          </div>
        </div>
        <div className="row-actions">
          <button
            type="button"
            className="btn btn-secondary btn-sm"
            aria-expanded={adding}
            onClick={() => setAdding((a) => !a)}
          >
            {adding ? 'Cancel' : 'New token'}
          </button>
          <button
            type="button"
            className="btn btn-ghost btn-sm sa-delete"
            onClick={remove}
            disabled={action.busy}
            aria-label={`Delete ${account.name}`}
          >
            Delete
          </button>
        </div>
      </header>
      {adding ? (
        <div className="sa-section">
          <NewTokenForm
            title={`New token for ${account.name}`}
            idPrefix={`sa-${account.id}`}
            create={(t) => adminEndpoints.createServiceAccountToken(orgId, account.id, t)}
            onCreated={async (t) => {
              setCreated(t);
              setAdding(false);
              await tokens.reload();
            }}
          />
        </div>
      ) : null}
      {created ? (
        <div className="sa-section">
          <CreatedTokenPanel token={created} onDone={() => setCreated(null)} />
        </div>
      ) : null}
      <ErrorNote error={tokens.error || action.error} />
      {tokens.loading && !tokens.data ? <Spinner label="Loading tokens" /> : null}
      {tokens.data && list.length === 0 ? (
        <p className="muted sa-empty">No tokens yet: “New token” gives this account access to the API.</p>
      ) : null}
      {list.length > 0 ? (
        <div className="table-card">
          <TokenTable
            tokens={list}
            revoking={action.running}
            onRevoke={revoke}
            label={`Tokens of ${account.name}`}
          />
        </div>
      ) : null}
    </section>
  );
}
