/** Signed-in layout: sidebar (org switcher, navigation), top bar (page title, user, sign out), the page. */
import type { ReactNode } from 'react';
import { endpoints, type Me, type OrgRef } from './api.ts';
import { ADMIN_PAGES, AdminPage, isAdmin } from './pages/admin/AdminPage.tsx';
import { ClustersPage } from './pages/ClustersPage.tsx';
import { EventsPage } from './pages/events/EventsPage.tsx';
import { LogsPage } from './pages/logs/LogsPage.tsx';
import { MembersPage } from './pages/MembersPage.tsx';
import { ServiceMapPage } from './pages/map/ServiceMapPage.tsx';
import { MetricsPage } from './pages/metrics/MetricsPage.tsx';
import { MonitorsPage } from './pages/monitors/MonitorsPage.tsx';
import { PlaceholderPage } from './pages/PlaceholderPage.tsx';
import { ServicesPage } from './pages/services/ServicesPage.tsx';
import { TokensPage } from './pages/tokens/TokensPage.tsx';
import { TracesPage } from './pages/traces/TracesPage.tsx';
import { linkClick, navigate, useSearch, withSharedParams } from './router.ts';
import { ErrorNote } from './ui.tsx';
import { useAction } from './useAction.ts';

/** Props of a data page: the org, and the path segments after the page name (e.g. a service's name). */
export interface PageProps {
  org: OrgRef;
  rest: string[];
}

/**
 * The data pages (each framed by DataPage: cluster selector, time range, empty states). Their links keep the
 * shared query parameters (cluster, time range).
 */
const DATA_PAGES: Record<string, (p: PageProps) => ReactNode> = {
  services: ServicesPage,
  map: ServiceMapPage,
  traces: TracesPage,
  logs: LogsPage,
  metrics: MetricsPage,
  events: EventsPage,
  monitors: MonitorsPage,
};

const NAV: { section: string; items: { page: string; label: string; admin?: boolean }[] }[] = [
  {
    section: 'Observe',
    items: [
      { page: 'services', label: 'Services' },
      { page: 'map', label: 'Service map' },
      { page: 'traces', label: 'Traces' },
      { page: 'logs', label: 'Logs' },
      { page: 'metrics', label: 'Metrics' },
      { page: 'events', label: 'Events' },
      { page: 'monitors', label: 'Monitors' },
    ],
  },
  {
    section: 'Manage',
    items: [
      { page: 'clusters', label: 'Clusters' },
      { page: 'members', label: 'Members' },
      { page: 'tokens', label: 'API tokens' },
      { page: 'service-accounts', label: 'Service accounts', admin: true },
      { page: 'audit', label: 'Audit log', admin: true },
      { page: 'sso', label: 'Single sign-on', admin: true },
    ],
  },
];

export function Shell({
  me,
  org,
  page,
  rest = [],
  onSignedOut,
  notice,
}: {
  me: Me;
  org: OrgRef;
  page: string;
  rest?: string[];
  onSignedOut: () => Promise<unknown>;
  /** Shown above every page until its owner drops it (e.g. why an SSO attempt failed, SsoErrorNotice). */
  notice?: ReactNode;
}) {
  const signingOut = useAction();
  const search = useSearch();
  const observe = new Set(NAV[0]!.items.map((i) => i.page));
  const DataPageBody = DATA_PAGES[page];
  const title = NAV.flatMap((s) => s.items).find((i) => i.page === page)?.label ?? 'Not found';
  const signOut = () =>
    signingOut.run(async () => {
      const failure = await endpoints.logout().then(
        () => null,
        (err: unknown) => err,
      );
      // Forget the user first, also after a failed call (the session may be gone anyway): navigating while
      // still signed in would bounce back to the org's page. A user still signed in sees why.
      await onSignedOut();
      navigate('/signin', true);
      if (failure) throw failure;
    });
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Understory
        </div>
        <label className="org-switcher">
          <span className="sr-only">Organization</span>
          <select
            aria-label="Organization"
            value={org.slug}
            onChange={(e) =>
              e.target.value === '+new' ? navigate('/new-org') : navigate(`/o/${e.target.value}/${page}`)
            }
          >
            {me.orgs.map((o) => (
              <option key={o.id} value={o.slug}>
                {o.name}
              </option>
            ))}
            <option value="+new">+ New organization</option>
          </select>
        </label>
        <nav aria-label="Main">
          {NAV.map((s) => (
            <div key={s.section} className="nav-section">
              <div className="nav-title">{s.section}</div>
              {s.items
                .filter((i) => !i.admin || isAdmin(org))
                .map((i) => (
                  <a
                    key={i.page}
                    href={
                      observe.has(i.page)
                        ? withSharedParams(`/o/${org.slug}/${i.page}`, search)
                        : `/o/${org.slug}/${i.page}`
                    }
                    onClick={linkClick}
                    className={i.page === page ? 'nav-link active' : 'nav-link'}
                    aria-current={i.page === page ? 'page' : undefined}
                  >
                    {i.label}
                  </a>
                ))}
            </div>
          ))}
        </nav>
      </aside>
      <div className="main-col">
        <header className="topbar">
          <h1>{title}</h1>
          <div className="topbar-user">
            <span className="muted" title={me.user.email}>
              {me.user.name} <span className="role-badge">{org.role}</span>
            </span>
            <button
              type="button"
              className="btn btn-ghost btn-sm"
              onClick={signOut}
              disabled={signingOut.busy}
            >
              Sign out
            </button>
          </div>
        </header>
        <main id="main" className="content" tabIndex={-1}>
          {notice}
          <ErrorNote error={signingOut.error} />
          {page === 'clusters' ? (
            <ClustersPage org={org} />
          ) : page === 'members' ? (
            <MembersPage org={org} me={me} />
          ) : page === 'tokens' ? (
            <TokensPage org={org} />
          ) : ADMIN_PAGES.includes(page) ? (
            <AdminPage org={org} page={page} />
          ) : DataPageBody ? (
            <DataPageBody org={org} rest={rest} />
          ) : (
            <PlaceholderPage page={page} />
          )}
        </main>
      </div>
    </div>
  );
}
