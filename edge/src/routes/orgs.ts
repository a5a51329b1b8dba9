/** Organizations: list and create (any signed-in user), read, rename, delete (owner). */
import { z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import type { App } from '../app.ts';
import { audit } from '../audit.ts';
import { newId } from '../crypto/secrets.ts';
import { schema } from '../db.ts';
import { sessionPrincipal } from '../env.ts';
import { conflict, isUniqueViolation, notFound } from '../errors.ts';
import { defineRoute } from '../routeRegistry.ts';
import {
  body,
  DisplayName,
  ErrorSchema,
  errorResponses,
  json,
  OkSchema,
  OrgParams,
  Slug,
} from '../schemas.ts';

const Org = z
  .object({ id: z.string(), slug: z.string(), name: z.string(), createdAt: z.number() })
  .openapi('Org');
const OrgWithRole = Org.extend({ role: z.string() });

const list = defineRoute({
  method: 'get',
  path: '/api/orgs',
  permission: 'account',
  summary: "The signed-in user's organizations",
  responses: { 200: json(z.object({ orgs: z.array(OrgWithRole) }), 'organizations'), ...errorResponses },
});

const create = defineRoute({
  method: 'post',
  path: '/api/orgs',
  permission: 'account',
  summary: 'Create an organization; the creator becomes its owner',
  request: body(z.object({ name: DisplayName, slug: Slug })),
  responses: { 201: json(OrgWithRole, 'created'), 409: json(ErrorSchema, 'slug taken'), ...errorResponses },
});

const read = defineRoute({
  method: 'get',
  path: '/api/orgs/{orgId}',
  permission: 'org:read',
  request: { params: OrgParams },
  summary: 'One organization',
  responses: { 200: json(OrgWithRole, 'the organization'), ...errorResponses },
});

const update = defineRoute({
  method: 'patch',
  path: '/api/orgs/{orgId}',
  permission: 'org:update',
  summary: 'Rename an organization',
  request: { params: OrgParams, ...body(z.object({ name: DisplayName })) },
  responses: { 200: json(Org, 'renamed'), ...errorResponses },
});

const remove = defineRoute({
  method: 'delete',
  path: '/api/orgs/{orgId}',
  permission: 'org:delete',
  summary: 'Delete an organization with its members, tokens, clusters and SSO settings',
  request: { params: OrgParams },
  responses: { 200: json(OkSchema, 'deleted'), ...errorResponses },
});

export function registerOrgRoutes(app: App) {
  app.openapi(list, async (c) => {
    const { userId } = sessionPrincipal(c.var.principal);
    const orgs = await c.var.db
      .select({
        id: schema.orgs.id,
        slug: schema.orgs.slug,
        name: schema.orgs.name,
        createdAt: schema.orgs.createdAt,
        role: schema.memberships.role,
      })
      .from(schema.memberships)
      .innerJoin(schema.orgs, eq(schema.orgs.id, schema.memberships.orgId))
      .where(eq(schema.memberships.userId, userId));
    return c.json({ orgs }, 200);
  });

  app.openapi(create, async (c) => {
    const { userId } = sessionPrincipal(c.var.principal);
    const { name, slug } = c.req.valid('json');
    const org = { id: newId('org'), slug, name, createdAt: Date.now() };
    try {
      await c.var.db.batch([
        c.var.db.insert(schema.orgs).values(org),
        c.var.db
          .insert(schema.memberships)
          .values({ orgId: org.id, userId, role: 'owner', createdAt: org.createdAt }),
      ]);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`cannot create organization: slug ${slug} is taken`);
      throw err;
    }
    await audit(c, {
      orgId: org.id,
      action: 'org.create',
      targetType: 'org',
      targetId: org.id,
      details: { slug },
    });
    return c.json({ ...org, role: 'owner' }, 201);
  });

  app.openapi(read, async (c) => {
    const { orgId } = c.req.valid('param');
    const org = await c.var.db.query.orgs.findFirst({ where: eq(schema.orgs.id, orgId) });
    if (!org) throw notFound('organization');
    return c.json({ ...org, role: c.var.orgRole ?? 'viewer' }, 200);
  });

  app.openapi(update, async (c) => {
    const { orgId } = c.req.valid('param');
    const { name } = c.req.valid('json');
    const [org] = await c.var.db
      .update(schema.orgs)
      .set({ name })
      .where(eq(schema.orgs.id, orgId))
      .returning();
    if (!org) throw notFound('organization');
    await audit(c, { orgId, action: 'org.update', targetType: 'org', targetId: orgId, details: { name } });
    return c.json(org, 200);
  });

  app.openapi(remove, async (c) => {
    const { orgId } = c.req.valid('param');
    // Foreign keys cascade to memberships, invitations, tokens, service accounts, clusters and SSO rows.
    await c.var.db.delete(schema.orgs).where(eq(schema.orgs.id, orgId));
    await audit(c, { orgId, action: 'org.delete', targetType: 'org', targetId: orgId });
    return c.json({ ok: true as const }, 200);
  });
}
