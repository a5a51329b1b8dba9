import { and, eq } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { authCache } from '../../auth/authCache.ts';
import { schema } from '../../db.ts';
import type { AppEnv } from '../../env.ts';
import { ApiError, forbidden, notFound, unauthenticated } from '../../errors.ts';
import {
  isRole,
  ORG_PERMISSIONS,
  type OrgPermission,
  type Role,
  roleAllows,
  roleRank,
  tokenAllows,
} from '../../permissions.ts';
import { permissionOf } from '../../routeRegistry.ts';

const SCOPE_ROLE = { read: 'viewer', write: 'editor', admin: 'admin' } as const;

/** The `:orgId` segment of the request path, located through the matched route's pattern. */
function orgIdFrom(routePath: string, requestPath: string): string | null {
  const at = routePath.split('/').indexOf(':orgId');
  if (at < 0) return null;
  const segment = requestPath.split('/')[at];
  return segment ? decodeURIComponent(segment) : null;
}

/**
 * The one enforcement point of the permission table. It finds the route the request matched, reads the
 * permission that route declared (routeRegistry.ts) and checks the principal against it before any handler
 * runs. A matched route with no declared permission is refused: forgetting one fails closed.
 * Callers outside an organization get 404 for it, not 403, so organization ids do not leak.
 */
export function authorize(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const route = matchedRoutes(c).find((r) => r.method !== 'ALL');
    if (!route) return next(); // no route: the JSON 404
    const permission = permissionOf(route.method, route.path);
    if (!permission) {
      console.error(`route ${route.method} ${route.path} declares no permission`);
      throw new ApiError(500, 'internal', 'cannot authorize: route declares no permission');
    }
    if (permission === 'public') return next();
    const principal = c.var.principal;
    if (!principal) throw unauthenticated();
    if (permission === 'account') {
      if (principal.kind !== 'session')
        throw forbidden('this action needs a signed-in user, not an API token');
      return next();
    }
    const orgId = orgIdFrom(route.path, c.req.path);
    if (!orgId)
      throw new ApiError(500, 'internal', 'cannot authorize: org permission on a route without :orgId');
    c.set('orgRole', await orgRoleOf(c, orgId, permission));
    await next();
  };
}

/** The member's role, reused for up to AUTH_CACHE_TTL_MS (a removal or role change through this isolate clears it). */
async function memberRole(c: Parameters<MiddlewareHandler<AppEnv>>[0], orgId: string, userId: string) {
  return authCache.get(`member:${orgId}:${userId}`, async () => {
    const row = await c.var.db.query.memberships.findFirst({
      where: and(eq(schema.memberships.orgId, orgId), eq(schema.memberships.userId, userId)),
    });
    return row && isRole(row.role) ? row.role : null;
  });
}

async function orgRoleOf(
  c: Parameters<MiddlewareHandler<AppEnv>>[0],
  orgId: string,
  permission: OrgPermission,
): Promise<Role> {
  const principal = c.var.principal!;
  if (principal.kind === 'session') {
    const role = await memberRole(c, orgId, principal.userId);
    if (!role) throw notFound('organization');
    if (!roleAllows(role, permission)) {
      throw forbidden(`role ${role} lacks ${permission} (needs ${ORG_PERMISSIONS[permission].minRole})`);
    }
    return role;
  }
  if (principal.orgId !== orgId) throw notFound('organization');
  const ownerRole = principal.userId ? await memberRole(c, orgId, principal.userId) : null;
  if (principal.userId && !ownerRole) throw forbidden('the token owner is no longer a member');
  if (!tokenAllows(principal.scopes, ownerRole, permission)) {
    throw forbidden(`token scopes [${principal.scopes.join(', ')}] do not allow ${permission}`);
  }
  // The token acts with the smaller of its best scope's role and its owner's role.
  const scopeRoles = principal.scopes.flatMap((s) => (s === 'ingest' ? [] : [SCOPE_ROLE[s]]));
  const best = scopeRoles.reduce<Role>((a, b) => (roleRank(b) > roleRank(a) ? b : a), 'viewer');
  return ownerRole && roleRank(ownerRole) < roleRank(best) ? ownerRole : best;
}
