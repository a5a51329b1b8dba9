/** The audit log of an organization, newest first, paged by id; admins only. */
import { z } from '@hono/zod-openapi';
import { and, desc, eq, lt } from 'drizzle-orm';
import type { App } from '../app.ts';
import { schema } from '../db.ts';
import { defineRoute } from '../routeRegistry.ts';
import { errorResponses, json, OrgParams } from '../schemas.ts';

const Entry = z
  .object({
    id: z.number(),
    actor: z.string(),
    action: z.string(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    outcome: z.string(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    createdAt: z.number(),
  })
  .openapi('AuditEntry');

const list = defineRoute({
  method: 'get',
  path: '/api/orgs/{orgId}/audit',
  permission: 'audit:read',
  summary: 'Security-relevant actions in the organization: who, what, when, from where',
  request: {
    params: OrgParams,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(500).default(100),
      /** Entries with an id below this (the previous page's last id). */
      before: z.coerce.number().int().min(1).optional(),
    }),
  },
  responses: { 200: json(z.object({ entries: z.array(Entry) }), 'entries'), ...errorResponses },
});

export function registerAuditRoutes(app: App) {
  app.openapi(list, async (c) => {
    const { orgId } = c.req.valid('param');
    const { limit, before } = c.req.valid('query');
    const rows = await c.var.db
      .select()
      .from(schema.auditLog)
      .where(and(eq(schema.auditLog.orgId, orgId), before ? lt(schema.auditLog.id, before) : undefined))
      .orderBy(desc(schema.auditLog.id))
      .limit(limit);
    const entries = rows.map(({ orgId: _org, details, ...rest }) => ({
      ...rest,
      details: JSON.parse(details),
    }));
    return c.json({ entries }, 200);
  });
}
