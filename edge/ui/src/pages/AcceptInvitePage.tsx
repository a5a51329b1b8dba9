/**
 * /invite#ust_inv_...: the token rides in the URL fragment, which browsers never send to servers, and is kept
 * in sessionStorage across sign-up or sign-in until the invitee accepts or declines.
 */
import { endpoints, type Me } from '../api.ts';
import { ErrorNote } from '../ui.tsx';
import { useAction } from '../useAction.ts';

const KEY = 'understory.invitation';

/** Moves an invitation token from the URL fragment into sessionStorage; returns the pending one, if any. */
export function pendingInvitation(): string | null {
  if (location.pathname === '/invite' && location.hash.startsWith('#ust_inv_')) {
    sessionStorage.setItem(KEY, location.hash.slice(1));
    history.replaceState(null, '', '/invite');
  }
  return sessionStorage.getItem(KEY);
}

export function AcceptInvitePage({
  me,
  token,
  onDone,
}: {
  me: Me;
  token: string;
  onDone: (orgId?: string) => Promise<void>;
}) {
  const { busy, error, run } = useAction();
  const accept = () =>
    run(async () => {
      const { orgId } = await endpoints.acceptInvitation(token);
      sessionStorage.removeItem(KEY);
      await onDone(orgId);
    });
  const decline = async () => {
    sessionStorage.removeItem(KEY);
    await onDone();
  };
  return (
    <div className="auth-page">
      <div className="auth-card card">
        <div className="brand brand-lg">
          <span className="brand-mark" aria-hidden="true" />
          Understory
        </div>
        <h1>Join an organization</h1>
        <p className="muted">
          You were invited to an organization on Understory. Accept to join it as {me.user.email}.
        </p>
        <ErrorNote error={error} />
        <div className="form">
          <button type="button" className="btn btn-primary btn-block" onClick={accept} disabled={busy}>
            {busy ? 'Joining...' : 'Accept invitation'}
          </button>
          <button type="button" className="btn btn-ghost btn-block" onClick={decline} disabled={busy}>
            Not now
          </button>
        </div>
      </div>
    </div>
  );
}
