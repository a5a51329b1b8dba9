/** Personal API tokens: create (shown once), list, revoke. */
import { useState } from 'react';
import { type ApiToken, type CreatedToken, endpoints, type OrgRef } from '../../api.ts';
import { EmptyState, ErrorNote, Spinner } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';
import { useLoad } from '../../useLoad.ts';
import { CreatedTokenPanel, NewTokenForm, TokenTable } from './tokenParts.tsx';

export function TokensPage({ org }: { org: OrgRef }) {
  const { data, error, loading, reload, setData } = useLoad(() => endpoints.tokens(org.id), org.id);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const revoking = useAction();
  const revoke = ({ id, name }: ApiToken) => {
    if (!window.confirm(`Revoke the token “${name}”? Programs using it stop working at once.`)) return;
    void revoking.run(async () => {
      await endpoints.revokeToken(org.id, id);
      // A revoked secret is useless: stop showing it. The row says "revoked" at once (the API has answered);
      // the reload then shows the server's own record.
      setCreated((c) => (c?.id === id ? null : c));
      const revokedAt = Date.now();
      setData((d) => d && { tokens: d.tokens.map((t) => (t.id === id ? { ...t, revokedAt } : t)) });
      await reload();
    }, id);
  };
  const tokens = data?.tokens ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <p className="muted">
          Tokens let scripts and CI call the API as you, within the scopes you give them. For programs that
          should not depend on a person, use a service account.
        </p>
      </div>
      <div className="card panel">
        <NewTokenForm
          title="Create a token"
          idPrefix="new-token"
          create={(t) => endpoints.createToken(org.id, t)}
          onCreated={async (t) => {
            setCreated(t);
            await reload();
          }}
        />
      </div>
      {created ? <CreatedTokenPanel token={created} onDone={() => setCreated(null)} /> : null}
      <ErrorNote error={error || revoking.error} />
      {loading && !data ? <Spinner label="Loading tokens" /> : null}
      {data && tokens.length === 0 ? (
        <EmptyState icon="⚿" title="No API tokens">
          Create one above to use the API from scripts, CI or Prometheus tools.
        </EmptyState>
      ) : null}
      {tokens.length > 0 ? (
        <div className="card table-card">
          <TokenTable tokens={tokens} revoking={revoking.running} onRevoke={revoke} label="API tokens" />
        </div>
      ) : null}
    </div>
  );
}
