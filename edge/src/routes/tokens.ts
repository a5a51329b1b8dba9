/**
 * Personal API tokens: a member creates tokens that act as themselves in one organization, with scopes no wider
 * than their role; they see and revoke their own, admins may revoke anyone's. Managing tokens needs a browser
 * session, so a token can never mint another token.
 */
import { z } from '@hono/zod-openapi';
import { and, eq, isNotNull } from 'drizzle-orm';
import type { App } from '../app.ts';
import { audit } from '../audit.ts';
import { createApiToken, tokenView } from '../auth/apiTokens.ts';
import { schema } from '../db.ts';
import { sessionPrincipal } from '../env.ts';
import { forbidden, notFound } from '../errors.ts';
import { roleAllows, scopesAllowedForRole } from '../permissions.ts';
import { defineRoute } from '../routeRegistry.ts';
import { body, errorResponses, Id, json, OkSchema, OrgParams } from '../schemas.ts';
import { CreatedToken, expiryOf, NewTokenBody, TokenView } from './tokenSchemas.ts';

const list = defineRoute({
  method: 'get',
  path: '/api/orgs/{orgId}/tokens',
  permission: 'tokens:personal',
  summary: "The signed-in user's personal tokens in this organization",
  request: { params: OrgParams },
  responses: { 200: json(z.object({ tokens: z.array(TokenView) }), 'tokens'), ...errorResponses },
});

const create = defineRoute({
  method: 'post',
  path: '/api/orgs/{orgId}/tokens',
  permission: 'tokens:personal',
  summary: 'Create a personal token (shown once); scopes are capped by the role',
  request: { params: OrgParams, ...body(NewTokenBody) },
  responses: { 201: json(CreatedToken, 'created'), ...errorResponses },
});

const revoke = defineRoute({
  method: 'delete',
  path: '/api/orgs/{orgId}/tokens/{tokenId}',
  permission: 'tokens:personal',
  summary: 'Revoke a personal token (own tokens; admins: any member token); effective at once',
  request: { params: OrgParams.extend({ tokenId: Id }) },
  responses: { 200: json(OkSchema, 'revoked'), ...errorResponses },
});

export function registerTokenRoutes(app: App) {
  app.openapi(list, async (c) => {
    const { orgId } = c.req.valid('param');
    const { userId } = sessionPrincipal(c.var.principal);
    const rows = await c.var.db.query.apiTokens.findMany({
      where: and(eq(schema.apiTokens.orgId, orgId), eq(schema.apiTokens.userId, userId)),
    });
    return c.json({ tokens: rows.map(tokenView) }, 200);
  });

  app.openapi(create, async (c) => {
    const { orgId } = c.req.valid('param');
    const { userId } = sessionPrincipal(c.var.principal);
    const { name, scopes, expiresInDays } = c.req.valid('json');
    const allowed = scopesAllowedForRole(c.var.orgRole ?? 'viewer');
    const excess = scopes.filter((s) => !allowed.includes(s));
    if (excess.length > 0) forbiddenScopes(excess, c.var.orgRole);
    const { token, row } = await createApiToken(c.var.db, {
      orgId,
      userId,
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
      details: { name: row.name, scopes, kind: 'personal' },
    });
    return c.json({ ...tokenView(row), token }, 201);
  });

  app.openapi(revoke, async (c) => {
    const { orgId, tokenId } = c.req.valid('param');
    const { userId } = sessionPrincipal(c.var.principal);
    const row = await c.var.db.query.apiTokens.findFirst({
      where: and(
        eq(schema.apiTokens.id, tokenId),
        eq(schema.apiTokens.orgId, orgId),
        isNotNull(schema.apiTokens.userId),
      ),
    });
    const isAdmin = roleAllows(c.var.orgRole ?? 'viewer', 'tokens:manage');
    if (!row || (row.userId !== userId && !isAdmin)) throw notFound('token');
    if (row.revokedAt === null) {
      await c.var.db
        .update(schema.apiTokens)
        .set({ revokedAt: Date.now() })
        .where(eq(schema.apiTokens.id, row.id));
    }
    await audit(c, {
      orgId,
      action: 'token.revoke',
      targetType: 'token',
      targetId: row.id,
      details: { name: row.name },
    });
    return c.json({ ok: true as const }, 200);
  });
}

function forbiddenScopes(excess: string[], role: string | null): never {
  throw forbidden(`role ${role} cannot give a token the scopes ${excess.join(', ')}`);
}
