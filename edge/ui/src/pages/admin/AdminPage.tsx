/**
 * The admin pages of the Manage section (service accounts, audit log, single sign-on). They need the admin
 * role (the API refuses others; the navigation hides them); members are read once here to put names on ids.
 */
import { endpoints, type OrgRef } from '../../api.ts';
import { EmptyState } from '../../ui.tsx';
import { useLoad } from '../../useLoad.ts';
import { AuditPage } from './AuditPage.tsx';
import { ServiceAccountsPage } from './ServiceAccountsPage.tsx';
import { SsoPage } from './SsoPage.tsx';

export const ADMIN_PAGES = ['service-accounts', 'audit', 'sso'];

export const isAdmin = (org: OrgRef) => org.role === 'admin' || org.role === 'owner';

export function AdminPage({ org, page }: { org: OrgRef; page: string }) {
  const members = useLoad(() => endpoints.members(org.id), org.id);
  if (!isAdmin(org)) {
    return (
      <EmptyState icon="⚿" title="Admins only">
        Ask an admin or owner of {org.name} for access to this page.
      </EmptyState>
    );
  }
  const list = members.data?.members ?? [];
  const memberName = (userId: string) => list.find((m) => m.userId === userId)?.name ?? 'a former member';
  if (page === 'service-accounts') return <ServiceAccountsPage org={org} memberName={memberName} />;
  if (page === 'audit') return <AuditPage org={org} members={list} />;
  return <SsoPage org={org} />;
}
