/**
 * THE permission table: the only place that says which role or token scope may do what. Every route declares
 * one permission (routeRegistry.ts) and the authorize middleware (middleware/authorize) enforces it before the
 * handler runs; a route without a declared permission is refused.
 *
 * - `public`: anyone (health, OpenAPI document, sign-up, sign-in, SSO redirects).
 * - `account`: a signed-in user through a browser session (not an API token): their own account and orgs.
 * - org permissions: the caller's role in the organization named by the `:orgId` path parameter must be at least
 *   `minRole`; an API token of that organization may use it only if `tokenScope` is set and the token has it.
 *   Personal tokens are also capped by their owner's current role.
 */
export const ROLES = ['viewer', 'editor', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

export const TOKEN_SCOPES = ['read', 'write', 'admin', 'ingest'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

type OrgRule = { minRole: Role; tokenScope: Exclude<TokenScope, 'ingest'> | null };

export const ORG_PERMISSIONS = {
  'org:read': { minRole: 'viewer', tokenScope: 'read' },
  'org:update': { minRole: 'admin', tokenScope: 'admin' },
  'org:delete': { minRole: 'owner', tokenScope: null },
  'members:read': { minRole: 'viewer', tokenScope: 'read' },
  'members:manage': { minRole: 'admin', tokenScope: 'admin' },
  'tokens:personal': { minRole: 'viewer', tokenScope: null },
  'tokens:manage': { minRole: 'admin', tokenScope: null },
  'clusters:read': { minRole: 'viewer', tokenScope: 'read' },
  'clusters:write': { minRole: 'editor', tokenScope: 'write' },
  'clusters:delete': { minRole: 'admin', tokenScope: 'admin' },
  'audit:read': { minRole: 'admin', tokenScope: 'admin' },
  'sso:manage': { minRole: 'admin', tokenScope: null },
} as const satisfies Record<string, OrgRule>;

export type OrgPermission = keyof typeof ORG_PERMISSIONS;
export type Permission = 'public' | 'account' | OrgPermission;

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** The role a token scope stands for: read acts as a viewer, write as an editor, admin as an admin. */
const SCOPE_ROLE: Record<Exclude<TokenScope, 'ingest'>, Role> = {
  read: 'viewer',
  write: 'editor',
  admin: 'admin',
};

export function roleAllows(role: Role, permission: OrgPermission): boolean {
  return roleRank(role) >= roleRank(ORG_PERMISSIONS[permission].minRole);
}

/**
 * Whether a token with `scopes` may use `permission`; `ownerRole` is the personal token owner's current role
 * (null for service accounts). Scopes are hierarchical (admin > write > read); ingest grants none of these.
 */
export function tokenAllows(
  scopes: readonly TokenScope[],
  ownerRole: Role | null,
  permission: OrgPermission,
): boolean {
  const rule = ORG_PERMISSIONS[permission];
  if (rule.tokenScope === null) return false;
  const best = Math.max(
    ...scopes
      .filter((s): s is Exclude<TokenScope, 'ingest'> => s !== 'ingest')
      .map((s) => roleRank(SCOPE_ROLE[s])),
    -1,
  );
  if (best < roleRank(SCOPE_ROLE[rule.tokenScope])) return false;
  return ownerRole === null || roleAllows(ownerRole, permission);
}

/** Scopes a member of `role` may put on a personal token: never more than the role itself grants. */
export function scopesAllowedForRole(role: Role): TokenScope[] {
  const allowed: TokenScope[] = ['read'];
  if (roleRank(role) >= roleRank('editor')) allowed.push('write');
  if (roleRank(role) >= roleRank('admin')) allowed.push('admin', 'ingest');
  return allowed;
}
