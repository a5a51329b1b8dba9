/** Members and invitations: who is in the organization, with which role; invite by email (link shown once). */
import { type FormEvent, useState } from 'react';
import { endpoints, type Me, type OrgRef } from '../api.ts';
import { CopyBlock, ErrorNote, relativeTime, Spinner } from '../ui.tsx';
import { useAction } from '../useAction.ts';
import { useLoad } from '../useLoad.ts';

const ROLES = ['viewer', 'editor', 'admin', 'owner'] as const;

export function MembersPage({ org, me }: { org: OrgRef; me: Me }) {
  const canManage = org.role === 'admin' || org.role === 'owner';
  const members = useLoad(() => endpoints.members(org.id), org.id);
  const invitations = useLoad(
    () => (canManage ? endpoints.invitations(org.id) : Promise.resolve({ invitations: [] })),
    `${org.id}:${canManage}`,
  );
  const [link, setLink] = useState<{ email: string; url: string } | null>(null);
  const rowAction = useAction();
  /** Only owners may grant or take the owner role (the API enforces it; the UI just does not offer it). */
  const grantable = ROLES.filter((r) => r !== 'owner' || org.role === 'owner');
  const act = (fn: () => Promise<unknown>) =>
    rowAction.run(async () => {
      await fn();
      await Promise.all([members.reload(), invitations.reload()]);
    });
  const pending = (invitations.data?.invitations ?? []).filter((i) => i.acceptedAt === null);
  return (
    <div className="page">
      <div className="page-head">
        <p className="muted">
          Viewers read, editors also connect clusters, admins manage members and tokens, owners everything.
        </p>
      </div>
      {canManage ? (
        <InviteForm
          orgId={org.id}
          roles={grantable}
          onInvited={async (email, token) => {
            setLink({ email, url: `${location.origin}/invite#${token}` });
            await invitations.reload();
          }}
        />
      ) : null}
      {link ? (
        <section className="card panel" aria-label="Invitation link">
          <div className="alert alert-warn">
            Send this link to {link.email}. It is shown only once and works for 7 days.
          </div>
          <CopyBlock label="Invitation link" value={link.url} testId="invite-link" />
          <button type="button" className="btn btn-secondary" onClick={() => setLink(null)}>
            Done
          </button>
        </section>
      ) : null}
      <ErrorNote error={members.error || invitations.error || rowAction.error} />
      {members.loading && !members.data ? <Spinner label="Loading members" /> : null}
      {members.data ? (
        <div className="card table-card">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Member since</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.data.members.map((m) => {
                const editable =
                  canManage && m.userId !== me.user.id && (m.role !== 'owner' || org.role === 'owner');
                return (
                  <tr key={m.userId} data-member-row={m.email}>
                    <td className="strong">
                      {m.name}
                      {m.userId === me.user.id ? <span className="muted"> (you)</span> : null}
                    </td>
                    <td>{m.email}</td>
                    <td>
                      {editable ? (
                        <select
                          className="inline-select"
                          aria-label={`Role of ${m.email}`}
                          disabled={rowAction.busy}
                          value={m.role}
                          onChange={(e) =>
                            void act(() => endpoints.setMemberRole(org.id, m.userId, e.target.value))
                          }
                        >
                          {grantable.map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      ) : (
                        <span className="chip">{m.role}</span>
                      )}
                    </td>
                    <td>{relativeTime(m.createdAt)}</td>
                    <td className="actions">
                      {editable ? (
                        <button
                          type="button"
                          className="btn btn-danger btn-sm"
                          aria-label={`Remove ${m.email}`}
                          disabled={rowAction.busy}
                          onClick={() => {
                            if (window.confirm(`Remove ${m.email} from ${org.name}?`))
                              void act(() => endpoints.removeMember(org.id, m.userId));
                          }}
                        >
                          Remove
                        </button>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
              {pending.map((i) => (
                <tr key={i.id} data-invitation-row={i.email}>
                  <td className="muted">Invited</td>
                  <td>{i.email}</td>
                  <td>
                    <span className="chip">{i.role}</span>
                  </td>
                  <td>
                    <span className="badge badge-pending">expires {relativeTime(i.expiresAt)}</span>
                  </td>
                  <td className="actions">
                    <button
                      type="button"
                      className="btn btn-ghost btn-sm"
                      aria-label={`Cancel the invitation of ${i.email}`}
                      disabled={rowAction.busy}
                      onClick={() => void act(() => endpoints.cancelInvitation(org.id, i.id))}
                    >
                      Cancel
                    </button>
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

function InviteForm(props: {
  orgId: string;
  roles: readonly string[];
  onInvited: (email: string, token: string) => Promise<void>;
}) {
  const { busy, error, run } = useAction();
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    void run(async () => {
      const inv = await endpoints.invite(props.orgId, {
        email: String(f.get('inviteEmail') ?? ''),
        role: String(f.get('inviteRole') ?? 'viewer'),
      });
      form.reset();
      await props.onInvited(inv.email, inv.token);
    });
  };
  return (
    <form className="card panel form" onSubmit={submit} aria-labelledby="invite-title">
      <h2 id="invite-title">Invite a teammate</h2>
      <div className="row">
        <label className="field grow">
          <span>Email</span>
          <input name="inviteEmail" type="email" required maxLength={254} placeholder="grace@example.com" />
        </label>
        <label className="field">
          <span>Role</span>
          <select name="inviteRole" defaultValue="viewer">
            {props.roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <div className="row-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Inviting...' : 'Invite'}
          </button>
        </div>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}
