/** Memberships: list (viewer), change role and remove (admin; only owners touch owners; one owner stays). */
import { z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import type { App } from '../app.ts';
import { audit } from '../audit.ts';
import { schema } from '../db.ts';
import type { Db } from '../env.ts';
import { conflict, forbidden, notFound } from '../errors.ts';
import type { Role as RoleName } from '../permissions.ts';
import { defineRoute } from '../routeRegistry.ts';
import { body, ErrorSchema, errorResponses, Id, json, OkSchema, OrgParams, Role } from '../schemas.ts';

const Member = z
  .object({
    userId: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.string(),
    createdAt: z.number(),
  })
  .openapi('Member');
const MemberParams = OrgParams.extend({ userId: Id });

const list = defineRoute({
  method: 'get',
  path: '/api/orgs/{orgId}/members',
  permission: 'members:read',
  summary: 'Members of an organization and their roles',
  request: { params: OrgParams },
  responses: { 200: json(z.object({ members: z.array(Member) }), 'members'), ...errorResponses },
});

const changeRole = defineRoute({
  method: 'patch',
  path: '/api/orgs/{orgId}/members/{userId}',
  permission: 'members:manage',
  summary: "Change a member's role",
  request: { params: MemberParams, ...body(z.object({ role: Role })) },
  responses: { 200: json(OkSchema, 'changed'), 409: json(ErrorSchema, 'last owner'), ...errorResponses },
});

const remove = defineRoute({
  method: 'delete',
  path: '/api/orgs/{orgId}/members/{userId}',
  permission: 'members:manage',
  summary: 'Remove a member (their sessions stay, their access to this organization ends at once)',
  request: { params: MemberParams },
  responses: { 200: json(OkSchema, 'removed'), ...errorResponses },
});

async function membership(db: Db, orgId: string, userId: string) {
  return db.query.memberships.findFirst({
    where: and(eq(schema.memberships.orgId, orgId), eq(schema.memberships.userId, userId)),
  });
}

async function ownerCount(db: Db, orgId: string): Promise<number> {
  const owners = await db.query.memberships.findMany({
    where: and(eq(schema.memberships.orgId, orgId), eq(schema.memberships.role, 'owner')),
  });
  return owners.length;
}

/** Only an owner may make someone an owner or change/remove an owner. */
function checkOwnerRule(actorRole: RoleName | null, targetRole: string, newRole?: RoleName) {
  if ((targetRole === 'owner' || newRole === 'owner') && actorRole !== 'owner') {
    throw forbidden('only an owner can grant, change or remove the owner role');
  }
}

export function registerMemberRoutes(app: App) {
  app.openapi(list, async (c) => {
    const { orgId } = c.req.valid('param');
    const members = await c.var.db
      .select({
        userId: schema.users.id,
        email: schema.users.email,
        name: schema.users.name,
        role: schema.memberships.role,
        createdAt: schema.memberships.createdAt,
      })
      .from(schema.memberships)
      .innerJoin(schema.users, eq(schema.users.id, schema.memberships.userId))
      .where(eq(schema.memberships.orgId, orgId));
    return c.json({ members }, 200);
  });

  app.openapi(changeRole, async (c) => {
    const { orgId, userId } = c.req.valid('param');
    const { role } = c.req.valid('json');
    const target = await membership(c.var.db, orgId, userId);
    if (!target) throw notFound('member');
    checkOwnerRule(c.var.orgRole, target.role, role);
    if (target.role === 'owner' && role !== 'owner' && (await ownerCount(c.var.db, orgId)) <= 1) {
      throw conflict('cannot change role: an organization keeps at least one owner');
    }
    await c.var.db
      .update(schema.memberships)
      .set({ role })
      .where(and(eq(schema.memberships.orgId, orgId), eq(schema.memberships.userId, userId)));
    await audit(c, {
      orgId,
      action: 'member.role_change',
      targetType: 'user',
      targetId: userId,
      details: { from: target.role, to: role },
    });
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(remove, async (c) => {
    const { orgId, userId } = c.req.valid('param');
    const target = await membership(c.var.db, orgId, userId);
    if (!target) throw notFound('member');
    checkOwnerRule(c.var.orgRole, target.role);
    if (target.role === 'owner' && (await ownerCount(c.var.db, orgId)) <= 1) {
      throw conflict('cannot remove member: an organization keeps at least one owner');
    }
    await c.var.db
      .delete(schema.memberships)
      .where(and(eq(schema.memberships.orgId, orgId), eq(schema.memberships.userId, userId)));
    await audit(c, {
      orgId,
      action: 'member.remove',
      targetType: 'user',
      targetId: userId,
      details: { role: target.role },
    });
    return c.json({ ok: true as const }, 200);
  });
}
