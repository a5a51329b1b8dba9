/** Clusters: connect one (install token and commands shown once), then watch its status. */
import { type FormEvent, useEffect, useState } from 'react';
import { type ClusterWithToken, endpoints, type OrgRef } from '../api.ts';
import { CopyBlock, EmptyState, ErrorNote, relativeTime, Spinner, slugify } from '../ui.tsx';
import { useAction } from '../useAction.ts';
import { useLoad } from '../useLoad.ts';

/** How often the list refreshes so a cluster that connects turns green without a reload. */
const STATUS_POLL_MS = 10_000;

export function ClustersPage({ org }: { org: OrgRef }) {
  const { data, error, loading, reload } = useLoad(() => endpoints.clusters(org.id), org.id);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ClusterWithToken | null>(null);
  const rowAction = useAction();
  const canWrite = org.role !== 'viewer';
  /** Runs a row action, then refreshes the list; its error shows above the table. */
  const act = (fn: () => Promise<unknown>) =>
    rowAction.run(async () => {
      await fn();
      await reload();
    });
  useEffect(() => {
    const t = setInterval(() => void reload(), STATUS_POLL_MS);
    return () => clearInterval(t);
  }, [reload]);

  const clusters = data?.clusters ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <p className="muted">
          Each cluster runs the Understory portal, which dials out to this control plane.
        </p>
        {canWrite && !creating && clusters.length > 0 ? (
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            Connect a cluster
          </button>
        ) : null}
      </div>
      {created ? <ConnectPanel cluster={created} onDone={() => setCreated(null)} /> : null}
      {creating || (canWrite && !loading && clusters.length === 0 && !created && !error) ? (
        <NewClusterForm
          orgId={org.id}
          onCancel={clusters.length > 0 ? () => setCreating(false) : undefined}
          onCreated={async (c) => {
            setCreated(c);
            setCreating(false);
            await reload();
          }}
        />
      ) : null}
      <ErrorNote error={error || rowAction.error} />
      {loading && !data ? <Spinner label="Loading clusters" /> : null}
      {data && clusters.length === 0 && !canWrite ? (
        <EmptyState icon="⎈" title="No clusters yet">
          Ask an editor or admin of {org.name} to connect one.
        </EmptyState>
      ) : null}
      {clusters.length > 0 ? (
        <div className="card table-card">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Last seen</th>
                <th scope="col">Install token</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {clusters.map((c) => (
                <tr key={c.id}>
                  <td className="strong">{c.name}</td>
                  <td>
                    <span className={`badge badge-${c.status}`}>{c.status}</span>
                  </td>
                  <td>{relativeTime(c.lastSeenAt)}</td>
                  <td>
                    <code className="mono muted">{c.installTokenPrefix}...</code>
                  </td>
                  <td>{relativeTime(c.createdAt)}</td>
                  <td className="actions">
                    {canWrite ? (
                      <button
                        type="button"
                        className="btn btn-ghost btn-sm"
                        aria-label={`Rotate the install token of ${c.name}`}
                        disabled={rowAction.busy}
                        onClick={() => act(() => endpoints.rotateInstallToken(org.id, c.id).then(setCreated))}
                      >
                        Rotate token
                      </button>
                    ) : null}
                    {org.role === 'admin' || org.role === 'owner' ? (
                      <button
                        type="button"
                        className="btn btn-danger btn-sm"
                        aria-label={`Delete ${c.name}`}
                        disabled={rowAction.busy}
                        onClick={() => {
                          if (window.confirm(`Delete ${c.name}? Its portal is disconnected at once.`))
                            void act(() =>
                              endpoints.deleteCluster(org.id, c.id).then(() => setCreated(null)),
                            );
                        }}
                      >
                        Delete
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

function NewClusterForm(props: {
  orgId: string;
  onCancel: (() => void) | undefined;
  onCreated: (c: ClusterWithToken) => Promise<void>;
}) {
  const [name, setName] = useState('');
  const { busy, error, run } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => props.onCreated(await endpoints.createCluster(props.orgId, name)));
  };
  return (
    <form className="card panel form" onSubmit={submit} aria-labelledby="new-cluster-title">
      <h2 id="new-cluster-title">Connect a cluster</h2>
      <p className="muted">
        Name the cluster as your team calls it. You will get the command that installs the portal.
      </p>
      <div className="row">
        <label className="field grow">
          <span>Cluster name</span>
          <input
            name="clusterName"
            required
            minLength={2}
            maxLength={40}
            placeholder="prod-eu-1"
            value={name}
            onChange={(e) => setName(slugify(e.target.value) || e.target.value.toLowerCase())}
          />
        </label>
        <div className="row-actions">
          {props.onCancel ? (
            <button type="button" className="btn btn-ghost" onClick={props.onCancel}>
              Cancel
            </button>
          ) : null}
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Creating...' : 'Create cluster'}
          </button>
        </div>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

function ConnectPanel({ cluster, onDone }: { cluster: ClusterWithToken; onDone: () => void }) {
  return (
    <section className="card panel" aria-labelledby="connect-title">
      <h2 id="connect-title">Install the portal in {cluster.name}</h2>
      <div className="alert alert-warn">
        The install token is shown only now. Copy the command before leaving this page; if it is lost, rotate
        the token.
      </div>
      <CopyBlock label="Kubernetes (Helm)" value={cluster.commands.helm} testId="helm-command" />
      <CopyBlock
        label="Local machine (no Kubernetes)"
        value={cluster.commands.local}
        testId="local-command"
      />
      <CopyBlock label="Install token" value={cluster.installToken} testId="install-token" />
      <p className="muted">
        The status below turns <span className="badge badge-connected">connected</span> when the portal dials
        in.
      </p>
      <button type="button" className="btn btn-secondary" onClick={onDone}>
        Done
      </button>
    </section>
  );
}
