/**
 * The app shell: who is signed in decides between the sign-in pages and the product; the path decides the
 * organization and the page.
 */
import { useCallback, useEffect, useState } from 'react';
import { ApiError, endpoints, type Me, setCsrfToken } from './api.ts';
import { AcceptInvitePage, pendingInvitation } from './pages/AcceptInvitePage.tsx';
import { AuthPage } from './pages/AuthPage.tsx';
import { NewOrgPage } from './pages/NewOrgPage.tsx';
import { SsoErrorNotice } from './pages/SsoErrorNotice.tsx';
import { ssoErrorMessage } from './pages/ssoErrors.ts';
import { navigate, parseOrgPath, usePath } from './router.ts';
import { Shell } from './Shell.tsx';
import { ErrorNote, Spinner } from './ui.tsx';

export function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  // Back from a failed SSO attempt (`?sso_error=<code>`, read once at load). Signed out, the sign-in page shows
  // it (AuthPage); signed in, the user is sent on to their organization, whose page shows it until dismissed.
  const [ssoNotice, setSsoNotice] = useState(() => ssoErrorMessage(location.search));

  const refresh = useCallback(async (): Promise<Me | null> => {
    try {
      const m = await endpoints.me();
      setCsrfToken(m.csrfToken);
      setMe(m);
      setError(null);
      return m;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setCsrfToken(null);
        setMe(null);
      } else setError(err);
      return null;
    }
  }, []);
  const invitation = pendingInvitation();
  useEffect(() => {
    void refresh().then((m) => {
      // Signed out: the sign-in page has said it; it must not come back after a password sign-in.
      if (m === null) setSsoNotice(null);
    });
  }, [refresh]);

  if (error) {
    return (
      <div className="center-page">
        <ErrorNote error={error} />
      </div>
    );
  }
  if (me === undefined) {
    return (
      <div className="center-page">
        <Spinner />
      </div>
    );
  }
  if (me === null) {
    const mode = path === '/signup' || (invitation && path !== '/signin') ? 'signup' : 'signin';
    return <AuthPage mode={mode} onSignedIn={refresh} />;
  }
  if (invitation) {
    return (
      <AcceptInvitePage
        me={me}
        token={invitation}
        onDone={async (orgId) => {
          const m = await refresh();
          const joined = m?.orgs.find((o) => o.id === orgId);
          navigate(joined ? `/o/${joined.slug}/clusters` : '/', true);
        }}
      />
    );
  }
  if (path === '/new-org' || me.orgs.length === 0) {
    return <NewOrgPage me={me} onCreated={refresh} first={me.orgs.length === 0} />;
  }
  const route = parseOrgPath(path);
  const org = route && me.orgs.find((o) => o.slug === route.org);
  if (!route || !org) {
    queueMicrotask(() => navigate(`/o/${me.orgs[0]!.slug}/clusters`, true));
    return null;
  }
  const notice = ssoNotice ? (
    <SsoErrorNotice message={ssoNotice} onDismiss={() => setSsoNotice(null)} />
  ) : null;
  return (
    <Shell me={me} org={org} page={route.page} rest={route.rest} onSignedOut={refresh} notice={notice} />
  );
}
