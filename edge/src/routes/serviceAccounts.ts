/** Service accounts (non-human principals of an organization) and their tokens; admins only, sessions only. */
import { z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import type { App } from '../app.ts';
import { audit } from '../audit.ts';
import { createApiToken, tokenView } from '../auth/apiTokens.ts';
import { newId } from '../crypto/secrets.ts';
import { schema } from '../db.ts';
import { type Db, sessionPrincipal } from '../env.ts';
import { conflict, isUniqueViolation, notFound } from '../errors.ts';
import { defineRoute } from '../routeRegistry.ts';
import { body, ErrorSchema, errorResponses, Id, json, OkSchema, OrgParams, Slug } from '../schemas.ts';
import { CreatedToken, expiryOf, NewTokenBody, TokenView } from './tokenSchemas.ts';

const ServiceAccount = z
  .object({ id: z.string(), name: z.string(), createdAt: z.number(), createdBy: z.string() })
  .openapi('ServiceAccount');
const SaParams = OrgParams.extend({ serviceAccountId: Id });
const base = '/api/orgs/{orgId}/service-accounts';

const list = defineRoute({
  method: 'get',
  path: base,
  permission: 'tokens:manage',
  summary: 'Service accounts of the organization',
  request: { params: OrgParams },
  responses: { 200: json(z.object({ serviceAccounts: z.array(ServiceAccount) }), 'list'), ...errorResponses },
});

const create = defineRoute({
  method: 'post',
  path: base,
  permission: 'tokens:manage',
  summary: 'Create a service account',
  request: { params: OrgParams, ...body(z.object({ name: Slug })) },
  responses: {
    201: json(ServiceAccount, 'created'),
    409: json(ErrorSchema, 'name taken'),
    ...errorResponses,
  },
});

const remove = defineRoute({
  method: 'delete',
  path: `${base}/{serviceAccountId}`,
  permission: 'tokens:manage',
  summary: 'Delete a service account; its tokens stop working at once',
  request: { params: SaParams },
  responses: { 200: json(OkSchema, 'deleted'), ...errorResponses },
});

const listTokens = defineRoute({
  method: 'get',
  path: `${base}/{serviceAccountId}/tokens`,
  permission: 'tokens:manage',
  summary: "A service account's tokens",
  request: { params: SaParams },
  responses: { 200: json(z.object({ tokens: z.array(TokenView) }), 'tokens'), ...errorResponses },
});

const createToken = defineRoute({
  method: 'post',
  path: `${base}/{serviceAccountId}/tokens`,
  permission: 'tokens:manage',
  summary: 'Create a service-account token (shown once)',
  request: { params: SaParams, ...body(NewTokenBody) },
  responses: { 201: json(CreatedToken, 'created'), ...errorResponses },
});

const revokeToken = defineRoute({
  method: 'delete',
  path: `${base}/{serviceAccountId}/tokens/{tokenId}`,
  permission: 'tokens:manage',
  summary: 'Revoke a service-account token; effective at once',
  request: { params: SaParams.extend({ tokenId: Id }) },
  responses: { 200: json(OkSchema, 'revoked'), ...errorResponses },
});

async function findAccount(db: Db, orgId: string, id: string) {
  const sa = await db.query.serviceAccounts.findFirst({
    where: and(eq(schema.serviceAccounts.id, id), eq(schema.serviceAccounts.orgId, orgId)),
  });
  if (!sa) throw notFound('service account');
  return sa;
}

const view = ({ id, name, createdAt, createdBy }: typeof schema.serviceAccounts.$inferSelect) => ({
  id,
  name,
  createdAt,
  createdBy,
});

export function registerServiceAccountRoutes(app: App) {
  app.openapi(list, async (c) => {
    const { orgId } = c.req.valid('param');
    const rows = await c.var.db.query.serviceAccounts.findMany({
      where: eq(schema.serviceAccounts.orgId, orgId),
    });
    return c.json({ serviceAccounts: rows.map(view) }, 200);
  });

  app.openapi(create, async (c) => {
    const { orgId } = c.req.valid('param');
    const { userId } = sessionPrincipal(c.var.principal);
    const row = {
      id: newId('sa'),
      orgId,
      name: c.req.valid('json').name,
      createdBy: userId,
      createdAt: Date.now(),
    };
    try {
      await c.var.db.insert(schema.serviceAccounts).values(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`cannot create service account: ${row.name} exists`);
      throw err;
    }
    await audit(c, {
      orgId,
      action: 'service_account.create',
      targetType: 'service_account',
      targetId: row.id,
      details: { name: row.name },
    });
    return c.json(view(row), 201);
  });

  app.openapi(remove, async (c) => {
    const { orgId, serviceAccountId } = c.req.valid('param');
    const account = await findAccount(c.var.db, orgId, serviceAccountId);
    // Tokens go with the account (foreign key cascade), so they stop authenticating at once.
    await c.var.db.delete(schema.serviceAccounts).where(eq(schema.serviceAccounts.id, serviceAccountId));
    await audit(c, {
      orgId,
      action: 'service_account.delete',
      targetType: 'service_account',
      targetId: serviceAccountId,
      details: { name: account.name },
    });
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(listTokens, async (c) => {
    const { orgId, serviceAccountId } = c.req.valid('param');
    await findAccount(c.var.db, orgId, serviceAccountId);
    const rows = await c.var.db.query.apiTokens.findMany({
      where: and(eq(schema.apiTokens.orgId, orgId), eq(schema.apiTokens.serviceAccountId, serviceAccountId)),
    });
    return c.json({ tokens: rows.map(tokenView) }, 200);
  });

  app.openapi(createToken, async (c) => {
    const { orgId, serviceAccountId } = c.req.valid('param');
    const { userId } = sessionPrincipal(c.var.principal);
    const account = await findAccount(c.var.db, orgId, serviceAccountId);
    const { name, scopes, expiresInDays } = c.req.valid('json');
    const { token, row } = await createApiToken(c.var.db, {
      orgId,
      serviceAccountId,
      name,
      scopes: [...new Set(scopes)],
      expiresAt: expiryOf(expiresInDays),
      createdBy: userId,
    });
    await audit(c, {
      orgId,
      action: 'token.create',
      targetType: 'token',
      targetId: row.id,
      details: { name, scopes, kind: 'service', serviceAccount: account.name },
    });
    return c.json({ ...tokenView(row), token }, 201);
  });

  app.openapi(revokeToken, async (c) => {
    const { orgId, serviceAccountId, tokenId } = c.req.valid('param');
    const revoked = await c.var.db
      .update(schema.apiTokens)
      .set({ revokedAt: Date.now() })
      .where(
        and(
          eq(schema.apiTokens.id, tokenId),
          eq(schema.apiTokens.orgId, orgId),
          eq(schema.apiTokens.serviceAccountId, serviceAccountId),
        ),
      )
      .returning({ id: schema.apiTokens.id, name: schema.apiTokens.name });
    if (revoked.length === 0) throw notFound('token');
    await audit(c, {
      orgId,
      action: 'token.revoke',
      targetType: 'token',
      targetId: tokenId,
      details: { name: revoked[0]!.name },
    });
    return c.json({ ok: true as const }, 200);
  });
}
